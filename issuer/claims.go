package issuer

import (
	"encoding/json"
	"regexp"
)

// Audience is the aud claim: the workspace audience as a string, or, when custom
// audiences were asked for, an array (as Bitbucket sends them).
type Audience struct {
	Values  []string
	AsArray bool
}

// MarshalJSON writes one audience as a string unless AsArray is set.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a.Values) == 1 && !a.AsArray {
		return json.Marshal(a.Values[0])
	}
	return json.Marshal(a.Values)
}

// UnmarshalJSON accepts a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = Audience{Values: []string{s}}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = Audience{Values: l, AsArray: true}
	return nil
}

// Claims is the claim set of a Bitbucket Pipelines step token. UUIDs are brace-wrapped,
// as Bitbucket writes them.
type Claims struct {
	Issuer                    string       `json:"iss"`
	Subject                   string       `json:"sub"`
	Audience                  Audience     `json:"aud"`
	IssuedAt                  int64        `json:"iat"`
	Expiry                    int64        `json:"exp"`
	JWTID                     string       `json:"jti"`
	RepositoryUUID            string       `json:"repositoryUuid"`
	WorkspaceUUID             string       `json:"workspaceUuid"`
	PipelineUUID              string       `json:"pipelineUuid"`
	StepUUID                  string       `json:"stepUuid"`
	DeploymentEnvironmentUUID string       `json:"deploymentEnvironmentUuid,omitempty"`
	BranchName                string       `json:"branchName,omitempty"`
	AWSTags                   *SessionTags `json:"https://aws.amazon.com/tags,omitempty"`
}

// SessionTags is the AWS session-tags claim: principal tags (single-value arrays, as AWS
// requires) and the keys that stay with the session through role chaining.
type SessionTags struct {
	PrincipalTags     map[string][]string `json:"principal_tags"`
	TransitiveTagKeys []string            `json:"transitive_tag_keys,omitempty"`
}

// WorkspaceAudience is the default audience of a workspace's tokens.
func WorkspaceAudience(workspaceUUID string) string {
	return "ari:cloud:bitbucket::workspace/" + workspaceUUID
}

// tagValueRE is what AWS allows in a session-tag value; other characters become '_'.
var tagValueRE = regexp.MustCompile(`[^\p{L}\p{Z}\p{N}_.:/=+\-@]`)

func tagValue(s string) string {
	s = tagValueRE.ReplaceAllString(s, "_")
	if len(s) > 256 {
		s = s[:256]
	}
	return s
}

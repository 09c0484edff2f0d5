package policy

import (
	"encoding/json"
	"fmt"
	"strings"
)

// WebIdentityTrust describes the trust policy of a role that one OpenID Connect
// provider's tokens may assume: a statement allowing sts:AssumeRoleWithWebIdentity
// to the Federated principal ProviderARN when the token's aud equals Audience
// (StringEquals) and its sub matches Subject (StringLike, so * and ? are wildcards).
type WebIdentityTrust struct {
	// Sid is the statement's id; "" leaves it out.
	Sid string
	// ProviderARN is the IAM OIDC provider's ARN, the statement's principal.
	ProviderARN string
	// ProviderURL is the provider's URL without its scheme (host[:port][/path]),
	// the prefix of the condition keys <url>:aud and <url>:sub; a leading
	// "https://" is dropped.
	ProviderURL string
	// Audience is the value <url>:aud must equal.
	Audience string
	// Subject is the pattern <url>:sub must match.
	Subject string
}

// Marshal returns the trust policy as compact JSON (Version 2012-10-17, keys in
// lexical order). Every field but Sid is required: a web identity trust without a
// sub condition would admit every subject of the issuer.
func (t WebIdentityTrust) Marshal() ([]byte, error) {
	url := strings.TrimPrefix(t.ProviderURL, "https://")
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"ProviderARN", t.ProviderARN}, {"ProviderURL", url}, {"Audience", t.Audience}, {"Subject", t.Subject},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("build web identity trust policy: missing %s", strings.Join(missing, ", "))
	}
	stmt := map[string]any{
		"Effect":    "Allow",
		"Principal": map[string]any{"Federated": t.ProviderARN},
		"Action":    "sts:AssumeRoleWithWebIdentity",
		"Condition": map[string]any{
			"StringEquals": map[string]any{url + ":aud": t.Audience},
			"StringLike":   map[string]any{url + ":sub": t.Subject},
		},
	}
	if t.Sid != "" {
		stmt["Sid"] = t.Sid
	}
	b, err := json.Marshal(map[string]any{"Version": Version2012, "Statement": []any{stmt}})
	if err != nil {
		return nil, fmt.Errorf("build web identity trust policy: %w", err)
	}
	return b, nil
}

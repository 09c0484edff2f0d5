package iam

import (
	"strings"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// XML shapes of IAM results. Each result type is the content of <ActionResult>;
// lists are <Name><member>…</member></Name>.

// timeFormat is how IAM writes timestamps (ISO 8601, UTC, seconds).
const timeFormat = "2006-01-02T15:04:05Z"

// xmlTime formats t for a result.
func xmlTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// xmlTimePtr formats t, or returns nil for the zero time (element omitted).
func xmlTimePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := xmlTime(t)
	return &s
}

// encodeDocument percent-encodes a policy document as IAM returns it: RFC 3986,
// every byte outside the unreserved set (A–Z a–z 0–9 - . _ ~) as %XX, so a space
// is %20.
func encodeDocument(doc string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(doc) * 2)
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// xmlTag is one tag.
type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// xmlTags is a tag list; nil omits the element.
type xmlTags struct {
	Members []xmlTag `xml:"member"`
}

func tagsXML(tags []store.Tag) *xmlTags {
	if len(tags) == 0 {
		return nil
	}
	out := &xmlTags{Members: make([]xmlTag, len(tags))}
	for i, t := range tags {
		out.Members[i] = xmlTag(t)
	}
	return out
}

// tagsXMLAlways is a tag list that is present even when empty (ListRoleTags).
func tagsXMLAlways(tags []store.Tag) *xmlTags {
	if t := tagsXML(tags); t != nil {
		return t
	}
	return &xmlTags{}
}

// stringList is a list of strings.
type stringList struct {
	Members []string `xml:"member"`
}

func strList(v []string) *stringList { return &stringList{Members: append([]string{}, v...)} }

// pageFields are the pagination fields of list results.
type pageFields struct {
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

// OpenID Connect providers.

type createOIDCProviderResult struct {
	OpenIDConnectProviderArn string   `xml:"OpenIDConnectProviderArn"`
	Tags                     *xmlTags `xml:"Tags,omitempty"`
}

type getOIDCProviderResult struct {
	URL            string      `xml:"Url"`
	ClientIDList   *stringList `xml:"ClientIDList"`
	ThumbprintList *stringList `xml:"ThumbprintList"`
	CreateDate     string      `xml:"CreateDate"`
	Tags           *xmlTags    `xml:"Tags,omitempty"`
}

type oidcProviderEntry struct {
	Arn string `xml:"Arn"`
}

type listOIDCProvidersResult struct {
	List struct {
		Members []oidcProviderEntry `xml:"member"`
	} `xml:"OpenIDConnectProviderList"`
}

type listTagsResult struct {
	Tags *xmlTags `xml:"Tags"`
	pageFields
}

// Roles.

type xmlBoundary struct {
	Type string `xml:"PermissionsBoundaryType"`
	Arn  string `xml:"PermissionsBoundaryArn"`
}

func boundaryXML(arn string) *xmlBoundary {
	if arn == "" {
		return nil
	}
	return &xmlBoundary{Type: "Policy", Arn: arn}
}

type xmlRoleLastUsed struct {
	LastUsedDate *string `xml:"LastUsedDate,omitempty"`
	Region       string  `xml:"Region,omitempty"`
}

type xmlRole struct {
	Path                     string           `xml:"Path"`
	RoleName                 string           `xml:"RoleName"`
	RoleID                   string           `xml:"RoleId"`
	Arn                      string           `xml:"Arn"`
	CreateDate               string           `xml:"CreateDate"`
	AssumeRolePolicyDocument string           `xml:"AssumeRolePolicyDocument"`
	Description              string           `xml:"Description,omitempty"`
	MaxSessionDuration       int              `xml:"MaxSessionDuration"`
	PermissionsBoundary      *xmlBoundary     `xml:"PermissionsBoundary,omitempty"`
	Tags                     *xmlTags         `xml:"Tags,omitempty"`
	RoleLastUsed             *xmlRoleLastUsed `xml:"RoleLastUsed,omitempty"`
}

// roleXML renders a role; full adds what GetRole returns beyond ListRoles
// (permissions boundary, tags, last use).
func roleXML(r store.Role, full bool) xmlRole {
	x := xmlRole{
		Path:                     r.Path,
		RoleName:                 r.Name,
		RoleID:                   r.ID,
		Arn:                      r.ARN,
		CreateDate:               xmlTime(r.CreatedAt),
		AssumeRolePolicyDocument: encodeDocument(r.AssumeRolePolicyDocument),
		Description:              r.Description,
		MaxSessionDuration:       r.MaxSessionDuration,
	}
	if full {
		x.PermissionsBoundary = boundaryXML(r.PermissionsBoundary)
		x.Tags = tagsXML(r.Tags)
		x.RoleLastUsed = &xmlRoleLastUsed{LastUsedDate: xmlTimePtr(r.LastUsedAt), Region: r.LastUsedRegion}
	}
	return x
}

type roleResult struct {
	Role xmlRole `xml:"Role"`
}

type listRolesResult struct {
	Roles struct {
		Members []xmlRole `xml:"member"`
	} `xml:"Roles"`
	pageFields
}

type policyDocumentResult struct {
	RoleName       string `xml:"RoleName,omitempty"`
	UserName       string `xml:"UserName,omitempty"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

type listPolicyNamesResult struct {
	PolicyNames *stringList `xml:"PolicyNames"`
	pageFields
}

type xmlAttachedPolicy struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type listAttachedResult struct {
	AttachedPolicies struct {
		Members []xmlAttachedPolicy `xml:"member"`
	} `xml:"AttachedPolicies"`
	pageFields
}

// Managed policies.

type xmlPolicy struct {
	PolicyName                    string   `xml:"PolicyName"`
	PolicyID                      string   `xml:"PolicyId"`
	Arn                           string   `xml:"Arn"`
	Path                          string   `xml:"Path"`
	DefaultVersionID              string   `xml:"DefaultVersionId"`
	AttachmentCount               int      `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int      `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool     `xml:"IsAttachable"`
	Description                   string   `xml:"Description,omitempty"`
	CreateDate                    string   `xml:"CreateDate"`
	UpdateDate                    string   `xml:"UpdateDate"`
	Tags                          *xmlTags `xml:"Tags,omitempty"`
}

type policyResult struct {
	Policy xmlPolicy `xml:"Policy"`
}

type listPoliciesResult struct {
	Policies struct {
		Members []xmlPolicy `xml:"member"`
	} `xml:"Policies"`
	pageFields
}

type xmlPolicyVersion struct {
	Document         string `xml:"Document,omitempty"`
	VersionID        string `xml:"VersionId"`
	IsDefaultVersion bool   `xml:"IsDefaultVersion"`
	CreateDate       string `xml:"CreateDate"`
}

type policyVersionResult struct {
	PolicyVersion xmlPolicyVersion `xml:"PolicyVersion"`
}

type listPolicyVersionsResult struct {
	Versions struct {
		Members []xmlPolicyVersion `xml:"member"`
	} `xml:"Versions"`
	pageFields
}

type xmlPolicyUser struct {
	UserName string `xml:"UserName"`
	UserID   string `xml:"UserId"`
}

type xmlPolicyRole struct {
	RoleName string `xml:"RoleName"`
	RoleID   string `xml:"RoleId"`
}

type xmlPolicyGroup struct {
	GroupName string `xml:"GroupName"`
	GroupID   string `xml:"GroupId"`
}

type listEntitiesForPolicyResult struct {
	PolicyGroups struct {
		Members []xmlPolicyGroup `xml:"member"`
	} `xml:"PolicyGroups"`
	PolicyUsers struct {
		Members []xmlPolicyUser `xml:"member"`
	} `xml:"PolicyUsers"`
	PolicyRoles struct {
		Members []xmlPolicyRole `xml:"member"`
	} `xml:"PolicyRoles"`
	pageFields
}

// Instance profiles.

type xmlInstanceProfile struct {
	Path                string   `xml:"Path"`
	InstanceProfileName string   `xml:"InstanceProfileName"`
	InstanceProfileID   string   `xml:"InstanceProfileId"`
	Arn                 string   `xml:"Arn"`
	CreateDate          string   `xml:"CreateDate"`
	Roles               xmlRoles `xml:"Roles"`
	Tags                *xmlTags `xml:"Tags,omitempty"`
}

type xmlRoles struct {
	Members []xmlRole `xml:"member"`
}

type instanceProfileResult struct {
	InstanceProfile xmlInstanceProfile `xml:"InstanceProfile"`
}

type listInstanceProfilesResult struct {
	InstanceProfiles struct {
		Members []xmlInstanceProfile `xml:"member"`
	} `xml:"InstanceProfiles"`
	pageFields
}

// Users and access keys.

type xmlUser struct {
	Path                string       `xml:"Path,omitempty"`
	UserName            string       `xml:"UserName,omitempty"`
	UserID              string       `xml:"UserId"`
	Arn                 string       `xml:"Arn"`
	CreateDate          *string      `xml:"CreateDate,omitempty"`
	PermissionsBoundary *xmlBoundary `xml:"PermissionsBoundary,omitempty"`
	Tags                *xmlTags     `xml:"Tags,omitempty"`
}

func userXML(u store.User, withTags bool) xmlUser {
	x := xmlUser{Path: u.Path, UserName: u.Name, UserID: u.ID, Arn: u.ARN, CreateDate: xmlTimePtr(u.CreatedAt)}
	if withTags {
		x.Tags = tagsXML(u.Tags)
	}
	return x
}

type userResult struct {
	User xmlUser `xml:"User"`
}

type listUsersResult struct {
	Users struct {
		Members []xmlUser `xml:"member"`
	} `xml:"Users"`
	pageFields
}

type xmlAccessKey struct {
	UserName        string `xml:"UserName"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey,omitempty"`
	CreateDate      string `xml:"CreateDate"`
}

type createAccessKeyResult struct {
	AccessKey xmlAccessKey `xml:"AccessKey"`
}

type listAccessKeysResult struct {
	AccessKeyMetadata struct {
		Members []xmlAccessKey `xml:"member"`
	} `xml:"AccessKeyMetadata"`
	pageFields
	UserName string `xml:"UserName,omitempty"`
}

type xmlAccessKeyLastUsed struct {
	LastUsedDate *string `xml:"LastUsedDate,omitempty"`
	ServiceName  string  `xml:"ServiceName"`
	Region       string  `xml:"Region"`
}

type accessKeyLastUsedResult struct {
	UserName          string               `xml:"UserName"`
	AccessKeyLastUsed xmlAccessKeyLastUsed `xml:"AccessKeyLastUsed"`
}

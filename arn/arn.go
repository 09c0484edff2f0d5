// Package arn is keyless's one Amazon Resource Name type: parsing and validation over
// aws-sdk-go-v2's aws/arn, accessors for the IAM resource type, path and name, and
// constructors for the IAM and STS ARNs keyless builds, in any partition.
package arn

import (
	"errors"
	"fmt"
	"strings"

	awsarn "github.com/aws/aws-sdk-go-v2/aws/arn"
)

// DefaultPartition is the partition of the commercial AWS regions, used by the
// constructors when they are given none.
const DefaultPartition = "aws"

// ErrInvalid is wrapped by every error Parse returns.
var ErrInvalid = errors.New("invalid ARN")

// ARN is a parsed Amazon Resource Name,
// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE. The zero ARN is not a valid ARN.
type ARN struct {
	a awsarn.ARN
}

// Parse checks that s is an ARN — it starts with "arn:", has six colon-separated
// fields (the resource may hold more colons) and names a partition, a service and a
// resource; region and account may be empty — and returns it. Its errors wrap
// ErrInvalid and say which rule s breaks.
func Parse(s string) (ARN, error) {
	a, err := awsarn.Parse(s)
	var reason string
	switch {
	case err != nil && !strings.HasPrefix(s, "arn:"):
		reason = `it does not start with "arn:"`
	case err != nil:
		reason = "it has fewer than six colon-separated fields (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)"
	case a.Partition == "":
		reason = "its partition is empty"
	case a.Service == "":
		reason = "its service is empty"
	case a.Resource == "":
		reason = "its resource is empty"
	default:
		return ARN{a: a}, nil
	}
	return ARN{}, fmt.Errorf("%w %q: %s", ErrInvalid, s, reason)
}

// IsAccountID reports whether s is an AWS account ID: twelve decimal digits.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String returns the ARN's text.
func (a ARN) String() string { return a.a.String() }

// Partition returns the partition: "aws", "aws-cn", "aws-us-gov", ….
func (a ARN) Partition() string { return a.a.Partition }

// Service returns the service namespace: "iam", "sts", "s3", ….
func (a ARN) Service() string { return a.a.Service }

// Region returns the region, "" for global services such as IAM and STS.
func (a ARN) Region() string { return a.a.Region }

// Account returns the account field: an account ID, "aws" for AWS managed
// policies, or "" where the service has none (S3 buckets).
func (a ARN) Account() string { return a.a.AccountID }

// Resource returns everything after the account field, e.g. "role/ci/deploy".
func (a ARN) Resource() string { return a.a.Resource }

// ResourceType returns the resource up to its first "/" ("role" for
// role/ci/deploy), or the whole resource when it has no "/" ("root").
func (a ARN) ResourceType() string {
	t, _, _ := strings.Cut(a.a.Resource, "/")
	return t
}

// Path returns the IAM path of the resource, from its first "/" to its last,
// both included: "/ci/" for role/ci/deploy, "/" for role/deploy, "" when the
// resource has no "/". For an oidc-provider or assumed-role resource it is the
// same cut of the provider URL or role/session pair, which IAM does not call a path.
func (a ARN) Path() string {
	i, j := strings.IndexByte(a.a.Resource, '/'), strings.LastIndexByte(a.a.Resource, '/')
	if i < 0 {
		return ""
	}
	return a.a.Resource[i : j+1]
}

// Name returns the resource after its last "/" ("deploy" for role/ci/deploy), or
// "" when the resource has no "/".
func (a ARN) Name() string {
	j := strings.LastIndexByte(a.a.Resource, '/')
	if j < 0 {
		return ""
	}
	return a.a.Resource[j+1:]
}

// iam returns an IAM ARN; an empty partition is DefaultPartition.
func iam(partition, account, resource string) ARN {
	if partition == "" {
		partition = DefaultPartition
	}
	return ARN{a: awsarn.ARN{Partition: partition, Service: "iam", AccountID: account, Resource: resource}}
}

// pathName joins an IAM path and a name; an empty path is "/".
func pathName(path, name string) string {
	if path == "" {
		path = "/"
	}
	return path + name
}

// Role returns arn:PARTITION:iam::ACCOUNT:role/PATH/NAME. path begins and ends
// with "/" ("" is "/"); an empty partition is DefaultPartition.
func Role(partition, account, path, name string) ARN {
	return iam(partition, account, "role"+pathName(path, name))
}

// User returns arn:PARTITION:iam::ACCOUNT:user/PATH/NAME, with path and partition
// as for Role.
func User(partition, account, path, name string) ARN {
	return iam(partition, account, "user"+pathName(path, name))
}

// Policy returns arn:PARTITION:iam::ACCOUNT:policy/PATH/NAME, with path and
// partition as for Role; account is "aws" for AWS managed policies.
func Policy(partition, account, path, name string) ARN {
	return iam(partition, account, "policy"+pathName(path, name))
}

// InstanceProfile returns arn:PARTITION:iam::ACCOUNT:instance-profile/PATH/NAME,
// with path and partition as for Role.
func InstanceProfile(partition, account, path, name string) ARN {
	return iam(partition, account, "instance-profile"+pathName(path, name))
}

// OIDCProvider returns arn:PARTITION:iam::ACCOUNT:oidc-provider/URL, where url is
// the provider URL without its scheme (host[:port][/path]); an empty partition is
// DefaultPartition.
func OIDCProvider(partition, account, url string) ARN {
	return iam(partition, account, "oidc-provider/"+url)
}

// Root returns arn:PARTITION:iam::ACCOUNT:root, the account's root user; an empty
// partition is DefaultPartition.
func Root(partition, account string) ARN {
	return iam(partition, account, "root")
}

// AssumedRole returns arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION, the
// ARN of a role session (role is the role's name, without its path); an empty
// partition is DefaultPartition.
func AssumedRole(partition, account, role, session string) ARN {
	a := iam(partition, account, "assumed-role/"+role+"/"+session)
	a.a.Service = "sts"
	return a
}

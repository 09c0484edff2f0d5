package arn_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/arn"
)

// fields are the accessors' answers for one ARN.
type fields struct {
	partition, service, region, account, resource string
	typ, path, name                               string
}

func fieldsOf(a arn.ARN) fields {
	return fields{a.Partition(), a.Service(), a.Region(), a.Account(), a.Resource(), a.ResourceType(), a.Path(), a.Name()}
}

func TestParse(t *testing.T) {
	cases := []struct {
		name, in string
		want     fields
	}{
		{"role", "arn:aws:iam::123456789012:role/deploy",
			fields{"aws", "iam", "", "123456789012", "role/deploy", "role", "/", "deploy"}},
		{"role with a path", "arn:aws:iam::123456789012:role/path/name",
			fields{"aws", "iam", "", "123456789012", "role/path/name", "role", "/path/", "name"}},
		{"role with a deep path", "arn:aws:iam::123456789012:role/a/b/c/deploy",
			fields{"aws", "iam", "", "123456789012", "role/a/b/c/deploy", "role", "/a/b/c/", "deploy"}},
		{"aws-cn user", "arn:aws-cn:iam::123456789012:user/division/alice",
			fields{"aws-cn", "iam", "", "123456789012", "user/division/alice", "user", "/division/", "alice"}},
		{"aws-us-gov assumed role", "arn:aws-us-gov:sts::123456789012:assumed-role/deploy/bitbucket-42",
			fields{"aws-us-gov", "sts", "", "123456789012", "assumed-role/deploy/bitbucket-42", "assumed-role", "/deploy/", "bitbucket-42"}},
		{"root", "arn:aws:iam::000000000000:root",
			fields{"aws", "iam", "", "000000000000", "root", "root", "", ""}},
		{"AWS managed policy with a path", "arn:aws:iam::aws:policy/service-role/AWSLambdaRole",
			fields{"aws", "iam", "", "aws", "policy/service-role/AWSLambdaRole", "policy", "/service-role/", "AWSLambdaRole"}},
		{"oidc provider with a port and a path", "arn:aws:iam::000000000000:oidc-provider/127.0.0.1:8400/2.0/workspaces/acme/pipelines-config/identity/oidc",
			fields{"aws", "iam", "", "000000000000", "oidc-provider/127.0.0.1:8400/2.0/workspaces/acme/pipelines-config/identity/oidc",
				"oidc-provider", "/127.0.0.1:8400/2.0/workspaces/acme/pipelines-config/identity/", "oidc"}},
		{"S3 object: no region or account", "arn:aws:s3:::bucket/key/x.png",
			fields{"aws", "s3", "", "", "bucket/key/x.png", "bucket", "/key/", "x.png"}},
		{"regional resource with colons", "arn:aws:lambda:eu-west-1:123456789012:function:f:1",
			fields{"aws", "lambda", "eu-west-1", "123456789012", "function:f:1", "function:f:1", "", ""}},
		{"role with an empty name", "arn:aws:iam::123456789012:role/",
			fields{"aws", "iam", "", "123456789012", "role/", "role", "/", ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := arn.Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := fieldsOf(a); got != tc.want {
				t.Errorf("Parse(%q) =\n %+v, want\n %+v", tc.in, got, tc.want)
			}
			if a.String() != tc.in {
				t.Errorf("String() = %q, want %q", a.String(), tc.in)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", `invalid ARN "": it does not start with "arn:"`},
		{"a role name", "deploy", `invalid ARN "deploy": it does not start with "arn:"`},
		{"upper-case prefix", "ARN:aws:iam::123456789012:role/x", `does not start with "arn:"`},
		{"prefix only", "arn:", "fewer than six colon-separated fields"},
		{"five fields", "arn:aws:iam::123456789012", "fewer than six colon-separated fields (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)"},
		{"no partition", "arn::iam::123456789012:role/x", `invalid ARN "arn::iam::123456789012:role/x": its partition is empty`},
		{"no service", "arn:aws:::123456789012:role/x", "its service is empty"},
		{"no resource", "arn:aws:iam::123456789012:", "its resource is empty"},
		{"all empty", "arn:::::", "its partition is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := arn.Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tc.in, a)
			}
			if !errors.Is(err, arn.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%q) error %q, want ErrInvalid containing %q", tc.in, err, tc.want)
			}
			if a != (arn.ARN{}) {
				t.Errorf("Parse(%q) returned %+v with its error", tc.in, a)
			}
		})
	}
}

func TestConstructors(t *testing.T) {
	cases := []struct {
		name string
		got  arn.ARN
		want string
		typ  string
		path string
		nm   string
	}{
		{"role at the root path", arn.Role("aws", "123456789012", "/", "deploy"), "arn:aws:iam::123456789012:role/deploy", "role", "/", "deploy"},
		{"role with a path", arn.Role("aws", "123456789012", "/path/", "name"), "arn:aws:iam::123456789012:role/path/name", "role", "/path/", "name"},
		{"empty partition and path default", arn.Role("", "123456789012", "", "deploy"), "arn:aws:iam::123456789012:role/deploy", "role", "/", "deploy"},
		{"role in aws-cn", arn.Role("aws-cn", "123456789012", "/ci/", "deploy"), "arn:aws-cn:iam::123456789012:role/ci/deploy", "role", "/ci/", "deploy"},
		{"user", arn.User("aws", "000000000000", "/", "alice"), "arn:aws:iam::000000000000:user/alice", "user", "/", "alice"},
		{"user in aws-us-gov with a path", arn.User("aws-us-gov", "000000000000", "/ops/", "bob"), "arn:aws-us-gov:iam::000000000000:user/ops/bob", "user", "/ops/", "bob"},
		{"customer managed policy", arn.Policy("aws", "000000000000", "/", "deploy"), "arn:aws:iam::000000000000:policy/deploy", "policy", "/", "deploy"},
		{"AWS managed policy", arn.Policy("", "aws", "/service-role/", "AWSLambdaRole"), "arn:aws:iam::aws:policy/service-role/AWSLambdaRole", "policy", "/service-role/", "AWSLambdaRole"},
		{"OIDC provider", arn.OIDCProvider("aws", "000000000000", "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"),
			"arn:aws:iam::000000000000:oidc-provider/api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc", "oidc-provider", "/api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/", "oidc"},
		{"OIDC provider with a port", arn.OIDCProvider("", "000000000000", "127.0.0.1:8400"), "arn:aws:iam::000000000000:oidc-provider/127.0.0.1:8400", "oidc-provider", "/", "127.0.0.1:8400"},
		{"instance profile", arn.InstanceProfile("aws", "000000000000", "/ci/", "web"), "arn:aws:iam::000000000000:instance-profile/ci/web", "instance-profile", "/ci/", "web"},
		{"root", arn.Root("aws", "000000000000"), "arn:aws:iam::000000000000:root", "root", "", ""},
		{"root in aws-cn", arn.Root("aws-cn", "000000000000"), "arn:aws-cn:iam::000000000000:root", "root", "", ""},
		{"assumed role", arn.AssumedRole("aws", "123456789012", "deploy", "bitbucket-42"), "arn:aws:sts::123456789012:assumed-role/deploy/bitbucket-42", "assumed-role", "/deploy/", "bitbucket-42"},
		{"assumed role in aws-us-gov", arn.AssumedRole("aws-us-gov", "123456789012", "deploy", "s"), "arn:aws-us-gov:sts::123456789012:assumed-role/deploy/s", "assumed-role", "/deploy/", "s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if s := tc.got.String(); s != tc.want {
				t.Fatalf("String() = %q, want %q", s, tc.want)
			}
			if tc.got.ResourceType() != tc.typ || tc.got.Path() != tc.path || tc.got.Name() != tc.nm {
				t.Errorf("type, path, name = %q, %q, %q; want %q, %q, %q", tc.got.ResourceType(), tc.got.Path(), tc.got.Name(), tc.typ, tc.path, tc.nm)
			}
			back, err := arn.Parse(tc.want)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.want, err)
			}
			if back != tc.got {
				t.Errorf("Parse(%q) = %+v, want the constructed %+v", tc.want, back, tc.got)
			}
		})
	}
}

func TestIsAccountID(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{"123456789012", true},
		{"000000000000", true},
		{"12345678901", false},
		{"1234567890123", false},
		{"12345678901a", false},
		{"aws", false},
		{"", false},
		{"１２３４５６７８９０１２", false}, // full-width digits
	}
	for _, tc := range cases {
		if got := arn.IsAccountID(tc.in); got != tc.want {
			t.Errorf("IsAccountID(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FuzzParse checks that Parse never panics, that what it accepts prints back as
// given and satisfies its rules, that the accessors put the resource back
// together, and that what it refuses wraps ErrInvalid.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"arn:aws:iam::123456789012:role/deploy",
		"arn:aws:iam::123456789012:role/a/b/deploy",
		"arn:aws-cn:sts::123456789012:assumed-role/r/s",
		"arn:aws:iam::000000000000:oidc-provider/127.0.0.1:8400/x",
		"arn:aws:iam::aws:policy/AdministratorAccess",
		"arn:aws:iam::000000000000:root",
		"arn:aws:s3:::bucket",
		"arn::::::", "arn:", "", "role/x", "arn:a:b:c:d:e:f:g",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := arn.Parse(s)
		if err != nil {
			if !errors.Is(err, arn.ErrInvalid) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		if a.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, a.String())
		}
		if a.Partition() == "" || a.Service() == "" || a.Resource() == "" ||
			strings.Contains(a.Partition()+a.Service()+a.Region()+a.Account(), ":") {
			t.Fatalf("Parse(%q) accepted %+v", s, a)
		}
		if p := a.Path(); p == "" {
			if a.Name() != "" || a.ResourceType() != a.Resource() {
				t.Fatalf("Parse(%q): no path but type %q, name %q", s, a.ResourceType(), a.Name())
			}
		} else if a.ResourceType()+p+a.Name() != a.Resource() || p[0] != '/' || p[len(p)-1] != '/' {
			t.Fatalf("Parse(%q): type %q + path %q + name %q is not the resource", s, a.ResourceType(), p, a.Name())
		}
	})
}

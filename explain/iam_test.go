package explain_test

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/oidc"
)

// fakeIAM answers the IAM calls IAMReader makes from memory.
type fakeIAM struct {
	roles     map[string]string // role name → percent-encoded trust policy
	providers map[string]*iam.GetOpenIDConnectProviderOutput
	listErr   error
}

func (f *fakeIAM) GetRole(_ context.Context, in *iam.GetRoleInput, _ ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	doc, ok := f.roles[aws.ToString(in.RoleName)]
	if !ok {
		return nil, errors.New("NoSuchEntity: The role with name " + aws.ToString(in.RoleName) + " cannot be found.")
	}
	return &iam.GetRoleOutput{Role: &types.Role{RoleName: in.RoleName, AssumeRolePolicyDocument: aws.String(doc)}}, nil
}

func (f *fakeIAM) ListOpenIDConnectProviders(context.Context, *iam.ListOpenIDConnectProvidersInput, ...func(*iam.Options)) (*iam.ListOpenIDConnectProvidersOutput, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	out := &iam.ListOpenIDConnectProvidersOutput{}
	for arn := range f.providers {
		out.OpenIDConnectProviderList = append(out.OpenIDConnectProviderList, types.OpenIDConnectProviderListEntry{Arn: aws.String(arn)})
	}
	return out, nil
}

func (f *fakeIAM) GetOpenIDConnectProvider(_ context.Context, in *iam.GetOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.GetOpenIDConnectProviderOutput, error) {
	return f.providers[aws.ToString(in.OpenIDConnectProviderArn)], nil
}

func TestIAMReaderTrustPolicy(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::000000000000:oidc-provider/x"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"x:sub":"{a b}:*"}}}]}`
	r := explain.IAMReader{Client: &fakeIAM{roles: map[string]string{"deploy": url.QueryEscape(doc)}}}
	cases := []struct {
		name, arn, want, wantErr string
	}{
		{"IAM's percent-encoding is undone", "arn:aws:iam::000000000000:role/deploy", doc, ""},
		{"a role with a path", "arn:aws:iam::000000000000:role/ci/deploy", doc, ""},
		{"an unknown role names the call", "arn:aws:iam::000000000000:role/nope", "", "read the trust policy of arn:aws:iam::000000000000:role/nope with iam:GetRole: NoSuchEntity"},
		{"a role name is no ARN", "deploy", "", `read the trust policy of a role: invalid ARN "deploy": it does not start with "arn:"`},
		{"a user ARN is no role ARN", "arn:aws:iam::000000000000:user/deploy", "", "read the trust policy of arn:aws:iam::000000000000:user/deploy: it is not an IAM role ARN"},
		{"a role ARN without a name", "arn:aws:iam::000000000000:role/ci/", "", "it is not an IAM role ARN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.TrustPolicy(context.Background(), tc.arn)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("TrustPolicy = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestProviderForURL(t *testing.T) {
	const url = "127.0.0.1:8400/2.0/workspaces/acme/pipelines-config/identity/oidc"
	cases := []struct {
		name, role, url, wantARN string
	}{
		{"the role's account", "arn:aws:iam::123456789012:role/deploy", "https://" + url, "arn:aws:iam::123456789012:oidc-provider/" + url},
		{"a URL without its scheme", "arn:aws:iam::123456789012:role/ci/deploy", url, "arn:aws:iam::123456789012:oidc-provider/" + url},
		{"the role's partition", "arn:aws-cn:iam::123456789012:role/deploy", "https://" + url, "arn:aws-cn:iam::123456789012:oidc-provider/" + url},
		{"no ARN: no account", "deploy", "https://" + url, "arn:aws:iam:::oidc-provider/" + url},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := explain.ProviderForURL(tc.role, tc.url, []string{"aud-1"})
			want := oidc.Provider{ARN: tc.wantARN, URL: url, ClientIDs: []string{"aud-1"}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ProviderForURL = %+v, want %+v", got, want)
			}
		})
	}
}

func TestIAMReaderProviders(t *testing.T) {
	const arn = "arn:aws:iam::000000000000:oidc-provider/issuer.example/oidc"
	f := &fakeIAM{providers: map[string]*iam.GetOpenIDConnectProviderOutput{arn: {
		Url: aws.String("issuer.example/oidc"), ClientIDList: []string{"aud-1"}, ThumbprintList: []string{"abcd"},
	}}}
	got, err := explain.IAMReader{Client: f}.Providers(context.Background())
	want := []oidc.Provider{{ARN: arn, URL: "issuer.example/oidc", ClientIDs: []string{"aud-1"}, Thumbprints: []string{"abcd"}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Providers = %+v, %v; want %+v", got, err, want)
	}
	f.listErr = errors.New("AccessDenied")
	if _, err := (explain.IAMReader{Client: f}).Providers(context.Background()); err == nil || !strings.HasPrefix(err.Error(), "list IAM OIDC providers: AccessDenied") {
		t.Errorf("error %v, want it to name the failed call", err)
	}
}

package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/coreos/go-oidc/v3/oidc"
)

// TestCITokensAgainstSTS: GitHub Actions- and GitLab-shaped tokens from keyless up's
// issuers are exchanged by STS, through the official Go SDK, exactly when an IAM OIDC
// provider for their issuer exists and the role's trust policy matches their sub and
// aud — as AWS does with token.actions.githubusercontent.com and gitlab.com.
func TestCITokensAgainstSTS(t *testing.T) {
	p := startUp(t, t.TempDir())
	ctx := context.Background()
	rootIAM := iam.NewFromConfig(rootConfig(p))
	stsc := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(p.env["KEYLESS_ENDPOINT"]), Credentials: aws.AnonymousCredentials{}})
	const aud = "sts.amazonaws.com"

	type role struct {
		iss, arn, providerARN string
	}
	// trust registers the issuer of a token minted with args as an OIDC provider and
	// creates a role that admits exactly sub.
	trust := func(name, sub string, args ...string) role {
		t.Helper()
		iss, _ := mintJSON(t, p.env, args...).Claims["iss"].(string)
		if !strings.HasPrefix(iss, "https://") {
			t.Fatalf("token minted with %v has iss %q", args, iss)
		}
		// The issuer is served over HTTPS with the local CA: discovery and keys work
		// for any OIDC client, not only keyless's STS.
		if _, err := oidc.NewProvider(oidc.ClientContext(ctx, caClient(t, p.env)), iss); err != nil {
			t.Fatalf("go-oidc discovery of %s: %v", iss, err)
		}
		prov, err := rootIAM.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(iss), ClientIDList: []string{aud}})
		if err != nil {
			t.Fatalf("CreateOpenIDConnectProvider %s: %v", iss, err)
		}
		providerURL := strings.TrimPrefix(iss, "https://")
		r, err := rootIAM.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName: aws.String(name),
			AssumeRolePolicyDocument: aws.String(trustPolicy(aws.ToString(prov.OpenIDConnectProviderArn), providerURL, map[string]any{
				"StringEquals": map[string]any{providerURL + ":aud": aud, providerURL + ":sub": sub},
			})),
		})
		if err != nil {
			t.Fatalf("CreateRole %s: %v", name, err)
		}
		return role{iss: iss, arn: aws.ToString(r.Role.Arn), providerARN: aws.ToString(prov.OpenIDConnectProviderArn)}
	}
	gh := trust("GitHubWebProduction", "repo:acme/web:environment:production", "--ci", "github", "--repository", "acme/web")
	gl := trust("GitLabWebMain", "project_path:acme/web:ref_type:branch:ref:main", "--ci", "gitlab", "--project", "acme/web")
	if gh.iss == gl.iss || !strings.HasSuffix(gh.iss, "/github") || !strings.HasSuffix(gl.iss, "/gitlab") || gh.iss == p.env["KEYLESS_ISSUER"] {
		t.Fatalf("issuers: github %s, gitlab %s, bitbucket %s; want three apart", gh.iss, gl.iss, p.env["KEYLESS_ISSUER"])
	}

	cases := []struct {
		name string
		role role
		args []string
		// code is "" for admitted, else the STS error code.
		code string
	}{
		{"github environment", gh, []string{"--ci", "github", "--repository", "acme/web", "--environment", "production"}, ""},
		{"github owner flag, other branch, same environment", gh, []string{"--ci", "github", "--owner", "acme", "--repository", "web", "--environment", "production", "--branch", "release"}, ""},
		{"github other environment", gh, []string{"--ci", "github", "--repository", "acme/web", "--environment", "staging"}, "AccessDenied"},
		{"github no environment", gh, []string{"--ci", "github", "--repository", "acme/web", "--branch", "main"}, "AccessDenied"},
		{"github pull request", gh, []string{"--ci", "github", "--repository", "acme/web", "--event", "pull_request"}, "AccessDenied"},
		{"github other repository", gh, []string{"--ci", "github", "--repository", "acme/api", "--environment", "production"}, "AccessDenied"},
		{"github other owner", gh, []string{"--ci", "github", "--repository", "evil/web", "--environment", "production"}, "AccessDenied"},
		{"github other audience", gh, []string{"--ci", "github", "--repository", "acme/web", "--environment", "production", "--audience", "https://github.com/acme"}, "InvalidIdentityToken"},
		{"gitlab token, github role", gh, []string{"--ci", "gitlab", "--project", "acme/web", "--environment", "production"}, "AccessDenied"},

		{"gitlab default branch", gl, []string{"--ci", "gitlab", "--project", "acme/web"}, ""},
		{"gitlab group flag, environment", gl, []string{"--ci", "gitlab", "--group", "acme", "--project", "web", "--branch", "main", "--environment", "production"}, ""},
		{"gitlab other branch", gl, []string{"--ci", "gitlab", "--project", "acme/web", "--branch", "dev"}, "AccessDenied"},
		{"gitlab tag named main", gl, []string{"--ci", "gitlab", "--project", "acme/web", "--tag", "main"}, "AccessDenied"},
		{"gitlab other project", gl, []string{"--ci", "gitlab", "--project", "acme/api"}, "AccessDenied"},
		{"gitlab subgroup project", gl, []string{"--ci", "gitlab", "--project", "acme/sub/web"}, "AccessDenied"},
		{"github token, gitlab role", gl, []string{"--ci", "github", "--repository", "acme/web", "--environment", "production"}, "AccessDenied"},
		{"bitbucket token: no provider for its issuer", gl, []string{"--workspace", "acme", "--repository", "web", "--branch", "main"}, "InvalidIdentityToken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := mintJSON(t, p.env, tc.args...)
			out, err := stsc.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
				RoleArn: aws.String(tc.role.arn), RoleSessionName: aws.String("ci-tokens"), WebIdentityToken: aws.String(m.Token),
			})
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused %v: %v", m.Claims["sub"], err)
				}
				if got := aws.ToString(out.SubjectFromWebIdentityToken); got != m.Claims["sub"] {
					t.Errorf("SubjectFromWebIdentityToken %q, want the token's sub %v", got, m.Claims["sub"])
				}
				if aws.ToString(out.Audience) != aud || aws.ToString(out.Provider) != tc.role.providerARN {
					t.Errorf("Audience %q Provider %q, want %s and %s", aws.ToString(out.Audience), aws.ToString(out.Provider), aud, tc.role.providerARN)
				}
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Fatalf("sub %v: err = %v, want %s", m.Claims["sub"], err, tc.code)
			}
		})
	}
}

package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/oidc"
)

const (
	bitbucketAcme = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
	githubProd    = "https://token.actions.githubusercontent.com"
	gitlabProd    = "https://gitlab.com"
)

// dialRecorder is the STS verifier's dialer in these tests: it records every address
// and connects only to loopback.
type dialRecorder struct {
	mu    sync.Mutex
	addrs []string
}

func (d *dialRecorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		return nil, errors.New("test dialer: refusing to leave loopback for " + addr)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func (d *dialRecorder) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := d.addrs
	d.addrs = nil
	return a
}

// TestProductionIssuerURLsVerifyInProcess: with workspace acme, GitHub and GitLab
// served under their production issuer URLs, tokens carry those URLs, DIR/env names
// the aliases, and STS exchanges the tokens for an IAM provider of the production
// URL (no thumbprint) without dialling anything — while a workspace served under
// the local URL is still fetched over HTTPS from loopback, showing that the
// recorder sees the verifier's connections.
func TestProductionIssuerURLsVerifyInProcess(t *testing.T) {
	dials := &dialRecorder{}
	cfg := Config{
		Listen:     "127.0.0.1:0",
		Workspaces: []WorkspaceConfig{{Slug: "acme", IssuerURL: bitbucketAcme}},
		Issuer:     IssuerConfig{GitHubIssuerURL: githubProd, GitLabIssuerURL: gitlabProd},
	}
	s, err := Start(t.Context(), Options{Config: cfg, DataDir: t.TempDir(), Getenv: noEnv, Dial: dials.dial,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { stopTest(t, s) })

	env := map[string]string{}
	for _, kv := range s.Env() {
		env[kv[0]] = kv[1]
	}
	aliases, err := oidc.ParseAliases(env[oidc.AliasesEnv])
	if err != nil {
		t.Fatalf("%s: %v", oidc.AliasesEnv, err)
	}
	local := "https://" + strings.TrimPrefix(s.Endpoint(), "http://")
	wantAliases := map[string]string{
		bitbucketAcme: local + "/2.0/workspaces/acme/pipelines-config/identity/oidc",
		githubProd:    local + "/github",
		gitlabProd:    local + "/gitlab",
	}
	if len(aliases) != len(wantAliases) {
		t.Errorf("%s = %q, want %v", oidc.AliasesEnv, env[oidc.AliasesEnv], wantAliases)
	}
	for k, v := range wantAliases {
		if aliases[k] != v {
			t.Errorf("alias of %s = %q, want %q", k, aliases[k], v)
		}
	}
	if !strings.Contains(s.Banner(), "serves    "+bitbucketAcme) {
		t.Errorf("banner does not name the production issuer it serves:\n%s", s.Banner())
	}

	ctx := context.Background()
	root := s.Root()
	awsCfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider(root.AccessKeyID, root.SecretAccessKey, "")}
	rootIAM := iam.NewFromConfig(awsCfg)
	stsc := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint()), Credentials: aws.AnonymousCredentials{}})

	for _, tc := range []struct {
		name    string
		req     issuer.MintRequest
		iss     string
		aud     string
		dialled bool // whether STS fetches the keys over HTTPS
	}{
		{"bitbucket workspace under api.bitbucket.org", issuer.MintRequest{Workspace: "acme", Repository: "web", Environment: "production"}, bitbucketAcme, issuer.WorkspaceAudience(issuer.WorkspaceUUID("acme")), false},
		{"github under token.actions.githubusercontent.com", issuer.MintRequest{CI: issuer.CIGitHub, Repository: "acme/web", Environment: "production"}, githubProd, issuer.DefaultCIAudience, false},
		{"gitlab under gitlab.com", issuer.MintRequest{CI: issuer.CIGitLab, Repository: "acme/web"}, gitlabProd, issuer.DefaultCIAudience, false},
		{"workspace under the local issuer", issuer.MintRequest{Workspace: "other", Repository: "web"}, local + "/2.0/workspaces/other/pipelines-config/identity/oidc", issuer.WorkspaceAudience(issuer.WorkspaceUUID("other")), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := s.Issuer().Mint(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			_, claims, err := oidc.ParseUnverified(tok.Raw)
			if err != nil || claims["iss"] != tc.iss {
				t.Fatalf("token iss %v (%v), want %s", claims["iss"], err, tc.iss)
			}
			providerURL := strings.TrimPrefix(tc.iss, "https://")
			prov, err := rootIAM.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(tc.iss), ClientIDList: []string{tc.aud}})
			if err != nil {
				t.Fatalf("CreateOpenIDConnectProvider %s: %v", tc.iss, err)
			}
			policy, _ := json.Marshal(map[string]any{
				"Version": "2012-10-17",
				"Statement": []any{map[string]any{
					"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
					"Principal": map[string]any{"Federated": aws.ToString(prov.OpenIDConnectProviderArn)},
					"Condition": map[string]any{
						"StringEquals": map[string]any{providerURL + ":aud": tc.aud, providerURL + ":sub": tok.Subject()},
						"IpAddress":    map[string]any{"aws:SourceIp": "127.0.0.1/32"},
					},
				}},
			})
			role, err := rootIAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(strings.ReplaceAll(tc.name, " ", "-")[:20]), AssumeRolePolicyDocument: aws.String(string(policy))})
			if err != nil {
				t.Fatalf("CreateRole: %v", err)
			}
			dials.take()
			out, err := stsc.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
				RoleArn: role.Role.Arn, RoleSessionName: aws.String("alias"), WebIdentityToken: aws.String(tok.Raw),
			})
			if err != nil {
				t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
			}
			if aws.ToString(out.SubjectFromWebIdentityToken) != tok.Subject() || aws.ToString(out.Provider) != aws.ToString(prov.OpenIDConnectProviderArn) {
				t.Errorf("answer for sub %q, provider %q", aws.ToString(out.SubjectFromWebIdentityToken), aws.ToString(out.Provider))
			}
			got := dials.take()
			if tc.dialled != (len(got) > 0) {
				t.Errorf("STS dialled %q; want dials: %v", got, tc.dialled)
			}
			for _, a := range got {
				if !strings.HasPrefix(a, "127.0.0.1:") {
					t.Errorf("STS dialled %s", a)
				}
			}
		})
	}
}

func TestWorkspaceIssuersConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []WorkspaceConfig
		want map[string]string
		err  string
	}{
		{"none", []WorkspaceConfig{{Slug: "acme"}}, map[string]string{}, ""},
		{"one", []WorkspaceConfig{{Slug: "acme", IssuerURL: bitbucketAcme}, {Slug: "beta"}}, map[string]string{"acme": bitbucketAcme}, ""},
		{"listed twice alike", []WorkspaceConfig{{Slug: "acme", IssuerURL: bitbucketAcme}, {Slug: "acme", IssuerURL: bitbucketAcme}}, map[string]string{"acme": bitbucketAcme}, ""},
		{"listed twice apart", []WorkspaceConfig{{Slug: "acme", IssuerURL: bitbucketAcme}, {Slug: "acme", IssuerURL: githubProd}}, nil, "listed twice"},
	} {
		got, err := workspaceIssuers(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) || got["acme"] != tc.want["acme"] {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	c, err := ParseConfig([]byte(`{"workspaces":[{"slug":"acme","issuer_url":"` + bitbucketAcme + `"}],
		"issuer":{"github_issuer_url":"` + githubProd + `","gitlab_issuer_url":"` + gitlabProd + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Workspaces[0].IssuerURL != bitbucketAcme || c.Issuer.GitHubIssuerURL != githubProd || c.Issuer.GitLabIssuerURL != gitlabProd {
		t.Errorf("parsed %+v", c)
	}
}

// TestStartRefusesBadIssuerURL: a configured issuer URL that is not https is refused
// at start, naming the workspace.
func TestStartRefusesBadIssuerURL(t *testing.T) {
	_, err := Start(t.Context(), Options{Config: Config{Listen: "127.0.0.1:0",
		Workspaces: []WorkspaceConfig{{Slug: "acme", IssuerURL: "http://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"}}},
		DataDir: t.TempDir(), Getenv: noEnv})
	if err == nil || !strings.Contains(err.Error(), "workspace acme issuer URL") {
		t.Fatalf("Start: %v", err)
	}
}

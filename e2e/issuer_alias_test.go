package e2e

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// proxyTrap is a loopback HTTP proxy that forwards nothing: it records the first
// line of every request it gets (CONNECT host:443 for HTTPS) and refuses it. Child
// processes get it as their HTTPS_PROXY, HTTP_PROXY and ALL_PROXY, so any request a
// proxy-honouring client makes off loopback lands here instead of the network.
type proxyTrap struct {
	l    net.Listener
	mu   sync.Mutex
	seen []string
}

func newProxyTrap(t *testing.T) *proxyTrap {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxyTrap{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				line, _ := bufio.NewReader(c).ReadString('\n')
				p.mu.Lock()
				p.seen = append(p.seen, strings.TrimSpace(line))
				p.mu.Unlock()
				c.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			}()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return p
}

func (p *proxyTrap) url() string { return "http://" + p.l.Addr().String() }

func (p *proxyTrap) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

func (p *proxyTrap) env() []string {
	u := p.url()
	return []string{"HTTPS_PROXY=" + u, "https_proxy=" + u, "HTTP_PROXY=" + u, "http_proxy=" + u, "ALL_PROXY=" + u, "all_proxy=" + u, "NO_PROXY=", "no_proxy="}
}

// TestProductionIssuerURLsOffline: keyless up serves workspace acme under Bitbucket's
// production issuer URL and the GitHub-shaped issuer under
// token.actions.githubusercontent.com, as a config file says. An IAM provider and a
// trust policy written for production (seed 003's condition key
// api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:aud, and
// aws:SourceIp 127.0.0.1/32) then admit the minted tokens through the Go SDK, and
// `keyless token inspect --verify` and `keyless explain` with the env file's
// variables verify them and say ADMITTED — all from the local stack. Nothing may go
// off loopback: keyless up and the CLI run with every proxy variable pointing at a
// trap that fails the test if it sees a request, and a token only the local key set
// signed could not verify against the real hosts anyway.
func TestProductionIssuerURLsOffline(t *testing.T) {
	t.Parallel()
	const (
		bitbucket = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
		github    = "https://token.actions.githubusercontent.com"
	)
	trap := newProxyTrap(t)
	// The trap catches what a proxy-honouring client sends off loopback.
	probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: func(*http.Request) (*url.URL, error) { return url.Parse(trap.url()) }}}
	if _, err := probe.Get("https://trap-self-test.invalid/"); err == nil || len(trap.requests()) != 1 || trap.requests()[0] != "CONNECT trap-self-test.invalid:443 HTTP/1.1" {
		t.Fatalf("proxy trap self-test: err %v, saw %q", err, trap.requests())
	}
	trap.mu.Lock()
	trap.seen = nil
	trap.mu.Unlock()
	t.Cleanup(func() {
		if seen := trap.requests(); len(seen) > 0 {
			t.Errorf("requests left loopback through the proxy: %q", seen)
		}
	})

	cfgPath := filepath.Join(t.TempDir(), "keyless.json")
	cfg := `{"default_workspace": "acme",
  "workspaces": [{"slug": "acme", "issuer_url": "` + bitbucket + `"}],
  "issuer": {"github_issuer_url": "` + github + `"}}`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUpEnv(t, t.TempDir(), trap.env(), "--config", cfgPath)
	local := "https://" + strings.TrimPrefix(p.env["KEYLESS_ENDPOINT"], "http://")
	if p.env["KEYLESS_ISSUER"] != bitbucket {
		t.Errorf("KEYLESS_ISSUER = %q, want the production URL of the default workspace", p.env["KEYLESS_ISSUER"])
	}
	wantAliases := bitbucket + "=" + local + "/2.0/workspaces/acme/pipelines-config/identity/oidc " + github + "=" + local + "/github"
	if got := p.env["KEYLESS_ISSUER_ALIASES"]; got != wantAliases {
		t.Errorf("KEYLESS_ISSUER_ALIASES = %q, want %q", got, wantAliases)
	}

	ctx := context.Background()
	rootIAM := iam.NewFromConfig(rootConfig(p))
	stsc := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(p.env["KEYLESS_ENDPOINT"]), Credentials: aws.AnonymousCredentials{}})
	cliEnv := withEnv(p.env, append(trap.env(), "HOME="+t.TempDir())...)

	for _, tc := range []struct {
		name, iss, aud, role string
		mint                 []string
		sub                  map[string]any // StringEquals conditions besides aud
	}{
		{name: "bitbucket", iss: bitbucket, aud: p.env["KEYLESS_AUDIENCE"], role: "CfnOIDCRole",
			mint: []string{"--workspace", "acme", "--repository", "web", "--environment", "production"}},
		{name: "github", iss: github, aud: "sts.amazonaws.com", role: "GitHubDeploy",
			mint: []string{"--ci", "github", "--repository", "acme/web", "--environment", "production"},
			sub:  map[string]any{"token.actions.githubusercontent.com:sub": "repo:acme/web:environment:production"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			providerURL := strings.TrimPrefix(tc.iss, "https://")
			// As AWS now allows for issuers on well-known CAs: no thumbprint.
			prov, err := rootIAM.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(tc.iss), ClientIDList: []string{tc.aud}})
			if err != nil {
				t.Fatalf("CreateOpenIDConnectProvider %s: %v", tc.iss, err)
			}
			m := mintJSON(t, p.env, tc.mint...)
			if m.Claims["iss"] != tc.iss {
				t.Fatalf("minted iss %v, want %s", m.Claims["iss"], tc.iss)
			}
			eq := map[string]any{providerURL + ":aud": tc.aud}
			maps.Copy(eq, tc.sub)
			r, err := rootIAM.CreateRole(ctx, &iam.CreateRoleInput{
				RoleName: aws.String(tc.role),
				AssumeRolePolicyDocument: aws.String(trustPolicy(aws.ToString(prov.OpenIDConnectProviderArn), providerURL, map[string]any{
					"StringEquals": eq,
					"IpAddress":    map[string]any{"aws:SourceIp": "127.0.0.1/32"},
				})),
			})
			if err != nil {
				t.Fatalf("CreateRole: %v", err)
			}
			roleARN := aws.ToString(r.Role.Arn)

			out, err := stsc.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
				RoleArn: aws.String(roleARN), RoleSessionName: aws.String("offline"), WebIdentityToken: aws.String(m.Token),
			})
			if err != nil {
				t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
			}
			if aws.ToString(out.Provider) != aws.ToString(prov.OpenIDConnectProviderArn) || aws.ToString(out.SubjectFromWebIdentityToken) != m.Claims["sub"] {
				t.Errorf("provider %q sub %q", aws.ToString(out.Provider), aws.ToString(out.SubjectFromWebIdentityToken))
			}

			stdout, stderr, code := run(t, cliEnv, "token", "inspect", m.Token, "--verify", "--output", "json")
			var in struct {
				ConditionKeys map[string][]string `json:"conditionKeys"`
				Verification  struct {
					Result, KeysFrom string
					SignatureValid   bool
				} `json:"verification"`
			}
			if code != 0 || json.Unmarshal([]byte(stdout), &in) != nil {
				t.Fatalf("token inspect --verify: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			if in.Verification.Result != "ok" || !in.Verification.SignatureValid || !strings.HasPrefix(in.Verification.KeysFrom, local+"/") {
				t.Errorf("verification %+v, want ok with the keys of %s", in.Verification, local)
			}
			if got := in.ConditionKeys[providerURL+":aud"]; len(got) != 1 || got[0] != tc.aud {
				t.Errorf("condition keys %v, want %s:aud = %s", in.ConditionKeys, providerURL, tc.aud)
			}

			stdout, stderr, code = run(t, cliEnv, "explain", "--role-arn", roleARN, "--source-ip", "127.0.0.1", "--token", m.Token)
			if code != 0 || !strings.Contains(stdout, "ADMITTED") || strings.Contains(stdout, "FAIL") {
				t.Errorf("explain: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}

			// The thumbprint of a production issuer served locally is that of the
			// local issuer (the CA), never looked up on the real host.
			stdout, stderr, code = run(t, cliEnv, "thumbprint", tc.iss)
			if code != 0 || stdout != caThumbprint(t, p.env["KEYLESS_CA_BUNDLE"])+"\n" || !strings.Contains(stderr, "served by the local stack") {
				t.Errorf("thumbprint %s: exit %d\nstdout: %s\nstderr: %s", tc.iss, code, stdout, stderr)
			}
		})
	}
}

// caThumbprint is the SHA-1 of the first certificate of the PEM file path, in hex.
func caThumbprint(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM block", path)
	}
	sum := sha1.Sum(block.Bytes)
	return hex.EncodeToString(sum[:])
}

package issuer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/store"
)

// payload decodes a compact JWS's claims as a generic map, the way a relying party sees them.
func payload(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var bracedUUID = regexp.MustCompile(`^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$`)

func TestMintClaimsAreBitbucketShaped(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{}, true)
	const iss = "https://127.0.0.1:8443/2.0/workspaces/acme/pipelines-config/identity/oidc"
	wsUUID := issuer.WorkspaceUUID("acme")
	repo := "{" + issuer.RepositoryUUID("acme", "web") + "}"
	env := "{" + issuer.EnvironmentUUID("acme", "web", "production") + "}"

	t.Run("plain step", func(t *testing.T) {
		tok := mint(t, f, issuer.MintRequest{Workspace: "acme", Repository: "web", Branch: "main"})
		c := payload(t, tok.Raw)
		if c["iss"] != iss {
			t.Errorf("iss = %v, want %s", c["iss"], iss)
		}
		if c["aud"] != "ari:cloud:bitbucket::workspace/"+wsUUID {
			t.Errorf("aud = %v (%T), want the workspace audience as a string", c["aud"], c["aud"])
		}
		if c["repositoryUuid"] != repo || c["workspaceUuid"] != "{"+wsUUID+"}" || c["branchName"] != "main" {
			t.Errorf("claims = %v", c)
		}
		step := c["stepUuid"].(string)
		if c["sub"] != repo+":"+step {
			t.Errorf("sub = %v, want {repo}:{step} = %s:%s", c["sub"], repo, step)
		}
		for _, k := range []string{"stepUuid", "pipelineUuid", "repositoryUuid", "workspaceUuid"} {
			if s, _ := c[k].(string); !bracedUUID.MatchString(s) {
				t.Errorf("%s = %v, want a brace-wrapped lower-case UUID", k, c[k])
			}
		}
		if _, ok := c["deploymentEnvironmentUuid"]; ok {
			t.Error("a non-deployment step carries deploymentEnvironmentUuid")
		}
		iat, exp := c["iat"].(float64), c["exp"].(float64)
		if int64(iat) != f.clk.Now().Unix() || exp-iat != 3600 {
			t.Errorf("iat %v exp %v: want now and a one-hour lifetime", iat, exp)
		}
		if jti, _ := c["jti"].(string); jti == "" {
			t.Error("no jti")
		}
		if _, ok := c["https://aws.amazon.com/tags"]; ok {
			t.Error("session tags claim present though the workspace did not enable it")
		}
	})

	t.Run("deployment step", func(t *testing.T) {
		tok := mint(t, f, issuer.MintRequest{Workspace: "acme", Repository: "web", Environment: "production", TTL: issuer.Duration(15 * time.Minute)})
		c := payload(t, tok.Raw)
		if c["deploymentEnvironmentUuid"] != env {
			t.Errorf("deploymentEnvironmentUuid = %v, want %s", c["deploymentEnvironmentUuid"], env)
		}
		if want := repo + ":" + env + ":" + c["stepUuid"].(string); c["sub"] != want {
			t.Errorf("sub = %v, want %s", c["sub"], want)
		}
		if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 900 {
			t.Errorf("lifetime %v s, want 900", exp-iat)
		}
	})

	t.Run("custom audiences are an array", func(t *testing.T) {
		c := payload(t, mint(t, f, issuer.MintRequest{Workspace: "acme", Repository: "web", Audiences: []string{"sts.amazonaws.com"}}).Raw)
		aud, ok := c["aud"].([]any)
		if !ok || len(aud) != 1 || aud[0] != "sts.amazonaws.com" {
			t.Errorf("aud = %#v, want [\"sts.amazonaws.com\"]", c["aud"])
		}
	})

	t.Run("unique ids per token", func(t *testing.T) {
		a := payload(t, mint(t, f, issuer.MintRequest{Workspace: "acme", Repository: "web"}).Raw)
		b := payload(t, mint(t, f, issuer.MintRequest{Workspace: "acme", Repository: "web"}).Raw)
		if a["jti"] == b["jti"] || a["stepUuid"] == b["stepUuid"] {
			t.Error("two mints share a jti or step UUID")
		}
		if a["repositoryUuid"] != b["repositoryUuid"] {
			t.Error("the same repository got two UUIDs")
		}
	})
}

func TestStableUUIDsAcrossServers(t *testing.T) {
	a := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	b := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	req := issuer.MintRequest{Workspace: "acme", Repository: "web", Environment: "Staging"}
	ca, cb := payload(t, mint(t, a, req).Raw), payload(t, mint(t, b, req).Raw)
	for _, k := range []string{"workspaceUuid", "repositoryUuid", "deploymentEnvironmentUuid"} {
		if ca[k] != cb[k] {
			t.Errorf("%s differs between two fresh servers: %v vs %v", k, ca[k], cb[k])
		}
	}
	other := payload(t, mint(t, a, issuer.MintRequest{Workspace: "acme", Repository: "api"}).Raw)
	if other["repositoryUuid"] == ca["repositoryUuid"] {
		t.Error("two repositories share a UUID")
	}
}

func TestExplicitUUIDs(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	const repoUUID = "4D1A2B3C-0000-4000-8000-0000000000AA"
	c := payload(t, mint(t, f, issuer.MintRequest{Workspace: "acme", Repository: "web", RepositoryUUID: "{" + repoUUID + "}"}).Raw)
	if c["repositoryUuid"] != "{"+strings.ToLower(repoUUID)+"}" {
		t.Fatalf("repositoryUuid = %v, want the explicit UUID in lower case", c["repositoryUuid"])
	}
	_, err := f.is.Mint(context.Background(), issuer.MintRequest{Workspace: "acme", Repository: "web", RepositoryUUID: "4d1a2b3c-0000-4000-8000-0000000000ab"})
	var ie *issuer.Error
	if !errors.As(err, &ie) || ie.Code != issuer.CodeConflict || !strings.Contains(ie.Message, "4d1a2b3c-0000-4000-8000-0000000000aa") {
		t.Fatalf("a conflicting UUID: err = %v, want Conflict naming the registered UUID", err)
	}
}

func TestSessionTagsClaim(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	ctx := context.Background()
	if err := f.st.CreateWorkspace(ctx, store.Workspace{Slug: "tagged", UUID: issuer.WorkspaceUUID("tagged"), SessionTags: true, CreatedAt: f.clk.Now()}); err != nil {
		t.Fatal(err)
	}
	c := payload(t, mint(t, f, issuer.MintRequest{Workspace: "tagged", Repository: "web", Environment: "production", Branch: "feature/x#1"}).Raw)
	tags, ok := c["https://aws.amazon.com/tags"].(map[string]any)
	if !ok {
		t.Fatalf("no session-tags claim in %v", c)
	}
	pt := tags["principal_tags"].(map[string]any)
	want := map[string]string{"repository": "web", "environment": "production", "branch": "feature/x_1"}
	for k, v := range want {
		got, _ := pt[k].([]any)
		if len(got) != 1 || got[0] != v {
			t.Errorf("principal_tags[%s] = %v, want [%q]", k, pt[k], v)
		}
	}
	if tk, _ := tags["transitive_tag_keys"].([]any); len(tk) != 3 {
		t.Errorf("transitive_tag_keys = %v", tags["transitive_tag_keys"])
	}
}

func TestMintRejectsBadInput(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	closed := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, false)
	long := strings.Repeat("a", 151)
	many := make([]string, 11)
	for i := range many {
		many[i] = "aud" + string(rune('a'+i))
	}
	cases := []struct {
		name  string
		f     *fixture
		req   issuer.MintRequest
		code  string
		field string
		says  string
	}{
		{"no workspace", f, issuer.MintRequest{Repository: "web"}, issuer.CodeInvalidRequest, "workspace", "workspace is required"},
		{"no repository", f, issuer.MintRequest{Workspace: "acme"}, issuer.CodeInvalidRequest, "repository", "repository is required"},
		{"upper-case workspace", f, issuer.MintRequest{Workspace: "Acme", Repository: "web"}, issuer.CodeInvalidRequest, "workspace", `"Acme"`},
		{"slash in repository", f, issuer.MintRequest{Workspace: "acme", Repository: "web/app"}, issuer.CodeInvalidRequest, "repository", `"web/app"`},
		{"bad environment", f, issuer.MintRequest{Workspace: "acme", Repository: "web", Environment: "prod\n"}, issuer.CodeInvalidRequest, "environment", "environment name"},
		{"bad branch", f, issuer.MintRequest{Workspace: "acme", Repository: "web", Branch: "a..b"}, issuer.CodeInvalidRequest, "branch", "branch name"},
		{"eleven audiences", f, issuer.MintRequest{Workspace: "acme", Repository: "web", Audiences: many}, issuer.CodeInvalidRequest, "audiences", "at most 10"},
		{"long audience", f, issuer.MintRequest{Workspace: "acme", Repository: "web", Audiences: []string{"ok", long}}, issuer.CodeInvalidRequest, "audiences", "audience 2 is 151 characters"},
		{"empty audience", f, issuer.MintRequest{Workspace: "acme", Repository: "web", Audiences: []string{""}}, issuer.CodeInvalidRequest, "audiences", "empty"},
		{"ttl too short", f, issuer.MintRequest{Workspace: "acme", Repository: "web", TTL: issuer.Duration(time.Second)}, issuer.CodeInvalidRequest, "ttl", "out of range"},
		{"ttl too long", f, issuer.MintRequest{Workspace: "acme", Repository: "web", TTL: issuer.Duration(13 * time.Hour)}, issuer.CodeInvalidRequest, "ttl", "out of range"},
		{"bad uuid", f, issuer.MintRequest{Workspace: "acme", Repository: "web", RepositoryUUID: "nope"}, issuer.CodeInvalidRequest, "repositoryUuid", "want a UUID"},
		{"unknown workspace, registration off", closed, issuer.MintRequest{Workspace: "acme", Repository: "web"}, issuer.CodeNotFound, "workspace", "not registered"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.f.is.Mint(context.Background(), tc.req)
			var ie *issuer.Error
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *issuer.Error", err)
			}
			if ie.Code != tc.code || ie.Field != tc.field || !strings.Contains(ie.Message, tc.says) {
				t.Fatalf("err = %s/%s %q, want %s/%s containing %q", ie.Code, ie.Field, ie.Message, tc.code, tc.field, tc.says)
			}
		})
	}
	// Nothing was registered by the refused requests.
	if _, err := f.st.GetRepository(context.Background(), "acme", "web/app"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused mint registered a repository: %v", err)
	}
	if _, err := closed.st.GetWorkspace(context.Background(), "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a closed server registered a workspace: %v", err)
	}
}

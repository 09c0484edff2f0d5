package issuer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/issuer"
)

var (
	nineDigits = regexp.MustCompile(`^[1-9][0-9]{8}$`)
	tenDigits  = regexp.MustCompile(`^[1-9][0-9]{9}$`)
	hex40      = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// claimKeys returns the sorted keys of a claim set.
func claimKeys(c map[string]any) []string { return slices.Sorted(maps.Keys(c)) }

func TestGitHubTokenShape(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{}, true)
	const iss = "https://127.0.0.1:8443/github"
	tok := mint(t, f, issuer.MintRequest{CI: issuer.CIGitHub, Repository: "acme/web", Environment: "production", Branch: "main"})
	if tok.CI != issuer.CIGitHub || tok.GitHub == nil || tok.GitLab != nil {
		t.Fatalf("token CI %q with claim sets github=%v gitlab=%v", tok.CI, tok.GitHub != nil, tok.GitLab != nil)
	}
	if _, err := verify(t, f.keys, tok.Raw); err != nil {
		t.Fatalf("the token does not verify against the JWKS: %v", err)
	}
	c := payload(t, tok.Raw)
	want := []string{"actor", "actor_id", "aud", "environment", "event_name", "exp", "iat", "iss", "job_workflow_ref", "jti", "nbf", "ref", "ref_type",
		"repository", "repository_id", "repository_owner", "repository_owner_id", "repository_visibility", "run_attempt", "run_id", "run_number",
		"runner_environment", "sha", "sub", "workflow", "workflow_ref"}
	if got := claimKeys(c); !reflect.DeepEqual(got, want) {
		t.Errorf("claims\n got %v\nwant %v", got, want)
	}
	fixed := map[string]any{
		"iss": iss, "sub": "repo:acme/web:environment:production", "aud": "sts.amazonaws.com",
		"repository": "acme/web", "repository_owner": "acme", "environment": "production",
		"ref": "refs/heads/main", "ref_type": "branch", "event_name": "push", "actor": "keyless",
		"repository_id": issuer.GitHubRepositoryID("acme", "web"), "repository_owner_id": issuer.GitHubAccountID("acme"), "actor_id": issuer.GitHubAccountID("keyless"),
		"workflow": "deploy", "workflow_ref": "acme/web/.github/workflows/deploy.yml@refs/heads/main", "job_workflow_ref": "acme/web/.github/workflows/deploy.yml@refs/heads/main",
		"run_attempt": "1", "repository_visibility": "private", "runner_environment": "github-hosted",
	}
	for k, v := range fixed {
		if c[k] != v {
			t.Errorf("%s = %#v, want %#v", k, c[k], v)
		}
	}
	for _, k := range []string{"repository_id", "repository_owner_id", "actor_id"} {
		if s, _ := c[k].(string); !nineDigits.MatchString(s) {
			t.Errorf("%s = %#v, want a numeric ID written as a string, as GitHub writes them", k, c[k])
		}
	}
	if s, _ := c["run_id"].(string); !tenDigits.MatchString(s) {
		t.Errorf("run_id = %#v, want a 10-digit ID as a string", c["run_id"])
	}
	if s, _ := c["sha"].(string); !hex40.MatchString(s) {
		t.Errorf("sha = %#v, want 40 hex digits", c["sha"])
	}
	iat, nbf, exp := c["iat"].(float64), c["nbf"].(float64), c["exp"].(float64)
	if int64(iat) != f.clk.Now().Unix() || nbf != iat || exp-iat != 3600 {
		t.Errorf("iat %v nbf %v exp %v: want now, now and a one-hour lifetime", iat, nbf, exp)
	}
	if tok.Subject() != c["sub"] || tok.JWTID() != c["jti"] || tok.Expiry() != int64(exp) {
		t.Errorf("Token accessors disagree with the claims: %q %q %d", tok.Subject(), tok.JWTID(), tok.Expiry())
	}
}

func TestGitHubSubjects(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	cases := []struct {
		name     string
		req      issuer.MintRequest
		sub, ref string
		refType  string
	}{
		{"default branch", issuer.MintRequest{Repository: "acme/web"}, "repo:acme/web:ref:refs/heads/main", "refs/heads/main", "branch"},
		{"branch", issuer.MintRequest{Workspace: "acme", Repository: "web", Branch: "feature/x"}, "repo:acme/web:ref:refs/heads/feature/x", "refs/heads/feature/x", "branch"},
		{"tag", issuer.MintRequest{Repository: "acme/web", Tag: "v1.2.0"}, "repo:acme/web:ref:refs/tags/v1.2.0", "refs/tags/v1.2.0", "tag"},
		{"pull request", issuer.MintRequest{Repository: "acme/web", Branch: "fix", Event: "pull_request"}, "repo:acme/web:pull_request", "refs/heads/fix", "branch"},
		{"environment wins over pull request", issuer.MintRequest{Repository: "acme/web", Event: "pull_request", Environment: "review"}, "repo:acme/web:environment:review", "refs/heads/main", "branch"},
		{"case kept", issuer.MintRequest{Repository: "Acme/Web.site"}, "repo:Acme/Web.site:ref:refs/heads/main", "refs/heads/main", "branch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.CI = issuer.CIGitHub
			c := payload(t, mint(t, f, tc.req).Raw)
			if c["sub"] != tc.sub || c["ref"] != tc.ref || c["ref_type"] != tc.refType {
				t.Errorf("sub %v ref %v ref_type %v, want %s %s %s", c["sub"], c["ref"], c["ref_type"], tc.sub, tc.ref, tc.refType)
			}
			if _, ok := c["environment"]; ok != (tc.req.Environment != "") {
				t.Errorf("environment claim present = %v for environment %q", ok, tc.req.Environment)
			}
		})
	}
}

func TestGitLabTokenShape(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{}, true)
	const iss = "https://127.0.0.1:8443/gitlab"
	tok := mint(t, f, issuer.MintRequest{CI: issuer.CIGitLab, Repository: "acme/web", Environment: "production", Actor: "alice"})
	if tok.CI != issuer.CIGitLab || tok.GitLab == nil || tok.GitHub != nil {
		t.Fatalf("token CI %q with claim sets github=%v gitlab=%v", tok.CI, tok.GitHub != nil, tok.GitLab != nil)
	}
	if _, err := verify(t, f.keys, tok.Raw); err != nil {
		t.Fatalf("the token does not verify against the JWKS: %v", err)
	}
	c := payload(t, tok.Raw)
	want := []string{"aud", "ci_config_ref_uri", "ci_config_sha", "deployment_tier", "environment", "environment_protected", "exp", "iat", "iss", "job_id", "jti",
		"namespace_id", "namespace_path", "nbf", "pipeline_id", "pipeline_source", "project_id", "project_path", "project_visibility", "ref", "ref_protected", "ref_type",
		"runner_environment", "runner_id", "sha", "sub", "user_email", "user_id", "user_login"}
	if got := claimKeys(c); !reflect.DeepEqual(got, want) {
		t.Errorf("claims\n got %v\nwant %v", got, want)
	}
	fixed := map[string]any{
		"iss": iss, "sub": "project_path:acme/web:ref_type:branch:ref:main", "aud": "sts.amazonaws.com",
		"namespace_path": "acme", "namespace_id": issuer.GitLabNamespaceID("acme"), "project_path": "acme/web", "project_id": issuer.GitLabProjectID("acme/web"),
		"user_login": "alice", "user_id": issuer.GitLabUserID("alice"), "user_email": "alice@example.com",
		"pipeline_source": "push", "ref": "main", "ref_type": "branch", "ref_protected": "true",
		"environment": "production", "environment_protected": "false", "deployment_tier": "production",
		"runner_environment": "gitlab-hosted", "project_visibility": "private",
		"ci_config_ref_uri": "127.0.0.1:8443/gitlab/acme/web//.gitlab-ci.yml@refs/heads/main",
	}
	for k, v := range fixed {
		if c[k] != v {
			t.Errorf("%s = %#v, want %#v", k, c[k], v)
		}
	}
	for _, k := range []string{"namespace_id", "project_id", "user_id"} {
		if s, _ := c[k].(string); !nineDigits.MatchString(s) {
			t.Errorf("%s = %#v, want a numeric ID written as a string, as GitLab writes them", k, c[k])
		}
	}
	for _, k := range []string{"pipeline_id", "job_id"} {
		if s, _ := c[k].(string); !tenDigits.MatchString(s) {
			t.Errorf("%s = %#v, want a 10-digit ID as a string", k, c[k])
		}
	}
	if _, ok := c["runner_id"].(float64); !ok {
		t.Errorf("runner_id = %#v, want a number, as GitLab writes it", c["runner_id"])
	}
	if s, _ := c["sha"].(string); !hex40.MatchString(s) || c["ci_config_sha"] != s {
		t.Errorf("sha %#v ci_config_sha %#v, want the same 40 hex digits", c["sha"], c["ci_config_sha"])
	}
	if c["nbf"] != c["iat"] {
		t.Errorf("nbf %v, iat %v", c["nbf"], c["iat"])
	}
}

func TestGitLabSubjectsAndTiers(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	cases := []struct {
		name               string
		req                issuer.MintRequest
		sub, ns, protected string
		tier               any
		aud                any
		configRef          string
	}{
		{"default", issuer.MintRequest{Repository: "acme/web"}, "project_path:acme/web:ref_type:branch:ref:main", "acme", "true", nil, "sts.amazonaws.com", "refs/heads/main"},
		{"subgroups", issuer.MintRequest{Workspace: "acme/platform", Repository: "web", Branch: "dev"}, "project_path:acme/platform/web:ref_type:branch:ref:dev", "acme/platform", "false", nil, "sts.amazonaws.com", "refs/heads/dev"},
		{"tag", issuer.MintRequest{Repository: "acme/web", Tag: "v2"}, "project_path:acme/web:ref_type:tag:ref:v2", "acme", "false", nil, "sts.amazonaws.com", "refs/tags/v2"},
		{"staging tier", issuer.MintRequest{Repository: "acme/web", Environment: "staging"}, "project_path:acme/web:ref_type:branch:ref:main", "acme", "true", "staging", "sts.amazonaws.com", "refs/heads/main"},
		{"review apps are development", issuer.MintRequest{Repository: "acme/web", Environment: "review/fix-1"}, "project_path:acme/web:ref_type:branch:ref:main", "acme", "true", "development", "sts.amazonaws.com", "refs/heads/main"},
		{"other tier", issuer.MintRequest{Repository: "acme/web", Environment: "sandbox"}, "project_path:acme/web:ref_type:branch:ref:main", "acme", "true", "other", "sts.amazonaws.com", "refs/heads/main"},
		{"one audience is a string", issuer.MintRequest{Repository: "acme/web", Audiences: []string{"https://vault.example.com"}}, "project_path:acme/web:ref_type:branch:ref:main", "acme", "true", nil, "https://vault.example.com", "refs/heads/main"},
		{"several are an array", issuer.MintRequest{Repository: "acme/web", Audiences: []string{"a", "b"}}, "project_path:acme/web:ref_type:branch:ref:main", "acme", "true", nil, []any{"a", "b"}, "refs/heads/main"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.CI = issuer.CIGitLab
			c := payload(t, mint(t, f, tc.req).Raw)
			if c["sub"] != tc.sub || c["namespace_path"] != tc.ns || c["ref_protected"] != tc.protected || c["deployment_tier"] != tc.tier {
				t.Errorf("sub %v namespace_path %v ref_protected %v deployment_tier %v; want %s %s %s %v", c["sub"], c["namespace_path"], c["ref_protected"], c["deployment_tier"], tc.sub, tc.ns, tc.protected, tc.tier)
			}
			if !reflect.DeepEqual(c["aud"], tc.aud) {
				t.Errorf("aud = %#v, want %#v", c["aud"], tc.aud)
			}
			if ref, _ := c["ci_config_ref_uri"].(string); !strings.HasSuffix(ref, "//.gitlab-ci.yml@"+tc.configRef) {
				t.Errorf("ci_config_ref_uri = %q, want it to end in //.gitlab-ci.yml@%s", ref, tc.configRef)
			}
		})
	}
}

// TestCIIDsAreStable: the same names give the same IDs on any server, whatever their
// case; other names give other IDs; run IDs are fresh.
func TestCIIDsAreStable(t *testing.T) {
	a := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	b := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	gh := issuer.MintRequest{CI: issuer.CIGitHub, Repository: "acme/web"}
	ca, cb := payload(t, mint(t, a, gh).Raw), payload(t, mint(t, b, gh).Raw)
	upper := payload(t, mint(t, b, issuer.MintRequest{CI: issuer.CIGitHub, Repository: "ACME/Web"}).Raw)
	for _, k := range []string{"repository_id", "repository_owner_id", "actor_id", "sha"} {
		if ca[k] != cb[k] || ca[k] != upper[k] {
			t.Errorf("%s differs between servers or by case: %v, %v, %v", k, ca[k], cb[k], upper[k])
		}
	}
	if ca["run_id"] == cb["run_id"] || ca["jti"] == cb["jti"] {
		t.Error("two mints share a run_id or jti")
	}
	other := payload(t, mint(t, a, issuer.MintRequest{CI: issuer.CIGitHub, Repository: "acme/api"}).Raw)
	if other["repository_id"] == ca["repository_id"] || other["repository_owner_id"] != ca["repository_owner_id"] {
		t.Errorf("acme/api: repository_id %v owner %v; acme/web: %v %v", other["repository_id"], other["repository_owner_id"], ca["repository_id"], ca["repository_owner_id"])
	}
	gl := issuer.MintRequest{CI: issuer.CIGitLab, Repository: "acme/web"}
	la, lb := payload(t, mint(t, a, gl).Raw), payload(t, mint(t, b, gl).Raw)
	for _, k := range []string{"project_id", "namespace_id", "user_id", "runner_id"} {
		if la[k] != lb[k] {
			t.Errorf("%s differs between servers: %v vs %v", k, la[k], lb[k])
		}
	}
	if la["pipeline_id"] == lb["pipeline_id"] {
		t.Error("two mints share a pipeline_id")
	}
	// The ID spaces of the CIs and kinds are apart.
	if issuer.GitLabProjectID("acme/web") == issuer.GitHubRepositoryID("acme", "web") || issuer.GitLabNamespaceID("acme") == issuer.GitHubAccountID("acme") {
		t.Error("GitHub and GitLab derive the same IDs for the same names")
	}
}

// TestCIRandomnessIsInjected: with a fixed random source, run, pipeline and job IDs and
// jti are reproducible.
func TestCIRandomnessIsInjected(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	mk := func() *issuer.Issuer {
		is, err := issuer.New(issuer.Config{BaseURL: "https://127.0.0.1:8443", AutoRegister: true, Rand: bytes.NewReader(bytes.Repeat([]byte{7}, 1024))}, f.st, f.keys, f.clk.Now)
		if err != nil {
			t.Fatal(err)
		}
		return is
	}
	var seen []map[string]any
	for range 2 {
		tok, err := mk().Mint(context.Background(), issuer.MintRequest{CI: issuer.CIGitLab, Repository: "acme/web"})
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, payload(t, tok.Raw))
	}
	for _, k := range []string{"jti", "pipeline_id", "job_id"} {
		if seen[0][k] != seen[1][k] {
			t.Errorf("%s differs under the same random source: %v vs %v", k, seen[0][k], seen[1][k])
		}
	}
}

func TestCIMintRejectsBadInput(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	closed := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, false)
	gh, gl := issuer.CIGitHub, issuer.CIGitLab
	cases := []struct {
		name  string
		f     *fixture
		req   issuer.MintRequest
		field string
		code  string
		says  string
	}{
		{"unknown CI", f, issuer.MintRequest{CI: "jenkins", Repository: "acme/web"}, "ci", issuer.CodeInvalidRequest, `unknown CI "jenkins"`},
		{"no repository", f, issuer.MintRequest{CI: gh, Workspace: "acme"}, "repository", issuer.CodeInvalidRequest, "--repository OWNER/NAME"},
		{"no owner", f, issuer.MintRequest{CI: gh, Repository: "web"}, "workspace", issuer.CodeInvalidRequest, `no owner for repository "web"`},
		{"no group", f, issuer.MintRequest{CI: gl, Repository: "web"}, "workspace", issuer.CodeInvalidRequest, `no group for repository "web"`},
		{"owner twice", f, issuer.MintRequest{CI: gh, Workspace: "other", Repository: "acme/web"}, "workspace", issuer.CodeInvalidRequest, "give the owner once"},
		{"owner with a slash", f, issuer.MintRequest{CI: gh, Repository: "acme/platform/web"}, "workspace", issuer.CodeInvalidRequest, `invalid GitHub owner "acme/platform"`},
		{"owner with --", f, issuer.MintRequest{CI: gh, Repository: "a--b/web"}, "workspace", issuer.CodeInvalidRequest, "invalid GitHub owner"},
		{"repository with a colon", f, issuer.MintRequest{CI: gh, Repository: "acme/we:b"}, "repository", issuer.CodeInvalidRequest, "invalid GitHub repository name"},
		{"gitlab project .git", f, issuer.MintRequest{CI: gl, Repository: "acme/web.git"}, "repository", issuer.CodeInvalidRequest, "not ending in .git"},
		{"gitlab empty subgroup", f, issuer.MintRequest{CI: gl, Repository: "acme//web"}, "workspace", issuer.CodeInvalidRequest, "invalid GitLab group path"},
		{"environment with a colon", f, issuer.MintRequest{CI: gh, Repository: "acme/web", Environment: "prod:eu"}, "environment", issuer.CodeInvalidRequest, "invalid environment name"},
		{"branch and tag", f, issuer.MintRequest{CI: gl, Repository: "acme/web", Branch: "main", Tag: "v1"}, "tag", issuer.CodeInvalidRequest, "a job runs for one ref"},
		{"bad tag", f, issuer.MintRequest{CI: gl, Repository: "acme/web", Tag: "v1..2"}, "tag", issuer.CodeInvalidRequest, "invalid tag name"},
		{"bad branch", f, issuer.MintRequest{CI: gh, Repository: "acme/web", Branch: "a:b"}, "branch", issuer.CodeInvalidRequest, "invalid branch name"},
		{"bad event", f, issuer.MintRequest{CI: gh, Repository: "acme/web", Event: "Push!"}, "event", issuer.CodeInvalidRequest, `invalid event "Push!"`},
		{"bad sha", f, issuer.MintRequest{CI: gh, Repository: "acme/web", SHA: "abc"}, "sha", issuer.CodeInvalidRequest, "40 (or 64) hexadecimal"},
		{"bad actor", f, issuer.MintRequest{CI: gl, Repository: "acme/web", Actor: "a b"}, "actor", issuer.CodeInvalidRequest, "invalid actor"},
		{"two GitHub audiences", f, issuer.MintRequest{CI: gh, Repository: "acme/web", Audiences: []string{"a", "b"}}, "audiences", issuer.CodeInvalidRequest, "carries one"},
		{"Bitbucket UUID on GitHub", f, issuer.MintRequest{CI: gh, Repository: "acme/web", RepositoryUUID: "4d1a2b3c-0000-4000-8000-0000000000aa"}, "repositoryUuid", issuer.CodeInvalidRequest, "Bitbucket field"},
		{"GitHub field on Bitbucket", f, issuer.MintRequest{Workspace: "acme", Repository: "web", Tag: "v1"}, "tag", issuer.CodeInvalidRequest, "GitHub and GitLab field"},
		{"ttl out of range", f, issuer.MintRequest{CI: gl, Repository: "acme/web", TTL: issuer.Duration(time.Second)}, "ttl", issuer.CodeInvalidRequest, "out of range"},
		{"registration off", closed, issuer.MintRequest{CI: gh, Repository: "acme/web"}, "ci", issuer.CodeNotFound, "auto_register"},
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
}

// TestTokenJSONRoundTrip: the mint API's answer decodes into the Token it was made from.
func TestTokenJSONRoundTrip(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	for _, req := range []issuer.MintRequest{
		{Workspace: "acme", Repository: "web", Environment: "production", Audiences: []string{"x"}},
		{CI: issuer.CIGitHub, Repository: "acme/web", Environment: "production"},
		{CI: issuer.CIGitLab, Repository: "acme/web", Audiences: []string{"a", "b"}},
	} {
		tok := mint(t, f, req)
		b, err := json.Marshal(tok)
		if err != nil {
			t.Fatal(err)
		}
		var back issuer.Token
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		tok.KeyID = "" // not part of the answer
		if !reflect.DeepEqual(back, tok) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", tok.CI, back, tok)
		}
		var m struct {
			CI     string         `json:"ci"`
			Claims map[string]any `json:"claims"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.CI != string(tok.CI) || !reflect.DeepEqual(m.Claims, payload(t, tok.Raw)) {
			t.Errorf("%s: answer ci %q claims %v; the token's: %v", tok.CI, m.CI, m.Claims, payload(t, tok.Raw))
		}
	}
	var old issuer.Token
	if err := json.Unmarshal([]byte(`{"token":"a.b.c","claims":{"sub":"x"}}`), &old); err != nil || old.CI != issuer.CIBitbucket || old.Claims.Subject != "x" {
		t.Errorf("an answer without ci: %+v, %v; want a Bitbucket token", old, err)
	}
}

func TestCIDiscoveryAndKeys(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	h, _ := newHandler(t, f)
	for _, tc := range []struct {
		iss, jwks, claim string
	}{
		{"/github", "/github/.well-known/jwks", "job_workflow_ref"},
		{"/gitlab", "/gitlab/oauth/discovery/keys", "project_path"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tc.iss+"/.well-known/openid-configuration", nil))
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s discovery: %d %s", tc.iss, rec.Code, rec.Body)
		}
		var doc struct {
			Issuer  string   `json:"issuer"`
			JWKSURI string   `json:"jwks_uri"`
			Algs    []string `json:"id_token_signing_alg_values_supported"`
			Claims  []string `json:"claims_supported"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		const base = "https://127.0.0.1:8443"
		if doc.Issuer != base+tc.iss || doc.JWKSURI != base+tc.jwks || !reflect.DeepEqual(doc.Algs, []string{"ES256"}) || !slices.Contains(doc.Claims, tc.claim) {
			t.Errorf("%s discovery = %+v", tc.iss, doc)
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tc.jwks, nil))
		if rec.Code != 200 || !bytes.Equal(bytes.TrimSpace(rec.Body.Bytes()), bytes.TrimSpace(f.keys.JWKS())) || !strings.HasPrefix(rec.Header().Get("Cache-Control"), "public, max-age=") {
			t.Errorf("%s: %d %q %s, want the key set", tc.jwks, rec.Code, rec.Header().Get("Cache-Control"), rec.Body)
		}
	}
	// The issuer URL of each CI is the one its tokens carry.
	for _, ci := range issuer.CIs {
		tok := mint(t, f, issuer.MintRequest{CI: ci, Workspace: "acme", Repository: "web"})
		var c struct{ Iss string }
		if err := json.Unmarshal(mustClaims(t, tok), &c); err != nil || c.Iss != f.is.IssuerURLFor(ci, "acme") {
			t.Errorf("%s: iss %q, IssuerURLFor %q", ci, c.Iss, f.is.IssuerURLFor(ci, "acme"))
		}
	}
}

func mustClaims(t *testing.T, tok issuer.Token) []byte {
	t.Helper()
	b, err := json.Marshal(payload(t, tok.Raw))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMintAPIForOtherCIs(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	runners := issuer.NewRunners(f.st, f.clk.Now)
	cred, _, err := runners.Create(context.Background(), "acme-only", []string{"acme"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	issuer.NewHandler(f.is, runners, nil).Register(mux)
	cases := []struct {
		body   string
		status int
		ci     string
	}{
		{`{"ci":"github","repository":"acme/web","environment":"production"}`, 200, "github"},
		{`{"ci":"github","workspace":"Acme","repository":"web"}`, 200, "github"},
		{`{"ci":"gitlab","repository":"acme/platform/web"}`, 200, "gitlab"},
		{`{"ci":"GitLab","workspace":"acme/platform","repository":"web"}`, 200, "gitlab"},
		{`{"ci":"github","repository":"other/web"}`, 403, ""},
		{`{"ci":"gitlab","repository":"other/acme/web"}`, 403, ""},
		{`{"ci":"circleci","workspace":"acme","repository":"web"}`, 400, ""},
	}
	for _, tc := range cases {
		req := httptest.NewRequest("POST", issuer.MintPath, strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer "+cred)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.body, rec.Code, rec.Body, tc.status)
			continue
		}
		if tc.status != 200 {
			continue
		}
		var out struct {
			Token  string         `json:"token"`
			CI     string         `json:"ci"`
			Claims map[string]any `json:"claims"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		if out.CI != tc.ci || !reflect.DeepEqual(out.Claims, payload(t, out.Token)) {
			t.Errorf("%s: ci %q, claims %v; the token's %v", tc.body, out.CI, out.Claims, payload(t, out.Token))
		}
	}
}

package issuer_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/issuer"
)

// FuzzMintRequest sends arbitrary bodies to the mint API: it must never fail with a
// 5xx or panic, and every refusal must be the documented JSON error.
func FuzzMintRequest(f *testing.F) {
	for _, seed := range []string{
		`{"workspace":"acme","repository":"web"}`,
		`{"workspace":"acme","repository":"web","environment":"production","branch":"main","audiences":["a","b"],"ttl":"15m"}`,
		`{"workspace":"acme","repository":"web","ttl":900,"repositoryUuid":"{4d1a2b3c-0000-4000-8000-0000000000aa}"}`,
		`{"workspace":"ACME"}`, `[]`, `{"ttl":"-1h"}`, `{"audiences":"x"}`, ``,
		`{"ci":"github","repository":"acme/web","environment":"production"}`,
		`{"ci":"gitlab","workspace":"acme/platform","repository":"web","tag":"v1","audiences":["a","b"]}`,
		`{"ci":"github","repository":"a/b/c","event":"pull_request","sha":"0123456789abcdef0123456789abcdef01234567"}`,
		`{"ci":"GITLAB","repository":"/web"}`, `{"ci":7}`,
	} {
		f.Add(seed)
	}
	fx := newFixture(f, issuer.KeyConfig{Algorithm: "ES256"}, true)
	h, cred := newHandler(f, fx)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", issuer.MintPath, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+cred)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
			var out struct{ Token string }
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || strings.Count(out.Token, ".") != 2 {
				t.Fatalf("200 without a token: %s", rec.Body)
			}
		case 400, 403, 404, 409, 413:
			var eb issuer.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
				t.Fatalf("%d without an error document: %s", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("body %q: status %d %s", body, rec.Code, rec.Body)
		}
	})
}

// FuzzCISubject mints GitHub- and GitLab-shaped tokens for arbitrary names: a refusal
// is an InvalidRequest naming a field, and a token's sub is always the CI's format
// with exactly its parts, so that no name can forge another repository's, ref's or
// environment's subject (trust policies match sub with StringLike).
func FuzzCISubject(f *testing.F) {
	f.Add(false, "acme", "web", "production", "main", "")
	f.Add(true, "acme/platform", "web", "", "feature/x", "")
	f.Add(true, "acme", "web", "", "", "v1.0")
	f.Add(false, "", "acme/web:environment:production", "", "", "")
	f.Add(false, "acme", "web", "prod:environment:x", "", "")
	f.Add(true, "acme", "web:ref_type:tag", "", "main:ref:x", "")
	fx := newFixture(f, issuer.KeyConfig{Algorithm: "ES256"}, true)
	f.Fuzz(func(t *testing.T, gitlab bool, ns, repo, env, branch, tag string) {
		ci := issuer.CIGitHub
		if gitlab {
			ci = issuer.CIGitLab
		}
		tok, err := fx.is.Mint(context.Background(), issuer.MintRequest{CI: ci, Workspace: ns, Repository: repo, Environment: env, Branch: branch, Tag: tag})
		if err != nil {
			var ie *issuer.Error
			if !errors.As(err, &ie) || ie.Code != issuer.CodeInvalidRequest || ie.Field == "" || ie.Message == "" {
				t.Fatalf("refusal %#v, want an InvalidRequest naming a field", err)
			}
			return
		}
		path := repo
		if !strings.Contains(repo, "/") {
			path = ns + "/" + repo
		}
		ref, refType := branch, "branch"
		switch {
		case tag != "":
			ref, refType = tag, "tag"
		case ref == "":
			ref = "main"
		}
		if gitlab {
			parts := strings.Split(tok.Subject(), ":")
			if len(parts) != 6 || parts[0] != "project_path" || parts[1] != path || parts[2] != "ref_type" || parts[3] != refType || parts[4] != "ref" || parts[5] != ref {
				t.Fatalf("sub %q for project %q ref %s %q", tok.Subject(), path, refType, ref)
			}
			return
		}
		parts := strings.Split(tok.Subject(), ":")
		want := []string{"repo", path, "ref", "refs/heads/" + ref}
		if refType == "tag" {
			want[3] = "refs/tags/" + ref
		}
		if env != "" {
			want = []string{"repo", path, "environment", env}
		}
		if strings.Join(parts, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("sub %q, want the parts %q", tok.Subject(), want)
		}
	})
}

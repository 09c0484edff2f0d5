package explain_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// jwksChecker verifies signatures against an in-memory JWKS, as STS would against
// the issuer's keys.json.
type jwksChecker struct{ ks *issuer.KeySet }

func (c jwksChecker) CheckSignature(_ context.Context, raw string, _ oidc.Provider) error {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(c.ks.JWKS(), &set); err != nil {
		return err
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return err
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) == 0 {
		return errors.New("no key with the token's kid")
	}
	_, err = jws.Verify(keys[0])
	return err
}

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

type world struct {
	is       *issuer.Issuer
	keys     *issuer.KeySet
	provider oidc.Provider
}

func newWorld(t *testing.T) *world {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, _ := keywrap.New(bytes.Repeat([]byte{9}, 32))
	now := func() time.Time { return t0 }
	ks, err := issuer.NewKeySet(st, box, issuer.KeyConfig{}, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	is, err := issuer.New(issuer.Config{BaseURL: "https://127.0.0.1:8400", AutoRegister: true}, st, ks, now)
	if err != nil {
		t.Fatal(err)
	}
	url := "127.0.0.1:8400/2.0/workspaces/acme/pipelines-config/identity/oidc"
	return &world{is: is, keys: ks, provider: oidc.Provider{
		ARN: "arn:aws:iam::000000000000:oidc-provider/" + url, URL: url,
		ClientIDs: []string{issuer.WorkspaceAudience(issuer.WorkspaceUUID("acme"))},
	}}
}

func (w *world) mint(t *testing.T, req issuer.MintRequest) string {
	t.Helper()
	req.Workspace = "acme"
	req.PipelineUUID = "11111111-1111-4111-8111-111111111111"
	req.StepUUID = "22222222-2222-4222-8222-222222222222"
	tok, err := w.is.Mint(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Raw
}

func (w *world) trust(cond map[string]any) string {
	doc := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Sid": "RepoOnly", "Effect": "Allow", "Principal": map[string]any{"Federated": w.provider.ARN},
		"Action": "sts:AssumeRoleWithWebIdentity", "Condition": cond,
	}}}
	b, _ := json.Marshal(doc)
	return string(b)
}

// stmt is a trust statement for the world's provider; cond may be nil.
func stmt(sid, effect string, cond map[string]any) map[string]any {
	s := map[string]any{"Sid": sid, "Effect": effect, "Action": "sts:AssumeRoleWithWebIdentity"}
	if cond != nil {
		s["Condition"] = cond
	}
	return s
}

// policy is a trust policy of the statements, each naming the world's provider.
func (w *world) policy(stmts ...map[string]any) string {
	var list []any
	for _, s := range stmts {
		s["Principal"] = map[string]any{"Federated": w.provider.ARN}
		list = append(list, s)
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": list})
	return string(b)
}

func TestExplainGoldens(t *testing.T) {
	w := newWorld(t)
	u := w.provider.URL
	aud := map[string]any{u + ":aud": w.provider.ClientIDs[0]}
	web := "{" + issuer.RepositoryUUID("acme", "web") + "}"
	prod := "{" + issuer.EnvironmentUUID("acme", "web", "production") + "}"
	repoPolicy := w.trust(map[string]any{"StringEquals": aud, "StringLike": map[string]any{u + ":sub": web + ":*"}})
	envPolicy := w.trust(map[string]any{"StringEquals": aud, "StringLike": map[string]any{u + ":sub": web + ":" + prod + ":*"}})
	ipPolicy := w.trust(map[string]any{"StringEquals": aud, "IpAddress": map[string]any{"aws:SourceIp": []string{"34.199.54.113/32", "34.232.25.90/32"}}})
	role := "arn:aws:iam::000000000000:role/deploy"

	denyAll := w.policy(
		stmt("RepoOnly", "Allow", map[string]any{"StringEquals": aud, "StringLike": map[string]any{u + ":sub": web + ":*"}}),
		stmt("NoOne", "Deny", nil))

	cases := []struct {
		name    string
		in      explain.Input
		verdict explain.Verdict
	}{
		{"admitted", explain.Input{Token: w.mint(t, issuer.MintRequest{Repository: "web", Environment: "production"}), TrustPolicy: envPolicy}, explain.VerdictAdmitted},
		{"wrong-repository", explain.Input{Token: w.mint(t, issuer.MintRequest{Repository: "api"}), TrustPolicy: repoPolicy}, explain.VerdictDenied},
		{"wrong-environment", explain.Input{Token: w.mint(t, issuer.MintRequest{Repository: "web", Environment: "staging"}), TrustPolicy: envPolicy}, explain.VerdictDenied},
		{"no-environment", explain.Input{Token: w.mint(t, issuer.MintRequest{Repository: "web"}), TrustPolicy: envPolicy}, explain.VerdictDenied},
		{"wrong-audience", explain.Input{Token: w.mint(t, issuer.MintRequest{Repository: "web", Audiences: []string{"sts.amazonaws.com"}}), TrustPolicy: repoPolicy}, explain.VerdictDenied},
		{"unregistered-issuer", explain.Input{Token: w.mint(t, issuer.MintRequest{Repository: "web"}), TrustPolicy: repoPolicy, Providers: []oidc.Provider{}}, explain.VerdictDenied},
		{"expired", explain.Input{Token: w.mint(t, issuer.MintRequest{Repository: "web", TTL: issuer.Duration(15 * time.Minute)}), TrustPolicy: repoPolicy, Now: t0.Add(2 * time.Hour)}, explain.VerdictDenied},
		{"source-ip-outside", explain.Input{Token: w.mint(t, issuer.MintRequest{Repository: "web"}), TrustPolicy: ipPolicy, SourceIP: "203.0.113.7"}, explain.VerdictDenied},
		{"source-ip-allowed", explain.Input{Token: w.mint(t, issuer.MintRequest{Repository: "web"}), TrustPolicy: ipPolicy, SourceIP: "34.232.25.90"}, explain.VerdictAdmitted},
		{"source-ip-unknown", explain.Input{Token: w.mint(t, issuer.MintRequest{Repository: "web"}), TrustPolicy: ipPolicy}, explain.VerdictUndetermined},
		{"explicit-deny", explain.Input{Token: w.mint(t, issuer.MintRequest{Repository: "web"}), TrustPolicy: denyAll}, explain.VerdictDenied},
		{"no-oidc-step", explain.Input{Token: "", TokenSource: "BITBUCKET_STEP_OIDC_TOKEN", TrustPolicy: repoPolicy}, explain.VerdictDenied},
		{"tampered", explain.Input{Token: tamper(w.mint(t, issuer.MintRequest{Repository: "web"})), TrustPolicy: repoPolicy}, explain.VerdictDenied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.RoleARN = role
			if in.Providers == nil {
				in.Providers = []oidc.Provider{w.provider}
			}
			if in.Now.IsZero() {
				in.Now = t0.Add(time.Minute)
			}
			in.Signature = jwksChecker{w.keys}
			rep := explain.Run(context.Background(), in)
			if rep.Verdict != tc.verdict || rep.Admitted != (tc.verdict == explain.VerdictAdmitted) {
				t.Errorf("verdict %s (admitted %v), want %s", rep.Verdict, rep.Admitted, tc.verdict)
			}
			var text bytes.Buffer
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, text.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./explain -update to create it)", err)
			}
			if text.String() != string(want) {
				t.Errorf("explanation differs from %s:\n--- got\n%s--- want\n%s", golden, text.String(), want)
			}
			if strings.Contains(text.String(), in.Token) && in.Token != "" {
				t.Error("the explanation echoes the token")
			}
			js, err := json.Marshal(rep)
			if err != nil || !json.Valid(js) {
				t.Errorf("report does not marshal to JSON: %v", err)
			}
		})
	}
}

// tamper rewrites the payload's sub without re-signing: a well-formed token whose
// signature no longer verifies.
func tamper(raw string) string {
	parts := strings.Split(raw, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	json.Unmarshal(payload, &claims)
	claims["sub"] = "{00000000-0000-4000-8000-000000000000}:*"
	forged, _ := json.Marshal(claims)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]
}

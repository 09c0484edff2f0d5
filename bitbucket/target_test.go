package bitbucket

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/rotate/target"
	"github.com/keyless-dev/keyless/store"
)

// TestRotateTarget runs rotate/target's Bitbucket target, the client written
// for api.bitbucket.org, against the handler with only a base URL: it writes
// a rotated key into each scope (twice: create, then update), reads it back
// without the secret, and a step of that scope gets both values.
func TestRotateTarget(t *testing.T) {
	tests := []struct {
		name            string
		cfg             target.BitbucketConfig
		repo, env       string // the step that gets the variables
		registeredAfter string // an environment registered by the first write
	}{
		{"workspace", target.BitbucketConfig{Workspace: "acme"}, "web", "", ""},
		{"repository", target.BitbucketConfig{Workspace: "acme", Repo: "web"}, "web", "", ""},
		{"deployment by name", target.BitbucketConfig{Workspace: "acme", Repo: "web", Environment: "Production"}, "web", "Production", ""},
		{"deployment by slug", target.BitbucketConfig{Workspace: "acme", Repo: "web", Environment: "production"}, "web", "Production", ""},
		{"deployment by UUID", target.BitbucketConfig{Workspace: "acme", Repo: "web", Environment: "{" + prodUUID + "}"}, "web", "Production", ""},
		{"default environment, not registered", target.BitbucketConfig{Workspace: "acme", Repo: "web", Environment: "Staging"}, "web", "Staging", "Staging"},
		{"unregistered repository", target.BitbucketConfig{Workspace: "acme", Repo: "api"}, "api", "", ""},
		{"minted lower-case environment, by its Bitbucket name", target.BitbucketConfig{Workspace: "acme", Repo: "web", Environment: "Staging"}, "web", "staging", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			if tt.env == "staging" { // as `keyless token mint --environment staging` registers it
				if err := f.st.CreateEnvironment(ctx, store.Environment{Workspace: "acme", Repository: "web", Name: "staging", UUID: issuer.EnvironmentUUID("acme", "web", "staging")}); err != nil {
					t.Fatal(err)
				}
			}
			tg, err := target.NewBitbucket(tt.cfg, target.Options{
				BaseURL: f.srv.URL,
				Getenv:  func(k string) string { return map[string]string{target.EnvBitbucketToken: testToken}[k] },
			})
			if err != nil {
				t.Fatal(err)
			}
			for i, creds := range []target.Credentials{
				{AccessKeyID: "AKIAOLDOLDOLDOLDOLD0", SecretAccessKey: "old-" + secretValue},
				{AccessKeyID: "AKIANEWNEWNEWNEWNEW0", SecretAccessKey: secretValue},
			} {
				if err := tg.Put(ctx, creds.Variables(target.Names{})); err != nil {
					t.Fatalf("Put %d: %v", i, err)
				}
			}
			got, err := tg.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got["AWS_ACCESS_KEY_ID"] != (target.Variable{Key: "AWS_ACCESS_KEY_ID", Value: "AKIANEWNEWNEWNEWNEW0"}) ||
				got["AWS_SECRET_ACCESS_KEY"] != (target.Variable{Key: "AWS_SECRET_ACCESS_KEY", Secret: true}) || len(got) != 2 {
				t.Errorf("Get = %v", got)
			}
			step, err := f.svc.StepVariables(ctx, "acme", tt.repo, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			var env []string
			for _, v := range step {
				env = append(env, v.Key+"="+v.Value)
			}
			if strings.Join(env, " ") != "AWS_ACCESS_KEY_ID=AKIANEWNEWNEWNEWNEW0 AWS_SECRET_ACCESS_KEY="+secretValue {
				t.Errorf("the step gets %v", env)
			}
			if tt.registeredAfter != "" {
				e, err := f.st.GetEnvironment(ctx, "acme", "web", tt.registeredAfter)
				if err != nil || e.UUID != issuer.EnvironmentUUID("acme", "web", tt.registeredAfter) {
					t.Errorf("environment %s after the write: %+v, %v", tt.registeredAfter, e, err)
				}
			}
		})
	}
	// Without the token the target fails with Bitbucket's message.
	f := newFixture(t)
	tg, err := target.NewBitbucket(target.BitbucketConfig{Workspace: "acme", Repo: "web"}, target.Options{
		BaseURL: f.srv.URL,
		Getenv:  func(k string) string { return map[string]string{target.EnvBitbucketToken: "klbb_wrong"}[k] },
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tg.Get(context.Background())
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "Token is invalid") {
		t.Errorf("Get with a wrong token: %v", err)
	}
	if a := f.call(http.MethodGet, repoColl, nil); a.body["size"] != float64(0) {
		t.Errorf("a refused target wrote: %s", a.raw)
	}
}

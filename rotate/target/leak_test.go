package target

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestNoSecretInErrorsOrLogs drives each target into failures whose provider
// messages echo the secret access key and the token, through retries that log,
// and checks that neither appears in the error, in a log line or in the target
// formatted with fmt.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	echo := func(shape string) string {
		msg := "rejected " + testSecret + " for token " + testToken + " and " + testPassword
		b, _ := json.Marshal(msg)
		return fmt.Sprintf(shape, b)
	}
	bbBody := echo(`{"type":"error","error":{"message":%s,"detail":"x"}}`)
	ghBody := echo(`{"message":%s}`)
	glBody := echo(`{"message":{"value":[%s]}}`)

	type setup struct {
		name  string
		cred  string // the credential the target reads from the environment
		build func(t *testing.T, o func(Options) Options) Target
	}
	setups := []setup{
		{"bitbucket token", testToken, func(t *testing.T, o func(Options) Options) Target {
			f := newBBFake(t)
			f.faults.push(fault{match: "GET ", times: 2, status: 503, body: bbBody})
			f.faults.push(fault{match: "POST ", times: -1, status: 400, body: bbBody})
			tg, err := NewBitbucket(BitbucketConfig{Workspace: bbWorkspace, Repo: bbRepo}, o(f.options(&sleeps{})))
			if err != nil {
				t.Fatal(err)
			}
			return tg
		}},
		{"bitbucket app password", testPassword, func(t *testing.T, o func(Options) Options) Target {
			f := newBBFake(t)
			f.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte("deployer:"+testPassword))
			f.faults.push(fault{match: "GET ", times: 2, status: 429, header: map[string]string{"Retry-After": "1"}, body: bbBody})
			f.faults.push(fault{match: "POST ", times: -1, status: 400, body: bbBody})
			opts := f.options(&sleeps{})
			opts.Getenv = env(map[string]string{EnvBitbucketUsername: "deployer", EnvBitbucketAppPassword: testPassword})
			tg, err := NewBitbucket(BitbucketConfig{Workspace: bbWorkspace}, o(opts))
			if err != nil {
				t.Fatal(err)
			}
			return tg
		}},
		{"github", testToken, func(t *testing.T, o func(Options) Options) Target {
			f := newGHFake(t, "/repos/octo/web/actions")
			f.faults.push(fault{match: "PUT ", times: 2, status: 502, body: ghBody})
			f.faults.push(fault{match: "PUT ", times: -1, status: 422, body: ghBody})
			tg, err := NewGitHub(GitHubConfig{Owner: "octo", Repo: "web"}, o(f.options(&sleeps{})))
			if err != nil {
				t.Fatal(err)
			}
			return tg
		}},
		{"gitlab", testToken, func(t *testing.T, o func(Options) Options) Target {
			f := newGLFake(t, "/api/v4/projects/7")
			f.faults.push(fault{match: "POST ", times: 2, status: 500, body: glBody})
			f.faults.push(fault{match: "POST ", times: -1, status: 400, body: glBody})
			tg, err := NewGitLab(GitLabConfig{Project: "7"}, o(f.options(&sleeps{})))
			if err != nil {
				t.Fatal(err)
			}
			return tg
		}},
	}
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			var logs logBuffer
			tg := s.build(t, func(o Options) Options {
				o.Logger = logs.logger()
				return o
			})
			putErr := tg.Put(context.Background(), testCreds().Variables(Names{}))
			if putErr == nil {
				t.Fatal("Put succeeded; the fake should have refused it")
			}
			if !strings.Contains(putErr.Error(), redacted) {
				t.Errorf("error %q does not show where the echoed secret was cut out", putErr)
			}
			if !strings.Contains(logs.String(), "retrying request") {
				t.Errorf("no retry was logged: %q", logs.String())
			}
			seen := map[string]string{
				"error":           putErr.Error(),
				"log":             logs.String(),
				"target %v":       fmt.Sprintf("%v", tg),
				"target %+v":      fmt.Sprintf("%+v", tg),
				"target %#v":      fmt.Sprintf("%#v", tg),
				"target %s":       fmt.Sprintf("%s", tg),
				"target %d":       fmt.Sprintf("%d", tg),
				"target slog":     slogText(slog.Any("target", tg)),
				"target name":     tg.Name(),
				"variables %v":    fmt.Sprintf("%v", testCreds().Variables(Names{})),
				"variables %#v":   fmt.Sprintf("%#v", testCreds().Variables(Names{})),
				"variables %+v":   fmt.Sprintf("%+v", testCreds().Variables(Names{})),
				"variables %x":    fmt.Sprintf("%x", testCreds().Variables(Names{})),
				"variables slog":  slogText(slog.Any("vars", testCreds().Variables(Names{})[1])),
				"secret variable": fmt.Sprint(Variable{Key: "K", Value: testSecret, Secret: true}),
			}
			for where, text := range seen {
				for _, secret := range []string{testSecret, s.cred} {
					if strings.Contains(text, secret) {
						t.Errorf("%s shows a secret: %s", where, text)
					}
				}
			}
		})
	}
}

func slogText(a slog.Attr) string {
	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, nil)).LogAttrs(context.Background(), slog.LevelInfo, "m", a)
	slog.New(slog.NewJSONHandler(&b, nil)).LogAttrs(context.Background(), slog.LevelInfo, "m", a)
	return b.String()
}

// TestCredentialsRedacted: every way of printing Credentials shows the key ID
// and hides the secret.
func TestCredentialsRedacted(t *testing.T) {
	c := testCreds()
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	nested, _ := json.Marshal(struct{ C Credentials }{c})
	for _, tt := range []struct{ how, got string }{
		{"%v", fmt.Sprintf("%v", c)},
		{"%+v", fmt.Sprintf("%+v", c)},
		{"%#v", fmt.Sprintf("%#v", c)},
		{"%s", fmt.Sprintf("%s", c)},
		{"%q", fmt.Sprintf("%q", c)},
		{"%x", fmt.Sprintf("%x", c)},
		{"%d", fmt.Sprintf("%d", c)},
		{"%v of a pointer", fmt.Sprintf("%v", &c)},
		{"%v in a slice", fmt.Sprintf("%v", []Credentials{c})},
		{"%+v in a struct", fmt.Sprintf("%+v", struct{ C Credentials }{c})},
		{"error wrapping", fmt.Errorf("rotating %v: %w", c, fmt.Errorf("boom")).Error()},
		{"slog", slogText(slog.Any("creds", c))},
		{"json", string(js)},
		{"json nested", string(nested)},
	} {
		if strings.Contains(tt.got, testSecret) {
			t.Errorf("%s shows the secret: %s", tt.how, tt.got)
		}
		if !strings.Contains(tt.got, testKeyID) {
			t.Errorf("%s hides the access key ID too: %s", tt.how, tt.got)
		}
	}
	if got, want := c.String(), "{AccessKeyID:"+testKeyID+" SecretAccessKey:[REDACTED]}"; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	if got, want := fmt.Sprintf("%#v", c), `target.Credentials{AccessKeyID:"`+testKeyID+`", SecretAccessKey:"[REDACTED]"}`; got != want {
		t.Errorf("%%#v = %s, want %s", got, want)
	}
}

func TestCredentialsVariables(t *testing.T) {
	c := testCreds()
	tests := []struct {
		names Names
		want  []Variable
	}{
		{Names{}, []Variable{{Key: "AWS_ACCESS_KEY_ID", Value: testKeyID}, {Key: "AWS_SECRET_ACCESS_KEY", Value: testSecret, Secret: true}}},
		{Names{AccessKeyID: "PROD_AWS_KEY"}, []Variable{{Key: "PROD_AWS_KEY", Value: testKeyID}, {Key: "AWS_SECRET_ACCESS_KEY", Value: testSecret, Secret: true}}},
		{Names{AccessKeyID: "A", SecretAccessKey: "B"}, []Variable{{Key: "A", Value: testKeyID}, {Key: "B", Value: testSecret, Secret: true}}},
	}
	for _, tt := range tests {
		got := c.Variables(tt.names)
		if len(got) != len(tt.want) || got[0] != tt.want[0] || got[1] != tt.want[1] {
			t.Errorf("Variables(%+v) = %v, want %v", tt.names, got, tt.want)
		}
	}
	if got := fmt.Sprint(c.Variables(Names{})); got != "[AWS_ACCESS_KEY_ID="+testKeyID+" AWS_SECRET_ACCESS_KEY=[REDACTED]]" {
		t.Errorf("variables print as %s", got)
	}
}

package iam

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/gateway"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
)

const (
	testAccount    = "123456789012"
	rootAccessKey  = "AKIAKEYLESSROOT00001"
	rootSecretKey  = "rootSecretKeyForTests0000000000000000000"
	testTrust      = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringLike": {"api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:sub": "{repo-uuid}:*"}}}]}`
	allowAllPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
)

// testEnv is the whole stack: a SQLite store, the gateway with SigV4 verification
// and the IAM service, served on loopback.
type testEnv struct {
	t    *testing.T
	st   store.Store
	rec  *audit.Recorder
	svc  *Service
	url  string
	srv  *httptest.Server
	root *iamsdk.Client
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "keyless.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	box, err := keywrap.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	an := authn.NewAuthenticator(st, box, nil, authn.RootCredentials{AccessKeyID: rootAccessKey, SecretAccessKey: rootSecretKey}, testAccount, nil)
	rec := audit.NewRecorder(st, nil)
	svc := New(Config{
		Store:                  st,
		Box:                    box,
		Authorizer:             authz.New(st),
		Authenticator:          an,
		Audit:                  rec,
		Account:                testAccount,
		AllowPortInProviderURL: true,
	})
	gw := gateway.New(gateway.Config{
		Services:      map[string]gateway.QueryService{"iam": svc},
		Verifier:      awsapi.NewVerifier(an),
		Authenticator: an,
	})
	srv := httptest.NewServer(gw)
	e := &testEnv{t: t, st: st, rec: rec, svc: svc, url: srv.URL, srv: srv}
	t.Cleanup(func() {
		srv.Close()
		rec.Close()
		st.Close()
	})
	e.root = e.client(rootAccessKey, rootSecretKey)
	return e
}

// client is an official IAM client for the given static credentials.
func (e *testEnv) client(akid, secret string) *iamsdk.Client {
	return iamsdk.New(iamsdk.Options{
		BaseEndpoint: aws.String(e.url),
		Region:       "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, Source: "test"}, nil
		}),
		Retryer:    aws.NopRetryer{},
		HTTPClient: e.srv.Client(),
	})
}

// wantErr asserts an AWS error's code, HTTP status and (when msg is not empty) its
// exact message.
func wantErr(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got success", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want API error %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("code = %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("no HTTP response in %v", err)
	}
	if re.HTTPStatusCode() != status {
		t.Fatalf("%s status = %d, want %d", code, re.HTTPStatusCode(), status)
	}
	if msg != "" && ae.ErrorMessage() != msg {
		t.Fatalf("%s message =\n  %q\nwant\n  %q", code, ae.ErrorMessage(), msg)
	}
}

// result holds a call's value and error: must(client.Call(ctx, in)).get(t).
type result[T any] struct {
	v   T
	err error
}

// must captures a call's results for get.
func must[T any](v T, err error) result[T] { return result[T]{v, err} }

// get fails the test on an error and otherwise returns the value.
func (r result[T]) get(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatalf("unexpected error: %v", r.err)
	}
	return r.v
}

// createRole makes a role with the test trust policy.
func (e *testEnv) createRole(name string) *iamsdk.CreateRoleOutput {
	e.t.Helper()
	return must(e.root.CreateRole(context.Background(), &iamsdk.CreateRoleInput{
		RoleName:                 aws.String(name),
		AssumeRolePolicyDocument: aws.String(testTrust),
	})).get(e.t)
}

// createUserWithKey makes a user and an access key and returns a client for it.
func (e *testEnv) createUserWithKey(name string) (*iamsdk.Client, string, string) {
	e.t.Helper()
	ctx := context.Background()
	must(e.root.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String(name)})).get(e.t)
	k := must(e.root.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String(name)})).get(e.t)
	id, secret := aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey)
	return e.client(id, secret), id, secret
}

// events flushes the audit recorder and returns every stored event.
func (e *testEnv) events() []store.AuditEvent {
	e.t.Helper()
	e.rec.Close()
	evs, err := e.st.ListAuditEvents(context.Background(), time.Time{}, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

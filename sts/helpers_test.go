package sts_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/gateway"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/localca"
	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/session"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
	"github.com/keyless-dev/keyless/sts"
)

const (
	account   = "123456789012"
	workspace = "acme"
	rootKeyID = "AKIAROOTROOTROOTROOT"
	rootKey   = "rootsecretrootsecretrootsecretrootsecret"
)

// clock is a settable offset from real time, shared by STS and the
// authenticator (SigV4 windows are checked against real time).
type clock struct{ off atomic.Int64 }

func (c *clock) Now() time.Time      { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) Set(d time.Duration) { c.off.Store(int64(d)) }

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stack is the whole in-process federation chain: an HTTPS issuer trusted
// through a local CA, a sqlite store, the gateway with STS, on 127.0.0.1.
type stack struct {
	t        testing.TB
	ctx      context.Context
	st       store.Store
	box      *keywrap.Box
	keys     *issuer.KeySet
	is       *issuer.Issuer
	idp      *httptest.Server
	idpClock *clock
	clk      *clock
	ring     *session.Keyring
	authn    *authn.Authenticator
	authz    *authz.Authorizer
	svc      *sts.Service
	gw       *gateway.Gateway
	srv      *httptest.Server
	logs     *syncBuffer

	providerURL, providerARN, audience string
}

func newStack(t testing.TB) *stack { return newStackLog(t, true) }

// newStackLog builds a stack; capture keeps every log record for the
// no-secrets checks, otherwise logs are discarded (benchmarks).
func newStackLog(t testing.TB, capture bool) *stack {
	t.Helper()
	ctx := context.Background()
	s := &stack{t: t, ctx: ctx, clk: &clock{}, idpClock: &clock{}, logs: &syncBuffer{}}
	st, err := sqlite.Open(ctx, t.TempDir()+"/keyless.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s.st = st
	if s.box, err = keywrap.New(bytes.Repeat([]byte{7}, 32)); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if capture {
		log = slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	// The identity provider, over HTTPS with a local-CA certificate.
	ca, err := localca.New(time.Now(), "keyless test CA")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.idp = httptest.NewUnstartedServer(mux)
	base := "https://" + s.idp.Listener.Addr().String()
	if s.keys, err = issuer.NewKeySet(st, s.box, issuer.KeyConfig{Algorithm: "RS256", LeadTime: time.Minute, MaxTokenTTL: 2 * time.Hour}, s.idpClock.Now, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.keys.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if s.is, err = issuer.New(issuer.Config{BaseURL: base, AutoRegister: true}, st, s.keys, s.idpClock.Now); err != nil {
		t.Fatal(err)
	}
	issuer.NewHandler(s.is, issuer.NewRunners(st, s.idpClock.Now), nil).Register(mux)
	cert, err := ca.Issue(time.Now(), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	s.idp.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.idp.StartTLS()
	t.Cleanup(s.idp.Close)

	// The IAM provider for the workspace's issuer.
	s.providerURL = strings.TrimPrefix(s.is.IssuerURL(workspace), "https://")
	s.providerARN = "arn:aws:iam::" + account + ":oidc-provider/" + s.providerURL
	s.audience = issuer.WorkspaceAudience(issuer.WorkspaceUUID(workspace))
	s.addProvider(s.providerURL, s.audience)

	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	verifier, err := oidc.NewVerifier(oidc.Config{RootCAs: roots, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if s.ring, err = session.NewKeyring(rand.Reader, time.Now()); err != nil {
		t.Fatal(err)
	}
	s.authn = authn.NewAuthenticator(st, s.box, s.ring, authn.RootCredentials{AccessKeyID: rootKeyID, SecretAccessKey: rootKey}, account, s.clk.Now)
	s.authz = authz.New(st)
	rec := audit.NewRecorder(st, log)
	s.svc = sts.New(sts.Config{
		Store: st, Verifier: verifier, Sealer: session.NewSealer(s.ring, rand.Reader), Authorizer: s.authz,
		Audit: rec, Account: account, Now: s.clk.Now, Logger: log,
	})
	s.gw = gateway.New(gateway.Config{
		Services: map[string]gateway.QueryService{"sts": s.svc}, Verifier: awsapi.NewVerifier(s.authn),
		Authenticator: s.authn, Logger: log, MaxBody: 64 << 10,
	})
	s.srv = httptest.NewServer(s.gw)
	t.Cleanup(func() {
		s.srv.Close()
		s.svc.Close()
		rec.Close()
	})
	return s
}

func (s *stack) addProvider(u string, clientIDs ...string) {
	s.t.Helper()
	err := s.st.CreateOIDCProvider(s.ctx, store.OIDCProvider{
		ARN: "arn:aws:iam::" + account + ":oidc-provider/" + u, URL: u, ClientIDs: clientIDs, CreatedAt: time.Now(),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	s.invalidate()
}

// invalidate drops STS caches; safe before svc exists.
func (s *stack) invalidate() {
	if s.svc != nil {
		s.svc.Invalidate()
	}
}

// addRole creates a role with the given trust policy and inline policies.
func (s *stack) addRole(name, trust string, maxSession int, inline map[string]string) string {
	s.t.Helper()
	arn := "arn:aws:iam::" + account + ":role/" + name
	err := s.st.CreateRole(s.ctx, store.Role{
		ID: "AROA" + strings.ToUpper(hex.EncodeToString([]byte(name)))[:min(16, 2*len(name))], Name: name, Path: "/", ARN: arn,
		AssumeRolePolicyDocument: trust, MaxSessionDuration: maxSession, InlinePolicies: inline, CreatedAt: time.Now(),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	s.invalidate()
	return arn
}

// addUser creates an IAM user with inline policies and one access key.
func (s *stack) addUser(name string, inline map[string]string) aws.Credentials {
	s.t.Helper()
	u := store.User{ID: "AIDA" + strings.ToUpper(name), Name: name, Path: "/", ARN: "arn:aws:iam::" + account + ":user/" + name, InlinePolicies: inline, CreatedAt: time.Now()}
	if err := s.st.CreateUser(s.ctx, u); err != nil {
		s.t.Fatal(err)
	}
	id := "AKIA" + strings.ToUpper(name + "XXXXXXXXXXXXXXXX")[:16]
	secret := strings.Repeat(name, 40)[:40]
	sealed, err := s.box.Seal(authn.AccessKeyLabel(id), []byte(secret))
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.st.CreateAccessKey(s.ctx, store.AccessKey{ID: id, UserName: name, Secret: sealed, Status: "Active", CreatedAt: time.Now()}); err != nil {
		s.t.Fatal(err)
	}
	return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
}

// mint returns a real token from the issuer.
func (s *stack) mint(req issuer.MintRequest) string {
	s.t.Helper()
	if req.Workspace == "" {
		req.Workspace = workspace
	}
	tok, err := s.is.Mint(s.ctx, req)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok.Raw
}

// signingKey opens the issuer's active private key, to sign crafted tokens
// with a key the JWKS really publishes.
func (s *stack) signingKey() (*rsa.PrivateKey, string) {
	s.t.Helper()
	keys, err := s.st.ListSigningKeys(s.ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, k := range keys {
		if k.State != store.KeyActive {
			continue
		}
		der, err := s.box.Open("signing-key/"+k.ID, k.PrivateKey)
		if err != nil {
			s.t.Fatal(err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			s.t.Fatal(err)
		}
		return priv.(*rsa.PrivateKey), k.ID
	}
	s.t.Fatal("no active signing key")
	return nil, ""
}

// claims returns a valid claim set for the workspace's issuer.
func (s *stack) claims() map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": "https://" + s.providerURL,
		"sub": "{11111111-1111-1111-1111-111111111111}:{22222222-2222-2222-2222-222222222222}",
		"aud": s.audience,
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// craft builds a compact JWS; sign computes the signature over the signing
// input (nil leaves it empty).
func craft(t testing.TB, header, claims map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(h) + "." + b64(c)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + b64(sig)
}

func rs256(t testing.TB, key *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		sum := sha256.Sum256(in)
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

// client is an official STS client for the stack; creds nil means anonymous.
func (s *stack) client(creds aws.CredentialsProvider) *awssts.Client {
	return awssts.New(awssts.Options{
		BaseEndpoint: aws.String(s.srv.URL),
		Region:       "us-east-1",
		Credentials:  creds,
		HTTPClient:   s.srv.Client(),
		Retryer:      aws.NopRetryer{},
	})
}

func static(c aws.Credentials) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })
}

// webIdentity calls AssumeRoleWithWebIdentity with the SDK.
func (s *stack) webIdentity(roleARN, token string, mod ...func(*awssts.AssumeRoleWithWebIdentityInput)) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
	in := &awssts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("pipeline"), WebIdentityToken: aws.String(token)}
	for _, m := range mod {
		m(in)
	}
	return s.client(nil).AssumeRoleWithWebIdentity(s.ctx, in)
}

// outCreds turns returned credentials into SDK credentials.
func outCreds(c *types.Credentials) aws.Credentials {
	return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken, Source: "test"}
}

// apiError returns the AWS error code and HTTP status of an SDK error.
func apiError(t testing.TB, err error) (string, int) {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got success")
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), status
}

// errorReply is a decoded Query-protocol error.
type errorReply struct {
	Status  int
	Code    string
	Message string
	Body    string
}

// post sends a raw form body to the gateway.
func (s *stack) post(body string, hdr map[string]string) errorReply {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return s.do(req)
}

func (s *stack) do(req *http.Request) errorReply {
	s.t.Helper()
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env struct {
		Error struct {
			Code    string
			Message string
		}
	}
	_ = xml.Unmarshal(b, &env)
	return errorReply{Status: resp.StatusCode, Code: env.Error.Code, Message: env.Error.Message, Body: string(b)}
}

// signed sends a SigV4-signed form body, signed at the given time.
func (s *stack) signed(body string, creds aws.Credentials, at time.Time) errorReply {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(s.ctx, creds, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", at); err != nil {
		s.t.Fatal(err)
	}
	return s.do(req)
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

// trustWeb is a web-identity trust policy for the stack's provider with extra
// conditions (JSON object members) and extra actions.
func (s *stack) trustWeb(conditions string, actions ...string) string {
	acts := append([]string{"sts:AssumeRoleWithWebIdentity"}, actions...)
	a, _ := json.Marshal(acts)
	cond := `"StringEquals":{"` + s.providerURL + `:aud":"` + s.audience + `"}`
	if conditions != "" {
		cond += "," + conditions
	}
	return `{"Version":"2012-10-17","Statement":[{"Sid":"Pipelines","Effect":"Allow","Principal":{"Federated":"` + s.providerARN + `"},"Action":` + string(a) + `,"Condition":{` + cond + `}}]}`
}

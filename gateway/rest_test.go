package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/keyless-dev/keyless/gateway"
)

const cloudfrontNS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"

// restHit is what a fake REST service or fallback route saw.
type restHit struct {
	route  string // "s3", "cloudfront" or "fallback <pattern>"
	call   *gateway.Call
	path   string
	body   int // bytes read from the body
	signed bool
}

// restEnv is a gateway in front of fake S3 and CloudFront services and a fallback
// mux holding keyless's own routes, with the Query services mounted at "/".
type restEnv struct {
	*env
	mu   sync.Mutex
	hits []restHit
}

func (e *restEnv) record(route string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		c := gateway.CallFrom(r.Context())
		e.mu.Lock()
		e.hits = append(e.hits, restHit{route: route, call: c, path: r.URL.Path, body: int(n), signed: c != nil && c.Sig != nil})
		e.mu.Unlock()
		io.WriteString(w, route)
	})
}

func (e *restEnv) taken() []restHit {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.hits
	e.hits = nil
	return out
}

func newRESTEnv(t *testing.T) *restEnv {
	t.Helper()
	e := &restEnv{}
	mux := http.NewServeMux()
	for _, p := range []string{"/keyless/v1/", "GET /healthz", "/2.0/workspaces/", "/github/", "/gitlab/", "/.well-known/"} {
		mux.Handle(p, e.record("fallback "+p))
	}
	e.env = newEnv(t, func(c *gateway.Config) {
		c.REST = map[string]*gateway.RESTService{
			"s3":         {Handler: e.record("s3"), Hosts: []string{"s3.localhost"}},
			"cloudfront": {Handler: e.record("cloudfront"), Namespace: cloudfrontNS, MaxSignedBody: 64 << 10},
		}
		c.Fallback = mux
	})
	mux.Handle("POST /{$}", e.gw.Query())
	return e
}

// signREST signs req for service; s3 requests carry x-amz-content-sha256
// UNSIGNED-PAYLOAD, others the SHA-256 of signedBody.
func signREST(t *testing.T, req *http.Request, service, signedBody, sec string) {
	t.Helper()
	hash := "UNSIGNED-PAYLOAD"
	if service == "s3" {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	} else {
		sum := sha256.Sum256([]byte(signedBody))
		hash = hex.EncodeToString(sum[:])
	}
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" }).SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: keyID, SecretAccessKey: sec}, req, hash, service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestRESTRouting(t *testing.T) {
	e := newRESTEnv(t)
	port := e.srv.URL[strings.LastIndex(e.srv.URL, ":"):]
	big := strings.Repeat("x", 3<<20) // over the Query services' 1 MiB limit
	tests := []struct {
		name    string
		method  string
		path    string
		host    string // Host header; "" for the server's address
		body    string
		sign    string // SigV4 service name; "" for unsigned
		auth    string // an Authorization header other than SigV4
		badSig  bool   // sign with a wrong secret
		tamper  bool   // change the body after signing
		want    string // route, or "error CODE" for a gateway error
		anon    bool   // the REST service gets no caller
		bodyLen int
	}{
		{name: "signed s3 at a keyless path", method: "GET", path: "/keyless/v1/tokens", sign: "s3", want: "s3"},
		{name: "signed s3 bucket healthz", method: "GET", path: "/healthz", sign: "s3", want: "s3"},
		{name: "signed s3 bucket keyless", method: "GET", path: "/keyless", sign: "s3", want: "s3"},
		{name: "signed s3 well-known", method: "GET", path: "/.well-known/openid-configuration", sign: "s3", want: "s3"},
		{name: "signed s3 streams a large body", method: "PUT", path: "/bucket/big", body: big, sign: "s3", want: "s3", bodyLen: len(big)},
		{name: "signed cloudfront", method: "POST", path: "/2020-05-31/distribution/E1/invalidation", body: "<InvalidationBatch/>", sign: "cloudfront", want: "cloudfront", bodyLen: len("<InvalidationBatch/>")},
		{name: "signed cloudfront at a keyless path", method: "GET", path: "/keyless/v1/x", sign: "cloudfront", want: "cloudfront"},
		{name: "signed cloudfront body too large", method: "POST", path: "/2020-05-31/distribution", body: strings.Repeat("y", 65<<10), sign: "cloudfront", want: "error RequestEntityTooLarge"},
		{name: "cloudfront body changed after signing", method: "POST", path: "/2020-05-31/distribution", body: "<a/>", sign: "cloudfront", tamper: true, want: "error SignatureDoesNotMatch"},
		{name: "s3 wrong secret", method: "GET", path: "/bucket/key", sign: "s3", badSig: true, want: "error SignatureDoesNotMatch"},
		{name: "signed for a service not served", method: "GET", path: "/keyless/v1/x", sign: "ec2", want: "error UnrecognizedClientException"},
		{name: "signed iam goes to the Query services", method: "POST", path: "/", body: form("Action", "GetUser", "Version", "2010-05-08"), sign: "iam", want: "query iam"},
		{name: "S3 Signature Version 2 presigned URL", method: "GET", path: "/bucket/key?AWSAccessKeyId=AKIAEXAMPLE&Signature=abc%3D&Expires=1", want: "error InvalidRequest"},
		{name: "SigV2 query on a keyless path is still S3's refusal", method: "GET", path: "/keyless/v1/tokens?AWSAccessKeyId=AKIAEXAMPLE&Signature=abc", want: "error InvalidRequest"},
		{name: "unsigned keyless path", method: "GET", path: "/keyless/v1/tokens", want: "fallback /keyless/v1/"},
		{name: "unsigned healthz", method: "GET", path: "/healthz", want: "fallback GET /healthz"},
		{name: "unsigned workspaces", method: "GET", path: "/2.0/workspaces/acme/pipelines-config/identity/oidc/.well-known/openid-configuration", want: "fallback /2.0/workspaces/"},
		{name: "unsigned github", method: "GET", path: "/github/.well-known/jwks", want: "fallback /github/"},
		{name: "bearer token is not SigV4", method: "POST", path: "/keyless/v1/tokens", auth: "Bearer runner-token", want: "fallback /keyless/v1/"},
		{name: "virtual host anonymous", method: "GET", path: "/keyless/v1/tokens", host: "keyless.s3.localhost" + port, want: "s3", anon: true},
		{name: "virtual host healthz", method: "GET", path: "/healthz", host: "healthz.s3.localhost" + port, want: "s3", anon: true},
		{name: "virtual host signed", method: "GET", path: "/index.html", host: "site.s3.localhost" + port, sign: "s3", want: "s3"},
		{name: "virtual host any case, final dot", method: "GET", path: "/k", host: "Site.S3.LocalHost." + port, want: "s3", anon: true},
		{name: "path-style host", method: "GET", path: "/site/k", host: "s3.localhost" + port, want: "s3", anon: true},
		{name: "host only ending like the domain", method: "GET", path: "/healthz", host: "evils3.localhost" + port, want: "fallback GET /healthz"},
		{name: "virtual host signed for another service", method: "GET", path: "/k", host: "site.s3.localhost" + port, sign: "cloudfront", want: "cloudfront"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.sign == "iam" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
				sign(t, req, tc.body, keyID, secret, "iam", "us-east-1")
			} else if tc.sign != "" {
				sec := secret
				if tc.badSig {
					sec = "wrong" + secret
				}
				signREST(t, req, tc.sign, tc.body, sec)
			}
			if tc.tamper {
				req.Body = io.NopCloser(strings.NewReader(strings.ToUpper(tc.body)))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			hits := e.taken()
			iamCalls := e.iam.taken()
			switch {
			case strings.HasPrefix(tc.want, "error "):
				if len(hits) != 0 || len(iamCalls) != 0 {
					t.Fatalf("reached %v, want gateway error", hits)
				}
				if !bytes.Contains(b, []byte("<Code>"+strings.TrimPrefix(tc.want, "error ")+"</Code>")) {
					t.Fatalf("reply %d %s, want %s", resp.StatusCode, b, tc.want)
				}
				if tc.sign == "cloudfront" && !bytes.Contains(b, []byte(cloudfrontNS)) {
					t.Errorf("error not in the CloudFront namespace: %s", b)
				}
			case tc.want == "query iam":
				if len(iamCalls) != 1 || len(hits) != 0 || resp.StatusCode != http.StatusOK {
					t.Fatalf("iam calls %d, REST hits %v, status %d: %s", len(iamCalls), hits, resp.StatusCode, b)
				}
			default:
				if len(hits) != 1 || hits[0].route != tc.want {
					t.Fatalf("routes %v, want %q (reply %d %s)", hits, tc.want, resp.StatusCode, b)
				}
				h := hits[0]
				if h.path != tc.path {
					t.Errorf("path %q, want %q", h.path, tc.path)
				}
				if h.body != tc.bodyLen {
					t.Errorf("body %d bytes, want %d", h.body, tc.bodyLen)
				}
				if strings.HasPrefix(tc.want, "fallback") {
					if h.call != nil {
						t.Errorf("fallback got a gateway call")
					}
					return
				}
				if h.call == nil || h.call.RequestID == "" || !h.call.SourceIP.IsValid() || h.call.Time.IsZero() {
					t.Fatalf("call = %+v", h.call)
				}
				if tc.anon {
					if h.call.Caller != nil || h.call.Sig != nil {
						t.Errorf("anonymous request got caller %v", h.call.Caller)
					}
					return
				}
				if h.call.Caller == nil || h.call.Caller.ARN != callerARN || h.call.Sig == nil || h.call.Sig.Service != tc.want {
					t.Errorf("caller %v, sig %+v", h.call.Caller, h.call.Sig)
				}
			}
		})
	}
}

// TestRESTWithoutFallback: a gateway with no Fallback still serves REST services
// by scope and everything else as Query requests, as before REST services existed.
func TestRESTWithoutFallback(t *testing.T) {
	var got *gateway.Call
	e := newEnv(t, func(c *gateway.Config) {
		c.REST = map[string]*gateway.RESTService{"cloudfront": {Namespace: cloudfrontNS, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = gateway.CallFrom(r.Context())
		})}}
	})
	req := httptest.NewRequest("GET", e.srv.URL+"/2020-05-31/distribution", nil)
	req.RequestURI = ""
	signREST(t, req, "cloudfront", "", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got == nil || got.Caller == nil || got.Caller.ARN != callerARN {
		t.Fatalf("cloudfront call = %+v", got)
	}
	req = newRequest(t, e.srv.URL, form("Action", "GetUser", "Version", "2010-05-08"))
	sign(t, req, form("Action", "GetUser", "Version", "2010-05-08"), keyID, secret, "iam", "us-east-1")
	if r := do(t, http.DefaultClient, req); r.status != http.StatusOK || len(e.iam.taken()) != 1 {
		t.Fatalf("iam reply %d %s", r.status, r.body)
	}
	// Unsigned and unscoped: a Query error, not a REST service.
	resp, err = http.Get(e.srv.URL + "/2020-05-31/distribution")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(b, []byte("<Code>MissingAuthenticationToken</Code>")) && !bytes.Contains(b, []byte("<Code>MissingAction</Code>")) {
		t.Fatalf("unsigned reply %d %s", resp.StatusCode, b)
	}
}

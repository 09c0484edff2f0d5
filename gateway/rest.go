package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/awsapi"
)

// RESTService is a REST-protocol AWS service (S3, CloudFront) behind the gateway.
//
// The gateway routes a request to a REST service when its SigV4 credential scope
// names the service, whatever the path, or when its Host is one of the service's
// virtual hosts. It verifies the signature of a signed request before Handler sees
// it, and hands the request on with its body unread (streaming) whenever the
// signature does not cover a hash the gateway must compute itself: the service
// applies its own limits and, for S3, checks the body against Call.Sig.PayloadHash
// with awsapi.NewPayloadReader. Handler finds the Call in the request context with
// CallFrom.
type RESTService struct {
	// Handler serves the verified requests.
	Handler http.Handler
	// Namespace is the XML namespace of the ErrorResponse the gateway writes
	// when it refuses a request before Handler (bad signature, unknown key),
	// unless WriteError is set.
	Namespace string
	// WriteError, if set, writes the errors the gateway raises before Handler
	// in the service's own shape (S3's <Error> document).
	WriteError func(w http.ResponseWriter, requestID string, err error)
	// MaxSignedBody bounds the body the gateway reads to verify a signature
	// that covers the body's SHA-256 computed by the server: every service
	// except S3's family, whose signatures name the payload hash in
	// x-amz-content-sha256 and whose bodies stream unread. Default 16 MiB.
	MaxSignedBody int64
	// Hosts are the virtual-host domains of the service, such as
	// "s3.localhost": a request whose Host is one of them or a subdomain of one
	// (BUCKET.s3.localhost:8400) is the service's whether it is signed or not.
	// An unsigned one reaches Handler anonymously (Call.Caller and Call.Sig
	// nil); the service decides what an anonymous caller may do.
	Hosts []string
}

// defaultMaxSignedBody is RESTService.MaxSignedBody's default.
const defaultMaxSignedBody = 16 << 20

type callKey struct{}

// WithCall returns ctx carrying call, as the gateway passes it to REST services.
func WithCall(ctx context.Context, call *Call) context.Context {
	return context.WithValue(ctx, callKey{}, call)
}

// CallFrom returns the Call the gateway put in ctx, or nil.
func CallFrom(ctx context.Context) *Call {
	c, _ := ctx.Value(callKey{}).(*Call)
	return c
}

// restRoute finds the REST service of r: by the (still unverified) credential
// scope of a signed request (service, when scoped), else by Host. Unsigned requests for no virtual host
// are never a REST service's, so that no bucket shadows keyless's own paths.
func (g *Gateway) restRoute(r *http.Request, service string, scoped bool) (name string, svc *RESTService) {
	if scoped {
		if s := g.cfg.REST[service]; s != nil {
			return service, s
		}
		return "", nil
	}
	host := hostOnly(r.Host)
	for _, n := range g.restNames {
		for _, h := range g.cfg.REST[n].Hosts {
			h = strings.ToLower(strings.TrimSuffix(h, "."))
			if host == h || strings.HasSuffix(host, "."+h) {
				return n, g.cfg.REST[n]
			}
		}
	}
	return "", nil
}

// hostOnly is the lower-case host name of a Host header, without port or final dot.
func hostOnly(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// isSigned reports whether r carries SigV4 authentication of any shape.
func isSigned(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	q := r.URL.Query()
	return q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Signature")
}

// errSigV2 is S3's answer to Signature Version 2, which keyless, like S3 buckets
// created since 2020, does not accept.
var errSigV2 = awsapi.NewError("InvalidRequest", http.StatusBadRequest,
	"The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")

// isSigV2Query reports whether r is authenticated with a Signature Version 2 query
// string (AWSAccessKeyId, Signature and Expires), as presigned URLs of old clients are.
func isSigV2Query(r *http.Request) bool {
	if !strings.Contains(r.URL.RawQuery, "AWSAccessKeyId=") {
		return false // the common case, without parsing the query on every request
	}
	q := r.URL.Query()
	return q.Has("AWSAccessKeyId") && q.Has("Signature")
}

// writeRESTError writes err in svc's error shape.
func (g *Gateway) writeRESTError(w http.ResponseWriter, svc *RESTService, requestID string, err error) {
	if svc.WriteError != nil {
		svc.WriteError(w, requestID, err)
		return
	}
	awsapi.WriteQueryError(w, svc.Namespace, requestID, err)
}

// serveREST verifies a request for a REST service and hands it to the service.
func (g *Gateway) serveREST(w http.ResponseWriter, r *http.Request, name string, svc *RESTService) {
	call := &Call{RequestID: g.ids.Next(), SourceIP: g.sourceIP(r), Time: g.cfg.Now(), Secure: r.TLS != nil}
	start := time.Now()
	fail := func(err error) {
		g.writeRESTError(w, svc, call.RequestID, err)
		g.observeRefusal(name, start, err) // the service reports the requests it answers
	}
	if isSigned(r) {
		var payload []byte
		if !g.rules(name).ContentSHA256 {
			limit := svc.MaxSignedBody
			if limit <= 0 {
				limit = defaultMaxSignedBody
			}
			body, err := readLimited(r.Body, limit)
			if err != nil {
				fail(err)
				return
			}
			payload = body
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		sig, err := g.cfg.Verifier.Verify(r.Context(), r, payload)
		if err == nil {
			// The Authorization header is not signed: the verified scope must be
			// the service's.
			err = sig.RequireService(name)
		}
		if err != nil {
			g.cfg.Logger.Info("signature rejected", "request_id", call.RequestID, "service", name, "path", r.URL.Path, "code", awsapi.AsError(err).Code, "source_ip", call.SourceIP)
			fail(err)
			return
		}
		p, _ := sig.Principal.(*authn.Principal)
		call.Sig, call.Caller = sig, p
		if g.cfg.Authenticator != nil {
			if err := g.cfg.Authenticator.RecordUse(r.Context(), p, sig.Service, sig.Region); err != nil {
				g.cfg.Logger.Warn("record access key use", "err", err)
			}
		}
	}
	svc.Handler.ServeHTTP(w, r.WithContext(WithCall(r.Context(), call)))
}

// rules are the verifier's canonicalization rules of a service.
func (g *Gateway) rules(service string) awsapi.ServiceRules {
	if g.cfg.Verifier.Rules != nil {
		return g.cfg.Verifier.Rules(service)
	}
	return awsapi.DefaultServiceRules(service)
}

// readLimited reads a body of at most limit bytes (a non-nil slice, possibly
// empty); a longer one is RequestEntityTooLarge.
func readLimited(body io.Reader, limit int64) ([]byte, error) {
	if body == nil {
		return []byte{}, nil
	}
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, awsapi.RequestEntityTooLarge(limit)
		}
		return nil, awsapi.NewError("IncompleteBody", http.StatusBadRequest, "The request body could not be read.")
	}
	if int64(len(b)) > limit {
		return nil, awsapi.RequestEntityTooLarge(limit)
	}
	return b, nil
}

// Package gateway is the front door of the local AWS-compatible services: it
// verifies SigV4 (or admits the unsigned STS actions), finds the caller's source
// address and routes by the credential scope's service.
//
// Query-protocol services (IAM, STS) get the parsed request, its body read and
// limited by the gateway, and the gateway writes their AWS-shaped reply.
// REST-protocol services (S3, CloudFront; see RESTService) get the verified
// request itself, with a streaming body, and the Call in its context.
// JSON-protocol services (Secrets Manager; see JSONService) get the operation
// named by X-Amz-Target and the verified JSON body, and the gateway writes
// their reply in the JSON protocol's shape.
//
// With Config.Fallback set, the gateway is the server's front handler: a signed
// request goes to the service its credential scope names, whatever its path, and a
// request for a REST service's virtual host to that service; every other request
// (keyless's own routes) goes to Fallback, which mounts Query for the Query
// services. An unsigned request on the server's own host therefore never reaches
// S3, so no bucket can shadow a keyless path.
package gateway

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/awsapi"
)

// Call is one Query-protocol request after authentication.
type Call struct {
	RequestID string
	Action    string
	Query     awsapi.QueryRequest
	// Caller is who signed the request; nil for the unsigned STS actions.
	Caller *authn.Principal
	// Sig is the verified SigV4 data; nil for unsigned requests.
	Sig *awsapi.Auth
	// SourceIP is the caller's address: the TCP peer, or the forwarded client address
	// when the peer is a trusted proxy.
	SourceIP netip.Addr
	// Time is when the request arrived.
	Time time.Time
	// Secure reports whether the request came over TLS (aws:SecureTransport).
	Secure bool
}

// Identity is who made the call, as the audit log records it: the signer's
// ARN ("" for an unsigned call) and the source address ("" when unknown).
func (c *Call) Identity() (caller, sourceIP string) {
	if c.Caller != nil {
		caller = c.Caller.ARN
	}
	if c.SourceIP.IsValid() {
		sourceIP = c.SourceIP.String()
	}
	return caller, sourceIP
}

// QueryService serves the Query-protocol actions of one AWS service.
type QueryService interface {
	// Namespace is the XML namespace of the service's replies.
	Namespace() string
	// Unsigned reports whether action may be called without a signature.
	Unsigned(action string) bool
	// Serve performs the call. It returns the value to encode inside <ActionResult>
	// (nil for actions without output) or an error; an *awsapi.Error is sent as it is,
	// any other error as InternalFailure.
	Serve(ctx context.Context, call *Call) (any, error)
}

// Config configures the gateway.
type Config struct {
	// Services by SigV4 service name ("sts", "iam"). The map must not change
	// after New.
	Services map[string]QueryService
	// REST are the REST-protocol services by SigV4 service name ("s3",
	// "cloudfront"). The map must not change after New.
	REST map[string]*RESTService
	// JSON are the AWS JSON-protocol services by SigV4 service name
	// ("secretsmanager"). The map must not change after New.
	JSON map[string]*JSONService
	// Fallback, if set, serves the requests that are for no REST service and
	// carry no credential scope of an AWS service keyless does not serve: the
	// server's own routes, one of which must mount Query. Nil: ServeHTTP serves
	// every such request as a Query-protocol request.
	Fallback http.Handler
	// Verifier checks signatures; its Lookup must return *authn.Principal principals.
	Verifier *awsapi.Verifier
	// Authenticator records access key use; may be nil.
	Authenticator *authn.Authenticator
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// MaxBody limits Query-protocol request bodies (default 1 MiB).
	MaxBody int64
	Now     func() time.Time
	Logger  *slog.Logger
	// Observer, if set, is told of every request the gateway answers (metrics.go).
	Observer RequestObserver
}

// Gateway is the http.Handler for the AWS Query services.
type Gateway struct {
	cfg Config
	// names are the keys of cfg.Services in order, for unsignedService.
	names []string
	// restNames are the keys of cfg.REST in order, for Host matching.
	restNames []string
	// jsonNames are the keys of cfg.JSON in order, for X-Amz-Target matching.
	jsonNames []string
	ids       *awsapi.RequestIDs
}

// New returns a Gateway.
func New(cfg Config) *Gateway {
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	names := make([]string, 0, len(cfg.Services))
	for name := range cfg.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	restNames := make([]string, 0, len(cfg.REST))
	for name := range cfg.REST {
		restNames = append(restNames, name)
	}
	slices.Sort(restNames)
	jsonNames := make([]string, 0, len(cfg.JSON))
	for name := range cfg.JSON {
		jsonNames = append(jsonNames, name)
	}
	slices.Sort(jsonNames)
	// crypto/rand's Reader never fails (it never returns an error since Go 1.24).
	ids, _ := awsapi.NewRequestIDs(rand.Reader)
	return &Gateway{cfg: cfg, names: names, restNames: restNames, jsonNames: jsonNames, ids: ids}
}

// ServeHTTP routes one request: to a JSON service (by credential scope or
// X-Amz-Target), to a REST service (by credential scope or Host), else to
// Fallback when set, else as a Query-protocol request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The credential scope, read once: it routes signed requests (json.go,
	// rest.go) whatever their path.
	service, _, scoped := awsapi.ParseScope(r)
	if name, svc := g.jsonRoute(r, service, scoped); svc != nil {
		g.serveJSON(w, r, name, svc) // json.go
		return
	}
	if name, svc := g.restRoute(r, service, scoped); svc != nil {
		g.serveREST(w, r, name, svc)
		return
	}
	if svc := g.cfg.REST["s3"]; svc != nil && isSigV2Query(r) {
		// An S3 presigned URL of the retired Signature Version 2 (boto3's default
		// presigner makes them): S3's own refusal, not one of keyless's routes.
		g.writeRESTError(w, svc, g.ids.Next(), errSigV2)
		g.observeRefusal("s3", time.Time{}, errSigV2)
		return
	}
	if g.cfg.Fallback == nil {
		g.serveQuery(w, r)
		return
	}
	if scoped && g.cfg.Services[service] == nil {
		// Signed for an AWS service keyless does not serve: never one of keyless's
		// own routes, whatever the path.
		awsapi.WriteQueryError(w, awsapi.NamespaceSTS, g.ids.Next(), notServed(service))
		g.observeRefusal("", time.Time{}, notServed(service))
		return
	}
	g.cfg.Fallback.ServeHTTP(w, r)
}

// Query is the handler of the Query-protocol services alone, for Fallback to mount
// (at "/").
func (g *Gateway) Query() http.Handler { return http.HandlerFunc(g.serveQuery) }

// notServed is the error for a credential scope naming a service keyless does not serve.
func notServed(service string) *awsapi.Error {
	return awsapi.NewError("UnrecognizedClientException", http.StatusBadRequest, "The service "+service+" is not served by keyless")
}

// serveQuery handles one Query-protocol request.
func (g *Gateway) serveQuery(w http.ResponseWriter, r *http.Request) {
	o := g.observe()
	defer o.done()
	reqID := g.ids.Next()
	now := g.cfg.Now()
	ns := awsapi.NamespaceSTS
	service, _, scoped := awsapi.ParseScope(r)
	svc := g.cfg.Services[service]
	if svc != nil {
		ns = svc.Namespace()
		o.at(service, svc)
	}
	q, err := awsapi.ParseQueryRequest(r, g.cfg.MaxBody)
	if err != nil {
		o.queryError(w, ns, reqID, err)
		return
	}
	o.action = q.Action
	call := &Call{RequestID: reqID, Action: q.Action, Query: q, SourceIP: g.sourceIP(r), Time: now, Secure: r.TLS != nil}

	// The unsigned actions (AssumeRoleWithWebIdentity) are served anonymously whatever
	// the request carries: AWS ignores an Authorization header on them.
	if name, unsigned := g.unsignedService(q.Action); unsigned != nil {
		o.at(name, unsigned)
		g.serve(w, r, unsigned, call, &o)
		return
	}
	if !scoped && r.Header.Get("Authorization") == "" && !r.URL.Query().Has("X-Amz-Algorithm") {
		o.queryError(w, ns, reqID, awsapi.MissingAuthenticationToken())
		return
	}
	// Verify before anything else is revealed: a malformed signature gets
	// IncompleteSignature, a wrong one SignatureDoesNotMatch.
	sig, err := g.cfg.Verifier.Verify(r.Context(), r, q.Body)
	if err == nil {
		// The Authorization header is not signed: route only by the verified scope.
		err = sig.RequireService(service)
	}
	if err != nil {
		g.cfg.Logger.Info("signature rejected", "request_id", reqID, "service", service, "action", q.Action, "code", awsapi.AsError(err).Code, "source_ip", call.SourceIP)
		o.queryError(w, ns, reqID, err)
		return
	}
	if svc == nil {
		o.queryError(w, ns, reqID, notServed(sig.Service))
		return
	}
	p, _ := sig.Principal.(*authn.Principal)
	call.Sig, call.Caller = sig, p
	if g.cfg.Authenticator != nil {
		if err := g.cfg.Authenticator.RecordUse(r.Context(), p, sig.Service, sig.Region); err != nil {
			g.cfg.Logger.Warn("record access key use", "err", err)
		}
	}
	g.serve(w, r, svc, call, &o)
}

// unsignedService is the service that serves action without a signature, with
// its name, if any.
// Services are consulted in name order so the answer does not depend on map order.
func (g *Gateway) unsignedService(action string) (string, QueryService) {
	if action == "" {
		return "", nil
	}
	for _, name := range g.names {
		if s := g.cfg.Services[name]; s.Unsigned(action) {
			return name, s
		}
	}
	return "", nil
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, svc QueryService, call *Call, o *observation) {
	ns := svc.Namespace()
	if call.Action == "" {
		o.queryError(w, ns, call.RequestID, awsapi.MissingAction())
		return
	}
	result, err := svc.Serve(r.Context(), call)
	if err != nil {
		switch awsapi.AsError(err).Code {
		case "InternalFailure":
			g.cfg.Logger.Error("internal failure", "request_id", call.RequestID, "action", call.Action, "err", err)
		case "ServiceUnavailable":
			g.cfg.Logger.Warn("service unavailable", "request_id", call.RequestID, "action", call.Action, "err", err)
		}
		o.queryError(w, ns, call.RequestID, err)
		return
	}
	awsapi.WriteQueryResult(w, ns, call.Action, call.RequestID, result)
}

// sourceIP is the TCP peer, or the right-most untrusted X-Forwarded-For address when
// the peer is a trusted proxy.
func (g *Gateway) sourceIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !g.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer
		}
		a = a.Unmap()
		if !g.trusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

func (g *Gateway) trusted(a netip.Addr) bool {
	for _, p := range g.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

package gateway

import (
	"context"
	"net/http"
	"strconv"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/awsapi"
)

// JSONService is an AWS JSON-protocol service behind the gateway (Secrets
// Manager): every operation is a POST whose X-Amz-Target header names it
// ("secretsmanager.GetSecretValue") and whose body is a JSON document.
//
// The gateway routes a request to a JSON service when its SigV4 credential
// scope names the service, whatever its path; and an unsigned request when
// its X-Amz-Target names one of the service's operations, which it refuses
// with MissingAuthenticationTokenException. It reads the body (at most
// Config.MaxBody bytes), verifies the signature over it, checks the method
// and the target, and hands the call to Handler; it writes the reply, and
// every error, in the JSON protocol's shape (awsapi.WriteJSONResult,
// awsapi.WriteJSONError).
type JSONService struct {
	// TargetPrefix is what X-Amz-Target holds before ".Operation"
	// ("secretsmanager").
	TargetPrefix string
	// ContentType is the media type of the replies (default
	// awsapi.ContentTypeJSON11).
	ContentType string
	// Handler performs the operations.
	Handler JSONHandler
}

// JSONHandler performs the operations of a JSON-protocol service.
type JSONHandler interface {
	// ServeJSON performs the operation call.Action (the X-Amz-Target's
	// operation name, not yet checked against the service's) with the
	// request's JSON body, as read and verified by the gateway. It returns
	// the value to encode as the reply (nil for "{}"), or an error: an
	// *awsapi.Error is sent as it is (in the JSON protocols' spelling, see
	// awsapi.JSONError), any other error as InternalFailure.
	ServeJSON(ctx context.Context, call *Call, body []byte) (any, error)
}

// errNotPOST is the error for a JSON-protocol request that is not a POST.
var errNotPOST = awsapi.NewError("UnknownOperationException", http.StatusBadRequest,
	"AWS JSON-protocol requests are POST requests that name the operation in the X-Amz-Target header.")

// jsonRoute finds the JSON service of r: by the (still unverified)
// credential scope of a signed request (service, when scoped), else by the X-Amz-Target prefix of an
// unsigned one.
func (g *Gateway) jsonRoute(r *http.Request, service string, scoped bool) (name string, svc *JSONService) {
	if len(g.cfg.JSON) == 0 {
		return "", nil
	}
	if scoped {
		if s := g.cfg.JSON[service]; s != nil {
			return service, s
		}
		return "", nil
	}
	if isSigned(r) {
		return "", nil
	}
	prefix, _, ok := awsapi.ParseTarget(r.Header.Get(awsapi.TargetHeader))
	if !ok {
		return "", nil
	}
	for _, n := range g.jsonNames {
		if s := g.cfg.JSON[n]; s.TargetPrefix == prefix {
			return n, s
		}
	}
	return "", nil
}

// serveJSON authenticates a request for a JSON service and performs it.
func (g *Gateway) serveJSON(w http.ResponseWriter, r *http.Request, name string, svc *JSONService) {
	o := g.observe()
	defer o.done()
	o.at(name, svc.Handler)
	o.json = true
	call := &Call{RequestID: g.ids.Next(), SourceIP: g.sourceIP(r), Time: g.cfg.Now(), Secure: r.TLS != nil}
	contentType := svc.ContentType
	if contentType == "" {
		contentType = awsapi.ContentTypeJSON11
	}
	fail := func(err error) {
		o.err = err
		awsapi.WriteJSONError(w, contentType, call.RequestID, err)
	}
	if !isSigned(r) {
		fail(awsapi.MissingAuthenticationToken())
		return
	}
	body, err := awsapi.ReadBody(r, g.cfg.MaxBody)
	if err != nil {
		fail(err)
		return
	}
	sig, err := g.cfg.Verifier.Verify(r.Context(), r, body)
	if err == nil {
		// The Authorization header is not signed: the verified scope must be
		// the service's.
		err = sig.RequireService(name)
	}
	if err != nil {
		g.cfg.Logger.Info("signature rejected", "request_id", call.RequestID, "service", name,
			"target", r.Header.Get(awsapi.TargetHeader), "code", awsapi.JSONError(err).Code, "source_ip", call.SourceIP)
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
	if r.Method != http.MethodPost {
		fail(errNotPOST)
		return
	}
	target := r.Header.Get(awsapi.TargetHeader)
	prefix, op, ok := awsapi.ParseTarget(target)
	if !ok || prefix != svc.TargetPrefix {
		fail(awsapi.NewError("UnknownOperationException", http.StatusBadRequest,
			"X-Amz-Target "+quoteTarget(target)+" names no operation of "+name+": it must be "+svc.TargetPrefix+".<Operation>."))
		return
	}
	call.Action = op
	o.action = op
	result, err := svc.Handler.ServeJSON(r.Context(), call, body)
	if err != nil {
		switch awsapi.AsError(err).Code {
		case "InternalFailure":
			g.cfg.Logger.Error("internal failure", "request_id", call.RequestID, "service", name, "action", op, "err", err)
		case "ServiceUnavailable":
			g.cfg.Logger.Warn("service unavailable", "request_id", call.RequestID, "service", name, "action", op, "err", err)
		}
		fail(err)
		return
	}
	awsapi.WriteJSONResult(w, contentType, call.RequestID, result)
}

// quoteTarget quotes a header value for an error message, shortened.
func quoteTarget(s string) string {
	const max = 128
	if len(s) > max {
		s = s[:max] + "…"
	}
	if s == "" {
		return "(missing)"
	}
	return strconv.Quote(s)
}

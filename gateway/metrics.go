package gateway

import (
	"net/http"
	"time"

	"github.com/keyless-dev/keyless/awsapi"
)

// RequestObserver is told of the AWS requests the gateway answers, for metrics:
// every Query- and JSON-protocol request, and the REST-protocol requests it
// refuses before their service sees them (a REST service reports the requests
// it answers itself, through its audit events). Its method must be cheap and
// safe for concurrent use.
type RequestObserver interface {
	// ObserveRequest reports one answered request: the service that answered
	// ("other" when the request names none keyless serves), the action (one the
	// service serves, else "other"), the AWS error code of the reply ("" on
	// success) and how long the gateway took to answer.
	ObserveRequest(service, action, code string, took time.Duration)
}

// ActionSet is implemented by services (QueryService, JSONHandler) that can tell
// the actions they serve; the gateway reports the actions of the others, and
// those a service does not serve, as "other", so that no caller can grow the
// action label.
type ActionSet interface {
	Serves(action string) bool
}

// otherLabel is what the gateway reports for a service or action outside the
// known ones.
const otherLabel = "other"

// observation is one request on its way to the RequestObserver.
type observation struct {
	obs     RequestObserver
	start   time.Time
	service string // the service's name, "" when none keyless serves
	svc     any    // the service, to check the action against (an ActionSet)
	action  string
	err     error
	json    bool // a JSON-protocol request: its error codes are spelled as JSONError spells them
}

// observe starts the observation of a request; a no-op without an observer.
func (g *Gateway) observe() observation {
	if g.cfg.Observer == nil {
		return observation{}
	}
	return observation{obs: g.cfg.Observer, start: time.Now()}
}

// at names the service a request is for, when keyless serves it.
func (o *observation) at(name string, svc any) {
	o.service, o.svc = name, svc
}

// done reports the request. Deferred by the serving functions.
func (o *observation) done() {
	if o.obs == nil {
		return
	}
	service, action := otherLabel, otherLabel
	if o.service != "" {
		service = o.service
		if set, ok := o.svc.(ActionSet); ok && o.action != "" && set.Serves(o.action) {
			action = o.action
		}
	}
	code := ""
	switch {
	case o.err == nil:
	case o.json:
		code = awsapi.JSONError(o.err).Code
	default:
		code = awsapi.AsError(o.err).Code
	}
	o.obs.ObserveRequest(service, action, code, time.Since(o.start))
}

// queryError writes err as a Query-protocol error and notes it for the observer.
func (o *observation) queryError(w http.ResponseWriter, namespace, requestID string, err error) {
	o.err = err
	awsapi.WriteQueryError(w, namespace, requestID, err)
}

// observeRefusal reports a request for a REST service, or for no service keyless
// serves (name ""), that the gateway refused with err itself.
func (g *Gateway) observeRefusal(name string, start time.Time, err error) {
	if g.cfg.Observer == nil {
		return
	}
	if start.IsZero() {
		start = time.Now() // refused at once
	}
	o := observation{obs: g.cfg.Observer, start: start, service: name, err: err}
	o.done()
}

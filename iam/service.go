// Package iam serves the subset of the AWS IAM Query API that keyless needs for
// web-identity federation: OpenID Connect providers, roles with inline and managed
// policies, customer-managed policies, users and their access keys. It is wire
// compatible with the official SDKs: the same parameters, XML shapes, error codes,
// HTTP statuses and messages as IAM.
//
// The package is split in two sides. The handler side (handler.go, types.go,
// validate.go) decodes and validates Query parameters, authorizes the caller and
// encodes results. The core (providers.go, roles.go, policies.go,
// instance_profiles.go, users.go) applies the operations to the store. Every call
// is authorized through the policy engine (root may do everything) and recorded
// as a secret-free audit event.
package iam

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/gateway"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// APIVersion is the IAM API version served.
const APIVersion = "2010-05-08"

// Config configures a Service.
type Config struct {
	// Store holds the IAM entities.
	Store store.Store
	// Box seals users' secret access keys (under authn.AccessKeyLabel).
	Box *keywrap.Box
	// Authorizer decides whether a caller may perform an action.
	Authorizer *authz.Authorizer
	// Authenticator caches user access keys; it is told to forget changed keys.
	// May be nil.
	Authenticator *authn.Authenticator
	// Audit records every decision. May be nil (no events).
	Audit *audit.Recorder
	// Account is the 12-digit account id of the local account.
	Account string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of entity ids and secrets (default crypto/rand.Reader).
	Rand io.Reader
	// AllowPortInProviderURL accepts OpenID Connect provider URLs with a port, which
	// real IAM refuses; set it for local issuers.
	AllowPortInProviderURL bool
	// RootCreatedAt is the account's creation time, reported by GetUser for the root
	// user. Zero omits it.
	RootCreatedAt time.Time
	// OnChange, when set, is called after every successful change (so that services
	// caching IAM entities, such as STS, drop their caches).
	OnChange func()
}

// Service is the IAM Query service. It implements gateway.QueryService and is safe
// for concurrent use.
type Service struct {
	cfg Config
	st  store.Store

	// keysMu serializes access key creation so the two-keys quota holds within
	// this process (the store has no conditional insert).
	keysMu sync.Mutex
	// randMu guards cfg.Rand, which need not be safe for concurrent use.
	randMu sync.Mutex
}

var _ gateway.QueryService = (*Service)(nil)

// New returns the IAM service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &Service{cfg: cfg, st: cfg.Store}
}

// Namespace returns the IAM XML namespace.
func (s *Service) Namespace() string { return awsapi.NamespaceIAM }

// Unsigned reports false: every IAM action must be signed.
func (s *Service) Unsigned(string) bool { return false }

// request is the state of one call as it goes through a handler.
type request struct {
	call   *gateway.Call
	action string
	params url.Values

	// Set by authorize.
	resource   string
	authorized bool
	denied     bool
	result     policy.Result
}

// get returns a parameter ("" when absent).
func (r *request) get(name string) string { return r.params.Get(name) }

// has reports whether a parameter is present.
func (r *request) has(name string) bool { return r.params.Has(name) }

// caller returns the authenticated caller (never nil after authorize succeeded).
func (r *request) caller() *authn.Principal { return r.call.Caller }

// Serve performs one IAM call: it dispatches on the action, and records the
// outcome as an audit event.
func (s *Service) Serve(ctx context.Context, call *gateway.Call) (any, error) {
	r := &request{call: call, action: call.Action, params: call.Query.Values}
	if r.params == nil {
		r.params = url.Values{}
	}
	h := s.handler(call.Action)
	var (
		out any
		err error
	)
	if h == nil {
		version := call.Query.Version
		if version == "" {
			version = APIVersion
		}
		err = awsapi.InvalidAction(call.Action, version)
	} else {
		out, err = h(ctx, r)
	}
	s.record(r, err)
	if err != nil {
		return nil, err
	}
	if s.cfg.OnChange != nil && mutates(call.Action) {
		s.cfg.OnChange()
	}
	return out, nil
}

// mutates reports whether an IAM action changes state (everything but Get*, List*).
func mutates(action string) bool {
	return !strings.HasPrefix(action, "Get") && !strings.HasPrefix(action, "List")
}

// authorize asks the Authorizer whether the caller may perform iam:<action> on
// resource, with extra condition keys. A denial is an AccessDenied error worded as
// IAM words it; a failure to decide is an internal error.
func (s *Service) authorize(ctx context.Context, r *request, resource string, extra policy.Context) error {
	r.resource = resource
	action := "iam:" + r.action
	res, err := s.cfg.Authorizer.Authorize(ctx, authz.Request{
		Caller:   r.call.Caller,
		Action:   action,
		Resource: resource,
		SourceIP: r.call.SourceIP,
		Time:     r.call.Time,
		Secure:   r.call.Secure,
		Context:  extra,
	})
	if err != nil {
		return fmt.Errorf("iam: authorize %s: %w", action, err)
	}
	r.result = res
	if res.Decision == policy.Allowed {
		r.authorized = true
		return nil
	}
	r.denied = true
	return awsapi.AccessDenied(authz.DeniedMessage(r.call.Caller, action, resource, res))
}

// record turns the outcome of a call into an audit event.
func (s *Service) record(r *request, err error) {
	if s.cfg.Audit == nil {
		return
	}
	e := audit.Event{
		Time:      r.call.Time,
		RequestID: r.call.RequestID,
		Service:   "iam",
		Action:    r.action,
		Role:      r.resource,
		Decision:  audit.Allowed,
	}
	e.Caller, e.SourceIP = r.call.Identity()
	stmt, cond := authz.Deciding(r.result)
	e.Conclude(r.denied, stmt, cond, string(r.result.Explain.Reason), err)
	s.cfg.Audit.Record(e)
}

// now is the current time, truncated to the second as IAM reports times.
func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Second) }

// Alphabets of generated identifiers.
const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// randString returns n characters drawn uniformly from alphabet (≤ 256 symbols).
func (s *Service) randString(n int, alphabet string) (string, error) {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n+8)
	s.randMu.Lock()
	defer s.randMu.Unlock()
	for len(out) < n {
		if _, err := io.ReadFull(s.cfg.Rand, buf); err != nil {
			return "", fmt.Errorf("iam: random: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// newID returns an IAM unique id: prefix (AROA, AIDA, ANPA) and 17 characters.
func (s *Service) newID(prefix string) (string, error) {
	tail, err := s.randString(17, upperAlnum)
	if err != nil {
		return "", err
	}
	return prefix + tail, nil
}

// storeErr wraps an unexpected store error so it surfaces as InternalFailure.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae *awsapi.Error
	if errors.As(err, &ae) {
		return err
	}
	return fmt.Errorf("iam: %s: %w", op, err)
}

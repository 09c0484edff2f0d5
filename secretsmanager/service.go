// Package secretsmanager serves the part of the AWS Secrets Manager API
// (version 2017-10-17, AWS JSON 1.1, signing name secretsmanager) that
// programs and rotation need: CreateSecret, DescribeSecret, GetSecretValue,
// PutSecretValue, UpdateSecret, UpdateSecretVersionStage,
// ListSecretVersionIds, ListSecrets, DeleteSecret, RestoreSecret,
// TagResource and UntagResource. It is wire compatible with the official
// SDKs and CLIs: the same members, error codes and messages as Secrets
// Manager.
//
// The package is split in two sides. The handler (service.go, handler.go,
// decode.go, types.go) decodes and validates requests, authorizes the caller
// through the policy engine as secretsmanager:<Operation> on the secret's
// ARN, records every call as a secret-free audit event and encodes the
// replies. The core (core.go, list.go) applies Secrets Manager's rules to
// the secrets of a store.SecretStore: ARNs with a random suffix, lookups by
// name, full or partial ARN, versions and their staging labels (AWSCURRENT,
// AWSPREVIOUS, AWSPENDING and the caller's), ClientRequestToken idempotency,
// and deletion after a recovery window. Secret values are sealed with the
// server's key-encryption key (package keywrap) before they reach the store.
//
// Callers are authenticated (SigV4) by the gateway in front of the handler,
// which hands it the operation and the JSON body (gateway.JSONService).
package secretsmanager

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/gateway"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// TargetPrefix is the X-Amz-Target prefix of the service's operations.
const TargetPrefix = "secretsmanager"

// SigningName is the service name of the SigV4 credential scope.
const SigningName = "secretsmanager"

// Auditor records the outcome of every call; *audit.Recorder implements it.
type Auditor interface {
	Record(audit.Event)
}

// Config configures a Service.
type Config struct {
	// Store keeps the secrets. Required.
	Store store.SecretStore
	// Box seals the secret values. Required.
	Box *keywrap.Box
	// Authorizer decides whether a caller may perform an action. Required.
	Authorizer *authz.Authorizer
	// Audit records every call. May be nil (no events).
	Audit Auditor
	// Region is the region of the secrets' ARNs (such as us-east-1).
	Region string
	// Account is the 12-digit account ID of the secrets' ARNs.
	Account string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of ARN suffixes and version IDs (default
	// crypto/rand.Reader).
	Rand io.Reader
	// Logger logs what a caller is not told. May be nil.
	Logger *slog.Logger
}

// Service is the Secrets Manager API. It implements gateway.JSONHandler and
// is safe for concurrent use.
type Service struct {
	cfg  Config
	core *core
}

var _ gateway.JSONHandler = (*Service)(nil)

// New returns the service, or an error naming what the configuration lacks.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("secretsmanager: a Store is required")
	case cfg.Box == nil:
		return nil, errors.New("secretsmanager: a Box (the key-encryption key) is required")
	case cfg.Authorizer == nil:
		return nil, errors.New("secretsmanager: an Authorizer is required")
	case cfg.Region == "" || cfg.Account == "":
		return nil, errors.New("secretsmanager: the Region and Account of the secrets' ARNs are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, core: &core{
		st: cfg.Store, box: cfg.Box, region: cfg.Region, account: cfg.Account,
		now: cfg.Now, log: cfg.Logger, rand: cfg.Rand,
	}}, nil
}

// call is the state of one request as it goes through the handler.
type call struct {
	gw   *gateway.Call
	op   string
	body []byte

	// Set by authorize: the resource audited and how the decision went.
	resource string
	denied   bool
	result   policy.Result
}

// operation performs one operation and returns its reply.
type operation func(s *Service, ctx context.Context, c *call) (any, error)

// operations are the operations served, by name.
var operations = map[string]operation{
	"CreateSecret":             (*Service).createSecret,
	"DescribeSecret":           (*Service).describeSecret,
	"GetSecretValue":           (*Service).getSecretValue,
	"PutSecretValue":           (*Service).putSecretValue,
	"UpdateSecret":             (*Service).updateSecret,
	"UpdateSecretVersionStage": (*Service).updateSecretVersionStage,
	"ListSecretVersionIds":     (*Service).listSecretVersionIDs,
	"ListSecrets":              (*Service).listSecrets,
	"DeleteSecret":             (*Service).deleteSecret,
	"RestoreSecret":            (*Service).restoreSecret,
	"TagResource":              (*Service).tagResource,
	"UntagResource":            (*Service).untagResource,
}

// operationNames lists the operations served, sorted.
func operationNames() []string { return slices.Sorted(maps.Keys(operations)) }

// ServeJSON performs one operation (call.Action) with its JSON body and
// records the outcome as an audit event. Errors are *awsapi.Error values as
// Secrets Manager sends them, or internal failures.
func (s *Service) ServeJSON(ctx context.Context, gc *gateway.Call, body []byte) (any, error) {
	c := &call{gw: gc, op: gc.Action, body: body}
	var (
		out any
		err error
	)
	if op := operations[c.op]; op == nil {
		err = errUnknownOperation(c.op)
	} else {
		out, err = op(s, ctx, c)
	}
	s.record(c, err)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// authorize asks the policy engine whether the caller may perform
// secretsmanager:<op> (or action, when not empty) on resource with the
// condition keys extra. A denial is AccessDeniedException, worded as AWS
// words it; a failure to decide is an internal error.
func (s *Service) authorize(ctx context.Context, c *call, action, resource string, extra policy.Context) error {
	if action == "" {
		action = "secretsmanager:" + c.op
	}
	if c.resource == "" {
		c.resource = resource
	}
	res, err := s.cfg.Authorizer.Authorize(ctx, authz.Request{
		Caller: c.gw.Caller, Action: action, Resource: resource,
		SourceIP: c.gw.SourceIP, Time: c.gw.Time, Secure: c.gw.Secure,
		Context: extra,
	})
	if err != nil {
		return fmt.Errorf("secretsmanager: authorize %s: %w", action, err)
	}
	if res.Decision == policy.Allowed {
		return nil
	}
	c.denied, c.result = true, res
	return errAccessDenied(authz.DeniedMessage(c.gw.Caller, action, resource, res))
}

// record turns the outcome of a call into an audit event: who, what, on
// which secret (its ARN), and for a denial the deciding statement. Secret
// values never appear in it.
func (s *Service) record(c *call, err error) {
	if s.cfg.Audit == nil {
		return
	}
	e := audit.Event{
		Time:      c.gw.Time,
		RequestID: c.gw.RequestID,
		Service:   SigningName,
		Action:    c.op,
		Role:      c.resource,
		Decision:  audit.Allowed,
	}
	e.Caller, e.SourceIP = c.gw.Identity()
	stmt, cond := authz.Deciding(c.result)
	e.Conclude(c.denied, stmt, cond, string(c.result.Explain.Reason), err)
	s.cfg.Audit.Record(e)
}

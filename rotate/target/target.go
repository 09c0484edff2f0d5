// Package target writes rotated AWS access keys into CI variables: Bitbucket
// Pipelines variables (repository, deployment environment, workspace), GitHub
// Actions secrets (repository, environment, organisation) and GitLab CI/CD
// variables (project, group).
//
// Each target speaks its provider's REST API over net/http, reads its token from
// the environment only, lists every page before it writes, updates a variable that
// exists and creates one that does not, and retries 429 and 5xx answers a bounded
// number of times, honouring Retry-After. Secret values never reach an error, a log
// line or a formatted value: Credentials and Variable redact themselves, and any
// error text a provider sends back has the secret values and the token cut out.
package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Target is one place CI variables live, such as a Bitbucket deployment
// environment, a GitHub repository's Actions secrets or a GitLab project.
// Implementations are safe for concurrent use.
type Target interface {
	// Name says which target this is, for messages: for example
	// "bitbucket deployment acme/web production".
	Name() string
	// Put writes vars in order, updating each variable that exists and creating
	// each that does not. It stops at the first failure; the error names the
	// variable and the ones already written.
	Put(ctx context.Context, vars []Variable) error
	// Get returns the variables the target holds, by key. A secret variable's
	// Value is always empty: secret values are never read back (GitHub cannot
	// return them at all, and every GitHub secret is reported Secret).
	Get(ctx context.Context) (map[string]Variable, error)
}

// Variable is one CI variable. Formatting it with fmt or log/slog shows a
// secret variable's key but never its value.
type Variable struct {
	// Key is the variable's name: letters, digits and underscores, not
	// starting with a digit.
	Key string
	// Value is the variable's value; empty in what Get returns for a secret.
	Value string
	// Secret marks a value that must not be shown: secured in Bitbucket,
	// masked in GitLab. GitHub stores every variable as a secret.
	Secret bool
}

const redacted = "[REDACTED]"

// String shows the variable as KEY=VALUE, or KEY=[REDACTED] for a secret.
func (v Variable) String() string {
	if v.Secret {
		return v.Key + "=" + redacted
	}
	return v.Key + "=" + v.Value
}

// GoString is like String, so that %#v redacts too.
func (v Variable) GoString() string {
	return fmt.Sprintf("target.Variable{Key:%q, Value:%q, Secret:%t}", v.Key, v.shown(), v.Secret)
}

// Format makes every fmt verb print String (GoString for %#v), so that no verb
// reaches the secret field.
func (v Variable) Format(f fmt.State, verb rune) { format(f, verb, v.String(), v.GoString()) }

// LogValue lets log/slog print the variable without a secret value.
func (v Variable) LogValue() slog.Value {
	return slog.GroupValue(slog.String("key", v.Key), slog.String("value", v.shown()), slog.Bool("secret", v.Secret))
}

func (v Variable) shown() string {
	if v.Secret {
		return redacted
	}
	return v.Value
}

// Credentials are a static IAM access key to push into CI. Formatting them
// with fmt, log/slog or encoding/json never shows SecretAccessKey.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// String shows the access key ID and hides the secret.
func (c Credentials) String() string {
	return "{AccessKeyID:" + c.AccessKeyID + " SecretAccessKey:" + redacted + "}"
}

// GoString is like String, so that %#v redacts too.
func (c Credentials) GoString() string {
	return fmt.Sprintf("target.Credentials{AccessKeyID:%q, SecretAccessKey:%q}", c.AccessKeyID, redacted)
}

// Format makes every fmt verb print String (GoString for %#v).
func (c Credentials) Format(f fmt.State, verb rune) { format(f, verb, c.String(), c.GoString()) }

// LogValue lets log/slog print the credentials without the secret.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key_id", c.AccessKeyID), slog.String("secret_access_key", redacted))
}

// MarshalJSON hides the secret from encoding/json as well.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"AccessKeyID":%q,"SecretAccessKey":%q}`, c.AccessKeyID, redacted), nil
}

// Names are the CI variable names credentials are written under. An empty field
// takes its default: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
type Names struct {
	AccessKeyID     string
	SecretAccessKey string
}

// Default variable names of Names.
const (
	DefaultAccessKeyIDName     = "AWS_ACCESS_KEY_ID"
	DefaultSecretAccessKeyName = "AWS_SECRET_ACCESS_KEY"
)

// Variables returns the two variables to Put: the access key ID as a plain
// variable (so that Get can confirm which key a target holds) and the secret
// access key as a secret.
func (c Credentials) Variables(n Names) []Variable {
	if n.AccessKeyID == "" {
		n.AccessKeyID = DefaultAccessKeyIDName
	}
	if n.SecretAccessKey == "" {
		n.SecretAccessKey = DefaultSecretAccessKeyName
	}
	return []Variable{
		{Key: n.AccessKeyID, Value: c.AccessKeyID},
		{Key: n.SecretAccessKey, Value: c.SecretAccessKey, Secret: true},
	}
}

func format(f fmt.State, verb rune, s, goS string) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, goS)
		return
	}
	io.WriteString(f, s)
}

// Options are what every target shares. The zero value talks to the provider's
// public API with the token from the process environment.
type Options struct {
	// BaseURL replaces the provider's API root (https://api.bitbucket.org,
	// https://api.github.com, https://gitlab.com), for a self-hosted server or a
	// test fake. It must be https, or http on a loopback host.
	BaseURL string
	// HTTPClient sends the requests; nil means a client with a 30 s timeout.
	// Either way redirects to another host are refused, so the token stays with
	// the API it is meant for.
	HTTPClient *http.Client
	// Getenv reads the token variables (BITBUCKET_TOKEN, GITHUB_TOKEN,
	// GITLAB_TOKEN, …); nil means os.Getenv. Tokens come from here only.
	Getenv func(string) string
	// Logger gets one line per retried request (target, method, path, status,
	// wait), never a value or a token; nil discards.
	Logger *slog.Logger
	// Sleep waits between attempts and returns early with ctx's error; nil means
	// a timer. Tests pass one that records the wait and returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxAttempts bounds the tries of one request on 429, 5xx or a network
	// error; 0 means 5.
	MaxAttempts int
	// MaxWait is the longest Retry-After the target waits out; a longer one fails
	// the request at once. 0 means 2 minutes.
	MaxWait time.Duration
}

// StatusError is a provider's answer that was not a success, after any retries.
// Its text has the HTTP status and the provider's message, with secret values
// and the token cut out.
type StatusError struct {
	// Status is the HTTP status code.
	Status int
	// Message is the provider's error message, if it sent one.
	Message string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// statusIs reports whether err is a StatusError with one of the given statuses.
func statusIs(err error, status ...int) bool {
	var se *StatusError
	if !errors.As(err, &se) {
		return false
	}
	for _, s := range status {
		if se.Status == s {
			return true
		}
	}
	return false
}

// validKey checks a variable name against the rule all three providers share.
func validKey(k string) error {
	if k == "" {
		return errors.New("empty variable name")
	}
	for i, r := range k {
		ok := r == '_' || 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || i > 0 && '0' <= r && r <= '9'
		if !ok {
			return fmt.Errorf("variable name %q: use letters, digits and underscores, not starting with a digit", k)
		}
	}
	return nil
}

// putError names the variable that failed and those written before it.
func putError(target, op, key string, done []string, err error) error {
	if len(done) == 0 {
		return fmt.Errorf("%s: %s %s: %w", target, op, key, err)
	}
	return fmt.Errorf("%s: %s %s (already written: %s): %w", target, op, key, strings.Join(done, ", "), err)
}

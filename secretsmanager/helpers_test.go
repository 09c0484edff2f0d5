package secretsmanager

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

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
	testAccount = "000000000000"
	testRegion  = "us-east-1"
	// Version IDs (ClientRequestTokens) of 32 to 64 characters.
	tokA = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	tokB = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
	tokC = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
	tokD = "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
)

// patARN is what the ARN of a test secret named name looks like.
func patARN(name string) *regexp.Regexp {
	return regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:000000000000:secret:` + regexp.QuoteMeta(name) + `-[A-Za-z0-9]{6}$`)
}

// rootPrincipal is the account's root user, who may do everything.
var rootPrincipal = &authn.Principal{Kind: authn.Root, Account: testAccount, ARN: "arn:aws:iam::" + testAccount + ":root", UserID: testAccount}

// fixture is the service over an in-memory SQLite store, a fixed
// key-encryption key, the real policy engine and a settable clock, recording
// its audit events.
type fixture struct {
	t  *testing.T
	st interface {
		store.Store
		store.SecretStore
	}
	box *keywrap.Box
	svc *Service

	mu     sync.Mutex
	now    time.Time
	events []audit.Event
}

func (f *fixture) Record(e audit.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e)
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// advance moves the clock on.
func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// takeEvents returns the audit events so far and forgets them.
func (f *fixture) takeEvents() []audit.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.events
	f.events = nil
	return e
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.Open(t.Context(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	box, err := keywrap.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, box: box, now: time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.UTC)}
	f.svc, err = New(Config{Store: st, Box: box, Authorizer: authz.New(st), Audit: f, Region: testRegion, Account: testAccount, Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// reply is what a client gets: the reply's JSON members, or the error.
type reply struct {
	out map[string]any
	err *awsapi.Error
	raw string
}

// call performs op with body as caller, as the gateway would hand it over,
// and encodes the result as the gateway would send it.
func (f *fixture) callAs(caller *authn.Principal, op, body string) reply {
	f.t.Helper()
	gc := &gateway.Call{RequestID: "req-1", Action: op, Caller: caller, SourceIP: netip.MustParseAddr("192.0.2.7"), Time: f.clock()}
	out, err := f.svc.ServeJSON(f.t.Context(), gc, []byte(body))
	if err != nil {
		return reply{err: awsapi.JSONError(err)}
	}
	b, merr := json.Marshal(out)
	if out == nil {
		b, merr = []byte("{}"), nil
	}
	if merr != nil {
		f.t.Fatalf("%s: the reply does not encode: %v", op, merr)
	}
	r := reply{raw: string(b)}
	if err := json.Unmarshal(b, &r.out); err != nil {
		f.t.Fatalf("%s: the reply is not a JSON object: %s", op, b)
	}
	return r
}

func (f *fixture) call(op, body string) reply { f.t.Helper(); return f.callAs(rootPrincipal, op, body) }

// ok performs op as root and fails the test on an error.
func (f *fixture) ok(op, body string) map[string]any {
	f.t.Helper()
	r := f.call(op, body)
	if r.err != nil {
		f.t.Fatalf("%s %s: %v", op, body, r.err)
	}
	return r.out
}

// wantErr fails the test unless r is the error code with a message holding
// msg (the whole message when exact).
func (r reply) wantErr(t *testing.T, what, code, msg string, exact bool) {
	t.Helper()
	if r.err == nil {
		t.Fatalf("%s succeeded (%s), want %s", what, r.raw, code)
	}
	if r.err.Code != code || r.err.Status != 400 {
		t.Fatalf("%s: %s %d %q, want %s 400", what, r.err.Code, r.err.Status, r.err.Message, code)
	}
	if exact && r.err.Message != msg || !exact && !strings.Contains(r.err.Message, msg) {
		t.Fatalf("%s: message %q, want %q", what, r.err.Message, msg)
	}
}

// js builds a JSON request body from alternating member names and values.
func js(kv ...any) string {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// stagesOf returns the VersionIdsToStages of a secret, as DescribeSecret
// reports them, as "id:STAGE,STAGE" strings keyed by version ID.
func (f *fixture) stagesOf(id string) map[string]string {
	f.t.Helper()
	out := f.ok("DescribeSecret", js("SecretId", id))
	m := map[string]string{}
	vs, _ := out["VersionIdsToStages"].(map[string]any)
	for k, v := range vs {
		var ss []string
		for _, s := range v.([]any) {
			ss = append(ss, s.(string))
		}
		m[k] = strings.Join(ss, ",")
	}
	return m
}

// str is out[key] as a string ("" when absent).
func str(out map[string]any, key string) string {
	s, _ := out[key].(string)
	return s
}

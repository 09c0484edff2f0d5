package organizations

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
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
	"github.com/keyless-dev/keyless/metrics"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
)

// The accounts of the tests: the management account creates the
// organization; outsider is in none.
const (
	mgmtAccount     = "111111111111"
	outsiderAccount = "999999999999"
)

// The shapes of what AWS Organizations makes.
var (
	patOrgID      = regexp.MustCompile(`^o-[a-z0-9]{10}$`)
	patRootIDOut  = regexp.MustCompile(`^r-[a-z0-9]{4}$`)
	patRequestOut = regexp.MustCompile(`^car-[a-z0-9]{32}$`)
	patNewAccount = regexp.MustCompile(`^\d{12}$`)
	patOUIDOfRoot = func(root string) *regexp.Regexp { return regexp.MustCompile(`^ou-` + root[2:] + `-[a-z0-9]{8}$`) }
)

// root is the root user of account, who may do everything IAM lets it.
func root(account string) *authn.Principal {
	return &authn.Principal{Kind: authn.Root, Account: account, ARN: "arn:aws:iam::" + account + ":root", UserID: account}
}

// orgStore is the store the tests use: the SQLite backend through the
// metrics wrapper, which must pass store.OrganizationStore through.
type orgStore interface {
	store.Store
	store.OrganizationStore
}

// fixture is the service over an in-memory SQLite store (instrumented), the
// real policy engine and a settable clock, recording its audit events.
type fixture struct {
	t    *testing.T
	st   orgStore
	core *Organizations
	svc  *Service

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

// newFixture returns a fixture whose IDs come from rnd (crypto/rand when nil).
func newFixture(t *testing.T, rnd io.Reader) *fixture {
	t.Helper()
	backend, err := sqlite.Open(t.Context(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	instrumented := metrics.New(metrics.Options{}).InstrumentStore(backend)
	t.Cleanup(func() { _ = instrumented.Close() })
	st, ok := instrumented.(orgStore)
	if !ok {
		t.Fatalf("the instrumented SQLite store (%T) is no store.OrganizationStore", instrumented)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	f := &fixture{t: t, st: st, now: time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.UTC)}
	f.core, err = NewOrganizations(CoreConfig{Store: st, Now: f.clock, Rand: rnd})
	if err != nil {
		t.Fatal(err)
	}
	f.svc, err = New(Config{Core: f.core, Authorizer: authz.New(st), Audit: f})
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

// callAs performs op with body as caller, as the gateway would hand it
// over, and encodes the result as the gateway would send it.
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

// okAs performs op as caller and fails the test on an error.
func (f *fixture) okAs(caller *authn.Principal, op, body string) map[string]any {
	f.t.Helper()
	r := f.callAs(caller, op, body)
	if r.err != nil {
		f.t.Fatalf("%s %s: %v", op, body, r.err)
	}
	return r.out
}

// ok performs op as the management account's root user.
func (f *fixture) ok(op, body string) map[string]any {
	f.t.Helper()
	return f.okAs(root(mgmtAccount), op, body)
}

// call performs op as the management account's root user.
func (f *fixture) call(op, body string) reply {
	f.t.Helper()
	return f.callAs(root(mgmtAccount), op, body)
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

// obj is out[key] as an object.
func obj(out map[string]any, key string) map[string]any {
	m, _ := out[key].(map[string]any)
	return m
}

// str is out[key] as a string ("" when absent).
func str(out map[string]any, key string) string {
	s, _ := out[key].(string)
	return s
}

// ids are the Id members of the objects of list out[key], in order.
func ids(out map[string]any, key string) []string {
	var ids []string
	list, _ := out[key].([]any)
	for _, x := range list {
		m, _ := x.(map[string]any)
		ids = append(ids, str(m, "Id"))
	}
	return ids
}

// scriptedRand reads script, then from rest.
type scriptedRand struct {
	script *bytes.Reader
	rest   io.Reader
}

func (r *scriptedRand) Read(p []byte) (int, error) {
	if r.script.Len() > 0 {
		return r.script.Read(p)
	}
	return r.rest.Read(p)
}

// setup creates the organization as the management account and returns it
// (Organization), with a new account under the root.
func (f *fixture) setup() (org map[string]any) {
	f.t.Helper()
	return obj(f.ok("CreateOrganization", js("FeatureSet", "ALL")), "Organization")
}

// newAccount creates an account and returns its ID.
func (f *fixture) newAccount(name, email string) string {
	f.t.Helper()
	st := obj(f.ok("CreateAccount", js("AccountName", name, "Email", email)), "CreateAccountStatus")
	if str(st, "State") != "SUCCEEDED" {
		f.t.Fatalf("CreateAccount %s: %v", name, st)
	}
	return str(st, "AccountId")
}

// newOU creates an OU and returns its ID.
func (f *fixture) newOU(parent, name string) string {
	f.t.Helper()
	return str(obj(f.ok("CreateOrganizationalUnit", js("ParentId", parent, "Name", name)), "OrganizationalUnit"), "Id")
}

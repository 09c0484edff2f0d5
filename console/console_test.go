package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
)

const (
	acct      = "000000000000"
	otherAcct = "111111111111"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// fixture is a console over a SQLite store of account acct, whose
// Authenticator also resolves the keys of otherAcct.
type fixture struct {
	t       testing.TB
	st      store.Store
	box     *keywrap.Box
	an      *authn.Authenticator
	clock   *clock
	h       *Handler
	srv     *httptest.Server
	root    authn.RootCredentials
	other   authn.RootCredentials
	logs    *bytes.Buffer
	secrets []string // what no response or log may contain
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := t.Context()
	f := &fixture{t: t, clock: &clock{t: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}, logs: &bytes.Buffer{}}
	var err error
	f.st, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "keyless.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.st.Close() })
	otherSt, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "other.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { otherSt.Close() })
	kek := make([]byte, 32)
	rand.Read(kek)
	if f.box, err = keywrap.New(kek); err != nil {
		t.Fatal(err)
	}
	f.root = authn.RootCredentials{AccessKeyID: "AKIAROOT000000000000", SecretAccessKey: "root-secret-" + rand.Text()}
	f.other = authn.RootCredentials{AccessKeyID: "AKIAOTHER00000000000", SecretAccessKey: "other-secret-" + rand.Text()}
	f.secrets = append(f.secrets, f.root.SecretAccessKey, f.other.SecretAccessKey)
	f.an = authn.NewAuthenticator(f.st, f.box, nil, f.root, acct, f.clock.now)
	f.an.Add(authn.NewAuthenticator(otherSt, f.box, nil, f.other, otherAcct, f.clock.now))
	f.h = f.handler()
	f.srv = httptest.NewServer(f.h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) handler() *Handler {
	f.t.Helper()
	h, err := New(Config{Store: f.st, Account: acct, Credentials: f.an, Authorizer: authz.New(f.st), Now: f.clock.now,
		Keys: fakeKeys{now: f.clock.now}, Logger: slog.New(slog.NewTextHandler(f.logs, nil)), PollInterval: 10 * time.Millisecond})
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

// user creates an IAM user with inline policies and an access key, and
// returns the key pair.
func (f *fixture) user(name string, policies map[string]string) (id, secret string) {
	f.t.Helper()
	ctx := f.t.Context()
	if err := f.st.CreateUser(ctx, store.User{ID: "AIDA" + strings.ToUpper(name), Name: name, Path: "/",
		ARN: "arn:aws:iam::" + acct + ":user/" + name, InlinePolicies: policies, CreatedAt: f.clock.now()}); err != nil {
		f.t.Fatal(err)
	}
	id = "AKIA" + strings.ToUpper(fmt.Sprintf("%-16s", name)[:16])
	id = strings.ReplaceAll(id, " ", "X")
	secret = "user-secret-" + rand.Text()
	sealed, err := f.box.Seal(authn.AccessKeyLabel(id), []byte(secret))
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.CreateAccessKey(ctx, store.AccessKey{ID: id, UserName: name, Secret: sealed, Status: "Active", CreatedAt: f.clock.now()}); err != nil {
		f.t.Fatal(err)
	}
	f.secrets = append(f.secrets, secret)
	return id, secret
}

// response is what one request got.
type response struct {
	status int
	header http.Header
	body   string
}

func (r response) errorCode() string {
	var e errorJSON
	json.Unmarshal([]byte(r.body), &e)
	return e.Error.Code
}

// do sends a request; POSTs carry the CSRF header and JSON type unless hdr
// overrides them ("" deletes).
func (f *fixture) do(method, path, body string, cookie *http.Cookie, hdr map[string]string) response {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set(CSRFHeader, "1")
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, body: string(b)}
	f.checkClean(method+" "+path, r)
	return r
}

// checkClean fails when a response holds a secret or a session cookie value in
// its body.
func (f *fixture) checkClean(what string, r response) {
	f.t.Helper()
	for _, s := range f.secrets {
		if strings.Contains(r.body, s) {
			f.t.Errorf("%s: the response body holds a secret", what)
		}
	}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Value != "" && strings.Contains(r.body, c.Value) {
			f.t.Errorf("%s: the response body holds the session cookie", what)
		}
	}
	checkHeaders(f.t, what, r.header)
}

// checkHeaders asserts the security headers every console response carries.
func checkHeaders(t testing.TB, what string, h http.Header) {
	t.Helper()
	for k, want := range map[string]string{
		"Content-Security-Policy": ContentSecurityPolicy, "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %s = %q, want %q", what, k, got, want)
		}
	}
}

// signin signs in and returns the session cookie.
func (f *fixture) signin(id, secret string) *http.Cookie {
	f.t.Helper()
	r := f.do("POST", "/console/api/signin", fmt.Sprintf(`{"accessKeyId":%q,"secretAccessKey":%q}`, id, secret), nil, nil)
	if r.status != 200 {
		f.t.Fatalf("signin: %d %s", r.status, r.body)
	}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == CookieName {
			f.secrets = append(f.secrets, c.Value)
			return c
		}
	}
	f.t.Fatalf("signin set no %s cookie: %v", CookieName, r.header)
	return nil
}

// apiRoutes are every API route but sign-in.
var apiRoutes = []struct{ method, path, body string }{
	{"POST", "/console/api/signout", `{}`},
	{"GET", "/console/api/me", ""},
	{"GET", "/console/api/activity", ""},
	{"GET", "/console/api/activity/stream", ""},
	{"GET", "/console/api/decisions/0000000000000000000000000000abcd", ""},
	{"GET", "/console/api/trustmap", ""},
	{"GET", "/console/api/keys", ""},
	{"POST", "/console/api/explain", `{"token":"x","roleArn":"arn:aws:iam::000000000000:role/r"}`},
	{"GET", "/console/api/nosuchroute", ""},
}

func TestAPIAnswers401WithoutSession(t *testing.T) {
	f := newFixture(t)
	for _, r := range apiRoutes {
		got := f.do(r.method, r.path, r.body, nil, nil)
		if got.status != http.StatusUnauthorized || got.errorCode() != "Unauthenticated" {
			t.Errorf("%s %s without a session: %d %s, want 401 Unauthenticated", r.method, r.path, got.status, got.body)
		}
		if cc := got.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s %s: Cache-Control %q, want no-store", r.method, r.path, cc)
		}
	}
}

func TestStaticIsPublicWithSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	r := f.do("GET", "/console/", "", nil, nil)
	if r.status != 200 || !strings.Contains(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /console/: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if r = f.do("GET", "/console/assets/nosuchfile.js", "", nil, nil); r.status != 404 {
		t.Errorf("GET a missing asset: %d, want 404", r.status)
	}
	if r = f.do("GET", "/console/assets/../../etc/passwd", "", nil, nil); r.status == 200 {
		t.Errorf("GET an asset outside assets/: %d", r.status)
	}
}

func TestSignin(t *testing.T) {
	f := newFixture(t)
	uid, usecret := f.user("alice", nil)
	wrong := f.do("POST", "/console/api/signin", fmt.Sprintf(`{"accessKeyId":%q,"secretAccessKey":"nope"}`, uid), nil, nil)
	unknown := f.do("POST", "/console/api/signin", `{"accessKeyId":"AKIANOSUCHKEY0000000","secretAccessKey":"nope"}`, nil, nil)
	for name, r := range map[string]response{"wrong secret": wrong, "unknown key": unknown} {
		if r.status != 401 || r.errorCode() != "InvalidCredentials" {
			t.Errorf("%s: %d %s, want 401 InvalidCredentials", name, r.status, r.body)
		}
		if len(r.header.Values("Set-Cookie")) != 0 {
			t.Errorf("%s: a cookie was set", name)
		}
	}
	if wrong.body != unknown.body {
		t.Errorf("a wrong secret and an unknown key answer differently:\n%s\n%s", wrong.body, unknown.body)
	}
	other := f.do("POST", "/console/api/signin", fmt.Sprintf(`{"accessKeyId":%q,"secretAccessKey":%q}`, f.other.AccessKeyID, f.other.SecretAccessKey), nil, nil)
	if other.status != 403 || other.errorCode() != "WrongAccount" {
		t.Errorf("another account's root key: %d %s, want 403 WrongAccount", other.status, other.body)
	}
	if r := f.do("POST", "/console/api/signin", `{"accessKeyId":"x"}`, nil, nil); r.status != 400 {
		t.Errorf("no secret: %d, want 400", r.status)
	}

	r := f.do("POST", "/console/api/signin", fmt.Sprintf(`{"accessKeyId":%q,"secretAccessKey":%q}`, uid, usecret), nil, nil)
	if r.status != 200 {
		t.Fatalf("signin: %d %s", r.status, r.body)
	}
	var me meJSON
	if err := json.Unmarshal([]byte(r.body), &me); err != nil || me.Account != acct || me.ARN != "arn:aws:iam::"+acct+":user/alice" ||
		!me.ExpiresAt.Equal(f.clock.now().Add(DefaultSessionTTL)) {
		t.Errorf("signin answer %s (%v)", r.body, err)
	}
	sc := r.header.Get("Set-Cookie")
	for _, attr := range []string{CookieName + "=", "Path=/console/", "HttpOnly", "SameSite=Strict", "Max-Age=900"} {
		if !strings.Contains(sc, attr) {
			t.Errorf("Set-Cookie %q lacks %s", sc, attr)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("Set-Cookie %q is Secure over plain HTTP", sc)
	}
	cookie := f.signin(uid, usecret)
	if got := f.do("GET", "/console/api/me", "", cookie, nil); got.status != 200 || !strings.Contains(got.body, `"arn":"arn:aws:iam::`+acct+`:user/alice"`) {
		t.Errorf("me: %d %s", got.status, got.body)
	}
	if got := f.do("POST", "/console/api/signout", `{}`, cookie, nil); got.status != 200 || !strings.Contains(got.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("signout: %d, Set-Cookie %q", got.status, got.header.Get("Set-Cookie"))
	}
}

func TestSignedInOverTLSCookieIsSecure(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewTLSServer(f.h)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/console/api/signin",
		strings.NewReader(fmt.Sprintf(`{"accessKeyId":%q,"secretAccessKey":%q}`, f.root.AccessKeyID, f.root.SecretAccessKey)))
	req.Header.Set(CSRFHeader, "1")
	req.Header.Set("Content-Type", "application/json")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Set-Cookie"), "; Secure") {
		t.Errorf("signin over TLS: %d, Set-Cookie %q, want Secure", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
}

func TestSessionCookiesRefused(t *testing.T) {
	f := newFixture(t)
	uid, usecret := f.user("bob", nil)

	// Sealed by another server's key.
	other := f.handler()
	foreign, err := other.seal.seal(Session{Account: acct, AccessKeyID: f.root.AccessKeyID, ARN: "arn:aws:iam::" + acct + ":root",
		Issued: f.clock.now(), Expires: f.clock.now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// Minted for another local account (by this server's key), as another
	// account's console would.
	otherAcctCookie, err := f.h.seal.seal(Session{Account: otherAcct, AccessKeyID: f.other.AccessKeyID, ARN: "arn:aws:iam::" + otherAcct + ":root",
		Issued: f.clock.now(), Expires: f.clock.now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// Claiming the first account for another account's key.
	lying, err := f.h.seal.seal(Session{Account: acct, AccessKeyID: f.other.AccessKeyID, ARN: "arn:aws:iam::" + acct + ":root",
		Issued: f.clock.now(), Expires: f.clock.now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"another server's key": foreign, "another account": otherAcctCookie,
		"another account's key as this one's": lying, "garbage": "abc", "tampered": foreign[:len(foreign)-2] + "AA"} {
		r := f.do("GET", "/console/api/me", "", &http.Cookie{Name: CookieName, Value: v}, nil)
		if r.status != 401 || r.errorCode() != "Unauthenticated" {
			t.Errorf("%s: %d %s, want 401 Unauthenticated", name, r.status, r.body)
		}
	}

	// Expired.
	c := f.signin(f.root.AccessKeyID, f.root.SecretAccessKey)
	if r := f.do("GET", "/console/api/activity", "", c, nil); r.status != 200 {
		t.Fatalf("fresh session: %d %s", r.status, r.body)
	}
	f.clock.add(DefaultSessionTTL)
	if r := f.do("GET", "/console/api/activity", "", c, nil); r.status != 401 {
		t.Errorf("expired session: %d %s, want 401", r.status, r.body)
	}

	// The access key deleted after sign-in.
	uc := f.signin(uid, usecret)
	if r := f.do("GET", "/console/api/me", "", uc, nil); r.status != 200 {
		t.Fatalf("user session: %d %s", r.status, r.body)
	}
	if err := f.st.DeleteAccessKey(t.Context(), uid); err != nil {
		t.Fatal(err)
	}
	f.an.Forget(uid) // as IAM's DeleteAccessKey does
	if r := f.do("GET", "/console/api/me", "", uc, nil); r.status != 401 {
		t.Errorf("session of a deleted access key: %d %s, want 401", r.status, r.body)
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	c := f.signin(f.root.AccessKeyID, f.root.SecretAccessKey)
	body := fmt.Sprintf(`{"accessKeyId":%q,"secretAccessKey":%q}`, f.root.AccessKeyID, f.root.SecretAccessKey)
	for _, tc := range []struct {
		name string
		hdr  map[string]string
	}{
		{"no console header", map[string]string{CSRFHeader: ""}},
		{"wrong console header", map[string]string{CSRFHeader: "yes"}},
		{"form content type", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
		{"foreign origin", map[string]string{"Origin": "https://evil.example"}},
		{"other port", map[string]string{"Origin": "http://127.0.0.1:1"}},
	} {
		for _, path := range []string{"/console/api/signin", "/console/api/signout", "/console/api/explain"} {
			r := f.do("POST", path, body, c, tc.hdr)
			if r.status != 403 || r.errorCode() != "CSRF" {
				t.Errorf("%s, POST %s: %d %s, want 403 CSRF", tc.name, path, r.status, r.body)
			}
			if len(r.header.Values("Set-Cookie")) != 0 {
				t.Errorf("%s, POST %s set a cookie", tc.name, path)
			}
		}
	}
	if r := f.do("POST", "/console/api/signin", body, nil, map[string]string{"Origin": f.srv.URL}); r.status != 200 {
		t.Errorf("own origin: %d %s, want 200", r.status, r.body)
	}
}

func TestViewsAuthorized(t *testing.T) {
	f := newFixture(t)
	noneID, noneSecret := f.user("nobody", nil)
	actID, actSecret := f.user("watcher", map[string]string{"console": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"keyless:ViewActivity","Resource":"arn:aws:keyless::` + acct + `:console"}]}`})
	views := []struct {
		action, method, path, body string
	}{
		{ActionViewActivity, "GET", "/console/api/activity", ""},
		{ActionViewActivity, "GET", "/console/api/decisions/0000000000000000000000000000abcd", ""},
		{ActionViewTrustMap, "GET", "/console/api/trustmap", ""},
		{ActionViewKeys, "GET", "/console/api/keys", ""},
		{ActionExplain, "POST", "/console/api/explain", `{"token":"x","roleArn":"arn:aws:iam::` + acct + `:role/none"}`},
	}
	for _, who := range []struct {
		name, id, secret string
		allowed          string // the one action allowed
	}{
		{"no policy", noneID, noneSecret, ""},
		{"ViewActivity only", actID, actSecret, ActionViewActivity},
	} {
		c := f.signin(who.id, who.secret)
		for _, v := range views {
			r := f.do(v.method, v.path, v.body, c, nil)
			if v.action == who.allowed {
				if r.status == 403 {
					t.Errorf("%s: %s %s refused: %s", who.name, v.method, v.path, r.body)
				}
				continue
			}
			wantMsg := "is not authorized to perform: " + v.action + " on resource: " + ResourceARN(acct)
			if r.status != 403 || r.errorCode() != "AccessDenied" || !strings.Contains(r.body, wantMsg) {
				t.Errorf("%s: %s %s: %d %s, want 403 AccessDenied naming %s", who.name, v.method, v.path, r.status, r.body, v.action)
			}
		}
		if r := f.do("GET", "/console/api/me", "", c, nil); r.status != 200 {
			t.Errorf("%s: me: %d", who.name, r.status)
		}
	}
}

// event stores an audit event through the recorder's encoding.
func event(t *testing.T, st store.Store, e audit.Event) store.AuditEvent {
	t.Helper()
	r := audit.NewRecorder(st, nil)
	r.Record(e)
	r.Close()
	evs, err := st.QueryAuditEvents(t.Context(), store.AuditQuery{Order: store.AuditLastAppended, Limit: 1})
	if err != nil || len(evs) != 1 {
		t.Fatalf("read back the event: %v %v", evs, err)
	}
	return evs[0]
}

func TestActivityPagesAndBuckets(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	now := f.clock.now()
	roleA := "arn:aws:iam::" + acct + ":role/a"
	type spec struct {
		ago      time.Duration
		decision string
		role     string
	}
	var specs []spec
	for i := range 90 {
		d := audit.Allowed
		switch i % 7 {
		case 3:
			d = audit.Denied
		case 5:
			d = audit.Failed
		}
		role := ""
		if i%2 == 0 {
			role = roleA
		}
		specs = append(specs, spec{ago: time.Duration(90-i) * 15 * time.Minute, decision: d, role: role})
	}
	specs = append(specs, spec{ago: 30 * time.Hour, decision: audit.Allowed}) // outside 24h
	batch := make([]store.AuditEvent, 0, len(specs))
	for i, s := range specs {
		at := now.Add(-s.ago)
		batch = append(batch, store.AuditEvent{ID: fmt.Sprintf("%012x%020d", at.UnixMilli(), i), Time: at, RequestID: fmt.Sprint(i),
			Action: "AssumeRoleWithWebIdentity", Caller: "https://issuer.example/x sub", Role: s.role, Decision: s.decision,
			Detail: []byte(`{"service":"sts"}`)})
	}
	// Oldest first, as the recorder appends.
	slices.SortFunc(batch, func(a, b store.AuditEvent) int { return a.Time.Compare(b.Time) })
	if err := f.st.AppendAuditEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}
	c := f.signin(f.root.AccessKeyID, f.root.SecretAccessKey)

	want := func(filter func(spec) bool) (buckets [Buckets][3]int) {
		step := 24 * time.Hour / Buckets
		for _, s := range specs {
			if s.ago > 24*time.Hour || !filter(s) {
				continue
			}
			i := int((24*time.Hour - s.ago) / step)
			k := map[string]int{audit.Allowed: 0, audit.Denied: 1, audit.Failed: 2}[s.decision]
			buckets[i][k]++
		}
		return
	}
	for _, tc := range []struct {
		name   string
		query  string
		filter func(spec) bool
	}{
		{"all", "", func(spec) bool { return true }},
		{"denied", "&decision=denied", func(s spec) bool { return s.decision == audit.Denied }},
		{"allowed", "&decision=allowed", func(s spec) bool { return s.decision == audit.Allowed }},
		{"role", "&role=a", func(s spec) bool { return s.role == roleA }},
	} {
		wantBuckets := want(tc.filter)
		var got ActivityJSON
		var seen []EventJSON
		next := ""
		for page := 0; page < 20; page++ {
			r := f.do("GET", "/console/api/activity?since=24h&limit=25"+tc.query+"&after="+next, "", c, nil)
			if r.status != 200 {
				t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
			}
			got = ActivityJSON{}
			if err := json.Unmarshal([]byte(r.body), &got); err != nil {
				t.Fatal(err)
			}
			seen = append(seen, got.Events...)
			if page == 0 {
				if got.BucketSeconds != 24*60 || len(got.Buckets) != Buckets {
					t.Fatalf("%s: %d buckets of %ds", tc.name, len(got.Buckets), got.BucketSeconds)
				}
				for i, b := range got.Buckets {
					if gotB := [3]int{b.Allowed, b.Denied, b.Error}; gotB != wantBuckets[i] {
						t.Errorf("%s: bucket %d (%s) = %v, want %v", tc.name, i, b.Start, gotB, wantBuckets[i])
					}
				}
			}
			if got.Next == "" {
				break
			}
			next = got.Next
		}
		n := 0
		for _, s := range specs {
			if s.ago <= 24*time.Hour && tc.filter(s) {
				n++
			}
		}
		if len(seen) != n {
			t.Errorf("%s: %d events over the pages, want %d", tc.name, len(seen), n)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i].Time.After(seen[i-1].Time) {
				t.Errorf("%s: events not newest first at %d", tc.name, i)
			}
		}
	}
	for _, q := range []string{"since=yesterday", "decision=maybe", "limit=0", "after=x", "until=now"} {
		if r := f.do("GET", "/console/api/activity?"+q, "", c, nil); r.status != 400 || r.errorCode() != "InvalidParameter" {
			t.Errorf("%s: %d %s, want 400 InvalidParameter", q, r.status, r.body)
		}
	}
}

func TestDecisionOfADenial(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	roleARN := "arn:aws:iam::" + acct + ":role/deploy"
	trust := `{"Version":"2012-10-17","Statement":[{"Sid":"Pinned","Effect":"Allow","Principal":{"Federated":"arn:aws:iam::` + acct +
		`:oidc-provider/issuer.example/x"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"issuer.example/x:sub":"{repo}:*"}}}]}`
	if err := f.st.CreateRole(ctx, store.Role{ID: "AROADEPLOY", Name: "deploy", Path: "/", ARN: roleARN, AssumeRolePolicyDocument: trust, CreatedAt: f.clock.now()}); err != nil {
		t.Fatal(err)
	}
	e := event(t, f.st, audit.Event{Time: f.clock.now(), RequestID: "r1", Service: "sts", Action: "AssumeRoleWithWebIdentity",
		Caller: "https://issuer.example/x {other}:{step}", Role: roleARN, Decision: audit.Denied, ErrorCode: "AccessDenied",
		Statement: `"Pinned"`, Condition: "StringEquals issuer.example/x:sub",
		Failed: audit.NewFailedCondition(policy.Allow, policy.ConditionTrace{Operator: "StringEquals", Key: "issuer.example/x:sub",
			PolicyValues: []string{"{repo}:*"}, RequestValues: []string{"{other}:{step}"}, KeyPresent: true}),
		Claims: json.RawMessage(`{"iss":"https://issuer.example/x","sub":"{other}:{step}","repositoryUuid":"{other}"}`)})
	c := f.signin(f.root.AccessKeyID, f.root.SecretAccessKey)
	r := f.do("GET", "/console/api/decisions/"+e.ID, "", c, nil)
	if r.status != 200 {
		t.Fatalf("decision: %d %s", r.status, r.body)
	}
	var d DecisionJSON
	if err := json.Unmarshal([]byte(r.body), &d); err != nil {
		t.Fatal(err)
	}
	if d.Event.ID != e.ID || d.Event.Decision != "denied" || d.Event.Role != roleARN {
		t.Errorf("event %+v", d.Event)
	}
	if d.Claims["sub"] != "{other}:{step}" || d.Claims["repositoryUuid"] != "{other}" {
		t.Errorf("claims %v", d.Claims)
	}
	if !strings.Contains(d.TrustPolicy, "\n  \"Statement\"") || !strings.Contains(d.TrustPolicy, `"Pinned"`) {
		t.Errorf("trust policy not the role's, indented:\n%s", d.TrustPolicy)
	}
	if d.Failing == nil || d.Failing.Key != "issuer.example/x:sub" || d.Failing.Condition != "StringEquals issuer.example/x:sub" ||
		fmt.Sprint(d.Failing.Expected) != "[{repo}:*]" || fmt.Sprint(d.Failing.Actual) != "[{other}:{step}]" || d.Failing.Statement != `"Pinned"` {
		t.Errorf("failing %+v", d.Failing)
	}
	if len(d.Checks) != 1 || d.Checks[0].Status != "FAIL" || !strings.Contains(d.Checks[0].Name, "issuer.example/x:sub") {
		t.Errorf("checks %+v", d.Checks)
	}
	if d.Fix == "" {
		t.Error("no fix sentence")
	}
	if r := f.do("GET", "/console/api/decisions/"+e.ID[:12]+"00000000000000000000", "", c, nil); r.status != 404 {
		t.Errorf("unknown id: %d, want 404", r.status)
	}
	if r := f.do("GET", "/console/api/decisions/nothex", "", c, nil); r.status != 400 {
		t.Errorf("bad id: %d, want 400", r.status)
	}
}

func TestTrustMapFlagsAnyRepository(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	provURL := "issuer.example/2.0/workspaces/acme/pipelines-config/identity/oidc"
	provARN := "arn:aws:iam::" + acct + ":oidc-provider/" + provURL
	aud := "ari:cloud:bitbucket::workspace/acme"
	if err := f.st.CreateOIDCProvider(ctx, store.OIDCProvider{ARN: provARN, URL: provURL, ClientIDs: []string{aud}, CreatedAt: f.clock.now()}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateWorkspace(ctx, store.Workspace{Slug: "acme", UUID: "aaaaaaaa-0000-4000-8000-000000000000", CreatedAt: f.clock.now()}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ slug, uuid string }{{"web", "11111111-0000-4000-8000-000000000000"}, {"api", "22222222-0000-4000-8000-000000000000"}} {
		if err := f.st.CreateRepository(ctx, store.Repository{Workspace: "acme", Slug: r.slug, UUID: r.uuid, CreatedAt: f.clock.now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.st.CreateEnvironment(ctx, store.Environment{Workspace: "acme", Repository: "web", Name: "production", UUID: "33333333-0000-4000-8000-000000000000", CreatedAt: f.clock.now()}); err != nil {
		t.Fatal(err)
	}
	trust := func(cond string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provARN +
			`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + cond + `}]}`
	}
	roles := map[string]string{
		"pinned": trust(`{"StringEquals":{"` + provURL + `:aud":"` + aud + `"},"StringLike":{"` + provURL + `:sub":"{11111111-0000-4000-8000-000000000000}:{33333333-0000-4000-8000-000000000000}:*"}}`),
		"broad":  trust(`{"StringEquals":{"` + provURL + `:aud":"` + aud + `"}}`),
	}
	for name, doc := range roles {
		if err := f.st.CreateRole(ctx, store.Role{ID: "AROA" + strings.ToUpper(name), Name: name, Path: "/", ARN: "arn:aws:iam::" + acct + ":role/" + name,
			AssumeRolePolicyDocument: doc, CreatedAt: f.clock.now()}); err != nil {
			t.Fatal(err)
		}
	}
	// A role of another provider is not on this provider's map.
	if err := f.st.CreateRole(ctx, store.Role{ID: "AROAEC2", Name: "ec2", Path: "/", ARN: "arn:aws:iam::" + acct + ":role/ec2",
		AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`}); err != nil {
		t.Fatal(err)
	}
	c := f.signin(f.root.AccessKeyID, f.root.SecretAccessKey)
	r := f.do("GET", "/console/api/trustmap", "", c, nil)
	if r.status != 200 {
		t.Fatalf("trustmap: %d %s", r.status, r.body)
	}
	var m TrustMapJSON
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Providers) != 1 || m.Providers[0].ARN != provARN || m.Providers[0].URL != "https://"+provURL || len(m.Providers[0].Roles) != 2 {
		t.Fatalf("trust map %s", r.body)
	}
	for _, role := range m.Providers[0].Roles {
		var admits []string
		for _, a := range role.Admits {
			admits = append(admits, a.Repository+"@"+a.Environment)
		}
		switch role.Name {
		case "pinned":
			if role.AnyRepository || fmt.Sprint(admits) != "[acme/web@production]" {
				t.Errorf("pinned: anyRepository %v, admits %v; want false, [acme/web@production]", role.AnyRepository, admits)
			}
		case "broad":
			if !role.AnyRepository || len(admits) != 3 {
				t.Errorf("broad: anyRepository %v, admits %v; want true and every repository and environment", role.AnyRepository, admits)
			}
			if len(role.Findings) == 0 {
				t.Error("broad: no lint finding")
			}
		default:
			t.Errorf("role %s on the map", role.Name)
		}
	}
}

// fakeKeys is a key set with an active, a prepared and a retired key.
type fakeKeys struct{ now func() time.Time }

func (k fakeKeys) List(context.Context) ([]issuer.KeyInfo, error) {
	now := k.now()
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	return []issuer.KeyInfo{
		{ID: "old", Algorithm: "RS256", State: store.KeyRetired, CreatedAt: now.Add(-200 * 24 * time.Hour), ActivatedAt: at(-190 * 24 * time.Hour), RetiredAt: at(-100 * 24 * time.Hour), NotAfter: at(-99 * 24 * time.Hour)},
		{ID: "last", Algorithm: "RS256", State: store.KeyRetired, CreatedAt: now.Add(-100 * 24 * time.Hour), ActivatedAt: at(-90 * 24 * time.Hour), RetiredAt: at(-time.Hour), NotAfter: at(2 * time.Hour)},
		{ID: "cur", Algorithm: "ES256", State: store.KeyActive, CreatedAt: now.Add(-2 * time.Hour), ActivatedAt: at(-time.Hour)},
		{ID: "next", Algorithm: "ES256", State: store.KeyPrepared, CreatedAt: now.Add(-time.Minute)},
	}, nil
}

func (fakeKeys) Config() issuer.KeyConfig {
	return issuer.KeyConfig{RotationPeriod: 90 * 24 * time.Hour, LeadTime: 24 * time.Hour}
}

func TestKeys(t *testing.T) {
	f := newFixture(t)
	uid, _ := f.user("ci", nil)
	f.clock.add(95 * 24 * time.Hour) // the user's key is due for rotation
	c := f.signin(f.root.AccessKeyID, f.root.SecretAccessKey)
	r := f.do("GET", "/console/api/keys", "", c, nil)
	if r.status != 200 {
		t.Fatalf("keys: %d %s", r.status, r.body)
	}
	var k KeysJSON
	if err := json.Unmarshal([]byte(r.body), &k); err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, s := range k.Signing {
		states = append(states, s.KID+":"+s.State)
	}
	if fmt.Sprint(states) != "[old:unpublished last:retired cur:active next:prepared]" {
		t.Errorf("signing keys %v", states)
	}
	if k.Next == nil || k.Next.Event != "unpublish last" || !k.Next.At.Equal(f.clock.now().Add(2*time.Hour)) {
		t.Errorf("next %+v, want the unpublication of last in 2h", k.Next)
	}
	if len(k.Static) != 1 || k.Static[0].User != "ci" || k.Static[0].AccessKeyID != uid || k.Static[0].Age != "95d" ||
		!strings.HasPrefix(k.Static[0].Rotation, "due") {
		t.Errorf("static keys %+v", k.Static)
	}
	if strings.Contains(r.body, "Secret") {
		t.Errorf("keys answer names a secret field: %s", r.body)
	}
}

func TestNextEventActivation(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	act := now.Add(-89 * 24 * time.Hour)
	keys := []issuer.KeyInfo{
		{ID: "cur", State: store.KeyActive, ActivatedAt: &act},
		{ID: "next", State: store.KeyPrepared, CreatedAt: now.Add(-time.Hour)},
	}
	got := nextEvent(keys, issuer.KeyConfig{RotationPeriod: 90 * 24 * time.Hour, LeadTime: 24 * time.Hour}, now)
	if got == nil || got.Event != "activate next" || !got.At.Equal(now.Add(24*time.Hour)) {
		t.Errorf("next = %+v, want activate next in 24h (the rotation period ends after the lead time)", got)
	}
	got = nextEvent(keys[:1], issuer.KeyConfig{RotationPeriod: 90 * 24 * time.Hour, LeadTime: 24 * time.Hour}, now)
	if got == nil || got.Event != "prepare the successor of cur" || !got.At.Equal(act.Add(89*24*time.Hour)) {
		t.Errorf("next = %+v, want the preparation of cur's successor", got)
	}
}

func TestExplainDoesNotEchoTheToken(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	roleARN := "arn:aws:iam::" + acct + ":role/deploy"
	if err := f.st.CreateRole(ctx, store.Role{ID: "AROADEPLOY", Name: "deploy", Path: "/", ARN: roleARN,
		AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[]}`}); err != nil {
		t.Fatal(err)
	}
	c := f.signin(f.root.AccessKeyID, f.root.SecretAccessKey)
	token := "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL3gifQ.c2lnbmF0dXJlLXNlY3JldA"
	f.secrets = append(f.secrets, token, "c2lnbmF0dXJlLXNlY3JldA")
	r := f.do("POST", "/console/api/explain", fmt.Sprintf(`{"token":%q,"roleArn":%q}`, token, roleARN), c, nil)
	if r.status != 200 {
		t.Fatalf("explain: %d %s", r.status, r.body)
	}
	var rep struct {
		RoleARN string `json:"roleArn"`
		Verdict string `json:"verdict"`
		Checks  []struct {
			Status string `json:"status"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.body), &rep); err != nil || rep.RoleARN != roleARN || rep.Verdict != "DENIED" || len(rep.Checks) == 0 {
		t.Errorf("report %s (%v)", r.body, err)
	}
	if r := f.do("POST", "/console/api/explain", `{"token":"x","roleArn":"arn:aws:iam::`+acct+`:role/none"}`, c, nil); r.status != 400 {
		t.Errorf("unknown role: %d %s", r.status, r.body)
	}
	for _, s := range f.secrets {
		if strings.Contains(f.logs.String(), s) {
			t.Errorf("the log holds a secret or token")
		}
	}
}

func TestStreamSendsNewEvents(t *testing.T) {
	f := newFixture(t)
	c := f.signin(f.root.AccessKeyID, f.root.SecretAccessKey)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/console/api/activity/stream", nil)
	req.AddCookie(c)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	checkHeaders(t, "stream", res.Header)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	e := event(t, f.st, audit.Event{Time: f.clock.now(), RequestID: "s1", Service: "sts", Action: "AssumeRoleWithWebIdentity", Decision: audit.Allowed})
	buf := make([]byte, 4096)
	var got strings.Builder
	for !strings.Contains(got.String(), e.ID) {
		n, err := res.Body.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("stream ended before the event: %v\n%s", err, got.String())
		}
	}
	if !strings.Contains(got.String(), "event: audit\ndata: {\"id\":\""+e.ID+"\"") {
		t.Errorf("stream:\n%s", got.String())
	}
}

func TestStreamEndsWhenTheKeyIsDeleted(t *testing.T) {
	f := newFixture(t)
	uid, usecret := f.user("viewer", map[string]string{"console": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"keyless:View*","Resource":"*"}]}`})
	c := f.signin(uid, usecret)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/console/api/activity/stream", nil)
	req.AddCookie(c)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("stream: %d", res.StatusCode)
	}
	if err := f.st.DeleteAccessKey(t.Context(), uid); err != nil {
		t.Fatal(err)
	}
	f.an.Forget(uid)
	b, err := io.ReadAll(res.Body)
	if err != nil || !strings.HasSuffix(string(b), "event: expired\ndata: {}\n\n") {
		t.Errorf("stream after the key was deleted: %q, %v; want it to end with an expired event", b, err)
	}
}

func TestParseActivityQuerySince(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		since string
		want  time.Time
	}{
		{"", now.Add(-24 * time.Hour)},
		{"90m", now.Add(-90 * time.Minute)},
		{"7d", now.Add(-7 * 24 * time.Hour)},
		{"2026-12-07T10:00:00Z", time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)},
	} {
		q, err := ParseActivityQuery(map[string][]string{"since": {tc.since}}, now, acct)
		if err != nil || !q.Since.Equal(tc.want) || !q.Until.Equal(now) {
			t.Errorf("since %q: %v to %v (%v), want %v to %v", tc.since, q.Since, q.Until, err, tc.want, now)
		}
	}
	for _, bad := range []string{"0d", "-1h", "2026-12-08T00:00:00Z"} {
		if _, err := ParseActivityQuery(map[string][]string{"since": {bad}}, now, acct); err == nil {
			t.Errorf("since %q accepted", bad)
		}
	}
}

// TestActivityProviderPagesOnce: paging the activity filtered by a provider
// returns each matching event once, also when the first rows the filter scans
// hold fewer matches than a page and the store's last rows hold the rest.
func TestActivityProviderPagesOnce(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	now := f.clock.now()
	const n = 700 // more than one scan of 500 rows
	batch := make([]store.AuditEvent, 0, n)
	for i := range n {
		at := now.Add(-time.Duration(n-i) * time.Second)
		caller := "https://other.example/x sub"
		if i%150 == 0 { // 5 matches: 2 in the oldest 200 rows, 3 in the newest 500
			caller = "https://issuer.example/x sub"
		}
		batch = append(batch, store.AuditEvent{ID: fmt.Sprintf("%012x%020d", at.UnixMilli(), i), Time: at, RequestID: fmt.Sprint(i),
			Action: "AssumeRoleWithWebIdentity", Caller: caller, Decision: audit.Allowed, Detail: []byte(`{"service":"sts"}`)})
	}
	if err := f.st.AppendAuditEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}
	c := f.signin(f.root.AccessKeyID, f.root.SecretAccessKey)
	seen, next := map[string]int{}, ""
	for page := 0; page < 10; page++ {
		r := f.do("GET", "/console/api/activity?since=24h&provider=https://issuer.example/x&after="+next, "", c, nil)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		var got ActivityJSON
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatal(err)
		}
		for _, e := range got.Events {
			seen[e.ID]++
		}
		if got.Next == "" {
			break
		}
		next = got.Next
	}
	if len(seen) != 5 {
		t.Errorf("%d distinct events over the pages, want 5", len(seen))
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("event %s returned %d times", id, k)
		}
	}
}

// TestStreamEndsWhenViewingIsRevoked: an open activity stream ends, as an
// expired session, once the caller's policies no longer allow
// keyless:ViewActivity, as every other request of the session would be refused.
func TestStreamEndsWhenViewingIsRevoked(t *testing.T) {
	f := newFixture(t)
	uid, usecret := f.user("watcher", map[string]string{"console": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"keyless:ViewActivity","Resource":"*"}]}`})
	c := f.signin(uid, usecret)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/console/api/activity/stream", nil)
	req.AddCookie(c)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("stream: %d", res.StatusCode)
	}
	if err := f.st.UpdateUser(t.Context(), "watcher", func(u store.User) (store.User, error) {
		u.InlinePolicies = nil
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	f.an.Forget(uid)
	b, err := io.ReadAll(res.Body)
	if err != nil || !strings.HasSuffix(string(b), "event: expired\ndata: {}\n\n") {
		t.Errorf("stream after keyless:ViewActivity was revoked: %q, %v; want it to end with an expired event", b, err)
	}
}

package client

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/arn"
)

// accountOf returns the account field of an ARN, or "" when s is no ARN.
func accountOf(s string) string {
	a, err := arn.Parse(s)
	if err != nil {
		return ""
	}
	return a.Account()
}

// stsError is an error the fake STS answers with.
type stsError struct {
	status        int
	code, message string
}

// fakeSTS speaks enough of the STS Query protocol for AssumeRoleWithWebIdentity and
// GetCallerIdentity. Expirations follow its clock.
type fakeSTS struct {
	srv *httptest.Server
	now func() time.Time

	mu       sync.Mutex
	assumes  []url.Values // AssumeRoleWithWebIdentity forms, in order
	callers  []string     // access key IDs seen by GetCallerIdentity
	keys     map[string]string
	fail     func(n int, form url.Values) *stsError // n counts AssumeRole calls from 1
	issued   int
	lifetime time.Duration
}

func newFakeSTS(t testing.TB, now func() time.Time) *fakeSTS {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	f := &fakeSTS{now: now, keys: map[string]string{}, lifetime: time.Hour}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSTS) URL() string { return f.srv.URL }

func (f *fakeSTS) assumeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.assumes)
}

func (f *fakeSTS) lastAssume() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.assumes) == 0 {
		return nil
	}
	return f.assumes[len(f.assumes)-1]
}

var (
	credentialRE = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)
	roleNameRE   = regexp.MustCompile(`role/(?:.*/)?([^/]+)$`)
)

func (f *fakeSTS) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		f.writeError(w, stsError{400, "InvalidAction", "POST only"})
		return
	}
	if err := r.ParseForm(); err != nil {
		f.writeError(w, stsError{400, "MalformedQueryString", err.Error()})
		return
	}
	form := r.PostForm
	if form.Get("Version") != "2011-06-15" {
		f.writeError(w, stsError{400, "InvalidParameterValue", "bad version"})
		return
	}
	switch form.Get("Action") {
	case "AssumeRoleWithWebIdentity":
		f.assume(w, form)
	case "GetCallerIdentity":
		m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
		f.mu.Lock()
		var arn string
		if m != nil {
			arn = f.keys[m[1]]
			f.callers = append(f.callers, m[1])
		}
		f.mu.Unlock()
		if arn == "" {
			f.writeError(w, stsError{403, "InvalidClientTokenId", "The security token included in the request is invalid."})
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>%s</Arn><UserId>AROAFAKE:s</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-gci</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
			html.EscapeString(arn), accountOf(arn))
	default:
		f.writeError(w, stsError{400, "InvalidAction", "unknown action"})
	}
}

func (f *fakeSTS) assume(w http.ResponseWriter, form url.Values) {
	f.mu.Lock()
	f.assumes = append(f.assumes, form)
	n := len(f.assumes)
	fail := f.fail
	f.mu.Unlock()
	if fail != nil {
		if e := fail(n, form); e != nil {
			f.writeError(w, *e)
			return
		}
	}
	life := f.lifetime
	if d := form.Get("DurationSeconds"); d != "" {
		secs, _ := strconv.Atoi(d)
		life = time.Duration(secs) * time.Second
	}
	role := form.Get("RoleArn")
	acct := accountOf(role)
	roleName := "R"
	if m := roleNameRE.FindStringSubmatch(role); m != nil {
		roleName = m[1]
	}
	session := form.Get("RoleSessionName")
	f.mu.Lock()
	f.issued++
	key := fmt.Sprintf("ASIAFAKE%012d", f.issued)
	arn := fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", acct, roleName, session)
	f.keys[key] = arn
	f.mu.Unlock()
	exp := f.now().Add(life).UTC().Format(time.RFC3339)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", "req-"+strconv.Itoa(n))
	fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>secret-%s</SecretAccessKey><SessionToken>session-%s</SessionToken><Expiration>%s</Expiration></Credentials><SubjectFromWebIdentityToken>{repo}:{step}</SubjectFromWebIdentityToken><AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROAFAKE:%s</AssumedRoleId></AssumedRoleUser><Audience>sts.amazonaws.com</Audience><Provider>arn:aws:iam::%s:oidc-provider/issuer.example</Provider></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>req-%d</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
		key, key, key, exp, html.EscapeString(arn), html.EscapeString(session), acct, n)
}

func (f *fakeSTS) writeError(w http.ResponseWriter, e stsError) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", "req-err")
	w.WriteHeader(e.status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>req-err</RequestId></ErrorResponse>`,
		typ, e.code, html.EscapeString(e.message))
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const testRole = "arn:aws:iam::000000000000:role/deploy"

// testToken looks like a JWT, so that leaks are easy to spot.
const testToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJlLXRlc3Q"

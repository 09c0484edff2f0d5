package authn_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/session"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
)

const (
	account    = "123456789012"
	rootKeyID  = "AKIAROOTROOTROOTROOT"
	rootSecret = "rootsecretrootsecretrootsecretrootsecret"

	userName   = "alice"
	userID     = "AIDAALICEALICEALICE1"
	userARN    = "arn:aws:iam::" + account + ":user/eng/alice"
	userKeyID  = "AKIAALICEALICEALICE1"
	userSecret = "alicesecretalicesecretalicesecretalices1"

	inactiveKeyID = "AKIAALICEINACTIVE001"
	badLabelKeyID = "AKIAALICEBADLABEL001"

	roleName    = "deployer"
	roleID      = "AROADEPLOYERDEPLOYER"
	roleARN     = "arn:aws:iam::" + account + ":role/ci/deployer"
	sessionName = "build-42"
	sessionKey  = "ASIAAAAAAAAAAAAAAAAA"
	sessionSec  = "sessionsecretsessionsecretsessionsecret1"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	ctx    context.Context
	st     store.Store
	box    *keywrap.Box
	ring   *session.Keyring
	sealer *session.Sealer
	clk    *clock
	a      *authn.Authenticator
	t0     time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/k.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := keywrap.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	ring, err := session.NewKeyring(rand.Reader, t0)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ctx: ctx, st: st, box: box, ring: ring, sealer: session.NewSealer(ring, rand.Reader), clk: &clock{t: t0}, t0: t0}
	e.a = authn.NewAuthenticator(st, box, ring, authn.RootCredentials{AccessKeyID: rootKeyID, SecretAccessKey: rootSecret}, account, e.clk.Now)

	if err := st.CreateUser(ctx, store.User{
		ID: userID, Name: userName, Path: "/eng/", ARN: userARN,
		Tags: []store.Tag{{Key: "team", Value: "blue"}}, CreatedAt: t0,
	}); err != nil {
		t.Fatal(err)
	}
	e.addKey(t, userKeyID, userSecret, "Active", authn.AccessKeyLabel(userKeyID))
	e.addKey(t, inactiveKeyID, userSecret, "Inactive", authn.AccessKeyLabel(inactiveKeyID))
	// A secret sealed under another key's label must not open (keywrap binds the label).
	e.addKey(t, badLabelKeyID, userSecret, "Active", authn.AccessKeyLabel(userKeyID))
	return e
}

func (e *env) addKey(t *testing.T, id, secret, status, label string) {
	t.Helper()
	sealed, err := e.box.Seal(label, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreateAccessKey(e.ctx, store.AccessKey{ID: id, UserName: userName, Secret: sealed, Status: status, CreatedAt: e.t0}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) claims() session.Claims {
	return session.Claims{
		AccessKeyID: sessionKey, SecretAccessKey: sessionSec,
		Account: account, RoleARN: roleARN, RoleID: roleID, RoleName: roleName, SessionName: sessionName,
		Tags:     []session.Tag{{Key: "team", Value: "blue"}},
		IssuedAt: e.t0, Expiration: e.t0.Add(time.Hour),
	}
}

func seal(t *testing.T, s *session.Sealer, c session.Claims) string {
	t.Helper()
	tok, err := s.Seal(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tamper flips one character in the middle of a base64 token, keeping it base64.
func tamper(tok string) string {
	b := []byte(tok)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// wantAWSError asserts err is the *awsapi.Error with code and status.
func wantAWSError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v (%T), want *awsapi.Error %s", err, err, code)
	}
	if ae.Code != code || ae.Status != status {
		t.Fatalf("err = %s %d (%q), want %s %d", ae.Code, ae.Status, ae.Message, code, status)
	}
}

func TestLookupCredential(t *testing.T) {
	e := newEnv(t)
	other, err := session.NewKeyring(rand.Reader, e.t0)
	if err != nil {
		t.Fatal(err)
	}
	good := seal(t, e.sealer, e.claims())
	foreign := seal(t, session.NewSealer(other, rand.Reader), e.claims())
	userTok := seal(t, e.sealer, func() session.Claims { c := e.claims(); c.AccessKeyID = userKeyID; return c }())

	type want struct {
		kind    authn.Kind
		arn     string
		userID  string
		secret  string
		errCode string // "" for success; "internal" for a non-AWS error
		status  int
	}
	tests := []struct {
		name  string
		keyID string
		token string
		want  want
	}{
		{"root", rootKeyID, "", want{kind: authn.Root, arn: "arn:aws:iam::" + account + ":root", userID: account, secret: rootSecret}},
		{"root with session token", rootKeyID, good, want{errCode: "InvalidClientTokenId", status: http.StatusForbidden}},
		{"unknown AKIA", "AKIAUNKNOWNUNKNOWN01", "", want{errCode: "InvalidClientTokenId", status: http.StatusForbidden}},
		{"unknown prefix", "XKIAALICEALICEALICE1", "", want{errCode: "InvalidClientTokenId", status: http.StatusForbidden}},
		{"empty key id", "", "", want{errCode: "InvalidClientTokenId", status: http.StatusForbidden}},
		{"user key", userKeyID, "", want{kind: authn.User, arn: userARN, userID: userID, secret: userSecret}},
		{"user key with session token", userKeyID, good, want{errCode: "InvalidClientTokenId", status: http.StatusForbidden}},
		{"inactive user key", inactiveKeyID, "", want{errCode: "InvalidClientTokenId", status: http.StatusForbidden}},
		{"user key sealed under another label", badLabelKeyID, "", want{errCode: "internal"}},
		{"session", sessionKey, good, want{
			kind: authn.AssumedRole, arn: "arn:aws:sts::" + account + ":assumed-role/" + roleName + "/" + sessionName,
			userID: roleID + ":" + sessionName, secret: sessionSec,
		}},
		{"session without token", sessionKey, "", want{errCode: "InvalidClientTokenId", status: http.StatusForbidden}},
		{"session with tampered token", sessionKey, tamper(good), want{errCode: "InvalidClientTokenId", status: http.StatusForbidden}},
		{"session with garbage token", sessionKey, "not a token", want{errCode: "InvalidClientTokenId", status: http.StatusForbidden}},
		{"session token from another keyring", sessionKey, foreign, want{errCode: "InvalidClientTokenId", status: http.StatusForbidden}},
		{"session token for another access key", "ASIABBBBBBBBBBBBBBBB", good, want{errCode: "InvalidClientTokenId", status: http.StatusForbidden}},
		{"session token sealed for an AKIA id", userKeyID, userTok, want{errCode: "InvalidClientTokenId", status: http.StatusForbidden}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := e.a.LookupCredential(e.ctx, tc.keyID, tc.token)
			switch tc.want.errCode {
			case "":
			case "internal":
				if err == nil {
					t.Fatalf("LookupCredential succeeded, want an internal error")
				}
				if got := awsapi.AsError(err).Code; got != "InternalFailure" {
					t.Fatalf("err = %v, shown to the client as %s, want InternalFailure", err, got)
				}
				return
			default:
				wantAWSError(t, err, tc.want.errCode, tc.want.status)
				if cred.SecretAccessKey != "" || cred.Principal != nil {
					t.Errorf("failed lookup returned a credential: principal %v", cred.Principal)
				}
				return
			}
			if err != nil {
				t.Fatalf("LookupCredential: %v", err)
			}
			if cred.SecretAccessKey != tc.want.secret {
				t.Errorf("secret = %q, want %q", cred.SecretAccessKey, tc.want.secret)
			}
			p, ok := cred.Principal.(*authn.Principal)
			if !ok {
				t.Fatalf("Principal is %T, want *authn.Principal", cred.Principal)
			}
			if p.Kind != tc.want.kind || p.ARN != tc.want.arn || p.UserID != tc.want.userID || p.Account != account || p.AccessKeyID != tc.keyID {
				t.Errorf("principal = {%v %s %s %s %s}, want {%v %s %s %s %s}",
					p.Kind, p.ARN, p.UserID, p.Account, p.AccessKeyID,
					tc.want.kind, tc.want.arn, tc.want.userID, account, tc.keyID)
			}
			switch p.Kind {
			case authn.Root:
				if p.User != nil || p.Session != nil {
					t.Errorf("root principal carries User %v / Session %v", p.User, p.Session)
				}
			case authn.User:
				if p.User == nil || p.User.Name != userName || p.User.ID != userID || len(p.User.Tags) != 1 || p.User.Tags[0].Value != "blue" {
					t.Errorf("User = %+v, want alice with her tags", p.User)
				}
				if p.Session != nil {
					t.Errorf("user principal carries a session")
				}
			case authn.AssumedRole:
				s := p.Session
				if s == nil || s.RoleName != roleName || s.RoleID != roleID || s.RoleARN != roleARN || s.SessionName != sessionName || len(s.Tags) != 1 {
					t.Errorf("Session = %v, want the sealed claims", s)
				}
				if p.User != nil {
					t.Errorf("session principal carries a user")
				}
			}
		})
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[authn.Kind]string{authn.Root: "Root", authn.User: "User", authn.AssumedRole: "AssumedRole", 0: "Unknown", 42: "Unknown"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
	if got := authn.AccessKeyLabel("AKIAX"); got != "access-key/AKIAX" {
		t.Errorf("AccessKeyLabel = %q", got)
	}
}

func TestLookupSessionExpiry(t *testing.T) {
	e := newEnv(t)
	tok := seal(t, e.sealer, e.claims())
	exp := e.t0.Add(time.Hour)
	tests := []struct {
		name    string
		at      time.Time
		wantErr string
	}{
		{"just issued", e.t0, ""},
		{"one second before expiry", exp.Add(-time.Second), ""},
		{"at expiry", exp, "ExpiredToken"},
		{"after expiry", exp.Add(time.Minute), "ExpiredToken"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.clk.Set(tc.at)
			_, err := e.a.LookupCredential(e.ctx, sessionKey, tok)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("LookupCredential: %v", err)
				}
				return
			}
			wantAWSError(t, err, tc.wantErr, http.StatusForbidden)
		})
	}

	// A tampered expired token is invalid, not expired: only authentic tokens say "expired".
	e.clk.Set(exp.Add(time.Minute))
	_, err := e.a.LookupCredential(e.ctx, sessionKey, tamper(tok))
	wantAWSError(t, err, "InvalidClientTokenId", http.StatusForbidden)
}

func TestLookupSessionWithoutKeyring(t *testing.T) {
	e := newEnv(t)
	tok := seal(t, e.sealer, e.claims())
	a := authn.NewAuthenticator(e.st, e.box, nil, authn.RootCredentials{AccessKeyID: rootKeyID, SecretAccessKey: rootSecret}, account, e.clk.Now)
	_, err := a.LookupCredential(e.ctx, sessionKey, tok)
	wantAWSError(t, err, "InvalidClientTokenId", http.StatusForbidden)
}

func TestLookupWithoutRootCredentials(t *testing.T) {
	e := newEnv(t)
	a := authn.NewAuthenticator(e.st, e.box, e.ring, authn.RootCredentials{}, account, e.clk.Now)
	// An unset root key must not make the empty access key id the root.
	_, err := a.LookupCredential(e.ctx, "", "")
	wantAWSError(t, err, "InvalidClientTokenId", http.StatusForbidden)
	// User keys still work.
	if _, err := a.LookupCredential(e.ctx, userKeyID, ""); err != nil {
		t.Fatalf("user key: %v", err)
	}
}

func TestNilClockDefaultsToNow(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	c := e.claims()
	c.IssuedAt, c.Expiration = now.Add(-time.Minute), now.Add(time.Hour)
	tok := seal(t, e.sealer, c)
	a := authn.NewAuthenticator(e.st, e.box, e.ring, authn.RootCredentials{}, account, nil)
	if _, err := a.LookupCredential(e.ctx, sessionKey, tok); err != nil {
		t.Fatalf("session valid by the wall clock: %v", err)
	}
}

// TestKeyCache checks the short user-key cache: a deactivated or deleted key keeps
// working until the cache entry expires or is forgotten, and not after.
func TestKeyCache(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *env) error
		// then: forget the key, or let the clock pass the cache TTL.
		forget bool
	}{
		{"deactivated, forgotten", func(e *env) error {
			return e.st.UpdateAccessKey(e.ctx, userKeyID, func(k store.AccessKey) (store.AccessKey, error) { k.Status = "Inactive"; return k, nil })
		}, true},
		{"deactivated, cache expired", func(e *env) error {
			return e.st.UpdateAccessKey(e.ctx, userKeyID, func(k store.AccessKey) (store.AccessKey, error) { k.Status = "Inactive"; return k, nil })
		}, false},
		{"deleted, forgotten", func(e *env) error { return e.st.DeleteAccessKey(e.ctx, userKeyID) }, true},
		{"deleted, cache expired", func(e *env) error { return e.st.DeleteAccessKey(e.ctx, userKeyID) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.a.LookupCredential(e.ctx, userKeyID, ""); err != nil {
				t.Fatalf("first lookup: %v", err)
			}
			if err := tc.change(e); err != nil {
				t.Fatal(err)
			}
			// Within the cache lifetime the cached key still answers (IAM is eventually consistent).
			e.clk.Advance(time.Second)
			if _, err := e.a.LookupCredential(e.ctx, userKeyID, ""); err != nil {
				t.Fatalf("cached lookup: %v", err)
			}
			if tc.forget {
				e.a.Forget(userKeyID)
			} else {
				e.clk.Advance(5 * time.Second)
			}
			_, err := e.a.LookupCredential(e.ctx, userKeyID, "")
			wantAWSError(t, err, "InvalidClientTokenId", http.StatusForbidden)
		})
	}

	t.Run("reactivated, forgotten", func(t *testing.T) {
		e := newEnv(t)
		if _, err := e.a.LookupCredential(e.ctx, inactiveKeyID, ""); err == nil {
			t.Fatal("inactive key accepted")
		}
		if err := e.st.UpdateAccessKey(e.ctx, inactiveKeyID, func(k store.AccessKey) (store.AccessKey, error) { k.Status = "Active"; return k, nil }); err != nil {
			t.Fatal(err)
		}
		e.a.Forget(inactiveKeyID)
		if _, err := e.a.LookupCredential(e.ctx, inactiveKeyID, ""); err != nil {
			t.Fatalf("reactivated key: %v", err)
		}
	})
}

func lastUsed(t *testing.T, e *env) store.AccessKey {
	t.Helper()
	k, err := e.st.GetAccessKey(e.ctx, userKeyID)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRecordUse(t *testing.T) {
	e := newEnv(t)
	cred, err := e.a.LookupCredential(e.ctx, userKeyID, "")
	if err != nil {
		t.Fatal(err)
	}
	p := cred.Principal.(*authn.Principal)

	// Each step is a verified call at offset `at` from t0 (looked up, then recorded);
	// the store then holds the use recorded at offset `stored`.
	steps := []struct {
		name           string
		at             time.Duration
		svc, rgn       string
		stored         time.Duration
		wantSvc, wantR string
	}{
		{"first use", 0, "iam", "us-east-1", 0, "iam", "us-east-1"},
		{"same service and region within a minute", 30 * time.Second, "iam", "us-east-1", 0, "iam", "us-east-1"},
		{"another service", 30 * time.Second, "sts", "us-east-1", 30 * time.Second, "sts", "us-east-1"},
		{"another region", 40 * time.Second, "sts", "eu-west-1", 40 * time.Second, "sts", "eu-west-1"},
		{"59s later", 99 * time.Second, "sts", "eu-west-1", 40 * time.Second, "sts", "eu-west-1"},
		{"62s later", 102 * time.Second, "sts", "eu-west-1", 102 * time.Second, "sts", "eu-west-1"},
		{"minutes later", 300 * time.Second, "sts", "eu-west-1", 300 * time.Second, "sts", "eu-west-1"},
	}
	for _, s := range steps {
		e.clk.Set(e.t0.Add(s.at))
		if _, err := e.a.LookupCredential(e.ctx, userKeyID, ""); err != nil {
			t.Fatalf("%s: lookup: %v", s.name, err)
		}
		if err := e.a.RecordUse(e.ctx, p, s.svc, s.rgn); err != nil {
			t.Fatalf("%s: RecordUse: %v", s.name, err)
		}
		k := lastUsed(t, e)
		if want := e.t0.Add(s.stored); !k.LastUsedAt.Equal(want) || k.LastUsedSvc != s.wantSvc || k.LastUsedRgn != s.wantR {
			t.Fatalf("%s: stored last use = %v %s %s, want %v %s %s", s.name,
				k.LastUsedAt, k.LastUsedSvc, k.LastUsedRgn, want, s.wantSvc, s.wantR)
		}
	}
}

// TestRecordUseThrottleCountsFromLastWrite: the once-a-minute throttle must count
// from the last use actually written, so a call a full minute after it is recorded
// even when a skipped call came in between and the key is still cached.
func TestRecordUseThrottleCountsFromLastWrite(t *testing.T) {
	e := newEnv(t)
	use := func(at time.Duration) {
		t.Helper()
		e.clk.Set(e.t0.Add(at))
		cred, err := e.a.LookupCredential(e.ctx, userKeyID, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.a.RecordUse(e.ctx, cred.Principal.(*authn.Principal), "iam", "us-east-1"); err != nil {
			t.Fatal(err)
		}
	}
	use(0)                // written
	use(59 * time.Second) // within the minute: skipped
	use(60 * time.Second) // a minute after the write (key still cached from the call at 59s)
	if k := lastUsed(t, e); !k.LastUsedAt.Equal(e.t0.Add(60 * time.Second)) {
		t.Fatalf("stored LastUsedAt = %v, want %v (a minute after the last write)", k.LastUsedAt, e.t0.Add(60*time.Second))
	}
}

func TestRecordUseWithoutCache(t *testing.T) {
	e := newEnv(t)
	p := &authn.Principal{Kind: authn.User, Account: account, ARN: userARN, UserID: userID, AccessKeyID: userKeyID}
	e.clk.Set(e.t0.Add(time.Hour))
	if err := e.a.RecordUse(e.ctx, p, "iam", "us-west-2"); err != nil {
		t.Fatal(err)
	}
	if k := lastUsed(t, e); !k.LastUsedAt.Equal(e.t0.Add(time.Hour)) || k.LastUsedSvc != "iam" || k.LastUsedRgn != "us-west-2" {
		t.Fatalf("stored last use = %v %s %s", k.LastUsedAt, k.LastUsedSvc, k.LastUsedRgn)
	}
	if !lastUsed(t, e).LastUsedAt.Equal(e.t0.Add(time.Hour)) || lastUsed(t, e).LastUsedAt.Location() != time.UTC {
		t.Errorf("LastUsedAt not in UTC")
	}

	// A deleted key is not an error (the call already verified; IAM raced it).
	if err := e.st.DeleteAccessKey(e.ctx, userKeyID); err != nil {
		t.Fatal(err)
	}
	e.a.Forget(userKeyID)
	e.clk.Advance(time.Hour)
	if err := e.a.RecordUse(e.ctx, p, "iam", "us-west-2"); err != nil {
		t.Fatalf("RecordUse of a deleted key: %v", err)
	}
}

func TestRecordUseIgnoresNonUsers(t *testing.T) {
	e := newEnv(t)
	c := e.claims()
	tests := []struct {
		name string
		p    *authn.Principal
	}{
		{"nil", nil},
		// These carry a user key's id to show that nothing is written for it.
		{"root", &authn.Principal{Kind: authn.Root, Account: account, AccessKeyID: userKeyID}},
		{"assumed role", &authn.Principal{Kind: authn.AssumedRole, Account: account, AccessKeyID: userKeyID, Session: &c}},
		{"unknown kind", &authn.Principal{AccessKeyID: userKeyID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.a.RecordUse(e.ctx, tc.p, "iam", "us-east-1"); err != nil {
				t.Fatalf("RecordUse: %v", err)
			}
			if k := lastUsed(t, e); !k.LastUsedAt.IsZero() || k.LastUsedSvc != "" || k.LastUsedRgn != "" {
				t.Fatalf("stored last use = %v %s %s, want none", k.LastUsedAt, k.LastUsedSvc, k.LastUsedRgn)
			}
		})
	}
}

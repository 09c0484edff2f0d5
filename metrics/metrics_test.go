package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
)

// samples gathers m's registry into `name{a="x",b="y"}` → value (labels sorted;
// histograms as name_count and name_sum).
func samples(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.Metric {
			var labels []string
			for _, lp := range mt.Label {
				labels = append(labels, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			sort.Strings(labels)
			key := func(name string) string {
				if len(labels) == 0 {
					return name
				}
				return name + "{" + strings.Join(labels, ",") + "}"
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key(mf.GetName())] = mt.Counter.GetValue()
			case dto.MetricType_GAUGE:
				out[key(mf.GetName())] = mt.Gauge.GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key(mf.GetName()+"_count")] = float64(mt.Histogram.GetSampleCount())
				out[key(mf.GetName()+"_sum")] = mt.Histogram.GetSampleSum()
			}
		}
	}
	return out
}

func TestObserveRequestLabels(t *testing.T) {
	cases := []struct {
		name                  string
		service, action, code string
		want                  string
	}{
		{"success", "sts", "AssumeRoleWithWebIdentity", "",
			`keyless_requests_total{action="AssumeRoleWithWebIdentity",error_code="",outcome="success",service="sts"}`},
		{"denied", "s3", "PutObject", "AccessDenied",
			`keyless_requests_total{action="PutObject",error_code="AccessDenied",outcome="denied",service="s3"}`},
		{"denied, JSON spelling", "secretsmanager", "GetSecretValue", "AccessDeniedException",
			`keyless_requests_total{action="GetSecretValue",error_code="AccessDeniedException",outcome="denied",service="secretsmanager"}`},
		{"error", "iam", "GetRole", "NoSuchEntity",
			`keyless_requests_total{action="GetRole",error_code="NoSuchEntity",outcome="error",service="iam"}`},
		{"no action", "s3", "", "MethodNotAllowed",
			`keyless_requests_total{action="other",error_code="MethodNotAllowed",outcome="error",service="s3"}`},
		{"not a name", "s3 ", "Get/Object?x=1", "Code With Spaces",
			`keyless_requests_total{action="other",error_code="other",outcome="error",service="other"}`},
		{"too long", strings.Repeat("s", 65), "A", "",
			`keyless_requests_total{action="A",error_code="",outcome="success",service="other"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Options{})
			m.ObserveRequest(tc.service, tc.action, tc.code, 3*time.Millisecond)
			m.ObserveRequest(tc.service, tc.action, tc.code, -time.Second) // a clock step: counted as 0
			got := samples(t, m)
			if got[tc.want] != 2 {
				t.Errorf("%s = %v, want 2; requests: %v", tc.want, got[tc.want], filter(got, "keyless_requests_total"))
			}
			if n := len(filter(got, "keyless_requests_total")); n != 1 {
				t.Errorf("%d request series, want 1", n)
			}
			hist := strings.Replace(strings.Replace(tc.want, "keyless_requests_total", "keyless_request_duration_seconds_count", 1), `error_code="`+labelOf(tc.want, "error_code")+`",outcome="`+labelOf(tc.want, "outcome")+`",`, "", 1)
			if got[hist] != 2 {
				t.Errorf("%s = %v, want 2", hist, got[hist])
			}
			sum := strings.Replace(hist, "_count", "_sum", 1)
			if s := got[sum]; s < 0.0029 || s > 0.0031 {
				t.Errorf("%s = %v, want 0.003", sum, s)
			}
		})
	}
}

// labelOf returns the value of label in a sample key.
func labelOf(key, label string) string {
	_, rest, _ := strings.Cut(key, label+`="`)
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

func filter(s map[string]float64, prefix string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range s {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

func TestProvider(t *testing.T) {
	is := Issuers{Providers: map[string]string{"https://git.example.com": ProviderGitLab, "https://127.0.0.1:8400/github": ProviderGitHub}}
	cases := map[string]string{
		"https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc": ProviderBitbucket,
		"https://127.0.0.1:8400/2.0/workspaces/acme/pipelines-config/identity/oidc":    ProviderBitbucket,
		"https://token.actions.githubusercontent.com":                                  ProviderGitHub,
		"https://token.actions.githubusercontent.com/octo-enterprise":                  ProviderGitHub,
		"https://token.actions.githubusercontent.com.evil.example":                     Other,
		"https://gitlab.com":                 ProviderGitLab,
		"https://git.example.com":            ProviderGitLab,
		"https://127.0.0.1:8400/github":      ProviderGitHub,
		"https://127.0.0.1:8400/gitlab":      Other, // not configured here
		"https://accounts.google.com":        Other,
		"":                                   Other,
		"https://example.com/2.0/workspaces": Other,
	}
	for iss, want := range cases {
		if got := is.Provider(iss); got != want {
			t.Errorf("Provider(%q) = %q, want %q", iss, got, want)
		}
	}
}

func TestWebIdentityExchange(t *testing.T) {
	m := New(Options{})
	m.KnowIssuers(Issuers{})
	bb := "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
	m.WebIdentityExchange(bb, "Allowed")
	m.WebIdentityExchange(bb, "Allowed")
	m.WebIdentityExchange(bb, "Denied")
	m.WebIdentityExchange("https://token.actions.githubusercontent.com", "Error")
	m.WebIdentityExchange("", "Error")
	m.WebIdentityExchange("https://idp.example.com/attacker-chosen-"+strings.Repeat("x", 100), "Something else")
	got := filter(samples(t, m), "keyless_token_exchanges_total")
	want := map[string]float64{}
	for _, p := range providers {
		for _, d := range decisions {
			want[`keyless_token_exchanges_total{decision="`+d+`",provider="`+p+`"}`] = 0
		}
	}
	want[`keyless_token_exchanges_total{decision="allowed",provider="bitbucket"}`] = 2
	want[`keyless_token_exchanges_total{decision="denied",provider="bitbucket"}`] = 1
	want[`keyless_token_exchanges_total{decision="error",provider="github"}`] = 1
	want[`keyless_token_exchanges_total{decision="error",provider="other"}`] = 2
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("exchanges:\n got %v\nwant %v", got, want)
	}
}

func TestJWKSIssuerLabels(t *testing.T) {
	m := New(Options{})
	known := "https://127.0.0.1:8400/2.0/workspaces/acme/pipelines-config/identity/oidc"
	m.KnowIssuers(Issuers{Known: []string{known, "", known}})
	m.KeyCacheLookup(known, false)
	m.KeysFetched(known, false)
	m.KeyCacheLookup(known, true)
	m.KeyCacheLookup(known, true)
	for i := range 3 { // issuers of registered providers, but not the server's own
		iss := fmt.Sprintf("https://idp%d.example.com", i)
		m.KeyCacheLookup(iss, false)
		m.KeysFetched(iss, true)
	}
	got := filter(samples(t, m), "keyless_jwks_")
	want := map[string]float64{
		`keyless_jwks_cache_hits_total{issuer="` + known + `"}`:               2,
		`keyless_jwks_cache_misses_total{issuer="` + known + `"}`:             1,
		`keyless_jwks_fetches_total{issuer="` + known + `",result="success"}`: 1,
		`keyless_jwks_fetches_total{issuer="` + known + `",result="error"}`:   0,
		`keyless_jwks_cache_hits_total{issuer="other"}`:                       0,
		`keyless_jwks_cache_misses_total{issuer="other"}`:                     3,
		`keyless_jwks_fetches_total{issuer="other",result="success"}`:         0,
		`keyless_jwks_fetches_total{issuer="other",result="error"}`:           3,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("JWKS metrics:\n got %v\nwant %v", got, want)
	}
}

func TestStateGauges(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		state State
		want  map[string]float64
	}{
		{"all", State{
			SigningKeys: func() SigningKeys {
				return SigningKeys{Prepared: 1, Active: 1, Retired: 2, NextActivation: now.Add(90 * time.Minute)}
			},
			SessionKeyring: func() SessionKeyring { return SessionKeyring{Current: now.Add(-2 * time.Hour), Keys: 3} },
			AuditQueue:     func() int { return 17 },
		}, map[string]float64{
			`keyless_signing_keys{state="prepared"}`:      1,
			`keyless_signing_keys{state="active"}`:        1,
			`keyless_signing_keys{state="retired"}`:       2,
			"keyless_signing_key_next_activation_seconds": 5400,
			"keyless_session_keyring_age_seconds":         7200,
			"keyless_session_keyring_keys":                3,
			"keyless_audit_queue_length":                  17,
		}},
		{"activation overdue, rotation disabled later", State{
			SigningKeys: func() SigningKeys { return SigningKeys{Active: 1, NextActivation: now.Add(-time.Second)} },
		}, map[string]float64{
			`keyless_signing_keys{state="prepared"}`:      0,
			`keyless_signing_keys{state="active"}`:        1,
			`keyless_signing_keys{state="retired"}`:       0,
			"keyless_signing_key_next_activation_seconds": 0,
		}},
		{"rotation disabled", State{
			SigningKeys: func() SigningKeys { return SigningKeys{Active: 1} },
		}, map[string]float64{
			`keyless_signing_keys{state="prepared"}`: 0,
			`keyless_signing_keys{state="active"}`:   1,
			`keyless_signing_keys{state="retired"}`:  0,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Options{Now: func() time.Time { return now }})
			m.Watch(tc.state)
			got := samples(t, m)
			state := map[string]float64{}
			for k, v := range got {
				for _, p := range []string{"keyless_signing_key", "keyless_session_keyring", "keyless_audit_queue"} {
					if strings.HasPrefix(k, p) {
						state[k] = v
					}
				}
			}
			if fmt.Sprint(state) != fmt.Sprint(tc.want) {
				t.Errorf("state gauges:\n got %v\nwant %v", state, tc.want)
			}
		})
	}
}

// TestOwnRegistry checks that two Metrics share nothing (no global registry):
// both can be made, and what one counts the other does not.
func TestOwnRegistry(t *testing.T) {
	a, b := New(Options{}), New(Options{})
	a.ObserveRequest("sts", "GetCallerIdentity", "", time.Millisecond)
	key := `keyless_requests_total{action="GetCallerIdentity",error_code="",outcome="success",service="sts"}`
	if got := samples(t, a)[key]; got != 1 {
		t.Errorf("a: %s = %v, want 1", key, got)
	}
	if got, ok := samples(t, b)[key]; ok {
		t.Errorf("b: %s = %v, want absent", key, got)
	}
}

func TestHandler(t *testing.T) {
	m := New(Options{})
	m.ObserveRequest("iam", "CreateRole", "", time.Millisecond)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("HTTP %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`keyless_requests_total{action="CreateRole",error_code="",outcome="success",service="iam"} 1`,
		"# TYPE keyless_request_duration_seconds histogram",
		"go_goroutines ", "process_cpu_seconds_total ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

// fakeStore answers GetRole and UpdateRole with err, calling the update callback
// first; every other method is nil (unused).
type fakeStore struct {
	store.Store
	err error
}

func (f fakeStore) GetRole(context.Context, string) (store.Role, error) { return store.Role{}, f.err }

func (f fakeStore) UpdateRole(_ context.Context, _ string, fn func(store.Role) (store.Role, error)) error {
	if _, err := fn(store.Role{Name: "r"}); err != nil {
		return fmt.Errorf("update role: %w", err)
	}
	return f.err
}

func TestInstrumentStore(t *testing.T) {
	refused := errors.New("the callback refuses")
	cases := []struct {
		name     string
		storeErr error
		fnErr    error
		wantErrs float64 // of GetRole and UpdateRole together
	}{
		{"success", nil, nil, 0},
		{"not found is an answer", fmt.Errorf("get role: %w", store.ErrNotFound), nil, 0},
		{"already exists is an answer", store.ErrAlreadyExists, nil, 0},
		{"the caller's callback refused", nil, refused, 0},
		{"canceled", context.Canceled, nil, 0},
		{"failure", errors.New("database is locked"), nil, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Options{})
			st := m.InstrumentStore(fakeStore{err: tc.storeErr})
			if _, ok := st.(store.S3Store); ok {
				t.Error("the instrumented store claims S3Store, which its backend lacks")
			}
			ctx := context.Background()
			if _, err := st.GetRole(ctx, "r"); !errors.Is(err, tc.storeErr) {
				t.Errorf("GetRole: %v, want %v", err, tc.storeErr)
			}
			err := st.UpdateRole(ctx, "r", func(r store.Role) (store.Role, error) { return r, tc.fnErr })
			if want := tc.storeErr; tc.fnErr != nil {
				if !errors.Is(err, tc.fnErr) {
					t.Errorf("UpdateRole: %v, want %v", err, tc.fnErr)
				}
			} else if !errors.Is(err, want) {
				t.Errorf("UpdateRole: %v, want %v", err, want)
			}
			got := samples(t, m)
			for _, op := range []string{"GetRole", "UpdateRole"} {
				if n := got[`keyless_store_operation_duration_seconds_count{operation="`+op+`"}`]; n != 1 {
					t.Errorf("%s timed %v times, want 1", op, n)
				}
			}
			errs := got[`keyless_store_operation_errors_total{operation="GetRole"}`] + got[`keyless_store_operation_errors_total{operation="UpdateRole"}`]
			if errs != tc.wantErrs {
				t.Errorf("errors counted %v, want %v", errs, tc.wantErrs)
			}
			if _, ok := got[`keyless_store_operation_duration_seconds_count{operation="ListRoles"}`]; ok {
				t.Error("an operation never performed is listed")
			}
		})
	}
}

// BenchmarkObserveRequest measures the request metrics' cost on the hot path.
func BenchmarkObserveRequest(b *testing.B) {
	m := New(Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveRequest("s3", "PutObject", "", time.Millisecond)
		}
	})
}

// BenchmarkInstrumentedStore measures what the store wrapper adds to a call.
func BenchmarkInstrumentedStore(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		st   store.Store
	}{{"bare", fakeStore{}}, {"instrumented", New(Options{}).InstrumentStore(fakeStore{})}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tc.st.GetRole(ctx, "r")
			}
		})
	}
}

// TestInstrumentStoreSQLite checks the wrapper over a real backend: the services'
// type assertions still find its S3, blob, inline-object, secret and
// pipeline-variable stores, and a refused condition is an answer, not a store
// failure.
func TestInstrumentStoreSQLite(t *testing.T) {
	ctx := context.Background()
	backend, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "keyless.db"))
	if err != nil {
		t.Fatal(err)
	}
	m := New(Options{})
	st := m.InstrumentStore(backend)
	defer st.Close()
	s3, ok := st.(store.S3Store)
	if !ok {
		t.Fatal("the instrumented SQLite store is no store.S3Store")
	}
	for _, ok := range []bool{is[store.BlobStore](st), is[store.InlineObjectStore](st), is[store.SecretStore](st), is[store.PipelineVariableStore](st)} {
		if !ok {
			t.Fatal("the instrumented SQLite store lacks an optional store interface")
		}
	}
	if err := s3.CreateBucket(ctx, store.Bucket{Name: "b", Region: "us-east-1", Owner: "000000000000", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	exists := errors.New("precondition failed")
	obj := store.Object{Bucket: "b", Key: "k", Size: 1, ETag: "e", LastModified: time.Now(), BlobID: "blob"}
	if _, err := s3.PutObject(ctx, obj, nil); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	if _, err := s3.PutObject(ctx, obj, func(cur *store.Object) error {
		if cur != nil {
			return exists
		}
		return nil
	}); !errors.Is(err, exists) {
		t.Fatalf("PutObject with a refusing condition: %v, want %v", err, exists)
	}
	if _, err := s3.GetObject(ctx, "b", "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetObject of a missing key: %v", err)
	}
	inline := st.(store.InlineObjectStore)
	obj.BlobID = "blob-2"
	if _, gone, err := inline.PutObjectInline(ctx, obj, []byte("x"), nil); err != nil || gone {
		t.Fatalf("PutObjectInline: old blob gone %v, %v", gone, err)
	}
	if _, _, err := inline.PutObjectInline(ctx, obj, []byte("y"), func(*store.Object) error { return exists }); !errors.Is(err, exists) {
		t.Fatalf("PutObjectInline with a refusing condition: %v, want %v", err, exists)
	}
	got := samples(t, m)
	for k, want := range map[string]float64{
		`keyless_store_operation_duration_seconds_count{operation="CreateBucket"}`:    1,
		`keyless_store_operation_duration_seconds_count{operation="PutObject"}`:       2,
		`keyless_store_operation_duration_seconds_count{operation="GetObject"}`:       1,
		`keyless_store_operation_errors_total{operation="PutObject"}`:                 0,
		`keyless_store_operation_errors_total{operation="GetObject"}`:                 0,
		`keyless_store_operation_duration_seconds_count{operation="PutObjectInline"}`: 2,
		`keyless_store_operation_errors_total{operation="PutObjectInline"}`:           0,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
}

func is[T any](v any) bool {
	_, ok := v.(T)
	return ok
}

package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keyless-dev/keyless/issuer"
)

// benchEnv clears the variables a sourced env file of keyless up would set.
func benchEnv(t *testing.T) {
	for _, k := range []string{"KEYLESS_ENDPOINT", "KEYLESS_DATA", "KEYLESS_RUNNER_TOKEN", "KEYLESS_CA_BUNDLE"} {
		t.Setenv(k, "")
	}
}

func TestBenchRefusesWhatItCannotRun(t *testing.T) {
	benchEnv(t)
	remote := t.TempDir()
	if err := os.WriteFile(filepath.Join(remote, "env"), []byte("export KEYLESS_ENDPOINT='http://192.0.2.10:8400'\nexport KEYLESS_RUNNER_TOKEN='r'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a remote server in DIR/env", []string{"bench", "mint", "--data", remote, "--count", "1"}, "http://192.0.2.10:8400 is not a loopback address"},
		{"a remote --endpoint", []string{"bench", "exchange", "--endpoint", "https://sts.amazonaws.com", "--count", "1"}, "is not a loopback address"},
		{"no keyless up", []string{"bench", "s3", "--data", filepath.Join(remote, "missing"), "--count", "1"}, "is keyless up running with --data"},
		{"a bad rate", []string{"bench", "mint", "--data", remote, "--rate", "fast"}, `invalid --rate "fast"`},
		{"a bad output", []string{"bench", "mint", "--data", remote, "--output", "xml"}, `invalid --output "xml"`},
		{"a negative count", []string{"bench", "mint", "--data", remote, "--count", "-5"}, "count -5 is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := run(t, "", tc.args...)
			if code != 1 || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q (stdout %q)", code, errs, tc.want, out)
			}
		})
	}
}

// A mint benchmark against a loopback server that refuses every fifth request
// reports the refusals by code, and exits 1.
func TestBenchMintReport(t *testing.T) {
	benchEnv(t)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != issuer.MintPath || r.Header.Get("Authorization") != "Bearer runner-secret" {
			http.Error(w, "wrong request", http.StatusBadRequest)
			return
		}
		if n.Add(1) > 10 && n.Load()%5 == 0 {
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":{"code":"Throttled","message":"slow down"}}`))
			return
		}
		w.Write([]byte(`{"token":"x"}`))
	}))
	defer srv.Close()
	code, out, errs := run(t, "", "bench", "mint", "--endpoint", srv.URL, "--runner-token", "runner-secret",
		"--count", "100", "--warmup", "10", "--concurrency", "2", "--output", "json")
	if code != 1 || !strings.Contains(errs, "20 of 100 requests failed") {
		t.Errorf("exit %d, stderr %q; want 1 and 20 of 100 failed", code, errs)
	}
	var rep struct {
		Mode         string            `json:"mode"`
		Requests     int               `json:"requests"`
		Errors       int               `json:"errors"`
		ErrorsByCode map[string]int    `json:"errors_by_code"`
		ErrorSamples map[string]string `json:"error_samples"`
		Latency      map[string]float64
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	if rep.Mode != "mint" || rep.Requests != 100 || rep.Errors != 20 || rep.ErrorsByCode["Throttled"] != 20 || rep.ErrorSamples["Throttled"] != "Throttled: slow down" {
		t.Errorf("report %+v", rep)
	}
	if strings.Contains(out, "runner-secret") || strings.Contains(errs, "runner-secret") {
		t.Error("the runner credential is printed")
	}

	code, out, errs = run(t, "", "bench", "mint", "--endpoint", srv.URL, "--runner-token", "runner-secret", "--count", "5", "--warmup", "0")
	if code != 1 || !strings.Contains(out, "keyless bench mint against "+srv.URL+": closed loop, concurrency 1") || !strings.Contains(out, "p99") {
		t.Errorf("text report: exit %d\n%s%s", code, out, errs)
	}
}

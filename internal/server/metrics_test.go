package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsAddress: GET /metrics is on the main address unless metrics_listen
// gives the metrics their own, and then only there.
func TestMetricsAddress(t *testing.T) {
	get := func(t *testing.T, url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	t.Run("main address", func(t *testing.T) {
		s := startTest(t, t.TempDir(), Config{}, noEnv, nil)
		if want := s.Endpoint() + MetricsPath; s.MetricsURL() != want {
			t.Errorf("MetricsURL() = %s, want %s", s.MetricsURL(), want)
		}
		if code, body := get(t, s.MetricsURL()); code != 200 || !strings.Contains(body, `keyless_signing_keys{state="active"} 1`) {
			t.Errorf("GET %s: HTTP %d, body without the active signing key:\n%.500s", s.MetricsURL(), code, body)
		}
	})
	t.Run("own address", func(t *testing.T) {
		s := startTest(t, t.TempDir(), Config{MetricsListen: "127.0.0.1:0"}, noEnv, nil)
		if strings.HasPrefix(s.MetricsURL(), s.Endpoint()+"/") {
			t.Fatalf("MetricsURL() = %s, on the main address %s", s.MetricsURL(), s.Endpoint())
		}
		if code, body := get(t, s.MetricsURL()); code != 200 || !strings.Contains(body, "keyless_audit_queue_length 0") {
			t.Errorf("GET %s: HTTP %d, body without the audit queue:\n%.500s", s.MetricsURL(), code, body)
		}
		if code, _ := get(t, s.Endpoint()+MetricsPath); code != http.StatusNotFound {
			t.Errorf("GET /metrics on the main address: HTTP %d, want 404", code)
		}
	})
}

package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/issuer"
)

// TestConsoleSessionTTL: console.session_ttl sets the lifetime of a console
// sign-in (the cookie's Max-Age), and a value out of range is refused at start.
func TestConsoleSessionTTL(t *testing.T) {
	s := startTest(t, t.TempDir(), Config{Console: ConsoleConfig{SessionTTL: issuer.Duration(2 * time.Minute)}}, noEnv, nil)
	root := s.Root()
	body := `{"accessKeyId":"` + root.AccessKeyID + `","secretAccessKey":"` + root.SecretAccessKey + `"}`
	req, err := http.NewRequest(http.MethodPost, s.Endpoint()+"/console/api/signin", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Keyless-Console", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cookie := resp.Header.Get("Set-Cookie"); resp.StatusCode != http.StatusOK || !strings.Contains(cookie, "Max-Age=120") {
		t.Errorf("sign-in: %d, Set-Cookie %q; want 200 and Max-Age=120", resp.StatusCode, cookie)
	}

	_, err = Start(t.Context(), Options{Config: Config{Listen: "127.0.0.1:0", Console: ConsoleConfig{SessionTTL: issuer.Duration(13 * time.Hour)}},
		DataDir: t.TempDir(), Getenv: noEnv})
	if want := "config: console.session_ttl 13h0m0s: give a duration from 1s to 12h0m0s"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Start with console.session_ttl 13h: %v; want %q", err, want)
	}
}

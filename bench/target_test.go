package bench

import (
	"strings"
	"testing"
)

func TestCheckLoopback(t *testing.T) {
	for endpoint, ok := range map[string]bool{
		"http://127.0.0.1:8400":     true,
		"https://127.0.0.1:8400/":   true,
		"http://127.1.2.3:80":       true,
		"http://[::1]:8400":         true,
		"http://localhost:8400":     true,
		"http://LOCALHOST":          true,
		"http://10.0.0.5:8400":      false,
		"http://0.0.0.0:8400":       false,
		"https://sts.amazonaws.com": false,
		"http://localhost.evil.com": false,
		"ftp://127.0.0.1":           false,
		"127.0.0.1:8400":            false,
		"":                          false,
	} {
		err := CheckLoopback(endpoint)
		if (err == nil) != ok {
			t.Errorf("CheckLoopback(%q) = %v, want ok=%v", endpoint, err, ok)
		}
		if err != nil && endpoint == "http://10.0.0.5:8400" && !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("refusal %q does not say why", err)
		}
	}
}

func TestTargetFromEnv(t *testing.T) {
	env := map[string]string{
		"KEYLESS_ENDPOINT": "http://127.0.0.1:1", "KEYLESS_ACCOUNT_ID": "000000000000",
		"KEYLESS_ROOT_ACCESS_KEY_ID": "AKIA", "KEYLESS_ROOT_SECRET_ACCESS_KEY": "s",
		"KEYLESS_RUNNER_TOKEN": "r", "KEYLESS_ISSUER": "https://127.0.0.1:1/i", "KEYLESS_AUDIENCE": "aud", "KEYLESS_WORKSPACE": "ws",
	}
	got := TargetFromEnv(func(k string) string { return env[k] })
	want := Target{Endpoint: "http://127.0.0.1:1", AccountID: "000000000000", AccessKeyID: "AKIA", SecretAccessKey: "s",
		RunnerToken: "r", Issuer: "https://127.0.0.1:1/i", Audience: "aud", Workspace: "ws"}
	if got != want {
		t.Errorf("TargetFromEnv = %+v, want %+v", got, want)
	}
	if err := (Target{}).Validate(); err == nil || !strings.Contains(err.Error(), "--data") {
		t.Errorf("an empty target validates: %v", err)
	}
}

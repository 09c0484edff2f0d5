package server

import (
	"math"
	"strings"
	"testing"
)

// TestConfigLogSampleAllowed checks that log.sample_allowed is read from the
// config file and that a rate outside 0 to 1 refuses the start, saying why.
func TestConfigLogSampleAllowed(t *testing.T) {
	c, err := ParseConfig([]byte(`{"log": {"sample_allowed": 0.01}}`))
	if err != nil || c.Log.SampleAllowed == nil || *c.Log.SampleAllowed != 0.01 {
		t.Fatalf("ParseConfig: %+v, %v; want sample_allowed 0.01", c.Log, err)
	}
	for _, bad := range []float64{1.5, -0.1, math.NaN()} {
		_, err := Start(t.Context(), Options{Config: Config{Listen: "127.0.0.1:0", Log: LogConfig{SampleAllowed: &bad}}, DataDir: t.TempDir(), Getenv: noEnv})
		if err == nil || !strings.Contains(err.Error(), "log.sample_allowed") {
			t.Errorf("sample_allowed %g: Start = %v, want a refusal naming log.sample_allowed", bad, err)
		}
	}
	ok := 0.5
	startTest(t, t.TempDir(), Config{Log: LogConfig{SampleAllowed: &ok}}, noEnv, nil)
}

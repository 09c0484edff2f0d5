package policy

import (
	"strings"
	"testing"
)

// TestLowerKey checks lowerKey, known keys included, against strings.ToLower.
func TestLowerKey(t *testing.T) {
	keys := []string{"", "aws:userid", "aws:SourceIp", "AWS:SOURCEIP", "aws:sourceip", "Aws:SourceIp ", "aws:PrincipalTag/Team",
		"host/Path:aud", "ſ", "aws:Cafè", "\xff"}
	for k := range knownKeys {
		keys = append(keys, k, strings.ToUpper(k), k+"x")
	}
	for _, k := range keys {
		if got, want := lowerKey(k), strings.ToLower(k); got != want {
			t.Fatalf("lowerKey(%q) = %q, want %q", k, got, want)
		}
	}
	c := NewContext().Set("aws:SourceIp", "10.0.0.1").Add("AWS:SOURCEIP", "10.0.0.2")
	if v, ok := c.Get("aws:sourceip"); !ok || len(v) != 2 {
		t.Fatalf("context %v", c)
	}
}

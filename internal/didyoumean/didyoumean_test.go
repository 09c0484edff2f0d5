package didyoumean

import "testing"

func TestNearest(t *testing.T) {
	known := []string{"script", "after-script", "deployment", "oidc", "name"}
	for _, tc := range []struct{ in, want string }{
		{"scirpt", "script"},         // transposition: two edits
		{"Deployment", "deployment"}, // case
		{"deploymnt", "deployment"},
		{"odic", "oidc"},
		{"after", "after-script"}, // a prefix of four or more
		{"aft", ""},               // too short for a prefix, too far for an edit
		{"caches", ""},
		{"", ""},
	} {
		if got := Nearest(tc.in, known); got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzNearest(f *testing.F) {
	f.Add("scirpt")
	f.Fuzz(func(t *testing.T, s string) {
		got := Nearest(s, []string{"script", "deployment"})
		if got != "" && got != "script" && got != "deployment" {
			t.Fatalf("Nearest(%q) = %q, not a known word", s, got)
		}
	})
}

package accesskey_test

import (
	"bytes"
	crand "crypto/rand"
	"regexp"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/accesskey"
)

func TestNew(t *testing.T) {
	secretRe := regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`)
	cases := []struct {
		kind accesskey.Kind
		idRe *regexp.Regexp
	}{
		{accesskey.LongTerm, regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`)},
		{accesskey.Temporary, regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`)},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind), func(t *testing.T) {
			seen := map[string]bool{}
			for range 100 {
				id, secret, err := accesskey.New(crand.Reader, tc.kind)
				if err != nil {
					t.Fatal(err)
				}
				if !tc.idRe.MatchString(id) || !secretRe.MatchString(secret) {
					t.Fatalf("bad credentials %q / (secret of %d chars)", id, len(secret))
				}
				if seen[id] || seen[secret] {
					t.Fatal("repeated credentials")
				}
				seen[id], seen[secret] = true, true
			}
		})
	}
}

// TestNewIsDeterministic pins the encoding: the same random bytes give the same
// key, the first 10 bytes make the ID and the next 30 the secret.
func TestNewIsDeterministic(t *testing.T) {
	src := bytes.Repeat([]byte{0}, 10)
	src = append(src, bytes.Repeat([]byte{0xff}, 30)...)
	id, secret, err := accesskey.New(bytes.NewReader(src), accesskey.Temporary)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ASIA" + strings.Repeat("A", 16); id != want {
		t.Errorf("id = %q, want %q", id, want)
	}
	if want := strings.Repeat("/", 40); secret != want {
		t.Errorf("secret = %q, want %q", secret, want)
	}
}

func TestNewErrors(t *testing.T) {
	cases := []struct {
		name string
		rand string
		kind accesskey.Kind
		want string
	}{
		{"short random source", "short", accesskey.LongTerm, "new access key: read random bytes: unexpected EOF"},
		{"empty random source", "", accesskey.Temporary, "new access key: read random bytes: EOF"},
		{"unknown kind", strings.Repeat("x", 40), "AROA", `new access key: unknown kind "AROA"`},
		{"no kind", strings.Repeat("x", 40), "", `new access key: unknown kind ""`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, secret, err := accesskey.New(strings.NewReader(tc.rand), tc.kind)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want one starting %q", err, tc.want)
			}
			if id != "" || secret != "" {
				t.Errorf("returned %q and a secret of %d chars with the error", id, len(secret))
			}
		})
	}
}

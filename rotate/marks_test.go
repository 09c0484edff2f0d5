package rotate

import (
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/rotate/target"
)

const (
	keyA = "AKIAIOSFODNN7EXAMPLE"
	keyB = "AKIAI44QH8DHBEXAMPLE"
)

var at = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// TestMarksRoundTrip: every mark reads back as written, and is a valid tag value.
func TestMarksRoundTrip(t *testing.T) {
	m := creatingMark{At: at, Keys: []string{keyA, keyB}}
	if got, ok := parseCreating(m.String()); !ok || !got.At.Equal(at) || strings.Join(got.Keys, ",") != keyA+","+keyB {
		t.Errorf("creating %q → %+v %v", m.String(), got, ok)
	}
	if got, ok := parseCreating(creatingMark{At: at}.String()); !ok || len(got.Keys) != 0 {
		t.Errorf("creating without keys → %+v %v", got, ok)
	}
	kts := []keyTime{{keyA, at}, {keyB, at.Add(time.Hour)}}
	if got, ok := parseKeyTimes(formatKeyTimes(kts)); !ok || len(got) != 2 || got[1].Key != keyB || !got[1].At.Equal(at.Add(time.Hour)) {
		t.Errorf("key times → %+v %v", got, ok)
	}
	for _, r := range []record{
		{Key: keyA, OK: true, At: at},
		{Key: keyA, At: at, Err: `bitbucket deployment acme/web production: update AWS_ACCESS_KEY_ID: HTTP 409 Conflict: "locked" (retry)`},
		{Key: keyA, At: at, Err: strings.Repeat("é", 400)},
	} {
		s := r.String()
		if !validTagValue(s) {
			t.Errorf("record %q is not a valid tag value", s)
		}
		got, ok := parseRecord(s)
		if !ok || got.Key != r.Key || got.OK != r.OK || !got.At.Equal(r.At) {
			t.Errorf("record %q → %+v %v", s, got, ok)
		}
		if !r.OK && !strings.HasPrefix(got.Err, tagText(r.Err, 40)[:10]) {
			t.Errorf("record error %q → %q", r.Err, got.Err)
		}
	}
}

// TestMarksRefuseGarbage: marks keyless did not write are not taken for its own.
func TestMarksRefuseGarbage(t *testing.T) {
	for _, s := range []string{"", "yesterday", "2026-03-04T05:06:07Z not-a-key", "2026-03-04T05:06:07Z " + keyA + " " + keyB + " " + keyA} {
		if _, ok := parseCreating(s); ok {
			t.Errorf("parseCreating(%q) accepted", s)
		}
	}
	for _, s := range []string{keyA, keyA + " 2026", "akiaiosfodnn7example 2026-03-04T05:06:07Z"} {
		if _, ok := parseKeyTimes(s); ok {
			t.Errorf("parseKeyTimes(%q) accepted", s)
		}
	}
	for _, s := range []string{"", keyA + " maybe 2026-03-04T05:06:07Z", keyA + " ok"} {
		if _, ok := parseRecord(s); ok {
			t.Errorf("parseRecord(%q) accepted", s)
		}
	}
}

// TestSecretValue: the secret's JSON reads back; a malformed value is refused
// without quoting it.
func TestSecretValue(t *testing.T) {
	c := target.Credentials{AccessKeyID: keyA, SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	s := encodeSecret(c)
	if s != `{"AccessKeyId":"`+keyA+`","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}` {
		t.Fatalf("encoded %s", s)
	}
	if got, err := parseSecret(s); err != nil || got != c {
		t.Fatalf("parse: %v %v", got, err)
	}
	for _, bad := range []string{"", "{}", `{"AccessKeyId":"x","SecretAccessKey":"hunter2"}`, `{"AccessKeyId":"` + keyA + `"}`, "hunter2"} {
		_, err := parseSecret(bad)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("parseSecret(%q) = %v", bad, err)
		}
	}
	if versionToken(keyA) != versionToken(strings.ToLower(keyA)) || versionToken(keyA) == versionToken(keyB) || len(versionToken(keyA)) != 36 {
		t.Errorf("version tokens %s %s", versionToken(keyA), versionToken(keyB))
	}
}

// TestIsUserARN matches the user name at the end of an IAM user ARN.
func TestIsUserARN(t *testing.T) {
	for arn, want := range map[string]bool{
		"arn:aws:iam::123456789012:user/ci-legacy":           true,
		"arn:aws:iam::123456789012:user/tools/CI-Legacy":     true,
		"arn:aws:iam::123456789012:user/ci-legacy-2":         false,
		"arn:aws:sts::123456789012:assumed-role/ci-legacy/x": false,
		"user/ci-legacy": false,
	} {
		if got := isUserARN(arn, "ci-legacy"); got != want {
			t.Errorf("isUserARN(%q) = %v", arn, got)
		}
	}
}

// FuzzParseMarks: no tag value panics a parser, and what parses writes back
// as a valid tag value that parses the same.
func FuzzParseMarks(f *testing.F) {
	f.Add("2026-03-04T05:06:07Z " + keyA)
	f.Add(keyA + " 2026-03-04T05:06:07Z " + keyB + " 2026-03-04T05:06:08Z")
	f.Add(keyA + " failed 2026-03-04T05:06:07Z HTTP 503 Service Unavailable")
	f.Add(keyA + " ok 2026-03-04T05:06:07Z")
	f.Fuzz(func(t *testing.T, s string) {
		if m, ok := parseCreating(s); ok {
			if back, ok := parseCreating(m.String()); !ok || !back.At.Equal(m.At) || len(back.Keys) != len(m.Keys) {
				t.Fatalf("creating %q does not round-trip", s)
			}
		}
		if kts, ok := parseKeyTimes(s); ok {
			if back, ok := parseKeyTimes(formatKeyTimes(kts)); !ok || len(back) != len(kts) {
				t.Fatalf("key times %q do not round-trip", s)
			}
		}
		if r, ok := parseRecord(s); ok {
			out := r.String()
			if !validTagValue(out) {
				t.Fatalf("record %q writes %q, not a tag value", s, out)
			}
			if back, ok := parseRecord(out); !ok || back.Key != r.Key || back.OK != r.OK {
				t.Fatalf("record %q does not round-trip", s)
			}
		}
		if v := tagText(s, 50); len(v) > 50 || !validTagValue(v) {
			t.Fatalf("tagText(%q) = %q", s, v)
		}
	})
}

// FuzzParseSecret: no value panics parseSecret, and an error never holds any of
// the value.
func FuzzParseSecret(f *testing.F) {
	f.Add(`{"AccessKeyId":"` + keyA + `","SecretAccessKey":"s3cr3t-value"}`)
	f.Add(`{"AccessKeyId":1}`)
	f.Add(`s3cr3t-value`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseSecret(s)
		if err != nil {
			if err != errSecretShape {
				t.Fatalf("error %v", err)
			}
			return
		}
		if back, err := parseSecret(encodeSecret(c)); err != nil || back != c {
			t.Fatalf("%q does not round-trip", s)
		}
	})
}

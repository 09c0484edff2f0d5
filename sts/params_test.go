package sts

import (
	"strings"
	"testing"
	"unicode/utf16"
)

// TestJavaLen compares javaLen, which skips ASCII eight bytes at a time, with
// the UTF-16 length counted rune by rune, for non-ASCII text at every offset.
func TestJavaLen(t *testing.T) {
	slow := func(s string) int {
		n := 0
		for _, r := range s {
			n += utf16.RuneLen(r)
		}
		return n
	}
	for _, tail := range []string{"", "é", "中", "\U0001F600", "\xff", "\xe4\xb8", "a\x80b"} {
		for pre := range 20 {
			for post := range 10 {
				s := strings.Repeat("a", pre) + tail + strings.Repeat("z", post)
				if got, want := javaLen(s), slow(s); got != want {
					t.Fatalf("javaLen(%q) = %d, want %d", s, got, want)
				}
			}
		}
	}
}

// TestSplitARN compares splitARN with strings.SplitN.
func TestSplitARN(t *testing.T) {
	for _, s := range []string{"", ":", "arn", "arn:aws:iam::123456789012:role/x", "arn:aws:iam::1:role/a:b:c", "a:b:c:d:e", "a:b:c:d:e:", ":::::", "::::", "a:b:c:d:e:f:g"} {
		want := strings.SplitN(s, ":", 6)
		got, ok := splitARN(s)
		if ok != (len(want) == 6) || ok && [6]string(want) != got {
			t.Fatalf("splitARN(%q) = %q, %v; SplitN %q", s, got, ok, want)
		}
	}
}

package audit

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The filters people give `keyless audit` and the console's activity view,
// read the same way by both.

// ParseDecision reads a decision filter word (allowed, denied or error, any
// case) as the Decision stored; "" is no filter. ok is false for another word.
func ParseDecision(word string) (decision string, ok bool) {
	switch strings.ToLower(word) {
	case "":
		return "", true
	case "allowed":
		return Allowed, true
	case "denied":
		return Denied, true
	case "error":
		return Failed, true
	}
	return "", false
}

var bareUUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// RepositoryFilter is the stored form of a repository filter: Bitbucket writes
// repository UUIDs in braces and lower case, so a bare UUID gets them.
func RepositoryFilter(r string) string {
	if bareUUID.MatchString(r) {
		return "{" + strings.ToLower(r) + "}"
	}
	return r
}

// ParseAge parses a non-negative duration that may start with whole days (7d,
// 1d12h), otherwise in Go's units (30m, 24h).
func ParseAge(v string) (time.Duration, error) {
	var days time.Duration
	if i := strings.IndexByte(v, 'd'); i > 0 {
		n, err := strconv.Atoi(v[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid days in %q", v)
		}
		days, v = time.Duration(n)*24*time.Hour, v[i+1:]
		if v == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q", v)
	}
	return days + d, nil
}

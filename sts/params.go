package sts

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/awsapi"
)

// Constraint patterns, written as STS's service model writes them: the text is
// part of the ValidationError message.
const (
	patternARN        = `[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+`
	patternName       = `[\w+=,.@-]*` // RoleSessionName, SourceIdentity
	patternPolicy     = `[\u0009\u000A\u000D\u0020-\u00FF]+`
	patternTagKey     = `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`
	patternTagValue   = `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`
	patternExternalID = `[\w+=,.@:\/-]*`
	patternSerial     = `[\w+=/:,.@-]*`
	patternTokenCode  = `[\d]*`
	// maxEcho bounds how much of a rejected value is echoed in a message.
	maxEcho = 2048
)

// violations collects parameter constraint failures and renders them the way
// STS (Coral) does:
//
//	2 validation errors detected: Value '' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: …; Value '' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20
//
// Per member the pattern is reported before the length, as in captured
// responses. Sensitive members (the web identity token) are reported without
// their value ("Value at 'webIdentityToken' …"), as AWS does for sensitive
// members.
type violations struct {
	msgs []string
}

func (v *violations) add(value string, present, sensitive bool, member, constraint string) {
	var b strings.Builder
	switch {
	case !present:
		b.WriteString("Value null at '")
	case sensitive:
		b.WriteString("Value at '")
	default:
		b.WriteString("Value '")
		b.WriteString(echo(value))
		b.WriteString("' at '")
	}
	b.WriteString(member)
	b.WriteString("' failed to satisfy constraint: ")
	b.WriteString(constraint)
	v.msgs = append(v.msgs, b.String())
}

// err returns the ValidationError for the collected failures, or nil.
func (v *violations) err() error {
	switch len(v.msgs) {
	case 0:
		return nil
	case 1:
		return awsapi.ValidationError("1 validation error detected: " + v.msgs[0])
	}
	return awsapi.ValidationError(strconv.Itoa(len(v.msgs)) + " validation errors detected: " + strings.Join(v.msgs, "; "))
}

// echo truncates a value to maxEcho characters for a message.
func echo(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	n := 0
	for i := range s {
		if n == maxEcho {
			return s[:i]
		}
		n++
	}
	return s
}

// javaLen is the length AWS counts: UTF-16 code units. ASCII text (tokens,
// ARNs) is counted bytewise; from the first other byte on, rune by rune
// (an invalid byte counts as one U+FFFD).
func javaLen(s string) int {
	i := 0
	// Eight ASCII bytes at a time until a word has a byte with the top bit set.
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if w&0x8080808080808080 != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			n := i
			for _, r := range s[i:] {
				n += utf16.RuneLen(r)
			}
			return n
		}
	}
	return len(s)
}

// str checks one string member: required, pattern (nil for none), length.
type strRule struct {
	member    string
	required  bool
	sensitive bool
	min, max  int
	pattern   string
	match     func(rune) bool
}

func (v *violations) str(r strRule, value string, present bool) {
	if !present {
		if r.required {
			v.add("", false, false, r.member, "Member must not be null")
		}
		return
	}
	if r.match != nil {
		ok := utf8.ValidString(value)
		for _, c := range value {
			if !r.match(c) {
				ok = false
				break
			}
		}
		// A "+" pattern also needs one character.
		if ok && strings.HasSuffix(r.pattern, "]+") && value == "" {
			ok = false
		}
		if !ok {
			v.add(value, true, r.sensitive, r.member, "Member must satisfy regular expression pattern: "+r.pattern)
		}
	}
	n := javaLen(value)
	if n < r.min {
		v.add(value, true, r.sensitive, r.member, "Member must have length greater than or equal to "+strconv.Itoa(r.min))
	}
	if r.max > 0 && n > r.max {
		v.add(value, true, r.sensitive, r.member, "Member must have length less than or equal to "+strconv.Itoa(r.max))
	}
}

// integer checks an integer member and returns its value (0 when absent or
// invalid). A value that is not a decimal integer is reported as "Member must
// be an integer" (our choice; the text AWS sends there is not known).
func (v *violations) integer(member, raw string, present bool, min, max int) (int, bool) {
	if !present {
		return 0, false
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		v.add(raw, true, false, member, "Member must be an integer")
		return 0, false
	}
	if n < min {
		v.add(raw, true, false, member, "Member must have value greater than or equal to "+strconv.Itoa(min))
		return 0, false
	}
	if n > max {
		v.add(raw, true, false, member, "Member must have value less than or equal to "+strconv.Itoa(max))
		return 0, false
	}
	return n, true
}

// listLen checks the length of a list member.
func (v *violations) listLen(member string, items []string, max int) {
	if len(items) > max {
		v.add("["+strings.Join(items, ", ")+"]", true, false, member, "Member must have length less than or equal to "+strconv.Itoa(max))
	}
}

// Character classes of the patterns.

func isARNChar(c rune) bool {
	return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c <= 0x7E) || c == 0x85 ||
		(c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF)
}

// isWordChar is Java's \w (ASCII letters, digits, underscore).
func isWordChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func isNameChar(c rune) bool { return isWordChar(c) || strings.ContainsRune("+=,.@-", c) }

func isPolicyChar(c rune) bool {
	return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c <= 0xFF)
}

func isTagChar(c rune) bool {
	return unicode.IsLetter(c) || unicode.In(c, unicode.Z) || unicode.IsNumber(c) || strings.ContainsRune("_.:/=+-@", c)
}

func isExternalIDChar(c rune) bool { return isWordChar(c) || strings.ContainsRune("+=,.@:/-", c) }

func isSerialChar(c rune) bool { return isWordChar(c) || strings.ContainsRune("+=/:,.@-", c) }

func isDigit(c rune) bool { return c >= '0' && c <= '9' }

// Rules shared by the actions (functions, so that no package state is mutable).
func ruleRoleARN() strRule {
	return strRule{member: "roleArn", required: true, min: 20, max: 2048, pattern: patternARN, match: isARNChar}
}

func ruleSessionName() strRule {
	return strRule{member: "roleSessionName", required: true, min: 2, max: 64, pattern: patternName, match: isNameChar}
}

func rulePolicy() strRule {
	return strRule{member: "policy", min: 1, max: 2048, pattern: patternPolicy, match: isPolicyChar}
}

func ruleSourceID() strRule {
	return strRule{member: "sourceIdentity", min: 2, max: 64, pattern: patternName, match: isNameChar}
}

func ruleExternalID() strRule {
	return strRule{member: "externalId", min: 2, max: 1224, pattern: patternExternalID, match: isExternalIDChar}
}

func ruleSerial() strRule {
	return strRule{member: "serialNumber", min: 9, max: 256, pattern: patternSerial, match: isSerialChar}
}

func ruleTokenCode() strRule {
	return strRule{member: "tokenCode", min: 6, max: 6, pattern: patternTokenCode, match: isDigit}
}

func ruleToken() strRule {
	return strRule{member: "webIdentityToken", required: true, sensitive: true, min: 4, max: 20000}
}

func ruleProviderID() strRule { return strRule{member: "providerId", min: 4, max: 2048} }

// Limits of the request parameters.
const (
	minDuration     = 900
	maxDuration     = 43200
	defaultDuration = 3600
	// chainedMaxDuration caps sessions assumed by a role session.
	chainedMaxDuration = 3600
	maxPolicyARNs      = 10
	maxTags            = 50
	maxTagKeyLen       = 128
	maxTagValueLen     = 256
)

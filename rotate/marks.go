package rotate

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Tags on the secret that hold what IAM and the staging labels cannot tell.
// Values are space-separated words; an empty value means the mark is cleared
// (marks are overwritten, never untagged).
const (
	// TagCreating is set before CreateAccessKey to "TIME [KEY …]": when, and
	// which keys existed before. A key that is in neither that list nor the
	// secret was created by a pass that crashed before storing it.
	TagCreating = "keyless:rotation:creating"
	// TagSynced is "KEY TIME": when every target was first seen holding KEY.
	TagSynced = "keyless:rotation:synced"
	// TagInactive is "KEY TIME [KEY TIME]": when each inactive key was made, or
	// first found, inactive.
	TagInactive = "keyless:rotation:inactive"
	// TagRollback is "KEY": a new key being rolled back after no target could
	// be updated.
	TagRollback = "keyless:rotation:rollback"
	// TagTargetPrefix starts the tag of one target's last push, followed by a
	// hash of the target: "KEY ok TIME" or "KEY failed TIME MESSAGE".
	TagTargetPrefix = "keyless:rotation:target:"
)

const (
	tagTime      = time.RFC3339
	maxTagValue  = 256
	maxRecordMsg = 180
)

// creatingMark is TagCreating's value.
type creatingMark struct {
	At   time.Time
	Keys []string
}

func (m creatingMark) String() string {
	return strings.Join(append([]string{m.At.UTC().Format(tagTime)}, m.Keys...), " ")
}

func parseCreating(s string) (creatingMark, bool) {
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 3 {
		return creatingMark{}, false
	}
	at, err := time.Parse(tagTime, f[0])
	if err != nil {
		return creatingMark{}, false
	}
	for _, k := range f[1:] {
		if !validKeyID(k) {
			return creatingMark{}, false
		}
	}
	return creatingMark{At: at, Keys: f[1:]}, true
}

// keyTime is one KEY TIME pair (TagSynced, TagInactive).
type keyTime struct {
	Key string
	At  time.Time
}

func formatKeyTimes(kts []keyTime) string {
	var f []string
	for _, kt := range kts {
		f = append(f, kt.Key, kt.At.UTC().Format(tagTime))
	}
	return strings.Join(f, " ")
}

func parseKeyTimes(s string) ([]keyTime, bool) {
	f := strings.Fields(s)
	if len(f)%2 != 0 || len(f) > 4 {
		return nil, false
	}
	var out []keyTime
	for i := 0; i < len(f); i += 2 {
		at, err := time.Parse(tagTime, f[i+1])
		if err != nil || !validKeyID(f[i]) {
			return nil, false
		}
		out = append(out, keyTime{Key: f[i], At: at})
	}
	return out, true
}

// record is a target's last push: which key, whether it worked, when, and the
// error (target and HTTP status; never a value).
type record struct {
	Key string
	OK  bool
	At  time.Time
	Err string
}

func (r record) String() string {
	if r.Key == "" {
		return ""
	}
	s := r.Key + " failed " + r.At.UTC().Format(tagTime)
	if r.OK {
		return r.Key + " ok " + r.At.UTC().Format(tagTime)
	}
	if msg := tagText(r.Err, maxTagValue-len(s)-1); msg != "" {
		s += " " + msg
	}
	return s
}

func parseRecord(s string) (record, bool) {
	f := strings.SplitN(strings.TrimSpace(s), " ", 4)
	if len(f) < 3 || !validKeyID(f[0]) || f[1] != "ok" && f[1] != "failed" {
		return record{}, false
	}
	at, err := time.Parse(tagTime, f[2])
	if err != nil {
		return record{}, false
	}
	r := record{Key: f[0], OK: f[1] == "ok", At: at}
	if len(f) == 4 && !r.OK {
		r.Err = f[3]
	}
	return r, true
}

// targetTag is the tag key of the target with id.
func targetTag(id string) string {
	sum := sha256.Sum256([]byte(id))
	return TagTargetPrefix + hex.EncodeToString(sum[:6])
}

// tagText makes s a valid tag value of at most n bytes: Secrets Manager allows
// letters, digits, spaces and _ . : / = + - @ only.
func tagText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsLetter(r) || unicode.IsNumber(r) || strings.ContainsRune("_.:/=+-@", r):
			return r
		}
		return ' '
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:max(n, 0)], "")
	}
	return strings.TrimSpace(s)
}

// validTagValue is Secrets Manager's rule for tag values.
func validTagValue(s string) bool {
	if len(s) > maxTagValue {
		return false
	}
	return !slices.ContainsFunc([]rune(s), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Zs, r) || strings.ContainsRune("_.:/=+-@", r))
	})
}

package progress

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/deploy/s3sync"
)

// units are the decimal size units.
var units = [...]string{"B", "KB", "MB", "GB", "TB", "PB", "EB"}

// unitOf picks the unit n is shown in: the largest that keeps the number,
// rounded to one decimal, under 1000.
func unitOf(n int64) int {
	v := math.Abs(float64(n))
	u := 0
	for u < len(units)-1 {
		if u == 0 && v < 1000 || u > 0 && math.Round(v*10)/10 < 1000 {
			break
		}
		v /= 1000
		u++
	}
	return u
}

// scaled is n in unit u without the unit's name: "512" in bytes, "12.3"
// otherwise.
func scaled(n int64, u int) string {
	if u == 0 {
		return strconv.FormatInt(n, 10)
	}
	return strconv.FormatFloat(float64(n)/math.Pow(1000, float64(u)), 'f', 1, 64)
}

// formatBytes is a human size in decimal units: "512 B", "12.3 KB", "3.1 MB".
func formatBytes(n int64) string {
	u := unitOf(n)
	return scaled(n, u) + " " + units[u]
}

// formatPair is done and total in total's unit: "3.1/110.0 MB".
func formatPair(done, total int64) string {
	u := unitOf(max(done, total))
	return scaled(done, u) + "/" + scaled(total, u) + " " + units[u]
}

// formatFileRate is a rate in files a second: "0.4 files/s", "35 files/s".
func formatFileRate(r float64) string {
	if r < 10 {
		return strconv.FormatFloat(r, 'f', 1, 64) + " files/s"
	}
	return strconv.FormatFloat(r, 'f', 0, 64) + " files/s"
}

// formatCount is n with thousands separators: "1,998".
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatETA is a time left, rounded up to the second: "7s", "1m05s", "2h03m".
func formatETA(d time.Duration) string {
	return formatClock(int64(math.Ceil(d.Seconds())))
}

// formatElapsed is a time taken: "0.42s", "12.3s", "1m05s".
func formatElapsed(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	}
	return formatClock(int64(d.Round(time.Second).Seconds()))
}

// formatClock is s seconds as "7s", "1m05s" or "2h03m".
func formatClock(s int64) string {
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
}

// itoa is strconv.Itoa.
func itoa(n int) string { return strconv.Itoa(n) }

// padLeft pads s with spaces on the left to n bytes.
func padLeft(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return strings.Repeat(" ", n-len(s)) + s
}

// secretParam matches what may carry a credential in an error message: a
// presigned URL's signature, credential or token parameter, or an
// Authorization header's Credential=/Signature= or bearer token.
var secretParam = regexp.MustCompile(`(?i)((?:x-amz-(?:signature|credential|security-token)|signature|awsaccesskeyid|credential)=|bearer\s+)[^&\s",;]+`)

// failureLine is the line Finished writes for a key that failed:
// "failed: upload p/a.html: <error>\n". The key is quoted when it holds
// characters that are not printable; the error is on one line, with control
// characters turned into spaces and credentials redacted.
func failureLine(key string, a s3sync.Action, err error) string {
	action := string(a)
	if action == "" {
		action = "sync"
	}
	return "failed: " + oneLine(action) + " " + displayKey(key) + ": " + cleanError(err) + "\n"
}

// displayKey is key as is, or quoted when empty, not UTF-8 or not all
// printable.
func displayKey(key string) string {
	if key == "" || !utf8.ValidString(key) || strings.IndexFunc(key, func(r rune) bool { return !unicode.IsGraphic(r) }) >= 0 {
		return strconv.QuoteToGraphic(key)
	}
	return key
}

// cleanError is err's message on one line with credentials redacted.
func cleanError(err error) string {
	msg := secretParam.ReplaceAllString(err.Error(), "${1}REDACTED")
	return strings.TrimSpace(oneLine(msg))
}

// oneLine turns control characters (newlines, carriage returns, escapes)
// and invalid UTF-8 into spaces and replacement characters.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

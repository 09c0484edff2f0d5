package explain

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/oidc"
)

// Inspection is what `keyless token inspect` shows of a token: never the token itself.
type Inspection struct {
	Header map[string]any `json:"header"`
	Claims map[string]any `json:"claims"`
	// Times are the time claims rendered relative to Now.
	Times map[string]string `json:"times"`
	// ConditionKeys are the AWS condition keys STS derives from the token for the
	// provider registered at the token's issuer.
	ConditionKeys map[string][]string `json:"conditionKeys"`
	// Verified is set when the token was verified: "ok", or what went wrong
	// ("valid, but the token expired at …", "FAILED: …", "not checked: …").
	Verified string `json:"verified,omitempty"`
	// Verification is the outcome of verifying the token, when it was.
	Verification *Verification `json:"verification,omitempty"`
}

// SetVerification records the outcome of VerifyToken.
func (in *Inspection) SetVerification(v Verification) {
	in.Verification = &v
	in.Verified = v.Summary()
}

// Inspect decodes a token without verifying it.
func Inspect(raw string, now time.Time) (*Inspection, error) {
	h, c, err := oidc.ParseUnverified(raw)
	if err != nil {
		return nil, fmt.Errorf("inspect token: %w", err)
	}
	in := &Inspection{Header: h, Claims: c, Times: map[string]string{}, ConditionKeys: map[string][]string{}}
	for _, k := range []string{"iat", "nbf", "exp", "auth_time"} {
		if t, ok := unixClaim(c[k]); ok {
			in.Times[k] = relative(t, now)
		}
	}
	tok := readClaims(c)
	if tok.iss != "" {
		url := strings.TrimPrefix(tok.iss, "https://")
		if len(tok.aud) > 0 {
			in.ConditionKeys[url+":aud"] = tok.aud
		}
		if tok.sub != "" {
			in.ConditionKeys[url+":sub"] = []string{tok.sub}
		}
		if tok.azp != "" {
			in.ConditionKeys[url+":azp"] = []string{tok.azp}
		}
		if len(tok.amr) > 0 {
			in.ConditionKeys[url+":amr"] = tok.amr
		}
	}
	return in, nil
}

func unixClaim(v any) (time.Time, bool) {
	switch x := v.(type) {
	case float64:
		return time.Unix(int64(x), 0).UTC(), true
	case json.Number:
		n, err := x.Int64()
		return time.Unix(n, 0).UTC(), err == nil
	}
	return time.Time{}, false
}

func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return fmt.Sprintf("%s (in %s)", t.Format(time.RFC3339), d)
	case d < 0:
		return fmt.Sprintf("%s (%s ago)", t.Format(time.RFC3339), -d)
	}
	return t.Format(time.RFC3339) + " (now)"
}

// WriteText renders the inspection for people.
func (in *Inspection) WriteText(w io.Writer) error {
	var b strings.Builder
	b.WriteString("Header:\n")
	writeMap(&b, in.Header, nil)
	b.WriteString("Claims:\n")
	writeMap(&b, in.Claims, in.Times)
	if len(in.ConditionKeys) > 0 {
		b.WriteString("AWS condition keys:\n")
		keys := make([]string, 0, len(in.ConditionKeys))
		for k := range in.ConditionKeys {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  %s = %s\n", k, strings.Join(in.ConditionKeys[k], ", "))
		}
	}
	if in.Verified != "" {
		fmt.Fprintf(&b, "Signature: %s\n", in.Verified)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMap(b *strings.Builder, m map[string]any, times map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if t, ok := times[k]; ok {
			fmt.Fprintf(b, "  %-26s %s\n", k+":", t)
			continue
		}
		v, _ := json.Marshal(m[k])
		fmt.Fprintf(b, "  %-26s %s\n", k+":", v)
	}
}

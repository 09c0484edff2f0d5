package explain

import (
	"fmt"
	"io"
	"strings"

	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/policy"
)

// FailedCondition is the check Run reports for a trust-policy condition that
// refused a request, rebuilt from what a denial's audit event keeps: the
// statement's name as audit events write it (`"Sid"` or `#index`), its effect,
// and the trace of the condition (policy values against request values). The
// title, expected, actual and fix are those Run gives for the same condition,
// so `keyless audit` explains a recorded denial in explain's words.
//
// The token's sub and aud are the request's values of the <provider>:sub and
// <provider>:aud keys, and the source address that of aws:SourceIp, as STS put
// them in the condition context.
func FailedCondition(statement string, effect policy.Effect, c policy.ConditionTrace) Check {
	var (
		tok token
		p   oidc.Provider
		in  = Input{SessionName: "known"} // the request had its session name
	)
	if url, ok := strings.CutSuffix(c.Key, ":sub"); ok {
		p.URL = url
		tok.sub = firstOr(c.RequestValues, "")
	}
	if url, ok := strings.CutSuffix(c.Key, ":aud"); ok {
		p.URL = url
		tok.aud = c.RequestValues
	}
	if strings.EqualFold(c.Key, "aws:SourceIp") {
		in.SourceIP = firstOr(c.RequestValues, "")
	}
	name := "statement " + statement
	if statement == "" {
		name = "a statement"
	}
	return Check{
		ID: "condition", Status: Fail,
		Title:    fmt.Sprintf("%s (%s): %s on %s", name, effect, c.Operator, c.Key),
		Expected: list(c.PolicyValues), Actual: requestValues(c, in),
		Fix: conditionFix(c, tok, &p, in, effect),
	}
}

// WriteText renders one check, indented by prefix, as Report.WriteText renders
// each of its checks.
func (c Check) WriteText(w io.Writer, prefix string) error {
	var b strings.Builder
	field := func(label, text string) {
		indent := prefix + "        "
		fmt.Fprintf(&b, "%s%-10s%s\n", indent, label, strings.ReplaceAll(text, "\n", "\n"+indent+strings.Repeat(" ", 10)))
	}
	fmt.Fprintf(&b, "%s  %s  %s\n", prefix, c.Status, c.Title)
	if c.Status != Pass && !c.Expected.IsZero() {
		field("expected:", c.Expected.String())
	}
	if !c.Actual.IsZero() && (c.Status != Pass || c.ID == "issuer") {
		field("actual:", c.Actual.String())
	}
	if c.Status != Pass && c.Fix != "" {
		field("fix:", c.Fix)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

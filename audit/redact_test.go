package audit

import (
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/policy"
)

// TestRedactExplanation: an explanation whose traces hold the caller's
// sts:ExternalId renders without it once redacted, and the original keeps it.
func TestRedactExplanation(t *testing.T) {
	trust, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole",
		"Condition":{"StringEquals":{"sts:ExternalId":"expected-id"}}}]}`), policy.KindTrust)
	if err != nil {
		t.Fatal(err)
	}
	res := policy.Evaluate(policy.Request{Principal: "arn:aws:iam::111111111111:root", Action: "sts:AssumeRole",
		Context: policy.NewContext().Set("sts:ExternalId", "caller-s3cret")}, policy.Input{Resource: trust})
	if !strings.Contains(res.Explain.String(), "caller-s3cret") {
		t.Fatalf("the explanation does not show the request's value, so this test proves nothing: %s", res.Explain)
	}
	red := Redact(res.Explain)
	if s := red.String(); strings.Contains(s, "caller-s3cret") || !strings.Contains(s, "(not recorded)") {
		t.Errorf("redacted explanation: %s", s)
	}
	if c := red.Deciding.FailedCondition(); c == nil || strings.Join(c.RequestValues, "") != "(not recorded)" {
		t.Errorf("redacted failed condition: %+v", c)
	}
	if !strings.Contains(res.Explain.String(), "caller-s3cret") {
		t.Error("Redact changed the explanation it was given")
	}
}

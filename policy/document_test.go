package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseForms(t *testing.T) {
	// Statement as an object, every string-or-array form, Id, numbers and booleans
	// as condition values.
	doc := `{"Version": "2012-10-17", "Id": "x", "Statement": {"Sid": "One", "Effect": "Allow", "Action": "s3:GetObject",
		"Resource": ["arn:aws:s3:::a", "arn:aws:s3:::b"], "Condition": {"NumericLessThan": {"s3:max-keys": 10}, "Bool": {"aws:SecureTransport": true}}}}`
	p, err := Parse([]byte(doc), KindIdentity)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "x" || len(p.Statements) != 1 || p.Statements[0].Sid != "One" || len(p.Statements[0].Resources) != 2 {
		t.Fatalf("%+v", p)
	}
	c := p.Statements[0].Conditions
	if len(c) != 2 || c[0].Values[0] != "10" || c[1].Values[0] != "true" || c[0].Operator != "NumericLessThan" {
		t.Fatalf("conditions %+v %+v", c[0], c[1])
	}
	s := p.Statements[0]
	if s.Line != 1 || s.Column < 50 {
		t.Errorf("position %d:%d", s.Line, s.Column)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		doc   string
		field string
		stmt  int
		msg   string
	}{
		{"not JSON", KindIdentity, `{"Statement": [`, "", -1, "Syntax errors in policy"},
		{"not an object", KindIdentity, `[]`, "", -1, "must be a JSON object"},
		{"bad version", KindIdentity, `{"Version": "2012-10-18", "Statement": []}`, "Version", -1, "valid version"},
		{"unknown top-level", KindIdentity, `{"Statements": []}`, "Statements", -1, "Unknown element"},
		{"missing statement", KindIdentity, `{"Version": "2012-10-17"}`, "Statement", -1, "Missing required field Statement"},
		{"empty statement list", KindIdentity, `{"Statement": []}`, "Statement", -1, "must not be empty"},
		{"bad effect", KindIdentity, `{"Statement": [{"Effect": "allow", "Action": "s3:*", "Resource": "*"}]}`, "Effect", 0, "Invalid effect"},
		{"missing effect", KindIdentity, `{"Statement": [{"Action": "s3:*", "Resource": "*"}]}`, "Effect", 0, "Missing required field Effect"},
		{"missing action", KindIdentity, `{"Statement": [{"Sid": "A", "Effect": "Allow", "Resource": "*"}]}`, "Action", 0, "must contain actions"},
		{"action without vendor", KindIdentity, `{"Statement": [{"Effect": "Allow", "Action": "GetObject", "Resource": "*"}]}`, "Action", 0, "prefaced by a vendor"},
		{"action and NotAction", KindIdentity, `{"Statement": [{"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:*", "Resource": "*"}]}`, "NotAction", 0, "both Action and NotAction"},
		{"action not a string", KindIdentity, `{"Statement": [{"Effect": "Allow", "Action": 5, "Resource": "*"}]}`, "Action", 0, "string or a list of strings"},
		{"empty action list", KindIdentity, `{"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]}`, "Action", 0, "empty list"},
		{"identity with principal", KindIdentity, `{"Statement": [{"Sid": "P", "Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}`, "Principal", 0, "should not specify a principal"},
		{"identity without resource", KindIdentity, `{"Statement": [{"Effect": "Allow", "Action": "s3:*"}]}`, "Resource", 0, "must contain resources"},
		{"resource not ARN", KindIdentity, `{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "bucket"}]}`, "Resource", 0, "ARN format"},
		{"trust without principal", KindTrust, `{"Statement": [{"Sid": "T", "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity"}]}`, "Principal", 0, "Missing required field Principal"},
		{"trust with NotPrincipal", KindTrust, `{"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"}]}`, "NotPrincipal", 0, "NotPrincipal"},
		{"trust with resource", KindTrust, `{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*"}]}`, "Resource", 0, "prohibited field Resource"},
		{"resource policy without principal", KindResource, `{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}`, "Principal", 0, "Principal"},
		{"session with principal", KindSession, `{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}`, "Principal", 0, "principal"},
		{"principal string not star", KindTrust, `{"Statement": [{"Effect": "Allow", "Principal": "arn:aws:iam::1:root", "Action": "sts:AssumeRole"}]}`, "Principal", 0, "Invalid principal"},
		{"principal unknown type", KindTrust, `{"Statement": [{"Effect": "Allow", "Principal": {"Users": "x"}, "Action": "sts:AssumeRole"}]}`, "Principal.Users", 0, "Invalid principal type"},
		{"principal bad AWS value", KindTrust, `{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "bob"}, "Action": "sts:AssumeRole"}]}`, "Principal.AWS", 0, "Invalid principal"},
		{"second statement named by Sid", KindIdentity, `{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Sid": "Bad", "Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEqual": {"k:v": "x"}}}]}`, "Condition.StringEqual", 1, "Invalid Condition type : StringEqual"},
		{"operator case", KindIdentity, `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"stringequals": {"k:v": "x"}}}}`, "Condition.stringequals", 0, `did you mean "StringEquals"`},
		{"Null with IfExists", KindIdentity, `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"NullIfExists": {"k:v": "true"}}}}`, "Condition.NullIfExists", 0, "Null takes no IfExists"},
		{"condition key without vendor", KindIdentity, `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"username": "x"}}}}`, "Condition.StringEquals.username", 0, "prefaced by a vendor"},
		{"bad IP", KindIdentity, `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "300.1.1.1/8"}}}}`, "Condition.IpAddress.aws:SourceIp", 0, "CIDR"},
		{"bad number", KindIdentity, `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"NumericEquals": {"k:n": "ten"}}}}`, "Condition.NumericEquals.k:n", 0, "not a number"},
		{"bad date", KindIdentity, `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "tomorrow"}}}}`, "Condition.DateLessThan.aws:CurrentTime", 0, "ISO 8601"},
		{"bad bool", KindIdentity, `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "yes"}}}}`, "Condition.Bool.aws:SecureTransport", 0, "true or false"},
		{"bad base64", KindIdentity, `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"BinaryEquals": {"k:b": "%%%"}}}}`, "Condition.BinaryEquals.k:b", 0, "base64"},
		{"null condition value", KindIdentity, `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"k:v": null}}}}`, "Condition.StringEquals.k:v", 0, "string, number or boolean"},
		{"duplicate sid", KindIdentity, `{"Statement": [{"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Sid": "A", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}`, "Sid", 1, "unique"},
		{"duplicate element", KindIdentity, `{"Statement": [{"Effect": "Allow", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}`, "", 0, "duplicate element"},
		{"duplicate operator", KindTrust, `{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"a:b": "1"}, "StringEquals": {"a:c": "2"}}}}`, "Condition", 0, "silently drop"},
		{"unknown statement field", KindIdentity, `{"Statement": [{"Effect": "Allow", "Actions": "s3:*", "Resource": "*"}]}`, "Actions", 0, "Unknown field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), tc.kind)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want *Error", err, err)
			}
			if pe.Code != CodeMalformedPolicyDocument || pe.Field != tc.field || pe.Statement != tc.stmt || !strings.Contains(pe.Message, tc.msg) {
				t.Errorf("got %+v\nwant field %q statement %d message containing %q", pe, tc.field, tc.stmt, tc.msg)
			}
			if tc.stmt >= 0 && !strings.Contains(pe.Error(), "statement ") {
				t.Errorf("Error() does not say where: %s", pe)
			}
		})
	}
}

func TestErrorNamesSid(t *testing.T) {
	_, err := Parse([]byte(`{"Statement": [{"Sid": "RepoOnly", "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity"}]}`), KindTrust)
	want := `MalformedPolicyDocument: statement 0 (Sid "RepoOnly"), Principal: Missing required field Principal`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want prefix %s", err, want)
	}
}

func TestSizeLimits(t *testing.T) {
	stmt := `{"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"}`
	var b strings.Builder
	b.WriteString(`{"Version": "2012-10-17", "Statement": [`)
	for i := 0; i < 40; i++ {
		if i > 0 {
			b.WriteString(",\n   ")
		}
		b.WriteString(stmt)
	}
	b.WriteString("]}")
	doc := []byte(b.String())
	if n := Size(doc, KindTrust); n <= MaxTrustPolicySize || n >= len(doc) {
		t.Fatalf("size %d of %d bytes", n, len(doc))
	}
	_, err := Parse(doc, KindTrust)
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != CodeLimitExceeded {
		t.Fatalf("got %v", err)
	}
	if _, err := Parse(doc, KindTrust, WithMaxSize(0)); err != nil {
		t.Fatalf("limit disabled: %v", err)
	}
	if _, err := Parse(doc, KindTrust, WithMaxSize(10000)); err != nil {
		t.Fatalf("raised limit: %v", err)
	}
	// Whitespace outside strings is not counted; inside strings it is.
	if a, b := Size([]byte(`{ "a" : "b c" }`), KindIdentity), len(`{"a":"b c"}`); a != b {
		t.Errorf("Size = %d, want %d", a, b)
	}
	if a := Size([]byte(`{ "a" : "b" }`), KindSession); a != 13 {
		t.Errorf("session Size = %d, want every character", a)
	}
}

func TestKinds(t *testing.T) {
	tests := []struct {
		doc  string
		want Kind
	}{
		{benchTrust, KindTrust},
		{cdkPolicy, KindIdentity},
		{`{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}`, KindResource},
		{`{"Statement": {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}}`, KindTrust},
		{`not json`, KindIdentity},
	}
	for _, tc := range tests {
		if got := DetectKind([]byte(tc.doc)); got != tc.want {
			t.Errorf("DetectKind(%.40s…) = %v, want %v", tc.doc, got, tc.want)
		}
	}
	for _, name := range []string{"identity", "trust", "resource", "session", "boundary"} {
		k, err := ParseKind(name)
		if err != nil || k.String() != name {
			t.Errorf("ParseKind(%q) = %v, %v", name, k, err)
		}
	}
	if _, err := ParseKind("role"); err == nil {
		t.Error("ParseKind(role) succeeded")
	}
}

package sts_test

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/sts"
)

// fill sets every field of the struct v points to, recursively: strings to
// text that needs escaping, ints to distinct values, pointers to new values.
// A field added to a result type is therefore exercised by the fast-path
// test even before someone remembers to write it.
func fill(v reflect.Value, seed int) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), seed)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), seed*31+i+1)
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("v%d <&>\"'\t\n\r\x01\xff é", seed))
	case reflect.Int:
		v.SetInt(int64(seed) - 1000)
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

type queryXML interface{ MarshalQueryXML(*bytes.Buffer) }

// TestResultXMLFastPath checks that the results' MarshalQueryXML writes
// exactly what encoding/xml writes for them, with every field set and with
// the optional ones left empty.
func TestResultXMLFastPath(t *testing.T) {
	seven := 7
	for _, res := range []queryXML{
		&sts.WebIdentityResult{}, &sts.AssumeRoleResult{},
		&sts.WebIdentityResult{
			Credentials:                 sts.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "s+/=", SessionToken: "tok", Expiration: "2026-01-02T03:04:05Z"},
			SubjectFromWebIdentityToken: "{repo}:{step}", AssumedRoleUser: sts.AssumedRoleUser{AssumedRoleID: "AROA:s", ARN: "arn:aws:sts::1:assumed-role/r/s"},
			Provider: "arn:aws:iam::1:oidc-provider/x", Audience: "ari:cloud:bitbucket::workspace/{u}", SessionTokenSize: 900, SessionTokenUtilization: 21,
		},
		&sts.AssumeRoleResult{PackedPolicySize: &seven, SourceIdentity: "me"},
	} {
		for _, filled := range []bool{false, true} {
			if filled {
				fill(reflect.ValueOf(res).Elem(), 1)
			}
			want, err := awsapi.MarshalXMLContent(reflect.ValueOf(res).Elem().Interface())
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			res.MarshalQueryXML(&got)
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("%T (filled %v):\n got %s\nwant %s", res, filled, got.Bytes(), want)
			}
		}
	}
}

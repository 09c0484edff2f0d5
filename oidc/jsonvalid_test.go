package oidc

import (
	"encoding/json"
	"strings"
	"testing"
)

// jsonValidCases are edge cases of JSON's grammar for validJSON, each judged
// by encoding/json.
func jsonValidCases() []string {
	out := []string{
		"", " ", "{}", "[]", " {} ", "\t\r\n{}\n", "{", "}", "[", "]", "{]", "[}", "{}{}", "{} x", "{},",
		`{"a":1}`, `{"a":1,}`, `{,"a":1}`, `{"a" 1}`, `{"a":}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":1,"b":[1,2,{"c":null}]}`,
		`[1,]`, `[,1]`, `[1 2]`, `[[[]]]`, `[{}]`, `{"":""}`, `{"a":{"b":{}}}`,
		`"x"`, `"`, `"\"`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\u00e9"`, `"\u00E9"`, `"\u00g9"`, `"\u00e"`, `"\x"`, `"\'"`,
		"\"\x00\"", "\"\x1f\"", "\"\x7f\"", "\"\xff\xfe\"", "\"é\"", "\"\t\"", `"\uD800"`,
		"true", "false", "null", "tru", "nul", "truex", "true1", "nulll", "True", "NaN", "Infinity",
		"0", "-0", "01", "-01", "1.", "1.5", ".5", "-", "--1", "+1", "1e", "1e+", "1e5", "1E-5", "1.5e3", "1e5.1", "0x1", "1_000",
		"-1.0e-10", "123456789012345678901234567890", "1 2", "[1e1]", "[-]", `{"a":-}`, "[0.]", "[1.e1]",
		"\u00a0{}", "{}\u00a0", "\x00", "{\"a\":1}\x00",
	}
	for _, d := range []int{maxJSONDepth - 1, maxJSONDepth, maxJSONDepth + 1} {
		out = append(out, strings.Repeat("[", d)+strings.Repeat("]", d))
		out = append(out, strings.Repeat(`{"a":`, d)+"1"+strings.Repeat("}", d))
		out = append(out, strings.Repeat(`[{"a":`, d/2)+"1"+strings.Repeat("}]", d/2))
	}
	return out
}

func TestValidJSON(t *testing.T) {
	for _, s := range jsonValidCases() {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%.60q) = %v, json.Valid %v", s, got, want)
		}
		// Every prefix, too: truncations exercise each end-of-input path.
		if len(s) < 200 {
			for n := range len(s) {
				if got, want := validJSON([]byte(s[:n])), json.Valid([]byte(s[:n])); got != want {
					t.Errorf("validJSON(%q) = %v, json.Valid %v", s[:n], got, want)
				}
			}
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range jsonValidCases() {
		if len(s) < 1000 {
			f.Add([]byte(s))
		}
	}
	f.Add([]byte(`{"iss":"https://x","aud":["a","b"],"exp":2000000000,"https://aws.amazon.com/tags":{"principal_tags":{"k":["v"]}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}

// BenchmarkValidJSON checks a token-sized claims object.
func BenchmarkValidJSON(b *testing.B) {
	payload := []byte(`{"iss":"https://127.0.0.1:35337/2.0/workspaces/acme/pipelines-config/identity/oidc","sub":"{ac31e3a2-5125-5aeb-9e0e-08cb740150f1}:{44ccf075-be5a-439d-996b-f886f140961c}","aud":"ari:cloud:bitbucket::workspace/66442adc-2255-546d-9424-9ee711c01991","iat":1795314167,"exp":1795321367,"jti":"d1e815b2-a9b6-4082-9445-2555d2249b56","repositoryUuid":"{ac31e3a2-5125-5aeb-9e0e-08cb740150f1}","workspaceUuid":"{66442adc-2255-546d-9424-9ee711c01991}","pipelineUuid":"{59b585cb-3411-41aa-89e7-b67f16fba546}","stepUuid":"{44ccf075-be5a-439d-996b-f886f140961c}"}`)
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if !validJSON(payload) {
			b.Fatal("invalid")
		}
	}
}

package policy

import (
	"strings"
	"testing"
)

func TestWebIdentityTrust(t *testing.T) {
	const (
		url  = "127.0.0.1:8400/2.0/workspaces/acme/pipelines-config/identity/oidc"
		prov = "arn:aws:iam::000000000000:oidc-provider/" + url
		aud  = "ari:cloud:bitbucket::workspace/8f2c0a8e-0000-5000-8000-000000000000"
		repo = "{2d1f0c2a-0000-5000-8000-000000000001}"
		env  = "{7b3e1d4c-0000-5000-8000-000000000002}"
	)
	trust := WebIdentityTrust{Sid: "WebProductionOnly", ProviderARN: prov, ProviderURL: "https://" + url, Audience: aud, Subject: repo + ":" + env + ":*"}
	doc, err := trust.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// What keyless demo sent before the builder moved here, byte for byte.
	want := `{"Statement":[{"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + url + `:aud":"` + aud + `"},"StringLike":{"` + url + `:sub":"` + repo + `:` + env + `:*"}},"Effect":"Allow","Principal":{"Federated":"` + prov + `"},"Sid":"WebProductionOnly"}],"Version":"2012-10-17"}`
	if string(doc) != want {
		t.Fatalf("Marshal =\n %s\nwant\n %s", doc, want)
	}
	p, err := Parse(doc, KindTrust)
	if err != nil {
		t.Fatalf("the document is no valid trust policy: %v", err)
	}
	if fs := Lint(p); len(fs) != 0 {
		t.Errorf("lint findings on the document: %+v", fs)
	}

	cases := []struct {
		name, principal, aud, sub string
		want                      Decision
	}{
		{"the environment's step", prov, aud, repo + ":" + env + ":{step}", Allowed},
		{"another repository", prov, aud, "{other}:" + env + ":{step}", ImplicitlyDenied},
		{"a step outside the environment", prov, aud, repo + ":{step}", ImplicitlyDenied},
		{"another audience", prov, "sts.amazonaws.com", repo + ":" + env + ":{step}", ImplicitlyDenied},
		{"another provider", "arn:aws:iam::000000000000:oidc-provider/token.actions.githubusercontent.com", aud, repo + ":" + env + ":{step}", ImplicitlyDenied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := NewContext().Set(url+":aud", tc.aud).Set(url+":sub", tc.sub)
			res := Evaluate(Request{Principal: tc.principal, PrincipalType: "Federated", Action: "sts:AssumeRoleWithWebIdentity", Context: ctx}, Input{Resource: p})
			if res.Decision != tc.want {
				t.Errorf("decision %s, want %s", res.Decision, tc.want)
			}
		})
	}
}

func TestWebIdentityTrustOmitsEmptySid(t *testing.T) {
	doc, err := WebIdentityTrust{ProviderARN: "arn:aws:iam::000000000000:oidc-provider/x", ProviderURL: "x", Audience: "a", Subject: "s"}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc), "Sid") {
		t.Errorf("Marshal = %s, want no Sid", doc)
	}
}

func TestWebIdentityTrustMissingFields(t *testing.T) {
	full := WebIdentityTrust{ProviderARN: "arn:aws:iam::000000000000:oidc-provider/x", ProviderURL: "x", Audience: "a", Subject: "s"}
	cases := []struct {
		name  string
		edit  func(*WebIdentityTrust)
		wants string
	}{
		{"no provider ARN", func(w *WebIdentityTrust) { w.ProviderARN = "" }, "missing ProviderARN"},
		{"no provider URL", func(w *WebIdentityTrust) { w.ProviderURL = "" }, "missing ProviderURL"},
		{"a scheme alone", func(w *WebIdentityTrust) { w.ProviderURL = "https://" }, "missing ProviderURL"},
		{"no audience", func(w *WebIdentityTrust) { w.Audience = "" }, "missing Audience"},
		{"no subject", func(w *WebIdentityTrust) { w.Subject = "" }, "missing Subject"},
		{"nothing", func(w *WebIdentityTrust) { *w = WebIdentityTrust{Sid: "x"} }, "missing ProviderARN, ProviderURL, Audience, Subject"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := full
			tc.edit(&w)
			doc, err := w.Marshal()
			if err == nil || err.Error() != "build web identity trust policy: "+tc.wants {
				t.Fatalf("Marshal = %s, %v; want the error %q", doc, err, tc.wants)
			}
		})
	}
}

package server

import (
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`{"listen":"127.0.0.1:0","issuer":{"token_ttl":"15m","lead_time":3600,"auto_register":false},
		"trusted_proxies":["10.0.0.0/8"],"workspaces":[{"slug":"acme","session_tags":true,"repositories":[{"slug":"web","environments":[{"name":"production"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:0" || time.Duration(c.Issuer.TokenTTL) != 15*time.Minute || time.Duration(c.Issuer.LeadTime) != time.Hour ||
		c.Issuer.AutoRegister == nil || *c.Issuer.AutoRegister || !c.Workspaces[0].SessionTags || c.Workspaces[0].Repositories[0].Environments[0].Name != "production" {
		t.Fatalf("parsed %+v", c)
	}
	for doc, says := range map[string]string{
		`{"lisen":"x"}`:                   `unknown field "lisen"`,
		`{"issuer":{"token_ttl":"soon"}}`: "invalid duration",
		`{} {}`:                           "trailing data",
		`[`:                               "unexpected EOF",
	} {
		if _, err := ParseConfig([]byte(doc)); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("ParseConfig(%s): err %v, want one containing %q", doc, err, says)
		}
	}
}

// FuzzParseConfig: any input is parsed or refused with an error, never a panic.
func FuzzParseConfig(f *testing.F) {
	f.Add(`{"listen":"127.0.0.1:8400","issuer":{"token_ttl":"1h"},"workspaces":[{"slug":"a"}]}`)
	f.Add(`{"trusted_proxies":["::1"],"issuer":{"lead_time":5}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		c, err := ParseConfig([]byte(doc))
		if err != nil && c.Listen != "" {
			t.Fatal("a refused config returned values")
		}
	})
}

package sts_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/session"
	"github.com/keyless-dev/keyless/store"
)

// TestHostileInputs drives the gateway with hostile requests and checks the
// exact AWS error code and HTTP status of each.
func TestHostileInputs(t *testing.T) {
	s := newStack(t)
	role := s.addRole("target", s.trustWeb(""), 3600, nil)
	ci := s.addRole("ci", s.trustWeb(""), 3600, map[string]string{
		"assume": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::` + account + `:role/narrow"}]}`,
	})
	wideTarget := s.addRole("wide-target", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+account+`"},"Action":"sts:AssumeRole"}]}`, 3600, nil)
	key, kid := s.signingKey()
	attackerKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}

	// The attacker's server must never be contacted.
	var attackerHits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attackerHits.Add(1)
		w.Write([]byte(`{"keys":[]}`))
	}))
	defer attacker.Close()

	rsHeader := func(extra map[string]any) map[string]any {
		h := map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	with := func(mod func(map[string]any)) map[string]any {
		c := s.claims()
		mod(c)
		return c
	}
	valid := craft(t, rsHeader(nil), s.claims(), rs256(t, key))
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)

	web := func(token string) string {
		return form("Action", "AssumeRoleWithWebIdentity", "Version", "2011-06-15", "RoleArn", role, "RoleSessionName", "hostile", "WebIdentityToken", token)
	}
	tampered := func() string {
		parts := strings.Split(valid, ".")
		c := with(func(c map[string]any) { c["sub"] = "{evil}:{step}" })
		body, _ := json.Marshal(c)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(body) + "." + parts[2]
	}

	// Credentials for the signed cases.
	sess, err := s.webIdentity(ci, s.mint(issuer.MintRequest{Repository: "web"}))
	if err != nil {
		t.Fatal(err)
	}
	sc := outCreds(sess.Credentials)
	foreignRing, _ := session.NewKeyring(rand.Reader, time.Now())
	foreignTok, err := session.NewSealer(foreignRing, rand.Reader).Seal(session.Claims{
		AccessKeyID: "ASIAFOREIGNFOREIGNAA", SecretAccessKey: strings.Repeat("f", 40), Account: account,
		RoleARN: ci, RoleName: "ci", SessionName: "x", IssuedAt: time.Now(), Expiration: time.Now().Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	gci := form("Action", "GetCallerIdentity", "Version", "2011-06-15")
	flip := func(tok string) string {
		b := []byte(tok)
		i := len(b) / 2
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	root := aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootKey}

	cases := []struct {
		name   string
		do     func() errorReply
		code   string
		status int
		msg    string // substring of the message, if checked
	}{
		{"alg none", func() errorReply {
			return s.post(web(craft(t, map[string]any{"alg": "none", "kid": kid}, s.claims(), nil)), nil)
		}, "InvalidIdentityToken", 400, ""},
		{"HS256 keyed with the RSA public key", func() errorReply {
			return s.post(web(craft(t, map[string]any{"alg": "HS256", "kid": kid}, s.claims(), func(in []byte) []byte {
				m := hmac.New(sha256.New, pubDER)
				m.Write(in)
				return m.Sum(nil)
			})), nil)
		}, "InvalidIdentityToken", 400, ""},
		{"unknown kid", func() errorReply {
			return s.post(web(craft(t, rsHeader(map[string]any{"kid": "no-such-key"}), s.claims(), rs256(t, attackerKey))), nil)
		}, "InvalidIdentityToken", 400, "Couldn't retrieve verification key"},
		{"jku header", func() errorReply {
			return s.post(web(craft(t, rsHeader(map[string]any{"kid": "attacker", "jku": attacker.URL + "/jwks"}), s.claims(), rs256(t, attackerKey))), nil)
		}, "InvalidIdentityToken", 400, ""},
		{"x5u header", func() errorReply {
			return s.post(web(craft(t, rsHeader(map[string]any{"kid": "attacker", "x5u": attacker.URL + "/cert.pem"}), s.claims(), rs256(t, attackerKey))), nil)
		}, "InvalidIdentityToken", 400, ""},
		{"embedded jwk header", func() errorReply {
			jwk := map[string]any{"kty": "RSA", "kid": kid, "n": base64.RawURLEncoding.EncodeToString(attackerKey.N.Bytes()), "e": "AQAB"}
			return s.post(web(craft(t, rsHeader(map[string]any{"jwk": jwk}), s.claims(), rs256(t, attackerKey))), nil)
		}, "InvalidIdentityToken", 400, ""},
		{"published kid, attacker's signature", func() errorReply {
			return s.post(web(craft(t, rsHeader(nil), s.claims(), rs256(t, attackerKey))), nil)
		}, "InvalidIdentityToken", 400, ""},
		{"expired beyond the 5-minute skew", func() errorReply {
			return s.post(web(craft(t, rsHeader(nil), with(func(c map[string]any) { c["exp"] = time.Now().Add(-6 * time.Minute).Unix() }), rs256(t, key))), nil)
		}, "ExpiredTokenException", 400, "Token expired: current date/time"},
		{"wrong aud", func() errorReply {
			return s.post(web(craft(t, rsHeader(nil), with(func(c map[string]any) { c["aud"] = "sts.amazonaws.com" }), rs256(t, key))), nil)
		}, "InvalidIdentityToken", 400, "Incorrect token audience"},
		{"missing aud", func() errorReply {
			return s.post(web(craft(t, rsHeader(nil), with(func(c map[string]any) { delete(c, "aud") }), rs256(t, key))), nil)
		}, "InvalidIdentityToken", 400, "Missing a required claim: aud"},
		{"array aud without the client ID", func() errorReply {
			return s.post(web(craft(t, rsHeader(nil), with(func(c map[string]any) { c["aud"] = []string{"a", "b"} }), rs256(t, key))), nil)
		}, "InvalidIdentityToken", 400, "Incorrect token audience"},
		{"aud of the wrong type", func() errorReply {
			return s.post(web(craft(t, rsHeader(nil), with(func(c map[string]any) { c["aud"] = 42 }), rs256(t, key))), nil)
		}, "InvalidIdentityToken", 400, ""},
		{"unregistered issuer", func() errorReply {
			return s.post(web(craft(t, rsHeader(nil), with(func(c map[string]any) { c["iss"] = "https://evil.example/oidc" }), rs256(t, key))), nil)
		}, "InvalidIdentityToken", 400, "No OpenIDConnect provider found in your account for https://evil.example/oidc"},
		{"trailing-slash issuer", func() errorReply {
			return s.post(web(craft(t, rsHeader(nil), with(func(c map[string]any) { c["iss"] = "https://" + s.providerURL + "/" }), rs256(t, key))), nil)
		}, "InvalidIdentityToken", 400, "No OpenIDConnect provider found"},
		{"http issuer", func() errorReply {
			return s.post(web(craft(t, rsHeader(nil), with(func(c map[string]any) { c["iss"] = "http://" + s.providerURL }), rs256(t, key))), nil)
		}, "InvalidIdentityToken", 400, "No OpenIDConnect provider found"},
		{"oversized token", func() errorReply {
			return s.post(web(valid+strings.Repeat("A", 20001-len(valid))), nil)
		}, "ValidationError", 400, "Value at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000"},
		{"tampered payload", func() errorReply { return s.post(web(tampered()), nil) }, "InvalidIdentityToken", 400, ""},
		{"not a JWT", func() errorReply { return s.post(web("this-is-not-a-jwt"), nil) }, "InvalidIdentityToken", 400, ""},
		{"session tags claim with a multi-valued tag", func() errorReply {
			return s.post(web(craft(t, rsHeader(nil), with(func(c map[string]any) {
				c["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string]any{"k": []string{"a", "b"}}}
			}), rs256(t, key))), nil)
		}, "InvalidIdentityToken", 400, ""},
		{"bad RoleSessionName", func() errorReply {
			return s.post(form("Action", "AssumeRoleWithWebIdentity", "RoleArn", role, "RoleSessionName", "bad name!", "WebIdentityToken", valid), nil)
		}, "ValidationError", 400, "1 validation error detected: Value 'bad name!' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"},
		{"RoleSessionName too short", func() errorReply {
			return s.post(form("Action", "AssumeRoleWithWebIdentity", "RoleArn", role, "RoleSessionName", "x", "WebIdentityToken", valid), nil)
		}, "ValidationError", 400, "Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{"DurationSeconds 899", func() errorReply {
			return s.post(web(valid)+"&DurationSeconds=899", nil)
		}, "ValidationError", 400, "Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{"DurationSeconds 43201", func() errorReply {
			return s.post(web(valid)+"&DurationSeconds=43201", nil)
		}, "ValidationError", 400, "Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"},
		{"missing RoleArn and empty session name", func() errorReply {
			return s.post(form("Action", "AssumeRoleWithWebIdentity", "RoleSessionName", "", "WebIdentityToken", valid), nil)
		}, "ValidationError", 400, "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; Value '' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{"RoleArn not an ARN", func() errorReply {
			return s.post(form("Action", "AssumeRoleWithWebIdentity", "RoleArn", "this-is-not-an-arn-at-all", "RoleSessionName", "ok", "WebIdentityToken", valid), nil)
		}, "ValidationError", 400, "Request ARN is invalid"},
		{"unknown role", func() errorReply {
			return s.post(form("Action", "AssumeRoleWithWebIdentity", "RoleArn", "arn:aws:iam::"+account+":role/ghost", "RoleSessionName", "ok", "WebIdentityToken", valid), nil)
		}, "AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{"role of another account", func() errorReply {
			return s.post(form("Action", "AssumeRoleWithWebIdentity", "RoleArn", "arn:aws:iam::999999999999:role/target", "RoleSessionName", "ok", "WebIdentityToken", valid), nil)
		}, "AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{"ProviderId with an OIDC token", func() errorReply {
			return s.post(web(valid)+"&ProviderId=www.amazon.com", nil)
		}, "InvalidParameterValue", 400, ""},
		{"malformed session policy", func() errorReply {
			return s.post(web(valid)+"&Policy=%7Bnot+json", nil)
		}, "MalformedPolicyDocument", 400, ""},
		{"unknown session policy ARN", func() errorReply {
			return s.post(web(valid)+"&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3A"+account+"%3Apolicy%2Fghost", nil)
		}, "MalformedPolicyDocument", 400, "does not exist"},
		{"eleven PolicyArns", func() errorReply {
			b := web(valid)
			for i := 1; i <= 11; i++ {
				b += "&PolicyArns.member." + strconv.Itoa(i) + ".arn=arn%3Aaws%3Aiam%3A%3A" + account + "%3Apolicy%2Fp" + strconv.Itoa(i)
			}
			return s.post(b, nil)
		}, "ValidationError", 400, "at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10"},
		{"MinimumSessionTokenSize 4097", func() errorReply {
			return s.post(web(valid)+"&MinimumSessionTokenSize=4097", nil)
		}, "ValidationError", 400, "minimumSessionTokenSize"},
		{"AssumeRoleWithSAML", func() errorReply {
			return s.post(form("Action", "AssumeRoleWithSAML", "RoleArn", role, "PrincipalArn", role, "SAMLAssertion", "PHNhbWw+"), nil)
		}, "InvalidParameterValue", 400, ""},
		{"malformed form body", func() errorReply {
			return s.post("Action=AssumeRoleWithWebIdentity&RoleArn=%zz", nil)
		}, "MalformedQueryString", 404, ""},
		{"oversized body", func() errorReply {
			return s.post(web(valid)+"&Pad="+strings.Repeat("x", 70<<10), nil)
		}, "RequestEntityTooLarge", 413, ""},
		{"missing Action", func() errorReply {
			return s.signed(form("Version", "2011-06-15"), root, time.Now())
		}, "MissingAction", 400, ""},
		{"unknown Action, signed", func() errorReply {
			return s.signed(form("Action", "GetSessionTokenX", "Version", "2011-06-15"), root, time.Now())
		}, "InvalidAction", 400, "Could not find operation GetSessionTokenX for version 2011-06-15"},
		{"unknown Action, unsigned", func() errorReply {
			return s.post(form("Action", "GetFederationToken", "Version", "2011-06-15"), nil)
		}, "MissingAuthenticationToken", 403, ""},
		{"AssumeRole without a signature", func() errorReply {
			return s.post(form("Action", "AssumeRole", "RoleArn", role, "RoleSessionName", "x1"), nil)
		}, "MissingAuthenticationToken", 403, ""},
		{"GetCallerIdentity without a signature", func() errorReply { return s.post(gci, nil) }, "MissingAuthenticationToken", 403, ""},
		{"SigV4 replay outside the 15-minute window", func() errorReply {
			return s.signed(gci, sc, time.Now().Add(-16*time.Minute))
		}, "RequestExpired", 400, ""},
		{"wrong secret", func() errorReply {
			c := sc
			c.SecretAccessKey = strings.Repeat("x", 40)
			return s.signed(gci, c, time.Now())
		}, "SignatureDoesNotMatch", 403, ""},
		{"unknown access key", func() errorReply {
			return s.signed(gci, aws.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: rootKey}, time.Now())
		}, "InvalidClientTokenId", 403, ""},
		{"tampered session token", func() errorReply {
			c := sc
			c.SessionToken = flip(c.SessionToken)
			return s.signed(gci, c, time.Now())
		}, "InvalidClientTokenId", 403, ""},
		{"foreign session token", func() errorReply {
			return s.signed(gci, aws.Credentials{AccessKeyID: "ASIAFOREIGNFOREIGNAA", SecretAccessKey: strings.Repeat("f", 40), SessionToken: foreignTok}, time.Now())
		}, "InvalidClientTokenId", 403, ""},
		{"session token of another access key", func() errorReply {
			c := sc
			c.AccessKeyID = "ASIAAAAAAAAAAAAAAAAA"
			return s.signed(gci, c, time.Now())
		}, "InvalidClientTokenId", 403, ""},
		{"expired session credentials", func() errorReply {
			s.clk.Set(2 * time.Hour)
			defer s.clk.Set(0)
			return s.signed(gci, sc, time.Now())
		}, "ExpiredToken", 403, "The security token included in the request is expired"},
		{"session policy trying to widen a chained session", func() errorReply {
			// ci's identity allows sts:AssumeRole only on "narrow"; a session
			// policy of "*" must not let it assume another role.
			wide, err := s.client(nil).AssumeRoleWithWebIdentity(s.ctx, &awssts.AssumeRoleWithWebIdentityInput{
				RoleArn: aws.String(ci), RoleSessionName: aws.String("wide"), WebIdentityToken: aws.String(valid),
				Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`),
			})
			if err != nil {
				t.Fatal(err)
			}
			return s.signed(form("Action", "AssumeRole", "Version", "2011-06-15", "RoleArn", wideTarget, "RoleSessionName", "escalate"), outCreds(wide.Credentials), time.Now())
		}, "AccessDenied", 403, "is not authorized to perform: sts:AssumeRole on resource: " + wideTarget},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.do()
			if r.Code != tc.code || r.Status != tc.status {
				t.Fatalf("got %d %s (%s), want %d %s", r.Status, r.Code, r.Message, tc.status, tc.code)
			}
			if tc.msg != "" && !strings.Contains(r.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", r.Message, tc.msg)
			}
			if strings.Contains(r.Body, sc.SecretAccessKey) || strings.Contains(r.Body, sc.SessionToken) || strings.Contains(r.Body, valid) {
				t.Error("a secret, session token or web identity token is echoed in the reply")
			}
		})
	}
	if n := attackerHits.Load(); n != 0 {
		t.Errorf("the attacker's server got %d requests from jku/x5u/jwk headers", n)
	}

	// Within the skew is accepted; an array aud with the client ID is accepted.
	for name, c := range map[string]map[string]any{
		"expired within skew": with(func(c map[string]any) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() }),
		"array aud":           with(func(c map[string]any) { c["aud"] = []string{"other", s.audience} }),
	} {
		if r := s.post(web(craft(t, rsHeader(nil), c, rs256(t, key))), nil); r.Status != 200 {
			t.Errorf("%s: %d %s %s", name, r.Status, r.Code, r.Message)
		}
	}

	// No token, secret or session token in logs or audit events.
	s.svc.Close()
	var evs []store.AuditEvent
	for deadline := time.Now().Add(5 * time.Second); len(evs) < 30 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if evs, err = s.st.ListAuditEvents(s.ctx, time.Time{}, 0); err != nil {
			t.Fatal(err)
		}
	}
	var all strings.Builder
	for _, e := range evs {
		all.WriteString(e.Caller + e.Role + string(e.Detail))
	}
	all.WriteString(s.logs.String())
	for _, secret := range []string{valid, sc.SecretAccessKey, sc.SessionToken, strings.Split(valid, ".")[2]} {
		if strings.Contains(all.String(), secret) {
			t.Fatal("a secret appears in the logs or audit events")
		}
	}
	if len(evs) < 30 {
		t.Errorf("only %d audit events for the hostile suite", len(evs))
	}
}

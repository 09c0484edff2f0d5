package awsapi

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vectorDir holds the official SigV4 test vectors, vendored from
// awslabs/aws-c-auth (Apache-2.0; see testdata/sigv4/README.md).
const vectorDir = "testdata/sigv4/v4"

type vectorContext struct {
	Credentials struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		Token           string `json:"token"`
	} `json:"credentials"`
	ExpirationInSeconds int    `json:"expiration_in_seconds"`
	Normalize           bool   `json:"normalize"`
	Region              string `json:"region"`
	Service             string `json:"service"`
	SignBody            bool   `json:"sign_body"`
	Timestamp           string `json:"timestamp"`
	OmitSessionToken    bool   `json:"omit_session_token"`
}

// vectorDirs returns the vector directories; the test fails when none is
// found, so that a lost testdata directory cannot pass as zero vectors.
func vectorDirs(t testing.TB) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(vectorDir, "*", "context.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no SigV4 vectors under %s (vendored from awslabs/aws-c-auth)", vectorDir)
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	return dirs
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readVectorContext(t testing.TB, dir string) vectorContext {
	var c vectorContext
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "context.json"))), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// parseRawRequest turns a vector's request file into a server-side
// *http.Request, keeping the request target byte for byte in RequestURI (the
// vectors contain raw spaces and UTF-8 that net/http would not let through).
func parseRawRequest(t testing.TB, raw string) (*http.Request, []byte) {
	t.Helper()
	head, body, _ := strings.Cut(raw, "\n\n")
	lines := strings.Split(strings.TrimRight(head, "\n"), "\n")
	first := lines[0]
	sp1 := strings.IndexByte(first, ' ')
	sp2 := strings.LastIndexByte(first, ' ')
	method, target := first[:sp1], first[sp1+1:sp2]
	path, query, _ := strings.Cut(target, "?")
	r := &http.Request{
		Method:     method,
		RequestURI: target,
		URL:        &url.URL{Path: path, RawQuery: query},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{},
	}
	var lastKey string
	for _, l := range lines[1:] {
		if l != "" && (l[0] == ' ' || l[0] == '\t') {
			vals := r.Header[lastKey]
			vals[len(vals)-1] += "\n" + l
			continue
		}
		k, v, _ := strings.Cut(l, ":")
		lastKey = http.CanonicalHeaderKey(k)
		if lastKey == "Host" {
			r.Host = v
			continue
		}
		r.Header.Add(k, v)
	}
	payload := []byte(body)
	r.ContentLength = int64(len(payload))
	if cl := r.Header.Get("Content-Length"); cl != "" {
		r.ContentLength, _ = strconv.ParseInt(cl, 10, 64)
	}
	return r, payload
}

func vectorRules(c vectorContext) func(string) ServiceRules {
	return func(string) ServiceRules { return ServiceRules{RawPath: !c.Normalize} }
}

// TestSigV4Vectors checks every official vector, both flavours (header and
// query): the canonical request and string to sign we rebuild from the signed
// request match the files byte for byte, the signature we compute matches,
// and a Verifier with the vector's credentials and clock accepts the request
// (and refuses it once the clock or the secret is wrong).
func TestSigV4Vectors(t *testing.T) {
	for _, dir := range vectorDirs(t) {
		c := readVectorContext(t, dir)
		ts, err := time.Parse(time.RFC3339, c.Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		for _, flavour := range []string{"header", "query"} {
			t.Run(filepath.Base(dir)+"/"+flavour, func(t *testing.T) {
				signedPath := filepath.Join(dir, flavour+"-signed-request.txt")
				if _, err := os.Stat(signedPath); err != nil {
					t.Fatalf("vector %s has no %s flavour", dir, flavour)
				}
				r, payload := parseRawRequest(t, readFile(t, signedPath))
				sr, err := parseSignedRequest(r)
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				if got := sr.presigned; got != (flavour == "query") {
					t.Fatalf("presigned = %v", got)
				}
				rules := vectorRules(c)(c.Service)
				ph, err := payloadHashFor(r, sr, rules, payload)
				if err != nil {
					t.Fatal(err)
				}
				exclude := flavour == "query" && c.OmitSessionToken
				canon := canonicalRequest(r, sr, rules, ph, exclude)
				if want := readFile(t, filepath.Join(dir, flavour+"-canonical-request.txt")); canon != want {
					t.Fatalf("canonical request:\n got %q\nwant %q", canon, want)
				}
				sts := stringToSign(sr.dateStr, sr.scope, canon)
				if want := readFile(t, filepath.Join(dir, flavour+"-string-to-sign.txt")); sts != want {
					t.Fatalf("string to sign:\n got %q\nwant %q", sts, want)
				}
				key := deriveSigningKey(c.Credentials.SecretAccessKey, sr.scopeDate, c.Region, c.Service)
				sig := hex.EncodeToString(signString(key, sts))
				if want := strings.TrimSpace(readFile(t, filepath.Join(dir, flavour+"-signature.txt"))); sig != want {
					t.Fatalf("signature %s, want %s", sig, want)
				}

				var gotToken string
				v := &Verifier{
					Now:   func() time.Time { return ts.Add(time.Minute) },
					Rules: vectorRules(c),
					Lookup: CredentialLookupFunc(func(_ context.Context, akid, token string) (Credential, error) {
						if akid != c.Credentials.AccessKeyID {
							return Credential{}, InvalidClientTokenID()
						}
						gotToken = token
						return Credential{SecretAccessKey: c.Credentials.SecretAccessKey, Principal: "p"}, nil
					}),
				}
				auth, err := v.Verify(context.Background(), r, payload)
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if auth.Service != c.Service || auth.Region != c.Region || auth.Principal != "p" || auth.Presigned != (flavour == "query") || !auth.Date.Equal(ts) {
					t.Fatalf("auth = %+v", auth)
				}
				if (c.Credentials.Token != "") != (gotToken != "") || gotToken != "" && gotToken != c.Credentials.Token {
					t.Fatalf("session token passed to lookup = %q, want %q", gotToken, c.Credentials.Token)
				}

				// Same request, wrong secret.
				bad := &Verifier{Now: v.Now, Rules: v.Rules, Lookup: CredentialLookupFunc(func(context.Context, string, string) (Credential, error) {
					return Credential{SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ"}, nil
				})}
				if _, err := bad.Verify(context.Background(), r, payload); !HasCode(err, "SignatureDoesNotMatch") {
					t.Fatalf("wrong secret: %v", err)
				}
				// Same request, replayed long after.
				v.Now = func() time.Time { return ts.Add(2 * time.Hour) }
				if _, err := v.Verify(context.Background(), r, payload); !HasCode(err, "RequestExpired") {
					t.Fatalf("replay: %v", err)
				}
			})
		}
	}
}

// TestSigV4VectorsUnsignedRequest rebuilds each header vector's signature
// from request.txt alone, as a client would sign it, so that our canonical
// form is checked independently of the signed request's Authorization line.
func TestSigV4VectorsUnsignedRequest(t *testing.T) {
	for _, dir := range vectorDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c := readVectorContext(t, dir)
			want := readFile(t, filepath.Join(dir, "header-canonical-request.txt"))
			lines := strings.Split(want, "\n")
			signed := lines[len(lines)-2]
			r, payload := parseRawRequest(t, readFile(t, filepath.Join(dir, "request.txt")))
			ts, _ := time.Parse(time.RFC3339, c.Timestamp)
			date := ts.UTC().Format(TimeFormat)
			r.Header.Set("X-Amz-Date", date)
			if c.Credentials.Token != "" && !c.OmitSessionToken {
				r.Header.Set("X-Amz-Security-Token", c.Credentials.Token)
			}
			if c.SignBody {
				r.Header.Set("X-Amz-Content-Sha256", lines[len(lines)-1])
			}
			sh, err := parseSignedHeaders(signed)
			if err != nil {
				t.Fatal(err)
			}
			pairs, _ := parseQueryPairs(r.URL.RawQuery)
			sr := &signedRequest{sigParams: sigParams{signedHeaders: sh, signedRaw: signed}, pairs: pairs}
			ph, _ := payloadHashFor(r, sr, ServiceRules{}, payload)
			if got := canonicalRequest(r, sr, ServiceRules{RawPath: !c.Normalize}, ph, false); got != want {
				t.Fatalf("canonical request:\n got %q\nwant %q", got, want)
			}
			if !bytes.Contains([]byte(readFile(t, filepath.Join(dir, "header-signed-request.txt"))), []byte(date)) {
				t.Fatal("vector date mismatch")
			}
		})
	}
}

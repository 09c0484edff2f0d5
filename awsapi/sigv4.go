package awsapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SigV4 constants.
const (
	// Algorithm is the only SigV4 algorithm accepted (SigV4a is not).
	Algorithm = "AWS4-HMAC-SHA256"
	// UnsignedPayload is the x-amz-content-sha256 value of an S3 request whose
	// body is not covered by the signature.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	// TimeFormat is the ISO 8601 basic format of X-Amz-Date.
	TimeFormat = "20060102T150405Z"
	// DefaultWindow is how far a signing time may be from the server clock.
	DefaultWindow = 15 * time.Minute
	// MaxPresignExpiry is the longest X-Amz-Expires accepted (seven days).
	MaxPresignExpiry = 7 * 24 * time.Hour

	scopeTerminator = "aws4_request"
	emptySHA256     = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	defaultCacheMax = 4096
)

// Credential is what a CredentialLookup knows about an access key.
type Credential struct {
	// SecretAccessKey is the key the request must have been signed with.
	SecretAccessKey string
	// Principal is opaque to awsapi and handed back in Auth (for example the
	// IAM user, or the opened role session).
	Principal any
}

// CredentialLookup resolves an access key ID (and, for temporary
// credentials, the session token) to its secret. It returns *Error values
// such as InvalidClientTokenID or ExpiredToken, which Verify passes through;
// any other error becomes InternalFailure when written.
type CredentialLookup interface {
	LookupCredential(ctx context.Context, accessKeyID, sessionToken string) (Credential, error)
}

// CredentialLookupFunc adapts a function to CredentialLookup.
type CredentialLookupFunc func(ctx context.Context, accessKeyID, sessionToken string) (Credential, error)

// LookupCredential calls f.
func (f CredentialLookupFunc) LookupCredential(ctx context.Context, accessKeyID, sessionToken string) (Credential, error) {
	return f(ctx, accessKeyID, sessionToken)
}

// Auth describes a request whose signature verified.
type Auth struct {
	AccessKeyID  string
	SessionToken string
	Region       string
	Service      string
	// Date is the signing time (X-Amz-Date, or the Date header).
	Date      time.Time
	Principal any
	// Presigned is true for query-string (presigned URL) authentication.
	Presigned bool
	// PayloadHash is the payload hash the signature covers: the hex SHA-256
	// of the body, UnsignedPayload, or a STREAMING-* value; NewPayloadReader
	// checks the body against it as it streams.
	PayloadHash string
	// SignedHeaders are the lower-case names of the signed headers.
	SignedHeaders []string

	// stream is what the chunk signatures of a signed streaming upload
	// chain from, for NewPayloadReader; nil for other payload hashes. A
	// pointer, so that printing an Auth never shows the signing key.
	stream *streamSeed
}

// RequireService returns the SignatureDoesNotMatch error AWS sends when the
// credential scope names another service, or nil when it names service.
func (a *Auth) RequireService(service string) error {
	if a.Service != service {
		return SignatureDoesNotMatchMsg("Credential should be scoped to correct service: '" + service + "'. ")
	}
	return nil
}

// ServiceRules are the per-service differences in SigV4 canonicalization.
type ServiceRules struct {
	// RawPath: the canonical URI is the path as sent, encoded once and not
	// normalized (S3). Otherwise it is normalized and encoded twice.
	RawPath bool
	// ContentSHA256: the x-amz-content-sha256 header names the payload hash,
	// including UnsignedPayload and STREAMING-* values, and presigned requests
	// are UnsignedPayload by default (S3). Otherwise the payload hash is always
	// computed from the body, so a Query body can never go unsigned.
	ContentSHA256 bool
}

// DefaultServiceRules gives S3's rules to "s3", "s3-object-lambda" and
// "s3express", and the normal rules to every other service.
func DefaultServiceRules(service string) ServiceRules {
	switch service {
	case "s3", "s3-object-lambda", "s3express":
		return ServiceRules{RawPath: true, ContentSHA256: true}
	}
	return ServiceRules{}
}

// Verifier checks AWS Signature Version 4 on incoming requests, header
// signed or presigned. Its zero value is usable once Lookup is set. A
// Verifier must not be copied after first use; it is safe for concurrent use.
type Verifier struct {
	// Lookup resolves access keys to secrets. Required.
	Lookup CredentialLookup
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Window is the allowed distance between the signing time and Now;
	// zero means DefaultWindow (15 minutes).
	Window time.Duration
	// Rules gives the canonicalization rules of a service; nil means
	// DefaultServiceRules.
	Rules func(service string) ServiceRules
	// CacheSize bounds the number of derived signing keys kept; zero means
	// 4096. The cache holds at most about that many entries.
	CacheSize int

	cache keyCache
}

// NewVerifier returns a Verifier with the default clock, window and rules.
func NewVerifier(lookup CredentialLookup) *Verifier {
	return &Verifier{Lookup: lookup}
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) window() time.Duration {
	if v.Window > 0 {
		return v.Window
	}
	return DefaultWindow
}

func (v *Verifier) rules(service string) ServiceRules {
	if v.Rules != nil {
		return v.Rules(service)
	}
	return DefaultServiceRules(service)
}

// sigParams are the parts of a SigV4 signature as sent by the client.
type sigParams struct {
	accessKeyID   string
	scopeDate     string // YYYYMMDD
	region        string
	service       string
	scope         string // date/region/service/aws4_request
	signedHeaders []string
	signedRaw     string // the SignedHeaders value as sent
	signature     string
}

// signedRequest is a parsed (not yet verified) signed request.
type signedRequest struct {
	sigParams
	presigned    bool
	dateStr      string // X-Amz-Date as signed
	date         time.Time
	expires      time.Duration // presigned only
	token        string
	tokenInQuery bool
	pairs        []queryPair
}

// Verify checks the SigV4 signature of r, whose complete body is payload.
// It returns the verified Auth, or an *Error: MissingAuthenticationToken,
// IncompleteSignature, RequestExpired, SignatureDoesNotMatch,
// MalformedQueryString, InvalidArgument (both header and query auth),
// XAmzContentSHA256Mismatch (S3), AccessDenied (expired S3 presigned URL),
// or whatever the CredentialLookup returned (InvalidClientTokenId,
// ExpiredToken…); a lookup error that is not an *Error is wrapped and
// becomes InternalFailure when written. An empty secret from the lookup is
// refused as InvalidClientTokenId. The session token comes from the
// X-Amz-Security-Token header or query parameter and need not be signed.
//
// payload nil means the caller streams the body itself (S3 uploads): the
// hash named by x-amz-content-sha256 is then trusted for the signature and
// the caller must check the body against Auth.PayloadHash.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, payload []byte) (*Auth, error) {
	sr, err := parseSignedRequest(r)
	if err != nil {
		return nil, err
	}
	if err := v.checkTime(sr); err != nil {
		return nil, err
	}
	if v.Lookup == nil {
		return nil, fmt.Errorf("awsapi: verify signature: %w", errNoLookup)
	}
	cred, err := v.Lookup.LookupCredential(ctx, sr.accessKeyID, sr.token)
	if err != nil {
		var ae *Error
		if errors.As(err, &ae) {
			return nil, err
		}
		return nil, fmt.Errorf("awsapi: look up credential: %w", err)
	}
	if cred.SecretAccessKey == "" {
		// Fail closed: an empty secret would let anyone sign.
		return nil, InvalidClientTokenID()
	}
	rules := v.rules(sr.service)
	payloadHash, err := payloadHashFor(r, sr, rules, payload)
	if err != nil {
		return nil, err
	}
	want, err := hex.DecodeString(sr.signature)
	if err != nil || len(want) != sha256.Size {
		return nil, SignatureDoesNotMatch()
	}
	key := v.signingKey(cred.SecretAccessKey, sr.scopeDate, sr.region, sr.service)
	canon := canonicalRequest(r, sr, rules, payloadHash, false)
	ok := hmac.Equal(signString(key, stringToSign(sr.dateStr, sr.scope, canon)), want)
	if !ok && sr.presigned && sr.tokenInQuery {
		// Some signers (IoT, aws-c-auth's omit_session_token) add the token
		// to a presigned URL after signing; see vector post-sts-header-after.
		canon = canonicalRequest(r, sr, rules, payloadHash, true)
		ok = hmac.Equal(signString(key, stringToSign(sr.dateStr, sr.scope, canon)), want)
	}
	if !ok {
		return nil, SignatureDoesNotMatch()
	}
	auth := &Auth{
		AccessKeyID:   sr.accessKeyID,
		SessionToken:  sr.token,
		Region:        sr.region,
		Service:       sr.service,
		Date:          sr.date,
		Principal:     cred.Principal,
		Presigned:     sr.presigned,
		PayloadHash:   payloadHash,
		SignedHeaders: sr.signedHeaders,
	}
	if payloadHash == StreamingSignedPayload || payloadHash == StreamingSignedPayloadTrailer {
		auth.stream = &streamSeed{key: key, seed: want, dateStr: sr.dateStr, scope: sr.scope}
	}
	return auth, nil
}

var errNoLookup = errors.New("no CredentialLookup configured")

// checkTime applies the clock window and, for presigned URLs, the expiry.
func (v *Verifier) checkTime(sr *signedRequest) error {
	now := v.now().UTC()
	w := v.window()
	mins := strconv.FormatInt(int64(w/time.Minute), 10)
	if early := now.Add(-w); !sr.presigned && sr.date.Before(early) {
		return RequestExpired("Signature expired: " + sr.dateStr + " is now earlier than " +
			early.Format(TimeFormat) + " (" + now.Format(TimeFormat) + " - " + mins + " min.)")
	}
	if late := now.Add(w); sr.date.After(late) {
		return RequestExpired("Signature not yet current: " + sr.dateStr + " is still later than " +
			late.Format(TimeFormat) + " (" + now.Format(TimeFormat) + " + " + mins + " min.)")
	}
	if sr.presigned && now.After(sr.date.Add(sr.expires)) {
		if v.rules(sr.service).ContentSHA256 {
			return AccessDenied("Request has expired")
		}
		return RequestExpired("Request has expired.")
	}
	return nil
}

// parseSignedRequest extracts the signature parameters from r without
// verifying anything that needs a clock or a key.
func parseSignedRequest(r *http.Request) (*signedRequest, error) {
	pairs, ok := parseQueryPairs(r.URL.RawQuery)
	if !ok {
		return nil, MalformedQueryString("The query string contains an invalid percent-encoding.")
	}
	authz := r.Header.Values("Authorization")
	presigned := false
	for _, p := range pairs {
		if p.key == "X-Amz-Algorithm" || p.key == "X-Amz-Credential" || p.key == "X-Amz-Signature" {
			presigned = true
			break
		}
	}
	sr := &signedRequest{pairs: pairs, presigned: presigned}
	switch {
	case len(authz) > 0 && presigned:
		return nil, NewError("InvalidArgument", http.StatusBadRequest,
			"Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified")
	case len(authz) > 1:
		return nil, IncompleteSignature("Only one Authorization header is allowed.")
	case len(authz) == 1:
		p, err := parseAuthorization(authz[0])
		if err != nil {
			return nil, err
		}
		sr.sigParams = p
		if err := sr.headerDate(r); err != nil {
			return nil, err
		}
	case presigned:
		if err := sr.parsePresigned(); err != nil {
			return nil, err
		}
	default:
		return nil, MissingAuthenticationToken()
	}
	if sr.dateStr[:8] != sr.scopeDate {
		return nil, SignatureDoesNotMatchMsg("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			sr.scopeDate + "' != '" + sr.dateStr[:8] + "', from '" + sr.dateStr + "'.")
	}
	if tok := r.Header.Values("X-Amz-Security-Token"); len(tok) > 0 {
		if len(tok) > 1 {
			return nil, IncompleteSignature("Only one X-Amz-Security-Token is allowed.")
		}
		sr.token = tok[0]
	}
	for _, p := range pairs {
		if p.key == "X-Amz-Security-Token" {
			if sr.tokenInQuery || sr.token != "" && sr.token != p.value {
				return nil, IncompleteSignature("Only one X-Amz-Security-Token is allowed.")
			}
			sr.token, sr.tokenInQuery = p.value, true
		}
	}
	return sr, nil
}

// headerDate reads the signing time of a header-signed request.
func (sr *signedRequest) headerDate(r *http.Request) error {
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		t, err := time.Parse(TimeFormat, d)
		if err != nil || len(d) != len(TimeFormat) {
			return IncompleteSignature("Date must be in ISO-8601 'basic format'. Got " + sanitize(d, 32) + ". See http://en.wikipedia.org/wiki/ISO_8601")
		}
		sr.date, sr.dateStr = t, d
		return nil
	}
	if d := r.Header.Get("Date"); d != "" {
		t, err := http.ParseTime(d)
		if err != nil {
			return IncompleteSignature("Date header is not a valid HTTP date.")
		}
		sr.date = t.UTC()
		sr.dateStr = sr.date.Format(TimeFormat)
		return nil
	}
	return IncompleteSignature("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
}

// parsePresigned reads the X-Amz-* query parameters of a presigned URL.
func (sr *signedRequest) parsePresigned() error {
	const required = "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders' and 'X-Amz-Expires'."
	var alg, cred, date, expires, signed, sig string
	seen := map[string]bool{}
	for _, p := range sr.pairs {
		var dst *string
		switch p.key {
		case "X-Amz-Algorithm":
			dst = &alg
		case "X-Amz-Credential":
			dst = &cred
		case "X-Amz-Date":
			dst = &date
		case "X-Amz-Expires":
			dst = &expires
		case "X-Amz-SignedHeaders":
			dst = &signed
		case "X-Amz-Signature":
			dst = &sig
		default:
			continue
		}
		if seen[p.key] {
			return IncompleteSignature("Query parameter " + p.key + " appears more than once.")
		}
		seen[p.key] = true
		*dst = p.value
	}
	if alg == "" || cred == "" || date == "" || expires == "" || signed == "" || sig == "" {
		return IncompleteSignature(required)
	}
	if alg != Algorithm {
		return IncompleteSignature("X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256'")
	}
	p, err := parseCredential(cred)
	if err != nil {
		return err
	}
	if p.signedHeaders, err = parseSignedHeaders(signed); err != nil {
		return err
	}
	p.signedRaw, p.signature = signed, sig
	sr.sigParams = p
	t, err := time.Parse(TimeFormat, date)
	if err != nil || len(date) != len(TimeFormat) {
		return IncompleteSignature("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	sr.date, sr.dateStr = t, date
	n, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || n < 0 || expires[0] == '+' {
		return IncompleteSignature("X-Amz-Expires should be a number")
	}
	if n > int64(MaxPresignExpiry/time.Second) {
		return IncompleteSignature("X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	sr.expires = time.Duration(n) * time.Second
	return nil
}

// parseAuthorization parses an "AWS4-HMAC-SHA256 Credential=…,
// SignedHeaders=…, Signature=…" header value.
func parseAuthorization(h string) (sigParams, error) {
	var p sigParams
	h = strings.TrimSpace(h)
	alg, rest, _ := strings.Cut(h, " ")
	if alg != Algorithm {
		if strings.HasPrefix(alg, "AWS4-") || alg == "AWS" {
			return p, IncompleteSignature("Unsupported AWS 'algorithm': " + sanitize(alg, 32) + ". Only AWS4-HMAC-SHA256 is supported.")
		}
		return p, IncompleteSignature("Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.")
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for _, part := range strings.Split(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return p, IncompleteSignature("Authorization header contains a malformed parameter.")
		}
		var dst *string
		var have *bool
		switch strings.TrimSpace(k) {
		case "Credential":
			dst, have = &cred, &haveCred
		case "SignedHeaders":
			dst, have = &signed, &haveSigned
		case "Signature":
			dst, have = &sig, &haveSig
		default:
			continue
		}
		if *have {
			return p, IncompleteSignature("Authorization header parameter " + strings.TrimSpace(k) + " appears more than once.")
		}
		*dst, *have = strings.TrimSpace(val), true
	}
	var missing []string
	if cred == "" {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if sig == "" {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if signed == "" {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	if len(missing) > 0 {
		return p, IncompleteSignature(strings.Join(missing, " "))
	}
	p, err := parseCredential(cred)
	if err != nil {
		return p, err
	}
	if p.signedHeaders, err = parseSignedHeaders(signed); err != nil {
		return p, err
	}
	p.signedRaw, p.signature = signed, sig
	return p, nil
}

// parseCredential splits "AKID/YYYYMMDD/region/service/aws4_request".
func parseCredential(c string) (sigParams, error) {
	var p sigParams
	parts := strings.Split(c, "/")
	if len(parts) != 5 {
		return p, IncompleteSignature("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got " + sanitize(c, 128))
	}
	for _, s := range parts {
		if s == "" {
			return p, IncompleteSignature("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got " + sanitize(c, 128))
		}
	}
	if parts[4] != scopeTerminator {
		return p, SignatureDoesNotMatchMsg("Credential should be scoped with a valid terminator: 'aws4_request', not " + sanitize(parts[4], 32) + ".")
	}
	if len(parts[1]) != 8 || strings.Trim(parts[1], "0123456789") != "" {
		return p, IncompleteSignature("Credential date must be in the format YYYYMMDD, got " + sanitize(parts[1], 32) + ".")
	}
	p.accessKeyID, p.scopeDate, p.region, p.service = parts[0], parts[1], parts[2], parts[3]
	p.scope = c[len(parts[0])+1:]
	return p, nil
}

// parseSignedHeaders splits the SignedHeaders list; it must name host.
func parseSignedHeaders(s string) ([]string, error) {
	names := strings.Split(s, ";")
	host := false
	for i, n := range names {
		if n == "" || strings.ContainsAny(n, " \t\r\n:") {
			return nil, IncompleteSignature("SignedHeaders must be a semicolon-separated list of header names.")
		}
		names[i] = strings.ToLower(n)
		if names[i] == "host" {
			host = true
		}
	}
	if !host {
		return nil, SignatureDoesNotMatchMsg("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return names, nil
}

// payloadHashFor decides the payload hash that goes into the canonical request.
func payloadHashFor(r *http.Request, sr *signedRequest, rules ServiceRules, payload []byte) (string, error) {
	computed := func() string {
		if len(payload) == 0 {
			return emptySHA256
		}
		sum := sha256.Sum256(payload)
		return hex.EncodeToString(sum[:])
	}
	if !rules.ContentSHA256 {
		return computed(), nil
	}
	declared := r.Header.Get("X-Amz-Content-Sha256")
	if declared == "" && sr.presigned {
		for _, p := range sr.pairs {
			if p.key == "X-Amz-Content-Sha256" {
				declared = p.value
			}
		}
		if declared == "" {
			return UnsignedPayload, nil
		}
	}
	switch {
	case declared == "":
		if payload == nil {
			return "", NewError("InvalidRequest", http.StatusBadRequest, "Missing required header for this request: x-amz-content-sha256")
		}
		return computed(), nil
	case declared == UnsignedPayload || strings.HasPrefix(declared, "STREAMING-"):
		return declared, nil
	case len(declared) == 64 && strings.Trim(declared, "0123456789abcdef") == "":
		if payload != nil && computed() != declared {
			return "", NewError("XAmzContentSHA256Mismatch", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
		return declared, nil
	default:
		return "", NewError("InvalidArgument", http.StatusBadRequest, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.")
	}
}

// canonicalRequest builds the canonical request of a parsed signed request.
// excludeToken leaves X-Amz-Security-Token out of the canonical query.
func canonicalRequest(r *http.Request, sr *signedRequest, rules ServiceRules, payloadHash string, excludeToken bool) string {
	var b strings.Builder
	b.Grow(256 + len(r.URL.RawQuery))
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(rawRequestPath(r), !rules.RawPath))
	b.WriteByte('\n')
	var skip func(string) bool
	if sr.presigned {
		skip = func(k string) bool {
			return k == "X-Amz-Signature" || excludeToken && k == "X-Amz-Security-Token"
		}
	}
	b.WriteString(canonicalQuery(sr.pairs, skip))
	b.WriteByte('\n')
	writeCanonicalHeaders(&b, r, sr.signedHeaders)
	b.WriteByte('\n')
	b.WriteString(sr.signedRaw)
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// stringToSign builds the SigV4 string to sign.
func stringToSign(dateStr, scope, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	var b strings.Builder
	b.Grow(len(Algorithm) + len(dateStr) + len(scope) + 3 + 64)
	b.WriteString(Algorithm)
	b.WriteByte('\n')
	b.WriteString(dateStr)
	b.WriteByte('\n')
	b.WriteString(scope)
	b.WriteByte('\n')
	var h [64]byte
	hex.Encode(h[:], sum[:])
	b.Write(h[:])
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func signString(key []byte, s string) []byte { return hmacSHA256(key, s) }

// deriveSigningKey computes kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func deriveSigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, scopeTerminator)
}

func (v *Verifier) signingKey(secret, date, region, service string) []byte {
	k := keyCacheKey{secret: secret, date: date, region: region, service: service}
	if key, ok := v.cache.get(k); ok {
		return key
	}
	key := deriveSigningKey(secret, date, region, service)
	limit := v.CacheSize
	if limit <= 0 {
		limit = defaultCacheMax
	}
	v.cache.put(k, key, limit)
	return key
}

// keyCacheKey identifies a derived signing key. The secret is part of the key
// so that a rotated secret can never reuse a stale entry.
type keyCacheKey struct {
	secret, date, region, service string
}

// keyCache is a bounded two-generation cache: entries go into the current
// map; when it holds limit/2 entries it becomes the previous map and the old
// previous one is dropped. Hits in the previous map are promoted.
type keyCache struct {
	mu        sync.Mutex
	cur, prev map[keyCacheKey][]byte
}

func (c *keyCache) get(k keyCacheKey) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if key, ok := c.cur[k]; ok {
		return key, true
	}
	if key, ok := c.prev[k]; ok {
		if c.cur == nil {
			c.cur = make(map[keyCacheKey][]byte)
		}
		c.cur[k] = key
		delete(c.prev, k)
		return key, true
	}
	return nil, false
}

func (c *keyCache) put(k keyCacheKey, key []byte, limit int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	half := limit / 2
	if half < 1 {
		half = 1
	}
	if len(c.cur) >= half {
		c.prev, c.cur = c.cur, nil
	}
	if c.cur == nil {
		c.cur = make(map[keyCacheKey][]byte)
	}
	c.cur[k] = key
}

func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.prev)
}

// ParseScope reads only the credential scope of a signed request, from the
// Authorization header or the X-Amz-Credential query parameter, so that a
// request can be routed by service before it is verified. It verifies
// nothing; ok is false when r carries no well-formed scope.
func ParseScope(r *http.Request) (service, region string, ok bool) {
	var cred string
	if h := r.Header.Get("Authorization"); h != "" {
		i := strings.Index(h, "Credential=")
		if i < 0 {
			return "", "", false
		}
		cred = h[i+len("Credential="):]
		if j := strings.IndexAny(cred, ", "); j >= 0 {
			cred = cred[:j]
		}
	} else {
		q := r.URL.RawQuery
		for q != "" {
			var part string
			part, q, _ = strings.Cut(q, "&")
			if v, found := strings.CutPrefix(part, "X-Amz-Credential="); found {
				dv, good := unescapeQuery(v)
				if !good {
					return "", "", false
				}
				cred = dv
				break
			}
		}
	}
	if cred == "" {
		return "", "", false
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[2] == "" || parts[3] == "" || parts[4] != scopeTerminator {
		return "", "", false
	}
	return parts[3], parts[2], true
}

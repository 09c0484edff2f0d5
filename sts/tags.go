package sts

import (
	"sort"
	"strconv"

	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/session"
)

// tokenTags reads the session-tags claim of a web identity token:
//
//	"https://aws.amazon.com/tags": {
//	  "principal_tags": {"K": ["v"], …},
//	  "transitive_tag_keys": ["K", …]
//	}
//
// AWS's rules: each tag value is an array of exactly one string; at most 50
// tags; keys 1–128 and values 0–256 characters of the tag alphabet; keys are
// unique case-insensitively; transitive keys must be tags of the token. JSON
// objects have no order, so the tags are returned sorted by key. A claim
// that breaks a rule is refused with InvalidIdentityToken (the message is
// ours).
//
// raw and ok are the claim as oidc.Token.Claim returns it.
func tokenTags(raw any, ok bool) ([]session.Tag, []string, error) {
	if !ok || raw == nil {
		return nil, nil, nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, nil, invalidTokenClaim("The session tags claim " + ClaimSessionTags + " must be a JSON object.")
	}
	var tags []session.Tag
	if pt, ok := obj["principal_tags"]; ok && pt != nil {
		m, ok := pt.(map[string]any)
		if !ok {
			return nil, nil, invalidTokenClaim("principal_tags in the session tags claim must be a JSON object.")
		}
		if len(m) > maxTags {
			return nil, nil, invalidTokenClaim("The session tags claim has " + strconv.Itoa(len(m)) + " principal tags; at most " + strconv.Itoa(maxTags) + " are allowed.")
		}
		tags = make([]session.Tag, 0, len(m))
		for k, v := range m {
			arr, ok := v.([]any)
			if !ok || len(arr) != 1 {
				return nil, nil, invalidTokenClaim("The value of principal tag " + strconv.Quote(echo(k)) + " must be an array of exactly one string.")
			}
			val, ok := arr[0].(string)
			if !ok {
				return nil, nil, invalidTokenClaim("The value of principal tag " + strconv.Quote(echo(k)) + " must be an array of exactly one string.")
			}
			if err := checkTag(k, val); err != nil {
				return nil, nil, err
			}
			tags = append(tags, session.Tag{Key: k, Value: val})
		}
		sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
		if k, dup := tagKeysConflict(tags); dup {
			return nil, nil, invalidTokenClaim("Principal tag key " + strconv.Quote(k) + " appears twice (tag keys are case-insensitive).")
		}
	}
	var transitive []string
	if tk, ok := obj["transitive_tag_keys"]; ok && tk != nil {
		arr, ok := tk.([]any)
		if !ok {
			return nil, nil, invalidTokenClaim("transitive_tag_keys in the session tags claim must be an array of strings.")
		}
		if len(arr) > maxTags {
			return nil, nil, invalidTokenClaim("The session tags claim has more than " + strconv.Itoa(maxTags) + " transitive tag keys.")
		}
		for _, x := range arr {
			k, ok := x.(string)
			if !ok {
				return nil, nil, invalidTokenClaim("transitive_tag_keys in the session tags claim must be an array of strings.")
			}
			if !hasTagKey(tags, k) {
				return nil, nil, invalidTokenClaim("Transitive tag key " + strconv.Quote(echo(k)) + " is not a principal tag of the token.")
			}
			transitive = append(transitive, k)
		}
	}
	return tags, transitive, nil
}

// checkTag applies the tag key and value constraints.
func checkTag(k, v string) error {
	if n := javaLen(k); n < 1 || n > maxTagKeyLen || !allChars(k, isTagChar) {
		return invalidTokenClaim("Principal tag key " + strconv.Quote(echo(k)) + " must be 1 to 128 characters matching " + patternTagKey + ".")
	}
	if n := javaLen(v); n > maxTagValueLen || !allChars(v, isTagChar) {
		return invalidTokenClaim("The value of principal tag " + strconv.Quote(k) + " must be at most 256 characters matching " + patternTagValue + ".")
	}
	return nil
}

func allChars(s string, ok func(rune) bool) bool {
	for _, c := range s {
		if !ok(c) {
			return false
		}
	}
	return true
}

func hasTagKey(tags []session.Tag, k string) bool {
	for _, t := range tags {
		if t.Key == k {
			return true
		}
	}
	return false
}

// tokenSourceIdentity reads the source-identity claim: a string of 2–64
// characters of [\w+=,.@-]. Violations are InvalidIdentityToken (message
// ours). raw and ok are the claim as oidc.Token.Claim returns it.
func tokenSourceIdentity(raw any, ok bool) (string, error) {
	if !ok || raw == nil {
		return "", nil
	}
	s, ok := raw.(string)
	if !ok || javaLen(s) < 2 || javaLen(s) > 64 || !allChars(s, isNameChar) {
		return "", invalidTokenClaim("The source identity claim " + ClaimSourceIdentity + " must be a string of 2 to 64 characters matching " + patternName + ".")
	}
	return s, nil
}

// TokenSession is what a web identity token asks of its role session beyond
// the role: session tags (the claim https://aws.amazon.com/tags) and a source
// identity (https://aws.amazon.com/source_identity). Each needs the role's
// trust policy to allow one more action (TrustActions).
type TokenSession struct {
	Tags           []session.Tag
	TransitiveTags []string
	SourceIdentity string
}

// ReadTokenSession reads a token's session claims as AssumeRoleWithWebIdentity
// does; claim returns a claim's value and whether the token has it
// (oidc.Token.Claim). An error is the InvalidIdentityToken STS answers.
func ReadTokenSession(claim func(name string) (any, bool)) (TokenSession, error) {
	var ts TokenSession
	var err error
	if ts.Tags, ts.TransitiveTags, err = tokenTags(claim(ClaimSessionTags)); err != nil {
		return TokenSession{}, err
	}
	if ts.SourceIdentity, err = tokenSourceIdentity(claim(ClaimSourceIdentity)); err != nil {
		return TokenSession{}, err
	}
	return ts, nil
}

// TrustActions appends to buf the actions the role's trust policy must allow
// for such a token, in the order STS checks them:
// sts:AssumeRoleWithWebIdentity, then sts:TagSession when it carries tags and
// sts:SetSourceIdentity when it carries a source identity.
func (ts TokenSession) TrustActions(buf []string) []string {
	buf = append(buf, actAssumeWebIdentity)
	if len(ts.Tags) > 0 {
		buf = append(buf, actTagSession)
	}
	if ts.SourceIdentity != "" {
		buf = append(buf, actSetSourceIdentity)
	}
	return buf
}

// SetKeys sets in c the request's condition keys of the session's tags
// (aws:RequestTag/<key>, aws:TagKeys, sts:TransitiveTagKeys) and source
// identity (sts:SourceIdentity).
func (ts TokenSession) SetKeys(c policy.Context) {
	addRequestTags(c, ts.Tags, ts.TransitiveTags)
	if ts.SourceIdentity != "" {
		c.Set("sts:SourceIdentity", ts.SourceIdentity)
	}
}

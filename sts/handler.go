package sts

import (
	"context"
	"net/http"
	"strconv"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/gateway"
	"github.com/keyless-dev/keyless/session"
)

// stsVersion is the API version of STS; it appears in InvalidAction messages.
const stsVersion = "2011-06-15"

// Serve performs one STS call (gateway.QueryService). It decodes and validates
// the parameters, runs the core and returns the value the gateway encodes
// inside <ActionResult>, or an *awsapi.Error.
func (s *Service) Serve(ctx context.Context, call *gateway.Call) (any, error) {
	meta := Meta{RequestID: call.RequestID, SourceIP: call.SourceIP, Secure: call.Secure}
	if call.Sig != nil {
		meta.Region = call.Sig.Region
	}
	switch call.Action {
	case ActionAssumeRoleWithWebIdentity:
		req, err := decodeWebIdentity(call.Query)
		if err != nil {
			s.recordInvalid(meta, call.Action, "", err)
			return nil, err
		}
		return s.AssumeRoleWithWebIdentity(ctx, req, meta)
	case ActionAssumeRole:
		if call.Caller == nil {
			return nil, awsapi.MissingAuthenticationToken()
		}
		req, err := decodeAssumeRole(call.Query)
		if err != nil {
			s.recordInvalid(meta, call.Action, call.Caller.ARN, err)
			return nil, err
		}
		req.Caller = call.Caller
		return s.AssumeRole(ctx, req, meta)
	case ActionGetCallerIdentity:
		if call.Caller == nil {
			return nil, awsapi.MissingAuthenticationToken()
		}
		return s.GetCallerIdentity(ctx, call.Caller, meta)
	case ActionAssumeRoleWithSAML:
		err := awsapi.NewError("InvalidParameterValue", http.StatusBadRequest,
			"AssumeRoleWithSAML is not supported by keyless: use AssumeRoleWithWebIdentity with an OpenID Connect provider.")
		s.recordInvalid(meta, call.Action, "", err)
		return nil, err
	}
	return nil, awsapi.InvalidAction(call.Action, stsVersion)
}

// recordInvalid audits a request refused before any decision was reached.
func (s *Service) recordInvalid(meta Meta, action, caller string, err error) {
	e := awsapi.AsError(err)
	s.record(audit.Event{
		RequestID: meta.RequestID, Action: action, Caller: caller, Decision: audit.Failed,
		SourceIP: addrString(meta), ErrorCode: e.Code, Reason: e.Message,
	})
}

// decodeWebIdentity reads and validates AssumeRoleWithWebIdentity's
// parameters in the order of the service model.
func decodeWebIdentity(q awsapi.QueryRequest) (WebIdentityRequest, error) {
	var v violations
	var req WebIdentityRequest
	var has bool
	req.RoleARN, has = param(q, "RoleArn")
	v.str(ruleRoleARN(), req.RoleARN, has)
	req.RoleSessionName, has = param(q, "RoleSessionName")
	v.str(ruleSessionName(), req.RoleSessionName, has)
	req.WebIdentityToken, has = param(q, "WebIdentityToken")
	v.str(ruleToken(), req.WebIdentityToken, has)
	providerID, hasProvider := param(q, "ProviderId")
	v.str(ruleProviderID(), providerID, hasProvider)
	req.PolicyARNs = decodePolicyARNs(&v, q)
	req.Policy, has = param(q, "Policy")
	v.str(rulePolicy(), req.Policy, has)
	duration, has := param(q, "DurationSeconds")
	req.DurationSeconds, _ = v.integer("durationSeconds", duration, has, minDuration, maxDuration)
	minSize, has := param(q, "MinimumSessionTokenSize")
	req.MinimumSessionTokenSize, _ = v.integer("minimumSessionTokenSize", minSize, has, 0, session.MaxTokenSize)
	if err := v.err(); err != nil {
		return req, err
	}
	if hasProvider {
		// AWS: "Do not specify this value for OpenID Connect ID tokens"; keyless
		// federates OIDC only. The code and text are our choice.
		return req, awsapi.InvalidParameterValue("ProviderId is only for OAuth 2.0 access tokens from www.amazon.com or graph.facebook.com; omit it for OpenID Connect ID tokens.")
	}
	return req, nil
}

// param is q.Get(name) and q.Has(name) with one lookup.
func param(q awsapi.QueryRequest, name string) (value string, present bool) {
	vs, present := q.Values[name]
	if len(vs) > 0 {
		value = vs[0]
	}
	return value, present
}

// decodeAssumeRole reads and validates AssumeRole's parameters.
func decodeAssumeRole(q awsapi.QueryRequest) (AssumeRoleRequest, error) {
	var v violations
	var req AssumeRoleRequest
	req.RoleARN = q.Get("RoleArn")
	v.str(ruleRoleARN(), req.RoleARN, q.Has("RoleArn"))
	req.RoleSessionName = q.Get("RoleSessionName")
	v.str(ruleSessionName(), req.RoleSessionName, q.Has("RoleSessionName"))
	req.PolicyARNs = decodePolicyARNs(&v, q)
	req.Policy = q.Get("Policy")
	v.str(rulePolicy(), req.Policy, q.Has("Policy"))
	req.DurationSeconds, _ = v.integer("durationSeconds", q.Get("DurationSeconds"), q.Has("DurationSeconds"), minDuration, maxDuration)
	req.Tags = decodeTags(&v, q)
	req.TransitiveTagKeys = awsapi.Strings(q.Values, "TransitiveTagKeys")
	v.listLen("transitiveTagKeys", req.TransitiveTagKeys, maxTags)
	for i, k := range req.TransitiveTagKeys {
		r := strRule{member: "transitiveTagKeys." + strconv.Itoa(i+1) + ".member", min: 1, max: maxTagKeyLen, pattern: patternTagKey, match: isTagChar}
		v.str(r, k, true)
	}
	req.ExternalID = q.Get("ExternalId")
	v.str(ruleExternalID(), req.ExternalID, q.Has("ExternalId"))
	v.str(ruleSerial(), q.Get("SerialNumber"), q.Has("SerialNumber"))
	v.str(ruleTokenCode(), q.Get("TokenCode"), q.Has("TokenCode"))
	req.MFA = q.Has("SerialNumber") || q.Has("TokenCode")
	req.SourceIdentity = q.Get("SourceIdentity")
	v.str(ruleSourceID(), req.SourceIdentity, q.Has("SourceIdentity"))
	req.MinimumSessionTokenSize, _ = v.integer("minimumSessionTokenSize", q.Get("MinimumSessionTokenSize"), q.Has("MinimumSessionTokenSize"), 0, session.MaxTokenSize)
	return req, v.err()
}

// decodePolicyARNs reads PolicyArns.member.N.arn.
func decodePolicyARNs(v *violations, q awsapi.QueryRequest) []string {
	members := awsapi.Members(q.Values, "PolicyArns")
	arns := make([]string, 0, len(members))
	for i, m := range members {
		arn, ok := m["arn"]
		r := ruleRoleARN()
		r.member, r.required = "policyArns."+strconv.Itoa(i+1)+".member.arn", false
		v.str(r, arn, ok)
		if ok {
			arns = append(arns, arn)
		}
	}
	v.listLen("policyArns", arns, maxPolicyARNs)
	if len(arns) == 0 {
		return nil
	}
	return arns
}

// decodeTags reads Tags.member.N.Key/Value.
func decodeTags(v *violations, q awsapi.QueryRequest) []session.Tag {
	members := awsapi.Members(q.Values, "Tags")
	if len(members) == 0 {
		return nil
	}
	tags := make([]session.Tag, 0, len(members))
	keys := make([]string, 0, len(members))
	for i, m := range members {
		prefix := "tags." + strconv.Itoa(i+1) + ".member."
		k, hasK := m["Key"]
		val, hasV := m["Value"]
		v.str(strRule{member: prefix + "key", required: true, min: 1, max: maxTagKeyLen, pattern: patternTagKey, match: isTagChar}, k, hasK)
		v.str(strRule{member: prefix + "value", required: true, max: maxTagValueLen, pattern: patternTagValue, match: isTagChar}, val, hasV)
		tags = append(tags, session.Tag{Key: k, Value: val})
		keys = append(keys, k)
	}
	v.listLen("tags", keys, maxTags)
	return tags
}

func addrString(m Meta) string {
	if !m.SourceIP.IsValid() {
		return ""
	}
	return m.SourceIP.String()
}

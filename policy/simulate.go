package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Simulation is the input document of "keyless policy simulate":
//
//	{"request": {"principal": "…", "action": "…", "resource": "…", "context": {"key": "v" | ["v1", "v2"]}},
//	 "identityPolicies": [ … ], "resourcePolicy": { … }, "sessionPolicy": { … }, "permissionsBoundary": { … }}
//
// Every field but request is optional. A policy may be given as a JSON object or as
// a string holding the document.
type Simulation struct {
	// Request is the request to decide.
	Request SimulationRequest `json:"request"`
	// IdentityPolicies are the caller's identity policies.
	IdentityPolicies []json.RawMessage `json:"identityPolicies,omitempty"`
	// ResourcePolicy is the resource or trust policy; its kind is detected.
	ResourcePolicy json.RawMessage `json:"resourcePolicy,omitempty"`
	// SessionPolicy is the session policy.
	SessionPolicy json.RawMessage `json:"sessionPolicy,omitempty"`
	// PermissionsBoundary is the permissions boundary.
	PermissionsBoundary json.RawMessage `json:"permissionsBoundary,omitempty"`
	// CrossAccount evaluates with the cross-account logic (see [Input]).
	CrossAccount bool `json:"crossAccount,omitempty"`
}

// SimulationRequest is the request part of a [Simulation].
type SimulationRequest struct {
	// Principal is the caller (see [Request]).
	Principal string `json:"principal"`
	// PrincipalType optionally restricts principal matching (see [Request]).
	PrincipalType string `json:"principalType,omitempty"`
	// Action is the action to authorize.
	Action string `json:"action"`
	// Resource is the resource ARN.
	Resource string `json:"resource,omitempty"`
	// Context maps condition keys to one value or a list of values.
	Context map[string]ContextValues `json:"context,omitempty"`
}

// ContextValues is one or many condition values; it decodes from a string, a
// number, a boolean or an array of those.
type ContextValues []string

// UnmarshalJSON decodes a scalar or an array of scalars.
func (v *ContextValues) UnmarshalJSON(b []byte) error {
	if kindOf(b) == "array" {
		var list []json.RawMessage
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		out := ContextValues{}
		for _, el := range list {
			s, err := scalarOrList(el)
			if err != nil || kindOf(el) == "array" {
				return errors.New("context values must be strings, numbers or booleans")
			}
			out = append(out, s...)
		}
		*v = out
		return nil
	}
	s, err := scalarOrList(b)
	if err != nil {
		return errors.New("a context value must be a string, number, boolean or a list of them")
	}
	*v = s
	return nil
}

// ParseSimulation decodes a simulation document strictly: unknown fields are errors
// and the request needs an action.
func ParseSimulation(data []byte) (*Simulation, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Simulation
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("invalid simulation input: %w", err)
	}
	if dec.More() {
		return nil, errors.New("invalid simulation input: trailing data after the document")
	}
	if s.Request.Action == "" {
		return nil, errors.New(`invalid simulation input: "request.action" is required`)
	}
	return &s, nil
}

// Policies parses the simulation's policies into an [Input].
func (s *Simulation) Policies() (Input, error) {
	in := Input{CrossAccount: s.CrossAccount}
	for i, raw := range s.IdentityPolicies {
		p, err := parseEmbedded(raw, KindIdentity, "identityPolicies["+strconv.Itoa(i)+"]")
		if err != nil {
			return in, err
		}
		in.Identity = append(in.Identity, p)
	}
	var err error
	if in.Resource, err = parseEmbedded(s.ResourcePolicy, 0, "resourcePolicy"); err != nil {
		return in, err
	}
	if in.Session, err = parseEmbedded(s.SessionPolicy, KindSession, "sessionPolicy"); err != nil {
		return in, err
	}
	if in.Boundary, err = parseEmbedded(s.PermissionsBoundary, KindBoundary, "permissionsBoundary"); err != nil {
		return in, err
	}
	return in, nil
}

// Run parses the policies and evaluates the request with a full trace.
func (s *Simulation) Run() (Result, error) {
	in, err := s.Policies()
	if err != nil {
		return Result{}, err
	}
	ctx := NewContext()
	for k, v := range s.Request.Context {
		ctx.Add(k, v...)
	}
	req := Request{Principal: s.Request.Principal, PrincipalType: s.Request.PrincipalType, Action: s.Request.Action, Resource: s.Request.Resource, Context: ctx}
	return Evaluate(req, in), nil
}

// parseEmbedded parses a policy given as an object or as a JSON string; kind 0
// means detect trust or resource. A missing or null policy is nil.
func parseEmbedded(raw json.RawMessage, kind Kind, where string) (*Policy, error) {
	if len(bytes.TrimSpace(raw)) == 0 || kindOf(raw) == "null" {
		return nil, nil
	}
	doc := []byte(raw)
	if kindOf(raw) == "string" {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		doc = []byte(s)
	}
	if kind == 0 {
		kind = DetectKind(doc)
		if kind == KindIdentity {
			kind = KindResource
		}
	}
	p, err := Parse(doc, kind)
	if err != nil {
		return nil, fmt.Errorf("%s (%s policy): %w", where, kind, err)
	}
	return p, nil
}

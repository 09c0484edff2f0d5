package cloudformation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/provision"
	"github.com/keyless-dev/keyless/provision/render"
)

// ParametersFileName is the name of the per-account parameters file of a
// StackSet rendering.
const ParametersFileName = "stackset-parameters.json"

// thumbprintsParameter names the template parameter holding the thumbprints of
// the provider with logical ID id.
func thumbprintsParameter(id string) string { return id + "Thumbprints" }

// Parameter is one template parameter value, as the AWS CLI's
// --parameter-overrides takes it.
type Parameter struct {
	// ParameterKey is the parameter's name in the template.
	ParameterKey string
	// ParameterValue is its value.
	ParameterValue string
}

// StackInstance is one entry of the parameters file: an account to create a
// stack instance in and the parameter values of its stack.
type StackInstance struct {
	// Account is the target account's id.
	Account string
	// ParameterOverrides are the values of every template parameter for that
	// account; the config's values, to edit where an account differs.
	ParameterOverrides []Parameter
}

// Parameters returns the parameters of the template of st with the config's
// values, in template order.
func Parameters(st *provision.State) ([]Parameter, error) {
	pids, _, err := IDs(st)
	if err != nil {
		return nil, err
	}
	out := []Parameter{}
	for i, p := range st.Providers {
		if len(p.Thumbprints) > 0 {
			out = append(out, Parameter{ParameterKey: thumbprintsParameter(pids[i]), ParameterValue: strings.Join(p.Thumbprints, ",")})
		}
	}
	return out, nil
}

// StackSet renders st for a CloudFormation StackSet deployed to accounts: the
// template of [Template], in which every ARN of the deploying account is
// ${AWS::AccountId}, so one template serves every account, and
// stackset-parameters.json, one [StackInstance] per account in account order
// (an empty list for none: accounts of an organizational unit are found where
// the StackSet is deployed).
// st must leave the account to deploy time (no "account" in the config).
func StackSet(st *provision.State, accounts []string) ([]render.File, error) {
	if st != nil && st.Account != "" {
		return nil, fmt.Errorf("render: the config names account %s, so its ARNs cannot follow each account of a StackSet: leave account out", st.Account)
	}
	tmpl, err := Template(st)
	if err != nil {
		return nil, err
	}
	params, err := Parameters(st)
	if err != nil {
		return nil, err
	}
	sorted := slices.Clone(accounts)
	slices.Sort(sorted)
	instances := make([]StackInstance, 0, len(sorted))
	for i, a := range sorted {
		if i > 0 && sorted[i-1] == a {
			return nil, fmt.Errorf("render: account %s is listed twice", a)
		}
		instances = append(instances, StackInstance{Account: a, ParameterOverrides: params})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(instances); err != nil {
		return nil, fmt.Errorf("render the StackSet parameters: %w", err)
	}
	return []render.File{{Name: FileName, Data: tmpl}, {Name: ParametersFileName, Data: b.Bytes()}}, nil
}

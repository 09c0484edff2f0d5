// Package render defines how the desired IAM state of a keyless.yaml
// ([provision.State]) is turned into infrastructure as code: a [Renderer] per
// format (CloudFormation, Terraform and the CDK in the subpackages of the same
// names, and [JSON] here), and what they share — policy documents as ordered
// trees ([ParseJSON]), strings split around the account and partition they
// depend on ([Split]) and identifiers derived from names ([Identifiers]).
//
// Renderers are pure: the same state gives the same bytes.
package render

import (
	"fmt"
	"strings"

	"github.com/keyless-dev/keyless/provision"
)

// Renderer turns a desired state into the files of one IaC format.
type Renderer interface {
	// Format is the format's name, as `keyless render --format` takes it.
	Format() string
	// Render returns the files of st, in a fixed order. st must be resolved
	// (not [provision.State.Pending]).
	Render(st *provision.State) ([]File, error)
}

// File is one rendered file.
type File struct {
	// Name is the file name, relative to the output directory.
	Name string
	// Data is the file's content.
	Data []byte
}

// CheckResolved returns an error when st cannot be rendered: it is nil, or some
// trust policy still waits for [provision.State.Resolve].
func CheckResolved(st *provision.State) error {
	if st == nil {
		return fmt.Errorf("render: no state")
	}
	for _, r := range st.Roles {
		if len(r.SourceIPRefs) > 0 || r.TrustPolicy == "" {
			return fmt.Errorf("render: role %s: the trust policy waits for source_ips %s to be resolved", r.Name, strings.Join(r.SourceIPRefs, ", "))
		}
	}
	return nil
}

// JSON renders the state itself, as [provision.State.JSON] does, into state.json.
type JSON struct{}

// Format returns "json".
func (JSON) Format() string { return "json" }

// Render returns state.json.
func (JSON) Render(st *provision.State) ([]File, error) {
	if err := CheckResolved(st); err != nil {
		return nil, err
	}
	b, err := st.JSON()
	if err != nil {
		return nil, err
	}
	return []File{{Name: "state.json", Data: b}}, nil
}

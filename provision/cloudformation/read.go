// Package cloudformation reads the IAM resources of an existing CloudFormation
// template — AWS::IAM::OIDCProvider, AWS::IAM::Role, AWS::IAM::ManagedPolicy, and
// AWS::IAM::Policy and AWS::IAM::RolePolicy attached to the template's roles —
// into the desired state keyless plans and applies ([provision.State]).
//
// The template (YAML, with or without short-form tags, or JSON) is resolved the
// way CloudFormation would for one stack: Parameters take the given values or
// their defaults; Ref, Fn::Sub, Fn::GetAtt and Fn::Join are evaluated, with the
// pseudo-parameters AWS::AccountId, AWS::Partition, AWS::Region, AWS::StackName
// and AWS::URLSuffix taken from [Options]. Other intrinsic functions, Conditions
// on IAM resources, Transform, YAML aliases, circular dependencies and references
// to non-IAM resources are errors; other resources and Outputs are not read.
// Errors inside the template are [*Error] values naming its path and line.
package cloudformation

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/keyless-dev/keyless/provision"
)

// Options are the stack-level inputs a template is resolved with.
type Options struct {
	// Parameters override the defaults of the template's Parameters
	// (--parameter K=V); a parameter the template does not declare is an error.
	Parameters map[string]string
	// Account is the 12-digit account id AWS::AccountId resolves to; when empty,
	// ARNs and documents carry [provision.AccountPlaceholder], which
	// [provision.State.WithAccount] replaces.
	Account string
	// Partition is the AWS partition, "aws" when empty.
	Partition string
	// Region is what AWS::Region resolves to; when empty, a template that
	// references it is an error.
	Region string
	// StackName is the stack's name (required): AWS::StackName, and the first
	// part of the names CloudFormation would generate.
	StackName string
	// Name is the value of every entity's keyless:managed tag; StackName when empty.
	Name string
}

// reader is one Read in progress.
type reader struct {
	opts      Options
	account   string // Account or AccountPlaceholder
	params    map[string]*param
	resources map[string]*resource
	order     []*resource
	cur       *resource // the resource whose properties are being resolved
}

// Read reads a CloudFormation template's IAM resources into a desired state:
// providers ordered by URL, roles by name, customer managed policies
// (State.Policies) by ARN, every entity tagged keyless:managed with opts.Name (or
// the stack name) besides its template tags. Every policy document is validated
// with policy.Parse as its kind — trust, inline (10,240 characters per role
// together) or managed (6,144) — and linted; findings are in State.Findings (on a
// managed policy, with Role "" and Policy its name), not errors.
//
// A role or managed policy without an explicit name gets the name
// STACK-LOGICALID-HASH, with HASH 12 characters derived from the stack name and
// logical id: deterministic, where CloudFormation's suffix is random, so it is
// not the name a stack CloudFormation created from the template has.
func Read(data []byte, opts Options) (*provision.State, error) {
	r, err := newReader(opts)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("the template is neither YAML nor JSON: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("the template is empty")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, errAt("", root, "a template must be a mapping of sections such as Parameters and Resources, not %s", nodeKind(root))
	}
	if err := check(root, ""); err != nil {
		return nil, err
	}
	for _, p := range pairs(root) {
		if !slices.Contains(sections, p.key) {
			return nil, errAt(p.key, p.kn, "unknown template section %s", p.key)
		}
	}
	if t := lookup(root, "Transform"); t != nil {
		return nil, errAt("Transform", t, "transforms such as AWS::Serverless are not supported: read the processed template (aws cloudformation get-template --template-stage Processed)")
	}
	if err := r.parseParameters(lookup(root, "Parameters"), opts.Parameters); err != nil {
		return nil, err
	}
	if err := r.parseResources(lookup(root, "Resources")); err != nil {
		return nil, err
	}
	st, err := r.state()
	if err != nil {
		return nil, err
	}
	if err := r.cycles(); err != nil {
		return nil, err
	}
	return st, nil
}

// depend records that the resource being read references res.
func (r *reader) depend(res *resource) {
	if r.cur != nil && !slices.Contains(r.cur.deps, res) {
		r.cur.deps = append(r.cur.deps, res)
	}
}

// cycles refuses what CloudFormation refuses as circular dependencies: a
// resource whose properties reference itself, or a cycle of references.
func (r *reader) cycles() error {
	state := map[*resource]int{}
	var stack []string
	var visit func(*resource) error
	visit = func(res *resource) error {
		switch state[res] {
		case 1:
			i := slices.Index(stack, res.id)
			return errAt(res.path, res.node, "circular dependency: %s", strings.Join(append(stack[i:], res.id), " -> "))
		case 2:
			return nil
		}
		state[res] = 1
		stack = append(stack, res.id)
		for _, d := range res.deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[res] = 2
		return nil
	}
	for _, res := range r.order {
		if err := visit(res); err != nil {
			return err
		}
	}
	return nil
}

// newReader checks and completes the options.
func newReader(opts Options) (*reader, error) {
	if opts.Partition == "" {
		opts.Partition = provision.DefaultPartition
	}
	if !slices.Contains(partitions, opts.Partition) {
		return nil, fmt.Errorf("unknown partition %q: write one of %s", opts.Partition, strings.Join(partitions, ", "))
	}
	if opts.Account != "" && !accountRe.MatchString(opts.Account) {
		return nil, fmt.Errorf("%q is not an AWS account id: want 12 digits", opts.Account)
	}
	if opts.Region != "" && !regionRe.MatchString(opts.Region) {
		return nil, fmt.Errorf("%q is not an AWS region such as us-east-1", opts.Region)
	}
	if !stackNameRe.MatchString(opts.StackName) {
		return nil, fmt.Errorf("stack name %q: write 1 to 128 letters, digits and hyphens, starting with a letter", opts.StackName)
	}
	if opts.Name == "" {
		opts.Name = opts.StackName
	}
	if !tagValueRe.MatchString(opts.Name) {
		return nil, fmt.Errorf("name %q cannot be the value of the %s tag: write up to 256 letters, digits, spaces and _.:/=+-@", opts.Name, provision.ManagedTagKey)
	}
	r := &reader{opts: opts, account: opts.Account}
	if r.account == "" {
		r.account = provision.AccountPlaceholder
	}
	return r, nil
}

var (
	tagKeyRe   = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)
	tagValueRe = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)
)

package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyless-dev/keyless/policy"
)

// ApplyOptions tune [Apply].
type ApplyOptions struct {
	// AllowRisky applies a plan whose documents have error-severity lint findings.
	AllowRisky bool
	// Quotas are the account's IAM quotas; the zero value means AWS's defaults.
	Quotas Quotas
	// Concurrency bounds how many roles are changed at once (the steps of one role
	// always run in order); DefaultConcurrency when <= 0.
	Concurrency int
}

// StepError is a step that failed and why.
type StepError struct {
	// Step is the failed step.
	Step Step `json:"step"`
	// Err is IAM's answer.
	Err error `json:"-"`
	// Message is Err's text.
	Message string `json:"error"`
}

// Report says what [Apply] did: every step of the plan is in exactly one of Done,
// Failed and NotDone, in plan order.
type Report struct {
	// Done are the steps IAM carried out.
	Done []Step `json:"done"`
	// Failed are the steps IAM refused, with its answer.
	Failed []StepError `json:"failed,omitempty"`
	// NotDone are the steps not attempted.
	NotDone []Step `json:"notDone,omitempty"`
}

// Complete reports whether every step was done.
func (r *Report) Complete() bool { return len(r.Failed) == 0 && len(r.NotDone) == 0 }

// WriteText lists the steps done, failed and not done.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	if r.Complete() {
		fmt.Fprintf(&b, "Applied: %d IAM calls done.\n", len(r.Done))
		_, err := io.WriteString(w, b.String())
		return err
	}
	total := len(r.Done) + len(r.Failed) + len(r.NotDone)
	fmt.Fprintf(&b, "Apply stopped: %d of %d IAM calls done.\n", len(r.Done), total)
	if len(r.Done) > 0 {
		fmt.Fprintf(&b, "Done (%d):\n", len(r.Done))
		for _, s := range r.Done {
			fmt.Fprintf(&b, "  done      %s\n", s)
		}
	}
	if len(r.Failed) > 0 {
		fmt.Fprintf(&b, "Failed (%d):\n", len(r.Failed))
		for _, f := range r.Failed {
			fmt.Fprintf(&b, "  failed    %s: %s\n", f.Step, f.Message)
		}
	}
	if len(r.NotDone) > 0 {
		fmt.Fprintf(&b, "Not done (%d):\n", len(r.NotDone))
		for _, s := range r.NotDone {
			fmt.Fprintf(&b, "  not done  %s\n", s)
		}
	}
	b.WriteString("Fix the cause and run apply again: it plans from what IAM holds now and does the rest.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// LintError is returned by [Apply] for a plan whose documents have error-severity
// lint findings when risky plans are not allowed.
type LintError struct {
	// Findings are the error-severity findings.
	Findings []Finding
}

func (e *LintError) Error() string {
	lines := make([]string, len(e.Findings))
	for i, f := range e.Findings {
		lines[i] = fmt.Sprintf("%s: %s [%s]", findingLabel(f), f.Message, f.RuleID)
	}
	return fmt.Sprintf("the config's policies have %d error-severity lint finding(s); nothing was changed (fix them, or allow risky policies explicitly):\n  %s", len(e.Findings), strings.Join(lines, "\n  "))
}

// Apply carries out a plan with api: providers created and updated first, then
// customer managed policies created and updated, then roles created and updated,
// then roles deleted, then policies deleted, then providers deleted (several
// policies or roles at once, the steps of each in order). Before any call it refuses a plan
// with error-severity lint findings (a *LintError) unless opts.AllowRisky, and one
// that exceeds opts.Quotas (a *QuotaError). When a step fails, no further role is
// started, the roles under way stop at their failed step, and the Report lists what
// was done, what failed and what was not done; the error names the first failure.
// Applying a fresh plan then completes the work: nothing a plan does needs undoing.
func Apply(ctx context.Context, api IAMAPI, p *Plan, opts ApplyOptions) (*Report, error) {
	if err := p.Check(opts); err != nil {
		return &Report{NotDone: p.Steps()}, err
	}
	limit := opts.Concurrency
	if limit <= 0 {
		limit = DefaultConcurrency
	}

	// progress[i] is how many steps of change i are done; errs[i] its failure.
	progress := make([]int, len(p.Changes))
	errs := make([]error, len(p.Changes))
	var (
		mu     sync.Mutex
		failed bool
	)
	run := func(i int) {
		c := p.Changes[i]
		for k, s := range c.Steps {
			err := ctx.Err()
			if err == nil {
				err = call(ctx, api, s)
			}
			mu.Lock()
			if err != nil {
				errs[i], failed = err, true
				mu.Unlock()
				return
			}
			progress[i] = k + 1
			mu.Unlock()
		}
	}
	stopped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return failed
	}
	phase := func(match func(Change) bool, concurrent bool) {
		sem := make(chan struct{}, limit)
		var wg sync.WaitGroup
		for i, c := range p.Changes {
			if !match(c) || stopped() {
				continue
			}
			if !concurrent {
				run(i)
				continue
			}
			sem <- struct{}{}
			if stopped() {
				<-sem
				break
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				run(i)
			}()
		}
		wg.Wait()
	}
	phase(func(c Change) bool { return c.Kind == KindProvider && c.Action != ActionDelete }, false)
	phase(func(c Change) bool { return c.Kind == KindPolicy && c.Action != ActionDelete }, true)
	phase(func(c Change) bool { return c.Kind == KindRole && c.Action != ActionDelete }, true)
	phase(func(c Change) bool { return c.Kind == KindRole && c.Action == ActionDelete }, true)
	phase(func(c Change) bool { return c.Kind == KindPolicy && c.Action == ActionDelete }, true)
	phase(func(c Change) bool { return c.Kind == KindProvider && c.Action == ActionDelete }, false)

	rep := &Report{}
	var first error
	for i, c := range p.Changes {
		rep.Done = append(rep.Done, c.Steps[:progress[i]]...)
		rest := c.Steps[progress[i]:]
		if errs[i] != nil {
			rep.Failed = append(rep.Failed, StepError{Step: rest[0], Err: errs[i], Message: errs[i].Error()})
			if first == nil {
				first = fmt.Errorf("%s: %w", rest[0], errs[i])
			}
			rest = rest[1:]
		}
		rep.NotDone = append(rep.NotDone, rest...)
	}
	if first != nil {
		return rep, fmt.Errorf("apply stopped after %d of %d IAM calls: %w", len(rep.Done), len(p.Steps()), first)
	}
	return rep, nil
}

// Check is what [Apply] checks before any call: a *LintError for error-severity
// lint findings unless opts.AllowRisky, a *QuotaError for quotas exceeded.
func (p *Plan) Check(opts ApplyOptions) error {
	if !opts.AllowRisky {
		var errs []Finding
		for _, f := range p.Findings {
			if f.Severity == policy.SeverityError {
				errs = append(errs, f)
			}
		}
		if len(errs) > 0 {
			return &LintError{Findings: errs}
		}
	}
	return CheckQuotas(p, opts.Quotas)
}

// call makes a step's IAM call.
func call(ctx context.Context, api IAMAPI, s Step) error {
	var err error
	switch in := s.input.(type) {
	case *iam.CreateOpenIDConnectProviderInput:
		_, err = api.CreateOpenIDConnectProvider(ctx, in)
	case *iam.DeleteOpenIDConnectProviderInput:
		_, err = api.DeleteOpenIDConnectProvider(ctx, in)
	case *iam.AddClientIDToOpenIDConnectProviderInput:
		_, err = api.AddClientIDToOpenIDConnectProvider(ctx, in)
	case *iam.RemoveClientIDFromOpenIDConnectProviderInput:
		_, err = api.RemoveClientIDFromOpenIDConnectProvider(ctx, in)
	case *iam.UpdateOpenIDConnectProviderThumbprintInput:
		_, err = api.UpdateOpenIDConnectProviderThumbprint(ctx, in)
	case *iam.TagOpenIDConnectProviderInput:
		_, err = api.TagOpenIDConnectProvider(ctx, in)
	case *iam.UntagOpenIDConnectProviderInput:
		_, err = api.UntagOpenIDConnectProvider(ctx, in)
	case *iam.CreateRoleInput:
		_, err = api.CreateRole(ctx, in)
	case *iam.DeleteRoleInput:
		_, err = api.DeleteRole(ctx, in)
	case *iam.UpdateRoleInput:
		_, err = api.UpdateRole(ctx, in)
	case *iam.UpdateAssumeRolePolicyInput:
		_, err = api.UpdateAssumeRolePolicy(ctx, in)
	case *iam.PutRolePolicyInput:
		_, err = api.PutRolePolicy(ctx, in)
	case *iam.DeleteRolePolicyInput:
		_, err = api.DeleteRolePolicy(ctx, in)
	case *iam.AttachRolePolicyInput:
		_, err = api.AttachRolePolicy(ctx, in)
	case *iam.DetachRolePolicyInput:
		_, err = api.DetachRolePolicy(ctx, in)
	case *iam.TagRoleInput:
		_, err = api.TagRole(ctx, in)
	case *iam.UntagRoleInput:
		_, err = api.UntagRole(ctx, in)
	case *iam.PutRolePermissionsBoundaryInput:
		_, err = api.PutRolePermissionsBoundary(ctx, in)
	case *iam.DeleteRolePermissionsBoundaryInput:
		_, err = api.DeleteRolePermissionsBoundary(ctx, in)
	case *iam.CreatePolicyInput:
		_, err = api.CreatePolicy(ctx, in)
	case *iam.DeletePolicyInput:
		_, err = api.DeletePolicy(ctx, in)
	case *iam.CreatePolicyVersionInput:
		_, err = api.CreatePolicyVersion(ctx, in)
	case *iam.DeletePolicyVersionInput:
		_, err = api.DeletePolicyVersion(ctx, in)
	case *iam.TagPolicyInput:
		_, err = api.TagPolicy(ctx, in)
	case *iam.UntagPolicyInput:
		_, err = api.UntagPolicy(ctx, in)
	default:
		return errors.New("the step has no IAM call: apply a plan made by NewPlan, not a decoded one")
	}
	return err
}

package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// DefaultParallel is how many target accounts are planned or applied at once
// when the options leave it zero.
const DefaultParallel = 4

// ForEachAccount calls fn for every account, at most parallel at once
// (DefaultParallel when <= 0), with its index in accounts, and returns fn's
// errors in the order of accounts.
// A failing account does not stop the others; an account not started when ctx
// ends gets ctx's error.
func ForEachAccount(ctx context.Context, accounts []string, parallel int, fn func(ctx context.Context, i int, account string) error) []error {
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	errs := make([]error, len(accounts))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, acct := range accounts {
		if err := ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("not started: %w", err)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = fmt.Errorf("not started: %w", ctx.Err())
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = fn(ctx, i, acct)
		}()
	}
	wg.Wait()
	return errs
}

// AccountOpener returns the IAM API of a target account: in the CLI, an IAM
// client with the credentials of the admin role assumed there.
type AccountOpener func(ctx context.Context, account string) (IAMAPI, error)

// FanOutOptions tune [PlanAccounts] and [ApplyAccounts].
type FanOutOptions struct {
	// Parallel bounds the accounts planned or applied at once; DefaultParallel
	// when <= 0.
	Parallel int
	// Read tunes the IAM reads of each account.
	Read ReadOptions
	// Apply tunes each account's apply.
	Apply ApplyOptions
}

// AccountPlan is the plan of one target account, or why there is none.
type AccountPlan struct {
	// Account is the target account's id.
	Account string
	// Plan is the account's plan; nil when Err is set.
	Plan *Plan
	// API is the account's IAM, which [ApplyAccounts] applies Plan with.
	API IAMAPI
	// Err is why the account could not be planned (or, set by the caller, why
	// it is not to be applied).
	Err error
}

// PlanAccounts plans desired in every account, at most opts.Parallel at once:
// it opens the account's IAM with open, binds desired to the account
// ([State.WithAccount]), reads IAM and plans, as for one account. desired must
// leave the account to plan time (ARNs carry [AccountPlaceholder]) and be
// resolved. The plans come back in the order of accounts; one account's failure
// is its Err and does not stop the others.
func PlanAccounts(ctx context.Context, desired *State, accounts []string, open AccountOpener, opts FanOutOptions) []AccountPlan {
	out := make([]AccountPlan, len(accounts))
	errs := ForEachAccount(ctx, accounts, opts.Parallel, func(ctx context.Context, i int, account string) error {
		api, err := open(ctx, account)
		if err != nil {
			return err
		}
		out[i].API = api
		st, err := desired.WithAccount(account)
		if err != nil {
			return err
		}
		actual, err := ReadActual(ctx, api, st, opts.Read)
		if err != nil {
			return err
		}
		p, err := NewPlan(st, actual)
		if err != nil {
			return err
		}
		out[i].Plan = p
		return nil
	})
	for i, acct := range accounts {
		out[i].Account = acct
		if errs[i] != nil {
			out[i].Plan, out[i].Err = nil, errs[i]
		}
	}
	return out
}

// AccountStatus is the outcome of one account in an [AccountsReport].
type AccountStatus string

// Account outcomes.
const (
	// StatusApplied is an account whose changes were all applied.
	StatusApplied AccountStatus = "applied"
	// StatusUnchanged is an account whose IAM already matched the config.
	StatusUnchanged AccountStatus = "unchanged"
	// StatusFailed is an account that could not be planned, or whose apply
	// stopped; applying again completes it.
	StatusFailed AccountStatus = "failed"
)

// AccountResult is what [ApplyAccounts] did in one account.
type AccountResult struct {
	// Account is the target account's id.
	Account string `json:"account"`
	// Status is applied, unchanged or failed.
	Status AccountStatus `json:"status"`
	// Error is why the account failed; "" otherwise.
	Error string `json:"error,omitempty"`
	// Create, Update and Delete count the plan's changes.
	Create int `json:"create"`
	Update int `json:"update"`
	Delete int `json:"delete"`
	// Report is the account's apply report; nil when nothing was applied.
	Report *Report `json:"report,omitempty"`
}

// AccountsReport is the outcome of applying a config to several accounts, in
// account order. Written as JSON, it is the resumable failure report: applying
// again the accounts [AccountsReport.Failed] names completes the work.
type AccountsReport struct {
	// Name is the config's name.
	Name string `json:"name"`
	// Accounts are the per-account results, in the order applied.
	Accounts []AccountResult `json:"accounts"`
}

// ApplyAccounts applies every plan with its account's IAM, at most opts.Parallel
// accounts at once, each as [Apply] does for one account with opts.Apply. An
// account whose plan is missing (Err set) or whose apply fails is failed, the
// others applied or unchanged: one account's failure never stops another's
// apply. name is the config's name, recorded in the report.
func ApplyAccounts(ctx context.Context, name string, plans []AccountPlan, opts FanOutOptions) *AccountsReport {
	rep := &AccountsReport{Name: name, Accounts: make([]AccountResult, len(plans))}
	accounts := make([]string, len(plans))
	for i, p := range plans {
		accounts[i] = p.Account
		rep.Accounts[i].Account = p.Account
	}
	errs := ForEachAccount(ctx, accounts, opts.Parallel, func(ctx context.Context, i int, _ string) error {
		p, res := plans[i], &rep.Accounts[i]
		if p.Err != nil {
			return p.Err
		}
		if p.Plan == nil {
			return errors.New("no plan")
		}
		res.Create, res.Update, res.Delete = p.Plan.Summary()
		if p.Plan.Empty() {
			res.Status = StatusUnchanged
			return nil
		}
		r, err := Apply(ctx, p.API, p.Plan, opts.Apply)
		res.Report = r
		if err != nil {
			return err
		}
		res.Status = StatusApplied
		return nil
	})
	for i, err := range errs {
		if err != nil {
			rep.Accounts[i].Status = StatusFailed
			rep.Accounts[i].Error = err.Error()
		}
	}
	return rep
}

// Failed returns the accounts that failed, in report order.
func (r *AccountsReport) Failed() []string {
	var out []string
	for _, a := range r.Accounts {
		if a.Status == StatusFailed {
			out = append(out, a.Account)
		}
	}
	return out
}

// WriteText writes one block per account (its status, the apply report or the
// error) and a summary line naming the failed accounts.
func (r *AccountsReport) WriteText(w io.Writer) error {
	var b strings.Builder
	counts := map[AccountStatus]int{}
	for _, a := range r.Accounts {
		counts[a.Status]++
		fmt.Fprintf(&b, "\n== account %s: %s", a.Account, a.Status)
		if a.Status != StatusFailed || a.Report != nil {
			fmt.Fprintf(&b, " (plan: %d to create, %d to update, %d to delete)", a.Create, a.Update, a.Delete)
		}
		b.WriteString("\n")
		if a.Report != nil {
			var rb bytes.Buffer
			if err := a.Report.WriteText(&rb); err != nil {
				return err
			}
			b.Write(rb.Bytes())
		}
		if a.Error != "" {
			fmt.Fprintf(&b, "Error: %s\n", a.Error)
		}
	}
	fmt.Fprintf(&b, "\nAccounts: %d applied, %d unchanged, %d failed", counts[StatusApplied], counts[StatusUnchanged], counts[StatusFailed])
	if f := r.Failed(); len(f) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(f, ", "))
	}
	b.WriteString(".\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// JSON renders the report as indented JSON.
func (r *AccountsReport) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encode the accounts report: %w", err)
	}
	return b.Bytes(), nil
}

// ParseAccountsReport decodes a report written by [AccountsReport.JSON],
// checking that every account is a 12-digit id with a known status.
func ParseAccountsReport(data []byte) (*AccountsReport, error) {
	var r AccountsReport
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("decode the accounts report: %w", err)
	}
	if len(r.Accounts) == 0 {
		return nil, errors.New("decode the accounts report: it lists no accounts")
	}
	for i, a := range r.Accounts {
		if !accountID.MatchString(a.Account) {
			return nil, fmt.Errorf("decode the accounts report: accounts[%d]: %q is not an account id", i, a.Account)
		}
		switch a.Status {
		case StatusApplied, StatusUnchanged, StatusFailed:
		default:
			return nil, fmt.Errorf("decode the accounts report: accounts[%d]: unknown status %q", i, a.Status)
		}
	}
	return &r, nil
}

// Merge returns r with the results of newer in place of r's for the same
// accounts, and newer's other accounts added, in account order: the report of a
// re-run of some accounts merged into the report of the run before it.
func (r *AccountsReport) Merge(newer *AccountsReport) *AccountsReport {
	out := &AccountsReport{Name: newer.Name}
	byAccount := map[string]AccountResult{}
	for _, a := range r.Accounts {
		byAccount[a.Account] = a
	}
	for _, a := range newer.Accounts {
		byAccount[a.Account] = a
	}
	for _, a := range byAccount {
		out.Accounts = append(out.Accounts, a)
	}
	sort.Slice(out.Accounts, func(i, j int) bool { return out.Accounts[i].Account < out.Accounts[j].Account })
	return out
}

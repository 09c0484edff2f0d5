package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestForEachAccountBoundAndOrder runs ten accounts three at a time: never more
// than three run at once, three do, and the errors come back in account order
// although the later accounts finish first.
func TestForEachAccountBoundAndOrder(t *testing.T) {
	var accounts []string
	for i := range 10 {
		accounts = append(accounts, fmt.Sprintf("%012d", 100000000000+i))
	}
	var inFlight, most atomic.Int32
	var mu sync.Mutex
	var finished []string
	full := make(chan struct{}) // closed once three run at once
	var once sync.Once
	errs := ForEachAccount(context.Background(), accounts, 3, func(_ context.Context, i int, account string) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		if n == 3 {
			once.Do(func() { close(full) })
		}
		if i < 3 {
			// The first three wait for each other, so that the bound is reached.
			select {
			case <-full:
			case <-time.After(5 * time.Second):
			}
		}
		time.Sleep(time.Duration(10-i) * 3 * time.Millisecond)
		mu.Lock()
		finished = append(finished, account)
		mu.Unlock()
		if i%2 == 1 {
			return fmt.Errorf("failed %s", account)
		}
		return nil
	})
	if got := most.Load(); got != 3 {
		t.Errorf("at most %d accounts ran at once, want 3", got)
	}
	if reflect.DeepEqual(finished, accounts) {
		t.Errorf("the accounts finished in account order (%v): the test does not show the results are reordered", finished)
	}
	for i, err := range errs {
		want := ""
		if i%2 == 1 {
			want = "failed " + accounts[i]
		}
		if got := fmt.Sprint(err); (err == nil) != (want == "") || (want != "" && got != want) {
			t.Errorf("errs[%d] = %v, want %q", i, err, want)
		}
	}
}

// TestForEachAccountCanceled starts nothing once the context has ended: every
// account gets an error saying it was not started.
func TestForEachAccountCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ran atomic.Int32
	errs := ForEachAccount(ctx, []string{"222222222222", "333333333333"}, 1, func(context.Context, int, string) error {
		ran.Add(1)
		return nil
	})
	if ran.Load() != 0 {
		t.Errorf("%d accounts ran after the context ended", ran.Load())
	}
	for i, err := range errs {
		if !errors.Is(err, context.Canceled) || !strings.HasPrefix(fmt.Sprint(err), "not started: ") {
			t.Errorf("errs[%d] = %v, want not started: context canceled", i, err)
		}
	}
}

// fleet is a fake IAM per account, and an opener that fails for the accounts in
// denied, as sts:AssumeRole would.
type fleet struct {
	mu     sync.Mutex
	iams   map[string]*fakeIAM
	denied map[string]bool
	opened []string
}

func newFleet(accounts ...string) *fleet {
	f := &fleet{iams: map[string]*fakeIAM{}, denied: map[string]bool{}}
	for _, a := range accounts {
		iam := newFakeIAM()
		iam.account = a
		f.iams[a] = iam
	}
	return f
}

func (f *fleet) open(_ context.Context, account string) (IAMAPI, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, account)
	if f.denied[account] {
		return nil, fmt.Errorf("assume the admin role arn:aws:iam::%s:role/OrganizationAccountAccessRole: AccessDenied", account)
	}
	return f.iams[account], nil
}

// placeholderState is baseConfig's desired state with the account left to plan
// time, as a config with target accounts has it.
func placeholderState(t *testing.T) *State {
	t.Helper()
	spec, err := Parse("keyless.yaml", []byte(baseConfig))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Desired(spec)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestApplyAccountsFailureAndRerun applies a config to four accounts: one
// cannot be assumed, one refuses a call. The two others are applied with their
// own account's ARNs; the report names the two failed accounts with their
// errors and survives a round trip through JSON. Re-running only the failed
// accounts, once fixed, touches no other account and completes the work; the
// merged report has no failure; a last plan of every account is empty and
// applying it makes no call.
func TestApplyAccountsFailureAndRerun(t *testing.T) {
	ctx := context.Background()
	accounts := []string{"222222222222", "333333333333", "444444444444", "555555555555"}
	f := newFleet(accounts...)
	f.denied["555555555555"] = true
	f.iams["333333333333"].fail["CreateRole deploy-web-staging"] = errors.New("LimitExceeded: too many roles")
	desired := placeholderState(t)
	opts := FanOutOptions{Parallel: 2}

	plans := PlanAccounts(ctx, desired, accounts, f.open, opts)
	for i, p := range plans {
		if p.Account != accounts[i] {
			t.Fatalf("plans[%d] is of %s, want %s", i, p.Account, accounts[i])
		}
	}
	if plans[3].Err == nil || !strings.Contains(plans[3].Err.Error(), "AccessDenied") {
		t.Fatalf("the denied account's plan: %v", plans[3].Err)
	}
	rep := ApplyAccounts(ctx, desired.Name, plans, opts)

	status := func(r *AccountsReport) string {
		var parts []string
		for _, a := range r.Accounts {
			parts = append(parts, a.Account+"="+string(a.Status))
		}
		return strings.Join(parts, " ")
	}
	if got, want := status(rep), "222222222222=applied 333333333333=failed 444444444444=applied 555555555555=failed"; got != want {
		t.Errorf("statuses: got %s, want %s", got, want)
	}
	if !strings.Contains(rep.Accounts[1].Error, "LimitExceeded: too many roles") || !strings.Contains(rep.Accounts[3].Error, "AccessDenied") {
		t.Errorf("errors: %q, %q", rep.Accounts[1].Error, rep.Accounts[3].Error)
	}
	for _, a := range []string{"222222222222", "444444444444"} {
		iam := f.iams[a]
		if len(iam.roles) != 2 || len(iam.providers) != 1 {
			t.Errorf("account %s: %d roles, %d providers; want 2 and 1", a, len(iam.roles), len(iam.providers))
		}
		for arn := range iam.providers {
			if !strings.HasPrefix(arn, "arn:aws:iam::"+a+":") {
				t.Errorf("account %s has provider %s", a, arn)
			}
		}
		for _, r := range iam.roles {
			if !strings.Contains(r.trust, "arn%3Aaws%3Aiam%3A%3A"+a+"%3Aoidc-provider") && !strings.Contains(r.trust, "arn:aws:iam::"+a+":oidc-provider") {
				t.Errorf("account %s: a role trusts another account's provider: %s", a, r.trust)
			}
		}
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"== account 222222222222: applied (plan: 3 to create, 0 to update, 0 to delete)\nApplied: ",
		"== account 333333333333: failed (plan: 3 to create, 0 to update, 0 to delete)\nApply stopped: ",
		"== account 555555555555: failed\nError: assume the admin role arn:aws:iam::555555555555:role/OrganizationAccountAccessRole: AccessDenied\n",
		"\nAccounts: 2 applied, 0 unchanged, 2 failed (333333333333, 555555555555).\n",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the report text lacks %q:\n%s", want, text.String())
		}
	}

	b, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	saved, err := ParseAccountsReport(b)
	if err != nil {
		t.Fatal(err)
	}
	failed := saved.Failed()
	if !reflect.DeepEqual(failed, []string{"333333333333", "555555555555"}) || saved.Name != "web" {
		t.Fatalf("the saved report: name %q, failed %v", saved.Name, failed)
	}

	// Fix the causes and re-run the failed accounts only.
	delete(f.denied, "555555555555")
	delete(f.iams["333333333333"].fail, "CreateRole deploy-web-staging")
	calls222, calls444 := len(f.iams["222222222222"].callLog()), len(f.iams["444444444444"].callLog())
	f.opened = nil
	rerun := ApplyAccounts(ctx, desired.Name, PlanAccounts(ctx, desired, failed, f.open, opts), opts)
	slices.Sort(f.opened)
	if got := strings.Join(f.opened, " "); got != "333333333333 555555555555" {
		t.Errorf("the re-run opened %s, want the failed accounts only", got)
	}
	if len(f.iams["222222222222"].callLog()) != calls222 || len(f.iams["444444444444"].callLog()) != calls444 {
		t.Errorf("the re-run called IAM in an account that had not failed")
	}
	if got, want := status(rerun), "333333333333=applied 555555555555=applied"; got != want {
		t.Errorf("re-run statuses: got %s, want %s", got, want)
	}
	merged := saved.Merge(rerun)
	if got, want := status(merged), "222222222222=applied 333333333333=applied 444444444444=applied 555555555555=applied"; got != want || len(merged.Failed()) != 0 {
		t.Errorf("merged statuses: got %s, want %s", got, want)
	}

	// A second apply of every account changes nothing.
	before := map[string]int{}
	for a, iam := range f.iams {
		before[a] = len(iam.callLog())
	}
	last := ApplyAccounts(ctx, desired.Name, PlanAccounts(ctx, desired, accounts, f.open, opts), opts)
	if got, want := status(last), "222222222222=unchanged 333333333333=unchanged 444444444444=unchanged 555555555555=unchanged"; got != want {
		t.Errorf("second apply: got %s, want %s", got, want)
	}
	for a, iam := range f.iams {
		if n := len(iam.callLog()); n != before[a] {
			t.Errorf("account %s: the second apply made %d IAM calls", a, n-before[a])
		}
	}
}

// TestPlanAccountsBindsEachAccount plans two accounts: each plan is of its
// account, with that account's ARNs only.
func TestPlanAccountsBindsEachAccount(t *testing.T) {
	f := newFleet("222222222222", "333333333333")
	plans := PlanAccounts(context.Background(), placeholderState(t), []string{"222222222222", "333333333333"}, f.open, FanOutOptions{})
	for _, p := range plans {
		if p.Err != nil {
			t.Fatal(p.Err)
		}
		if p.Plan.Account != p.Account {
			t.Errorf("the plan of %s is for account %s", p.Account, p.Plan.Account)
		}
		var b bytes.Buffer
		if err := p.Plan.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		other := "333333333333"
		if p.Account == other {
			other = "222222222222"
		}
		if strings.Contains(b.String(), other) || strings.Contains(b.String(), AccountPlaceholder) || !strings.Contains(b.String(), "arn:aws:iam::"+p.Account+":role/deploy-web-staging") {
			t.Errorf("the plan of %s names another account or none:\n%s", p.Account, b.String())
		}
	}
}

// TestParseAccountsReport refuses reports that cannot drive a re-run.
func TestParseAccountsReport(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"not JSON", `{`, "decode the accounts report: unexpected EOF"},
		{"no accounts", `{"name": "web", "accounts": []}`, "it lists no accounts"},
		{"bad id", `{"name": "web", "accounts": [{"account": "42", "status": "failed"}]}`, `accounts[0]: "42" is not an account id`},
		{"bad status", `{"name": "web", "accounts": [{"account": "222222222222", "status": "done"}]}`, `accounts[0]: unknown status "done"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAccountsReport([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
}

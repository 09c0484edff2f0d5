package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestFaultReplicaKilled runs two replicas on one PostgreSQL store under load and
// SIGKILLs one: the other keeps serving without a failed call, accepts the session
// credentials the dead one sealed, and still writes to the store.
func TestFaultReplicaKilled(t *testing.T) {
	pg := newPGStore(t, nil)
	a := pg.replica(t, nil)
	b := pg.replica(t, nil)
	ctx := context.Background()
	m := mintJSON(t, a.env, "--repository", "web")
	roleARN := webIdentityRole(t, a, "deploy", m.Claims["repositoryUuid"].(string))
	epA, epB := a.env["KEYLESS_ENDPOINT"], b.env["KEYLESS_ENDPOINT"]

	// Credentials sealed by B, and a load that crosses the replicas both ways.
	sealedByB, err := exchange(ctx, epB, roleARN, "sealed-by-b", m.Token)
	if err != nil {
		t.Fatalf("exchange at B: %v", err)
	}
	cross := startExchangeLoad([]string{epA, epB}, roleARN, m.Token, 2)
	onA := startExchangeLoad([]string{epA}, roleARN, m.Token, 2)
	time.Sleep(500 * time.Millisecond)
	cross.check(t, "exchanges across both replicas before the kill")
	onB := startExchangeLoad([]string{epB}, roleARN, m.Token, 2) // B dies under load
	time.Sleep(200 * time.Millisecond)

	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = <-b.done
	b.done <- err
	if ee, ok := err.(interface{ Sys() any }); !ok || !ee.Sys().(syscall.WaitStatus).Signaled() {
		t.Fatalf("replica B did not die of SIGKILL: %v", err)
	}
	onB.stop()                         // its calls fail once B is gone
	time.Sleep(500 * time.Millisecond) // A under load after the kill
	onA.check(t, "exchanges at replica A while B was killed")

	arn, err := whoAmI(ctx, epA, sealedByB)
	if err != nil || !strings.HasSuffix(arn, ":assumed-role/deploy/sealed-by-b") {
		t.Errorf("replica A on credentials sealed by the killed replica B: %q, %v", arn, err)
	}
	iamA := iam.NewFromConfig(noRetry(rootConfig(a)))
	if _, err := iamA.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("after-kill"),
		AssumeRolePolicyDocument: aws.String(otherTrust(a))}); err != nil {
		t.Errorf("replica A cannot write to the store after B was killed: %v", err)
	}
	if code, body := readyz(t, a); code != 200 {
		t.Errorf("/readyz of replica A after B was killed: %d %+v", code, body)
	}
}

// TestFaultClockSkew runs two replicas whose clocks are 2 minutes ahead and 2
// minutes behind (KEYLESS_CLOCK_OFFSET): 4 minutes apart, within the 5-minute
// allowance. Tokens minted by either are decided the same at both — allowed for the
// trusted repository, AccessDenied for another — and credentials sealed by either
// work at the other.
func TestFaultClockSkew(t *testing.T) {
	// One issuer URL for both, as replicas behind a load balancer have: a
	// production one, whose keys each replica takes from the shared store.
	const issuerURL = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
	pg := newPGStore(t, map[string]any{"default_workspace": "acme", "workspaces": []any{map[string]any{"slug": "acme", "issuer_url": issuerURL}}})
	ahead := pg.replica(t, []string{"KEYLESS_CLOCK_OFFSET=2m"})
	behind := pg.replica(t, []string{"KEYLESS_CLOCK_OFFSET=-2m"})
	if ahead.env["KEYLESS_ISSUER"] != issuerURL || behind.env["KEYLESS_ISSUER"] != issuerURL {
		t.Fatalf("issuers %s and %s, want %s", ahead.env["KEYLESS_ISSUER"], behind.env["KEYLESS_ISSUER"], issuerURL)
	}
	for _, p := range []*upProc{ahead, behind} {
		if !strings.Contains(p.stderr.String(), "clock offset in effect") {
			t.Fatalf("keyless up does not warn of its clock offset:\n%s", p.stderr)
		}
	}
	ctx := context.Background()
	web := mintJSON(t, ahead.env, "--repository", "web")
	roleARN := webIdentityRole(t, ahead, "deploy", web.Claims["repositoryUuid"].(string))
	replicas := map[string]*upProc{"ahead": ahead, "behind": behind}
	for minter, mp := range replicas {
		tokens := map[string]string{
			"trusted repository": mintJSON(t, mp.env, "--repository", "web").Token,
			"other repository":   mintJSON(t, mp.env, "--repository", "other").Token,
		}
		for name, want := range map[string]string{"trusted repository": "", "other repository": "AccessDenied"} {
			for verifier, vp := range replicas {
				creds, err := exchange(ctx, vp.env["KEYLESS_ENDPOINT"], roleARN, "skew", tokens[name])
				code, _ := apiError(err)
				if err != nil && code == "" {
					code = err.Error()
				}
				if code != want {
					t.Errorf("token of the %s minted by the replica %s, exchanged at the replica %s: %q, want %q", name, minter, verifier, code, want)
					continue
				}
				if err != nil {
					continue
				}
				for user, up := range replicas {
					if _, err := whoAmI(ctx, up.env["KEYLESS_ENDPOINT"], creds); err != nil {
						t.Errorf("credentials sealed by the replica %s, used at the replica %s: %v", verifier, user, err)
					}
				}
			}
		}
	}
}

// TestReplicasServeCreatedAccount runs two replicas on one PostgreSQL store: an
// account Organizations' CreateAccount makes at replica A is served at replica
// B within seconds, with no restart. A management user assumes the new
// account's OrganizationAccountAccessRole at B, is the new account there, and
// what it creates at B is what A sees.
func TestReplicasServeCreatedAccount(t *testing.T) {
	pg := newPGStore(t, nil)
	a := pg.replica(t, nil)
	b := pg.replica(t, nil)
	ctx := context.Background()
	orgs := organizations.NewFromConfig(rootConfig(a), func(o *organizations.Options) {
		o.BaseEndpoint = aws.String(a.env["AWS_ENDPOINT_URL_ORGANIZATIONS"])
	})
	if _, err := orgs.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	created, err := orgs.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("dev"), Email: aws.String("dev@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	devID := aws.ToString(created.CreateAccountStatus.AccountId)
	if created.CreateAccountStatus.State != orgtypes.CreateAccountStateSucceeded || len(devID) != 12 {
		t.Fatalf("CreateAccount at A: %+v", created.CreateAccountStatus)
	}
	iamA := iam.NewFromConfig(rootConfig(a))
	if _, err := iamA.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ops")}); err != nil {
		t.Fatal(err)
	}
	if _, err := iamA.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("ops"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	key, err := iamA.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ops")})
	if err != nil {
		t.Fatal(err)
	}

	// At B, with no restart: the access role of the account A created.
	stsB := sts.NewFromConfig(noRetry(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(b.env["KEYLESS_ENDPOINT"]),
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")}))
	roleARN := "arn:aws:iam::" + devID + ":role/OrganizationAccountAccessRole"
	var assumed *sts.AssumeRoleOutput
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if assumed, err = stsB.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("ops")}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("AssumeRole %s at replica B, 15 s after replica A created the account: %v\nB's log:\n%s", roleARN, err, tail(b.stderr.String(), 20))
		}
	}
	arn, err := whoAmI(ctx, b.env["KEYLESS_ENDPOINT"], assumed.Credentials)
	if want := "arn:aws:sts::" + devID + ":assumed-role/OrganizationAccountAccessRole/ops"; err != nil || arn != want {
		t.Errorf("GetCallerIdentity at B in the new account: %q, %v; want %s", arn, err, want)
	}
	if !strings.Contains(b.settledStderr(), "serving an account another replica created") {
		t.Errorf("B's log does not say it serves the account A created:\n%s", tail(b.stderr.String(), 20))
	}
	c := assumed.Credentials
	session := credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	devAt := func(p *upProc) *iam.Client {
		return iam.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(p.env["KEYLESS_ENDPOINT"]), Credentials: session})
	}
	if _, err := devAt(b).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("made-at-b")}); err != nil {
		t.Fatalf("CreateUser in the new account at B: %v", err)
	}
	got, err := devAt(a).GetUser(ctx, &iam.GetUserInput{UserName: aws.String("made-at-b")})
	if want := "arn:aws:iam::" + devID + ":user/made-at-b"; err != nil || aws.ToString(got.User.Arn) != want {
		t.Errorf("GetUser at A of the user made at B: %v; want %s", err, want)
	}
}

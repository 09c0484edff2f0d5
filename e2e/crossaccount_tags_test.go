package e2e

// Session tags and source identity across accounts end to end (issue 15): a
// Bitbucket-shaped token whose workspace sends session tags assumes hub in
// account A, which sets a source identity on its first AssumeRole into B's
// deploy, which chains into C's deploy; B's and C's trust policies decide on
// aws:PrincipalTag and sts:SourceIdentity as AWS does.

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// TestCrossAccountChainSessionTags: with keyless up serving accounts A, B and
// C and the default workspace sending session tags (repository, transitive),
// through aws-sdk-go-v2:
//   - the token assumes hub in A; hub assumes B's deploy setting the source
//     identity alice; B's deploy assumes C's deploy passing nothing. B's and
//     C's trust policies allow only aws:PrincipalTag/repository=web with
//     sts:SourceIdentity=alice, so both hops work only because the tag and the
//     source identity are carried; GetCallerIdentity in C names C's session
//     and AssumeRole answers the source identity at every hop;
//   - a trust policy wanting another repository, a first hop without the
//     source identity, a later hop changing it, and a role whose trust policy
//     lacks sts:TagSession for the carried tags are refused with AWS's
//     AccessDenied naming the refused action; a chained hop of more than one
//     hour is AWS's ValidationError;
//   - `keyless audit query` records the allowed hop into C and the refusal of
//     sts:TagSession with its reason.
func TestCrossAccountChainSessionTags(t *testing.T) {
	data := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "keyless.json")
	cfg := `{"accounts": [{"id": "` + accountB + `", "name": "deploy-b"}, {"id": "` + accountC + `", "name": "deploy-c"}],
		"workspaces": [{"slug": "keyless", "session_tags": true}]}`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, data, "--config", cfgPath)
	endpoint := p.env["KEYLESS_ENDPOINT"]
	ctx := context.Background()
	iamA := iam.NewFromConfig(rootConfig(p))
	iamB := iam.NewFromConfig(accountConfig(t, data, endpoint, accountB))
	iamC := iam.NewFromConfig(accountConfig(t, data, endpoint, accountC))

	doc := policyDoc
	allSTS := []string{"sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"}
	trustBy := func(principal string, actions []string, cond map[string]any) string {
		st := map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": principal}, "Action": actions}
		if cond != nil {
			st["Condition"] = cond
		}
		return doc(st)
	}
	mkRole := func(client *iam.Client, account, name, trust, policy string) string {
		return createRoleIn(ctx, t, client, account, name, trust, policy)
	}

	// A: the token's provider; hub takes the token's tags (sts:TagSession) and
	// may assume, tag and set a source identity on B's and C's roles.
	issuer := p.env["KEYLESS_ISSUER"]
	providerURL := strings.TrimPrefix(issuer, "https://")
	prov, err := iamA.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(issuer), ClientIDList: []string{p.env["KEYLESS_AUDIENCE"]}})
	if err != nil {
		t.Fatal(err)
	}
	webTrust := doc(map[string]any{"Effect": "Allow", "Principal": map[string]any{"Federated": aws.ToString(prov.OpenIDConnectProviderArn)},
		"Action":    []string{"sts:AssumeRoleWithWebIdentity", "sts:TagSession"},
		"Condition": map[string]any{"StringEquals": map[string]any{providerURL + ":aud": p.env["KEYLESS_AUDIENCE"]}}})
	hub := mkRole(iamA, accountA, "hub", webTrust, doc(map[string]any{"Effect": "Allow", "Action": allSTS,
		"Resource": []string{"arn:aws:iam::" + accountB + ":role/*", "arn:aws:iam::" + accountC + ":role/*"}}))

	webAlice := map[string]any{"StringEquals": map[string]any{"aws:PrincipalTag/repository": "web", "sts:SourceIdentity": "alice"}}
	deployB := mkRole(iamB, accountB, "deploy", trustBy(hub, allSTS, webAlice),
		doc(map[string]any{"Effect": "Allow", "Action": allSTS, "Resource": "arn:aws:iam::" + accountC + ":role/*"}))
	apiB := mkRole(iamB, accountB, "deploy-api", trustBy(hub, allSTS,
		map[string]any{"StringEquals": map[string]any{"aws:PrincipalTag/repository": "api"}}), "")
	deployC := mkRole(iamC, accountC, "deploy", trustBy(deployB, allSTS, webAlice), "")
	noTagC := mkRole(iamC, accountC, "deploy-no-tag-session", trustBy(deployB, []string{"sts:AssumeRole", "sts:SetSourceIdentity"}, nil), "")

	m := mintJSON(t, p.env, "--repository", "web")
	tags, _ := m.Claims["https://aws.amazon.com/tags"].(map[string]any)
	if pt, _ := tags["principal_tags"].(map[string]any); pt == nil || pt["repository"] == nil {
		t.Fatalf("the token of a workspace with session_tags lacks the repository tag: %v", m.Claims)
	}
	const session = "bitbucket-web-42"
	sessionOf := func(role string) string {
		return "arn:aws:sts::" + strings.Split(role, ":")[4] + ":assumed-role/" + role[strings.LastIndex(role, "/")+1:] + "/" + session
	}
	anon := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
	web, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(hub), RoleSessionName: aws.String(session), WebIdentityToken: aws.String(m.Token)})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity hub (its trust policy allows sts:TagSession): %v", err)
	}
	stsOf := func(c *sts.AssumeRoleOutput) *sts.Client {
		cr := c.Credentials
		return sts.NewFromConfig(staticConfig(endpoint, aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken)))
	}
	hubSTS := sts.NewFromConfig(staticConfig(endpoint, aws.ToString(web.Credentials.AccessKeyId), aws.ToString(web.Credentials.SecretAccessKey), aws.ToString(web.Credentials.SessionToken)))
	assume := func(client *sts.Client, role, sourceID string, duration int32) (*sts.AssumeRoleOutput, error) {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String(session)}
		if sourceID != "" {
			in.SourceIdentity = aws.String(sourceID)
		}
		if duration != 0 {
			in.DurationSeconds = aws.Int32(duration)
		}
		return client.AssumeRole(ctx, in)
	}
	denied := func(t *testing.T, err error, caller, action, role string) {
		t.Helper()
		want := "User: " + caller + " is not authorized to perform: " + action + " on resource: " + role
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || ae.ErrorMessage() != want {
			t.Errorf("AssumeRole %s: %v\nwant AccessDenied: %s", role, err, want)
		}
	}

	outB, err := assume(hubSTS, deployB, "alice", 0)
	if err != nil {
		t.Fatalf("hub → B's deploy with source identity alice: %v", err)
	}
	if got := aws.ToString(outB.SourceIdentity); got != "alice" {
		t.Errorf("AssumeRole into B answers source identity %q, want alice", got)
	}
	bSTS := stsOf(outB)

	t.Run("C's deploy sees the carried tag and source identity", func(t *testing.T) {
		outC, err := assume(bSTS, deployC, "", 0)
		if err != nil {
			t.Fatalf("B's deploy → C's deploy (trust wants aws:PrincipalTag/repository=web, sts:SourceIdentity=alice): %v", err)
		}
		if got := aws.ToString(outC.SourceIdentity); got != "alice" {
			t.Errorf("AssumeRole into C answers source identity %q, want alice", got)
		}
		id, err := stsOf(outC).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil || aws.ToString(id.Arn) != sessionOf(deployC) || aws.ToString(id.Account) != accountC {
			t.Errorf("GetCallerIdentity in C: %v %v, want %s", id, err, sessionOf(deployC))
		}
		// The same source identity again is not a change.
		if _, err := assume(bSTS, deployC, "alice", 0); err != nil {
			t.Errorf("B's deploy → C's deploy restating the source identity: %v", err)
		}
	})
	t.Run("broken links are refused with AWS's error", func(t *testing.T) {
		_, err := assume(hubSTS, apiB, "alice", 0)
		denied(t, err, sessionOf(hub), "sts:AssumeRole", apiB)
		_, err = assume(hubSTS, deployB, "", 0)
		denied(t, err, sessionOf(hub), "sts:AssumeRole", deployB)
		_, err = assume(bSTS, deployC, "mallory", 0)
		denied(t, err, sessionOf(deployB), "sts:SetSourceIdentity", deployC)
		_, err = assume(bSTS, noTagC, "", 0)
		denied(t, err, sessionOf(deployB), "sts:TagSession", noTagC)
		_, err = assume(bSTS, deployC, "", 7200)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" || !strings.Contains(ae.ErrorMessage(), "1 hour session limit for roles assumed by role chaining") {
			t.Errorf("chained AssumeRole for 7200 s: %v, want ValidationError (1 hour limit)", err)
		}
	})
	t.Run("keyless audit records the hops into C", func(t *testing.T) {
		events := func(role string) []map[string]any {
			t.Helper()
			out, errOut, code := run(t, withEnv(p.env), "audit", "query", "--data", data, "--role", role, "--action", "AssumeRole", "--output", "json")
			if code != 0 {
				t.Fatalf("keyless audit query --role %s: exit %d: %s", role, code, errOut)
			}
			var evs []map[string]any
			if err := json.Unmarshal([]byte(out), &evs); err != nil {
				t.Fatalf("keyless audit query --output json printed %q: %v", out, err)
			}
			return evs
		}
		allowed := false
		for _, e := range events(deployC) {
			allowed = allowed || e["decision"] == "Allowed" && e["caller"] == sessionOf(deployB)
		}
		if !allowed {
			t.Errorf("no allowed AssumeRole of %s by %s in the audit log: %v", deployC, sessionOf(deployB), events(deployC))
		}
		refused := false
		for _, e := range events(noTagC) {
			r, _ := e["reason"].(string)
			refused = refused || e["decision"] == "Denied" && strings.Contains(r, "sts:TagSession")
		}
		if !refused {
			t.Errorf("no refusal of sts:TagSession for %s in the audit log: %v", noTagC, events(noTagC))
		}
	})
}

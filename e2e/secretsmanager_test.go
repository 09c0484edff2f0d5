package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// smARN is what the ARN of a secret named name looks like on keyless up.
func smARN(account, name string) *regexp.Regexp {
	return regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:` + account + `:secret:` + regexp.QuoteMeta(name) + `-[A-Za-z0-9]{6}$`)
}

// smClient is a Go SDK Secrets Manager client for cfg, at the env file's
// Secrets Manager endpoint.
func smClient(p *upProc, cfg aws.Config) *secretsmanager.Client {
	cfg.BaseEndpoint = aws.String(p.env["AWS_ENDPOINT_URL_SECRETS_MANAGER"])
	return secretsmanager.NewFromConfig(cfg)
}

// stagesOf returns the secret's VersionIdsToStages.
func stagesOf(t *testing.T, c *secretsmanager.Client, id string) map[string][]string {
	t.Helper()
	d, err := c.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeSecret %s: %v", id, err)
	}
	return d.VersionIdsToStages
}

// TestSecretsManagerGoSDK: the Go SDK's Secrets Manager client, unchanged,
// against keyless up: a secret created, read, rotated as a rotation function
// does (AWSPENDING, then AWSCURRENT moved with AWSPREVIOUS following), listed,
// deleted and restored, with AWS's typed errors; and a role session without
// secretsmanager:GetSecretValue refused with AccessDeniedException, audited.
func TestSecretsManagerGoSDK(t *testing.T) {
	p := startUp(t, t.TempDir())
	endpoint, account := p.env["KEYLESS_ENDPOINT"], p.env["KEYLESS_ACCOUNT_ID"]
	if p.env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] != endpoint {
		t.Fatalf("env AWS_ENDPOINT_URL_SECRETS_MANAGER = %q, want the endpoint %q", p.env["AWS_ENDPOINT_URL_SECRETS_MANAGER"], endpoint)
	}
	ctx := context.Background()
	sm := smClient(p, rootConfig(p))

	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("app/db"), SecretString: aws.String(`{"password":"v1"}`), Description: aws.String("the database"),
		Tags: []smtypes.Tag{{Key: aws.String("team"), Value: aws.String("core")}},
	})
	if err != nil {
		t.Fatalf("CreateSecret: %v\nserver: %s", err, p.stderr)
	}
	arn, v1 := aws.ToString(created.ARN), aws.ToString(created.VersionId)
	if !smARN(account, "app/db").MatchString(arn) || aws.ToString(created.Name) != "app/db" || len(v1) != 36 {
		t.Fatalf("CreateSecret = %s %s %s", arn, aws.ToString(created.Name), v1)
	}
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("app/db")})
	if err != nil {
		t.Fatalf("DescribeSecret: %v", err)
	}
	if aws.ToString(d.ARN) != arn || aws.ToString(d.Description) != "the database" || aws.ToBool(d.RotationEnabled) ||
		d.RotationEnabled == nil || d.CreatedDate == nil || time.Since(*d.CreatedDate) > time.Minute || d.DeletedDate != nil ||
		!slices.Equal(d.VersionIdsToStages[v1], []string{"AWSCURRENT"}) || len(d.Tags) != 1 || aws.ToString(d.Tags[0].Key) != "team" {
		t.Fatalf("DescribeSecret = %+v", d)
	}

	// The rotation protocol, as a rotation function runs it.
	v2 := "6f1f6d4e-0000-4000-8000-00000000rot2"
	// createSecret: the pending value, unless already there.
	if _, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionId: aws.String(v2), VersionStage: aws.String("AWSPENDING")}); !errors.As(err, new(*smtypes.ResourceNotFoundException)) {
		t.Fatalf("GetSecretValue of the pending version before it exists: %v, want ResourceNotFoundException", err)
	}
	put, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(arn), ClientRequestToken: aws.String(v2), SecretString: aws.String(`{"password":"v2"}`), VersionStages: []string{"AWSPENDING"},
	})
	if err != nil || aws.ToString(put.VersionId) != v2 || !slices.Equal(put.VersionStages, []string{"AWSPENDING"}) {
		t.Fatalf("PutSecretValue AWSPENDING = %+v, %v", put, err)
	}
	// testSecret: the pending value reads back; AWSCURRENT is unchanged.
	pending, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/db"), VersionStage: aws.String("AWSPENDING")})
	if err != nil || aws.ToString(pending.SecretString) != `{"password":"v2"}` {
		t.Fatalf("GetSecretValue AWSPENDING = %+v, %v", pending, err)
	}
	if cur, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/db")}); err != nil || aws.ToString(cur.SecretString) != `{"password":"v1"}` {
		t.Fatalf("GetSecretValue during the rotation = %+v, %v; want v1", cur, err)
	}
	// finishSecret: moving AWSCURRENT must name the version it leaves.
	_, err = sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(arn), VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(v2),
	})
	var ipe *smtypes.InvalidParameterException
	if !errors.As(err, &ipe) || !strings.Contains(ipe.ErrorMessage(), "Staging label AWSCURRENT is currently attached to version "+v1) {
		t.Fatalf("UpdateSecretVersionStage without RemoveFromVersionId: %v, want InvalidParameterException naming %s", err, v1)
	}
	if _, err := sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(arn), VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(v2), RemoveFromVersionId: aws.String(v1),
	}); err != nil {
		t.Fatalf("UpdateSecretVersionStage AWSCURRENT to the pending version: %v", err)
	}
	if _, err := sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(arn), VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(v2),
	}); err != nil {
		t.Fatalf("UpdateSecretVersionStage removing AWSPENDING: %v", err)
	}
	if got := stagesOf(t, sm, "app/db"); len(got) != 2 || !slices.Equal(got[v1], []string{"AWSPREVIOUS"}) || !slices.Equal(got[v2], []string{"AWSCURRENT"}) {
		t.Fatalf("stages after the rotation: %v, want %s AWSPREVIOUS and %s AWSCURRENT", got, v1, v2)
	}
	for stage, want := range map[string]string{"AWSCURRENT": `{"password":"v2"}`, "AWSPREVIOUS": `{"password":"v1"}`} {
		v, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String(stage)})
		if err != nil || aws.ToString(v.SecretString) != want || !slices.Contains(v.VersionStages, stage) || v.CreatedDate == nil {
			t.Fatalf("GetSecretValue %s = %+v, %v; want %s", stage, v, err, want)
		}
	}
	versions, err := sm.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("app/db")})
	if err != nil || len(versions.Versions) != 2 || aws.ToString(versions.Versions[0].VersionId) != v2 || aws.ToString(versions.ARN) != arn {
		t.Fatalf("ListSecretVersionIds = %+v, %v", versions, err)
	}

	// A binary secret, by partial ARN.
	bin := []byte{0, 1, 2, 0xfe, 0xff}
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("app/key"), SecretBinary: bin}); err != nil {
		t.Fatalf("CreateSecret binary: %v", err)
	}
	bv, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("arn:aws:secretsmanager:us-east-1:" + account + ":secret:app/key")})
	if err != nil || !bytes.Equal(bv.SecretBinary, bin) || bv.SecretString != nil {
		t.Fatalf("GetSecretValue of the binary secret by partial ARN = %+v, %v", bv, err)
	}

	// Typed errors with AWS's messages.
	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("no/such")})
	var rnf *smtypes.ResourceNotFoundException
	if !errors.As(err, &rnf) || rnf.ErrorMessage() != "Secrets Manager can't find the specified secret." {
		t.Fatalf("GetSecretValue of a missing secret: %v", err)
	}
	if code, status := apiError(err); code != "ResourceNotFoundException" || status != 400 {
		t.Errorf("the missing secret's error is %s %d, want ResourceNotFoundException 400", code, status)
	}
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("app/db"), SecretString: aws.String("again")})
	if !errors.As(err, new(*smtypes.ResourceExistsException)) {
		t.Fatalf("CreateSecret of a taken name: %v, want ResourceExistsException", err)
	}

	// ListSecrets, page by page with the SDK's paginator.
	for _, n := range []string{"list/a", "list/b", "list/c", "list/d", "list/e"} {
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(n), SecretString: aws.String(n)}); err != nil {
			t.Fatalf("CreateSecret %s: %v", n, err)
		}
	}
	var listed []string
	pages := 0
	pager := secretsmanager.NewListSecretsPaginator(sm, &secretsmanager.ListSecretsInput{
		MaxResults: aws.Int32(2), Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{"list/"}}},
	})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListSecrets page %d: %v", pages+1, err)
		}
		pages++
		for _, e := range page.SecretList {
			listed = append(listed, aws.ToString(e.Name))
		}
	}
	if pages != 3 || strings.Join(listed, " ") != "list/a list/b list/c list/d list/e" {
		t.Fatalf("ListSecrets in pages of 2: %d pages, %q", pages, listed)
	}

	// Deletion with a recovery window, restore, and deletion without one.
	del, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("list/e"), RecoveryWindowInDays: aws.Int64(7)})
	if err != nil || del.DeletionDate == nil || time.Until(*del.DeletionDate) < 6*24*time.Hour || time.Until(*del.DeletionDate) > 7*24*time.Hour {
		t.Fatalf("DeleteSecret RecoveryWindowInDays 7 = %+v, %v", del, err)
	}
	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("list/e")})
	var ire *smtypes.InvalidRequestException
	if !errors.As(err, &ire) || ire.ErrorMessage() != "You can't perform this operation on the secret because it was marked for deletion." {
		t.Fatalf("GetSecretValue of a deleted secret: %v", err)
	}
	if _, err := sm.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: aws.String("list/e")}); err != nil {
		t.Fatalf("RestoreSecret: %v", err)
	}
	if v, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("list/e")}); err != nil || aws.ToString(v.SecretString) != "list/e" {
		t.Fatalf("GetSecretValue after RestoreSecret = %+v, %v", v, err)
	}
	if _, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("list/e"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatalf("DeleteSecret ForceDeleteWithoutRecovery: %v", err)
	}
	if _, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("list/e")}); !errors.As(err, new(*smtypes.ResourceNotFoundException)) {
		t.Fatalf("DescribeSecret after a forced delete: %v", err)
	}

	// A role session that may describe secrets but not read them.
	session := smClient(p, roleSession(t, p, `{"Version":"2012-10-17","Statement":[
		{"Sid":"DescribeOnly","Effect":"Allow","Action":"secretsmanager:DescribeSecret","Resource":"*"}]}`))
	if _, err := session.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("app/db")}); err != nil {
		t.Fatalf("session DescribeSecret: %v", err)
	}
	_, err = session.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/db")})
	sessionARN := "arn:aws:sts::" + account + ":assumed-role/s3-deployer/deploy"
	if code, status := apiError(err); code != "AccessDeniedException" || status != 400 ||
		!strings.Contains(err.Error(), "User: "+sessionARN+" is not authorized to perform: secretsmanager:GetSecretValue on resource: "+arn) {
		t.Fatalf("session GetSecretValue: %s %d %v, want AccessDeniedException 400 in AWS's words", code, status, err)
	}
	if strings.Contains(p.stderr.String(), "password") {
		t.Errorf("the server log holds a secret value:\n%s", p.stderr)
	}
	found := false
	for _, line := range strings.Split(p.settledStderr(), "\n") {
		if strings.Contains(line, "msg=audit") && strings.Contains(line, "service=secretsmanager") && strings.Contains(line, "action=GetSecretValue") &&
			strings.Contains(line, "decision=Denied") && strings.Contains(line, "caller="+sessionARN) && strings.Contains(line, "role="+arn) {
			found = true
		}
	}
	if !found {
		t.Errorf("no audit event of the denied GetSecretValue\n%s", p.stderr)
	}
}

// TestSecretsManagerBoto3AndCLI: boto3 and the AWS CLI, unchanged, against
// keyless up with the env file's AWS_ENDPOINT_URL_SECRETS_MANAGER: the
// rotation's stage moves, values, errors, and the CLI's commands.
func TestSecretsManagerBoto3AndCLI(t *testing.T) {
	p := startUp(t, t.TempDir())
	account := p.env["KEYLESS_ACCOUNT_ID"]
	home := t.TempDir()
	clientEnv := append(cleanEnv(),
		"AWS_ACCESS_KEY_ID="+p.env["KEYLESS_ROOT_ACCESS_KEY_ID"],
		"AWS_SECRET_ACCESS_KEY="+p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"],
		"AWS_ENDPOINT_URL_SECRETS_MANAGER="+p.env["AWS_ENDPOINT_URL_SECRETS_MANAGER"],
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"HOME="+home,
	)
	ctx := context.Background()

	t.Run("Boto3", func(t *testing.T) {
		python := testenv.Python3(t, "boto3")
		cmd := exec.CommandContext(ctx, python, "-c", `
import json, uuid, boto3, botocore.exceptions
sm = boto3.client("secretsmanager")
out = {}
c = sm.create_secret(Name="py/db", SecretString="one", Tags=[{"Key": "k", "Value": "v"}])
out["arn"], out["v1"] = c["ARN"], c["VersionId"]
v2 = str(uuid.uuid4())
sm.put_secret_value(SecretId="py/db", ClientRequestToken=v2, SecretString="two", VersionStages=["AWSPENDING"])
out["pending"] = sm.get_secret_value(SecretId="py/db", VersionStage="AWSPENDING")["SecretString"]
sm.update_secret_version_stage(SecretId=c["ARN"], VersionStage="AWSCURRENT", MoveToVersionId=v2, RemoveFromVersionId=c["VersionId"])
g = sm.get_secret_value(SecretId="py/db")
out["current"], out["current_id"], out["v2"] = g["SecretString"], g["VersionId"], v2
out["created_type"] = type(g["CreatedDate"]).__name__
d = sm.describe_secret(SecretId="py/db")
out["stages"] = d["VersionIdsToStages"]
out["rotation"] = d["RotationEnabled"]
out["previous"] = sm.get_secret_value(SecretId="py/db", VersionStage="AWSPREVIOUS")["SecretString"]
sm.create_secret(Name="py/bin", SecretBinary=b"\x00\xffbin")
out["binary"] = sm.get_secret_value(SecretId="py/bin")["SecretBinary"].hex()
names = []
for page in sm.get_paginator("list_secrets").paginate(PaginationConfig={"PageSize": 1}):
    names += [s["Name"] for s in page["SecretList"]]
out["listed"] = names
try:
    sm.get_secret_value(SecretId="py/none")
except botocore.exceptions.ClientError as e:
    out["missing"] = [e.response["Error"]["Code"], e.response["Error"]["Message"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
sm.delete_secret(SecretId="py/bin")
try:
    sm.get_secret_value(SecretId="py/bin")
except sm.exceptions.InvalidRequestException as e:
    out["deleted"] = e.response["Error"]["Message"]
try:
    sm.delete_secret(SecretId="py/db", RecoveryWindowInDays=3)
except sm.exceptions.InvalidParameterException as e:
    out["window"] = e.response["Error"]["Message"]
print(json.dumps(out))
`)
		cmd.Env = clientEnv
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("boto3: %v\n%s%s\nserver: %s", err, &stdout, &stderr, p.stderr)
		}
		var res struct {
			ARN         string              `json:"arn"`
			V1          string              `json:"v1"`
			V2          string              `json:"v2"`
			Pending     string              `json:"pending"`
			Current     string              `json:"current"`
			CurrentID   string              `json:"current_id"`
			CreatedType string              `json:"created_type"`
			Stages      map[string][]string `json:"stages"`
			Rotation    bool                `json:"rotation"`
			Previous    string              `json:"previous"`
			Binary      string              `json:"binary"`
			Listed      []string            `json:"listed"`
			Missing     []any               `json:"missing"`
			Deleted     string              `json:"deleted"`
			Window      string              `json:"window"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
			t.Fatalf("boto3 printed %q: %v", &stdout, err)
		}
		if !smARN(account, "py/db").MatchString(res.ARN) || res.Pending != "two" || res.Current != "two" || res.CurrentID != res.V2 ||
			res.Previous != "one" || res.CreatedType != "datetime" || res.Rotation {
			t.Errorf("boto3 rotation: %+v", res)
		}
		if !slices.Equal(res.Stages[res.V1], []string{"AWSPREVIOUS"}) || !slices.Equal(slices.Sorted(slices.Values(res.Stages[res.V2])), []string{"AWSCURRENT", "AWSPENDING"}) {
			t.Errorf("boto3 describe_secret stages: %v (v1 %s, v2 %s)", res.Stages, res.V1, res.V2)
		}
		if res.Binary != "00ff62696e" || strings.Join(res.Listed, " ") != "py/db py/bin" {
			t.Errorf("boto3 binary %q, listed %q", res.Binary, res.Listed)
		}
		if len(res.Missing) != 3 || res.Missing[0] != "ResourceNotFoundException" || res.Missing[1] != "Secrets Manager can't find the specified secret." || res.Missing[2] != float64(400) {
			t.Errorf("boto3 get_secret_value of a missing secret: %v", res.Missing)
		}
		if res.Deleted != "You can't perform this operation on the secret because it was marked for deletion." ||
			res.Window != "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)." {
			t.Errorf("boto3 errors: deleted %q, window %q", res.Deleted, res.Window)
		}
	})

	t.Run("AWSCLI", func(t *testing.T) {
		awsCLI := testenv.LookPath(t, "aws")
		cli := func(args ...string) (string, error) {
			t.Helper()
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, awsCLI, append([]string{"secretsmanager"}, args...)...)
			cmd.Env = clientEnv
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run()
			if err != nil {
				return out.String() + errOut.String(), err
			}
			return strings.TrimSpace(out.String()), nil
		}
		must := func(args ...string) string {
			t.Helper()
			out, err := cli(args...)
			if err != nil {
				t.Fatalf("aws secretsmanager %s: %v\n%s\nserver: %s", strings.Join(args, " "), err, out, p.stderr)
			}
			return out
		}
		arn := must("create-secret", "--name", "cli/token", "--secret-string", "first", "--query", "ARN", "--output", "text")
		if !smARN(account, "cli/token").MatchString(arn) {
			t.Fatalf("create-secret ARN %q", arn)
		}
		must("put-secret-value", "--secret-id", "cli/token", "--secret-string", "second")
		if got := must("get-secret-value", "--secret-id", arn, "--query", "SecretString", "--output", "text"); got != "second" {
			t.Errorf("get-secret-value = %q, want second", got)
		}
		if got := must("get-secret-value", "--secret-id", "cli/token", "--version-stage", "AWSPREVIOUS", "--query", "SecretString", "--output", "text"); got != "first" {
			t.Errorf("get-secret-value AWSPREVIOUS = %q, want first", got)
		}
		ids := must("list-secret-version-ids", "--secret-id", "cli/token", "--query", "Versions[].[VersionId, join(',', VersionStages)]", "--output", "text")
		var current, previous string
		for _, line := range strings.Split(ids, "\n") {
			f := strings.Fields(line)
			if len(f) == 2 && f[1] == "AWSCURRENT" {
				current = f[0]
			}
			if len(f) == 2 && f[1] == "AWSPREVIOUS" {
				previous = f[0]
			}
		}
		if current == "" || previous == "" {
			t.Fatalf("list-secret-version-ids:\n%s", ids)
		}
		// Roll back: AWSCURRENT to the previous version.
		must("update-secret-version-stage", "--secret-id", "cli/token", "--version-stage", "AWSCURRENT", "--move-to-version-id", previous, "--remove-from-version-id", current)
		if got := must("get-secret-value", "--secret-id", "cli/token", "--query", "SecretString", "--output", "text"); got != "first" {
			t.Errorf("get-secret-value after the rollback = %q, want first", got)
		}
		if got := must("describe-secret", "--secret-id", "cli/token", "--query", "RotationEnabled", "--output", "text"); got != "False" {
			t.Errorf("describe-secret RotationEnabled = %q", got)
		}
		if got := must("list-secrets", "--filters", "Key=name,Values=cli/", "--query", "SecretList[].Name", "--output", "text"); got != "cli/token" {
			t.Errorf("list-secrets = %q", got)
		}
		out, err := cli("get-secret-value", "--secret-id", "cli/none")
		if err == nil || !strings.Contains(out, "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: Secrets Manager can't find the specified secret.") {
			t.Errorf("get-secret-value of a missing secret: %v\n%s", err, out)
		}
		if got := must("delete-secret", "--secret-id", "cli/token", "--force-delete-without-recovery", "--query", "Name", "--output", "text"); got != "cli/token" {
			t.Errorf("delete-secret = %q", got)
		}
		if out, err := cli("describe-secret", "--secret-id", "cli/token"); err == nil || !strings.Contains(out, "ResourceNotFoundException") {
			t.Errorf("describe-secret after the forced delete: %v\n%s", err, out)
		}
	})
}

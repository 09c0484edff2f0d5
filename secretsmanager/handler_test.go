package secretsmanager

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/store"
)

// TestCreateSecret: the shapes of CreateSecret's answers and every way it
// refuses, with AWS's codes and messages.
func TestCreateSecret(t *testing.T) {
	f := newFixture(t)
	out := f.ok("CreateSecret", js("Name", "prod/db", "SecretString", `{"password":"p"}`, "ClientRequestToken", tokA,
		"Description", "the database", "KmsKeyId", "alias/aws/secretsmanager", "Tags", []map[string]string{{"Key": "team", "Value": "core"}}))
	arn := str(out, "ARN")
	if !patARN("prod/db").MatchString(arn) || str(out, "Name") != "prod/db" || str(out, "VersionId") != tokA {
		t.Fatalf("CreateSecret = %v, want the ARN with a 6-character suffix, the name and the token as VersionId", out)
	}
	bare := f.ok("CreateSecret", js("Name", "empty"))
	if _, ok := bare["VersionId"]; ok || !patARN("empty").MatchString(str(bare, "ARN")) {
		t.Fatalf("CreateSecret without a value = %v, want no VersionId", bare)
	}
	bin := f.ok("CreateSecret", js("Name", "bin", "SecretBinary", []byte{0, 1, 0xff}))
	if len(str(bin, "VersionId")) != 36 {
		t.Fatalf("CreateSecret without a token = %v, want a generated UUID VersionId", bin)
	}
	// The idempotent retry: the same token and value give the same answer.
	again := f.ok("CreateSecret", js("Name", "prod/db", "SecretString", `{"password":"p"}`, "ClientRequestToken", tokA))
	if str(again, "ARN") != arn || str(again, "VersionId") != tokA {
		t.Fatalf("retried CreateSecret = %v, want the first answer (%s, %s)", again, arn, tokA)
	}
	f.ok("DeleteSecret", js("SecretId", "bin"))

	tests := []struct {
		name, body, code, msg string
		exact                 bool
	}{
		{"no name", js("SecretString", "x"), "ValidationException",
			"1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null", true},
		{"empty name", js("Name", ""), "ValidationException", "Value at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1", false},
		{"name too long", js("Name", strings.Repeat("n", 513)), "ValidationException", "less than or equal to 512", false},
		{"bad name", js("Name", "my secret!"), "InvalidParameterException",
			"Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!", true},
		{"both values", js("Name", "both", "SecretString", "s", "SecretBinary", []byte("b")), "InvalidParameterException",
			"You can't specify both a binary secret value and a string secret value in the same secret.", true},
		{"short token", js("Name", "t", "SecretString", "s", "ClientRequestToken", "short"), "ValidationException",
			"Value at 'clientRequestToken' failed to satisfy constraint: Member must have length greater than or equal to 32", false},
		{"empty string value", js("Name", "t", "SecretString", ""), "ValidationException", "'secretString'", false},
		{"value too big", js("Name", "t", "SecretString", strings.Repeat("x", 65537)), "ValidationException", "less than or equal to 65536", false},
		{"two violations", js("Name", "", "Description", strings.Repeat("d", 2049)), "ValidationException", "2 validation errors detected: ", false},
		{"tag without key", js("Name", "t", "Tags", []map[string]string{{"Value": "v"}}), "ValidationException", "'tags.1.member.key'", false},
		{"replica regions", js("Name", "t", "AddReplicaRegions", []map[string]string{{"Region": "eu-west-1"}}), "InvalidParameterException", "AddReplicaRegions", false},
		{"taken name, no token", js("Name", "prod/db", "SecretString", "x"), "ResourceExistsException",
			"A resource with the ID you requested already exists.", true},
		{"taken name, another token", js("Name", "prod/db", "SecretString", "x", "ClientRequestToken", tokB), "ResourceExistsException",
			"The operation failed because the secret prod/db already exists.", true},
		{"taken name, the token of another value", js("Name", "prod/db", "SecretString", "other", "ClientRequestToken", tokA), "ResourceExistsException",
			"You can't use ClientRequestToken " + tokA + " because that value is already in use for a version of secret " + arn + ".", true},
		{"name scheduled for deletion", js("Name", "bin", "SecretString", "x"), "InvalidRequestException",
			"You can't create this secret because a secret with this name is already scheduled for deletion.", true},
		{"not JSON", `{"Name":`, "SerializationException", "not valid JSON", false},
		{"not an object", `["Name"]`, "SerializationException", "must be a JSON object", false},
		{"wrong type", `{"Name":5}`, "SerializationException", "The value of Name must be a string, not a JSON number.", true},
		{"bad base64", `{"Name":"x","SecretBinary":"!!"}`, "SerializationException", "base64", false},
		{"trailing data", `{"Name":"x"} {}`, "SerializationException", "nothing after it", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.call("CreateSecret", tc.body).wantErr(t, "CreateSecret "+tc.name, tc.code, tc.msg, tc.exact)
		})
	}
	if _, err := f.st.GetSecret(t.Context(), "both"); err == nil {
		t.Errorf("a refused CreateSecret stored its secret")
	}

	d := f.ok("DescribeSecret", js("SecretId", "prod/db"))
	if str(d, "Description") != "the database" || str(d, "KmsKeyId") != "alias/aws/secretsmanager" || d["RotationEnabled"] != false ||
		fmt.Sprint(d["Tags"]) != "[map[Key:team Value:core]]" || d["CreatedDate"] == nil || d["LastChangedDate"] == nil {
		t.Fatalf("DescribeSecret = %v, want the description, KMS key, tags, RotationEnabled false and dates", d)
	}
	if _, ok := d["DeletedDate"]; ok {
		t.Errorf("DescribeSecret of a live secret has a DeletedDate: %v", d)
	}
	if created := d["CreatedDate"].(float64); created != float64(f.clock().UnixMilli())/1000 {
		t.Errorf("CreatedDate = %v, want the clock's seconds with milliseconds %v", created, float64(f.clock().UnixMilli())/1000)
	}
}

// TestGetSecretValue: by default AWSCURRENT; by VersionId or VersionStage;
// string and binary values; the secret named by name, full or partial ARN;
// and every way it refuses.
func TestGetSecretValue(t *testing.T) {
	f := newFixture(t)
	arn := str(f.ok("CreateSecret", js("Name", "app", "SecretString", "v1", "ClientRequestToken", tokA)), "ARN")
	f.ok("PutSecretValue", js("SecretId", "app", "SecretString", "v2", "ClientRequestToken", tokB))
	f.ok("PutSecretValue", js("SecretId", "app", "SecretString", "v3", "ClientRequestToken", tokC, "VersionStages", []string{"AWSPENDING"}))
	f.ok("CreateSecret", js("Name", "bin", "SecretBinary", []byte{0, 1, 2, 0xff}))
	f.ok("CreateSecret", js("Name", "novalue"))
	// A name that looks like a partial ARN with a suffix, beside the name it
	// would be the suffix of.
	f.ok("CreateSecret", js("Name", "db", "SecretString", "short"))
	f.ok("CreateSecret", js("Name", "db-passwd", "SecretString", "long"))

	ok := []struct {
		name, body, value, version, stages string
	}{
		{"default AWSCURRENT", js("SecretId", "app"), "v2", tokB, "AWSCURRENT"},
		{"AWSPREVIOUS", js("SecretId", "app", "VersionStage", "AWSPREVIOUS"), "v1", tokA, "AWSPREVIOUS"},
		{"AWSPENDING", js("SecretId", "app", "VersionStage", "AWSPENDING"), "v3", tokC, "AWSPENDING"},
		{"by VersionId", js("SecretId", "app", "VersionId", tokA), "v1", tokA, "AWSPREVIOUS"},
		{"by VersionId and its stage", js("SecretId", "app", "VersionId", tokC, "VersionStage", "AWSPENDING"), "v3", tokC, "AWSPENDING"},
		{"by full ARN", js("SecretId", arn), "v2", tokB, "AWSCURRENT"},
		{"by partial ARN", js("SecretId", partialARN(arn)), "v2", tokB, "AWSCURRENT"},
		{"partial ARN of a name ending like a suffix", js("SecretId", "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-passwd"), "long", "", "AWSCURRENT"},
		{"partial ARN of the shorter name", js("SecretId", "arn:aws:secretsmanager:us-east-1:000000000000:secret:db"), "short", "", "AWSCURRENT"},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			out := f.ok("GetSecretValue", tc.body)
			stages := fmt.Sprint(out["VersionStages"])
			if str(out, "SecretString") != tc.value || tc.version != "" && str(out, "VersionId") != tc.version || stages != "["+tc.stages+"]" ||
				out["CreatedDate"] == nil || str(out, "Name") == "" || !strings.HasPrefix(str(out, "ARN"), "arn:aws:secretsmanager:") {
				t.Fatalf("GetSecretValue = %v, want value %q of version %s with stages [%s]", out, tc.value, tc.version, tc.stages)
			}
			if _, ok := out["SecretBinary"]; ok {
				t.Errorf("a string secret came back with a SecretBinary: %v", out)
			}
		})
	}
	out := f.ok("GetSecretValue", js("SecretId", "bin"))
	if b, _ := base64.StdEncoding.DecodeString(str(out, "SecretBinary")); !bytes.Equal(b, []byte{0, 1, 2, 0xff}) {
		t.Errorf("GetSecretValue of a binary secret = %v, want SecretBinary base64 of 00 01 02 ff", out)
	}
	if _, ok := out["SecretString"]; ok {
		t.Errorf("a binary secret came back with a SecretString: %v", out)
	}

	f.ok("CreateSecret", js("Name", "gone", "SecretString", "x"))
	f.ok("DeleteSecret", js("SecretId", "gone"))
	refused := []struct {
		name, body, code, msg string
	}{
		{"unknown secret", js("SecretId", "nope"), "ResourceNotFoundException", "Secrets Manager can't find the specified secret."},
		{"ARN of another account", js("SecretId", "arn:aws:secretsmanager:us-east-1:111111111111:secret:app"), "ResourceNotFoundException",
			"Secrets Manager can't find the specified secret."},
		{"ARN of another region", js("SecretId", strings.Replace(arn, "us-east-1", "eu-west-1", 1)), "ResourceNotFoundException",
			"Secrets Manager can't find the specified secret."},
		{"full ARN with a wrong suffix", js("SecretId", partialARN(arn)+"-XXXXXX"), "ResourceNotFoundException",
			"Secrets Manager can't find the specified secret."},
		{"unknown VersionId", js("SecretId", "app", "VersionId", tokD), "ResourceNotFoundException",
			"Secrets Manager can't find the specified secret value for VersionId: " + tokD},
		{"unknown stage", js("SecretId", "app", "VersionStage", "blue"), "ResourceNotFoundException",
			"Secrets Manager can't find the specified secret value for staging label: blue"},
		{"a secret without a value", js("SecretId", "novalue"), "ResourceNotFoundException",
			"Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"},
		{"VersionId and another version's stage", js("SecretId", "app", "VersionId", tokA, "VersionStage", "AWSCURRENT"), "InvalidRequestException",
			"You provided a VersionStage that is not associated to the provided VersionId."},
		{"marked for deletion", js("SecretId", "gone"), "InvalidRequestException",
			"You can't perform this operation on the secret because it was marked for deletion."},
		{"no SecretId", js(), "ValidationException",
			"1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"},
		{"short VersionId", js("SecretId", "app", "VersionId", "v1"), "ValidationException",
			"1 validation error detected: Value at 'versionId' failed to satisfy constraint: Member must have length greater than or equal to 32"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			f.call("GetSecretValue", tc.body).wantErr(t, "GetSecretValue "+tc.name, tc.code, tc.msg, true)
		})
	}
}

// TestGetSecretValueRecordsAccess: GetSecretValue sets LastAccessedDate to
// the day, on the secret and on the version.
func TestGetSecretValueRecordsAccess(t *testing.T) {
	f := newFixture(t)
	f.ok("CreateSecret", js("Name", "app", "SecretString", "v", "ClientRequestToken", tokA))
	if d := f.ok("DescribeSecret", js("SecretId", "app")); d["LastAccessedDate"] != nil {
		t.Fatalf("LastAccessedDate before any read: %v", d["LastAccessedDate"])
	}
	f.ok("GetSecretValue", js("SecretId", "app"))
	day := float64(f.clock().UTC().Truncate(24 * time.Hour).Unix())
	if d := f.ok("DescribeSecret", js("SecretId", "app")); d["LastAccessedDate"] != day {
		t.Fatalf("LastAccessedDate = %v, want the day %v", d["LastAccessedDate"], day)
	}
	vs := f.ok("ListSecretVersionIds", js("SecretId", "app"))["Versions"].([]any)
	if v := vs[0].(map[string]any); v["LastAccessedDate"] != day {
		t.Fatalf("the version's LastAccessedDate = %v, want %v", v["LastAccessedDate"], day)
	}
}

// TestPutSecretValue: new versions take AWSCURRENT (and the old one
// AWSPREVIOUS) unless other stages are asked for; a token is a version ID,
// idempotent for the same value; and every way it refuses.
func TestPutSecretValue(t *testing.T) {
	f := newFixture(t)
	f.ok("CreateSecret", js("Name", "app", "SecretString", "v1", "ClientRequestToken", tokA))
	out := f.ok("PutSecretValue", js("SecretId", "app", "SecretString", "v2", "ClientRequestToken", tokB))
	if str(out, "VersionId") != tokB || fmt.Sprint(out["VersionStages"]) != "[AWSCURRENT]" || !patARN("app").MatchString(str(out, "ARN")) {
		t.Fatalf("PutSecretValue = %v", out)
	}
	if got := f.stagesOf("app"); got[tokA] != "AWSPREVIOUS" || got[tokB] != "AWSCURRENT" || len(got) != 2 {
		t.Fatalf("stages after PutSecretValue: %v, want A AWSPREVIOUS, B AWSCURRENT", got)
	}
	out = f.ok("PutSecretValue", js("SecretId", "app", "SecretString", "v3", "ClientRequestToken", tokC, "VersionStages", []string{"AWSPENDING", "AWSPENDING"}))
	if fmt.Sprint(out["VersionStages"]) != "[AWSPENDING]" {
		t.Fatalf("PutSecretValue with VersionStages AWSPENDING = %v", out)
	}
	if got := f.stagesOf("app"); got[tokA] != "AWSPREVIOUS" || got[tokB] != "AWSCURRENT" || got[tokC] != "AWSPENDING" {
		t.Fatalf("stages after putting a pending version: %v", got)
	}
	// The same token and value again: the version as it is, nothing moved.
	again := f.ok("PutSecretValue", js("SecretId", "app", "SecretString", "v3", "ClientRequestToken", tokC))
	if str(again, "VersionId") != tokC || fmt.Sprint(again["VersionStages"]) != "[AWSPENDING]" {
		t.Fatalf("retried PutSecretValue = %v, want version C as it is", again)
	}
	if got := f.stagesOf("app"); got[tokB] != "AWSCURRENT" || got[tokC] != "AWSPENDING" {
		t.Fatalf("the retry moved stages: %v", got)
	}
	// A secret created without a value: its first version is AWSCURRENT
	// whatever stages were asked for.
	f.ok("CreateSecret", js("Name", "empty"))
	out = f.ok("PutSecretValue", js("SecretId", "empty", "SecretBinary", []byte("b"), "ClientRequestToken", tokD, "VersionStages", []string{"AWSPENDING"}))
	if fmt.Sprint(out["VersionStages"]) != "[AWSPENDING AWSCURRENT]" {
		t.Fatalf("the first version of a secret = %v, want AWSPENDING and AWSCURRENT", out)
	}

	f.ok("CreateSecret", js("Name", "gone", "SecretString", "x"))
	f.ok("DeleteSecret", js("SecretId", "gone"))
	var many []string
	for i := range 21 {
		many = append(many, fmt.Sprintf("s%d", i))
	}
	refused := []struct {
		name, body, code, msg string
	}{
		{"token of another value", js("SecretId", "app", "SecretString", "other", "ClientRequestToken", tokA), "ResourceExistsException",
			"You can't use ClientRequestToken " + tokA + " because that value is already in use for a version of secret "},
		{"token of the same string as binary", js("SecretId", "app", "SecretBinary", []byte("v1"), "ClientRequestToken", tokA), "ResourceExistsException",
			"already in use"},
		{"no value", js("SecretId", "app", "ClientRequestToken", tokD), "InvalidRequestException", "You must provide either SecretString or SecretBinary."},
		{"both values", js("SecretId", "app", "ClientRequestToken", tokD, "SecretString", "s", "SecretBinary", []byte("b")), "InvalidParameterException",
			"You can't specify both a binary secret value and a string secret value in the same secret."},
		{"no token", js("SecretId", "app", "SecretString", "s"), "InvalidRequestException",
			"You must provide a ClientRequestToken value. We recommend a UUID-type value."},
		{"unknown secret", js("SecretId", "nope", "SecretString", "s", "ClientRequestToken", tokD), "ResourceNotFoundException",
			"Secrets Manager can't find the specified secret."},
		{"marked for deletion", js("SecretId", "gone", "SecretString", "s", "ClientRequestToken", tokD), "InvalidRequestException",
			"You can't perform this operation on the secret because it was marked for deletion."},
		{"21 stages", js("SecretId", "app", "SecretString", "s", "ClientRequestToken", tokD, "VersionStages", many), "ValidationException",
			"Value at 'versionStages' failed to satisfy constraint: Member must have length less than or equal to 20"},
		{"empty stage", js("SecretId", "app", "SecretString", "s", "ClientRequestToken", tokD, "VersionStages", []string{""}), "ValidationException",
			"'versionStages.1.member'"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			f.call("PutSecretValue", tc.body).wantErr(t, "PutSecretValue "+tc.name, tc.code, tc.msg, false)
		})
	}
	if v := f.ok("GetSecretValue", js("SecretId", "app")); str(v, "SecretString") != "v2" {
		t.Fatalf("after the refusals AWSCURRENT is %v, want v2", v)
	}
}

// TestRotationStages walks the rotation protocol: a pending version, then
// AWSCURRENT moved onto it (AWSPREVIOUS following to the old one), then a
// rollback; and every refusal of UpdateSecretVersionStage.
func TestRotationStages(t *testing.T) {
	f := newFixture(t)
	f.ok("CreateSecret", js("Name", "rot", "SecretString", "old", "ClientRequestToken", tokA))
	f.ok("PutSecretValue", js("SecretId", "rot", "SecretString", "new", "ClientRequestToken", tokB, "VersionStages", []string{"AWSPENDING"}))

	step := func(body string, want map[string]string) {
		t.Helper()
		out := f.ok("UpdateSecretVersionStage", body)
		if str(out, "Name") != "rot" || !patARN("rot").MatchString(str(out, "ARN")) {
			t.Fatalf("UpdateSecretVersionStage = %v", out)
		}
		if got := f.stagesOf("rot"); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after UpdateSecretVersionStage %s:\n got %v\nwant %v", body, got, want)
		}
	}
	// Finish the rotation: AWSCURRENT to B, AWSPREVIOUS follows to A.
	step(js("SecretId", "rot", "VersionStage", "AWSCURRENT", "MoveToVersionId", tokB, "RemoveFromVersionId", tokA),
		map[string]string{tokA: "AWSPREVIOUS", tokB: "AWSPENDING,AWSCURRENT"})
	if v := f.ok("GetSecretValue", js("SecretId", "rot")); str(v, "SecretString") != "new" {
		t.Fatalf("AWSCURRENT after the rotation reads %v", v)
	}
	// Remove AWSPENDING from B.
	step(js("SecretId", "rot", "VersionStage", "AWSPENDING", "RemoveFromVersionId", tokB),
		map[string]string{tokA: "AWSPREVIOUS", tokB: "AWSCURRENT"})
	// The same move again changes nothing.
	step(js("SecretId", "rot", "VersionStage", "AWSCURRENT", "MoveToVersionId", tokB),
		map[string]string{tokA: "AWSPREVIOUS", tokB: "AWSCURRENT"})
	// A custom label onto A, then moved to B.
	step(js("SecretId", "rot", "VersionStage", "blue", "MoveToVersionId", tokA),
		map[string]string{tokA: "AWSPREVIOUS,blue", tokB: "AWSCURRENT"})
	step(js("SecretId", "rot", "VersionStage", "blue", "MoveToVersionId", tokB, "RemoveFromVersionId", tokA),
		map[string]string{tokA: "AWSPREVIOUS", tokB: "AWSCURRENT,blue"})
	// Roll back: AWSCURRENT to A, whose AWSPREVIOUS goes to B.
	step(js("SecretId", "rot", "VersionStage", "AWSCURRENT", "MoveToVersionId", tokA, "RemoveFromVersionId", tokB),
		map[string]string{tokA: "AWSCURRENT", tokB: "blue,AWSPREVIOUS"})
	if v := f.ok("GetSecretValue", js("SecretId", "rot")); str(v, "SecretString") != "old" {
		t.Fatalf("AWSCURRENT after the rollback reads %v", v)
	}

	f.ok("CreateSecret", js("Name", "gone", "SecretString", "x", "ClientRequestToken", tokD))
	f.ok("DeleteSecret", js("SecretId", "gone"))
	refused := []struct {
		name, body, code, msg string
	}{
		{"AWSCURRENT moved without RemoveFromVersionId", js("SecretId", "rot", "VersionStage", "AWSCURRENT", "MoveToVersionId", tokB),
			"InvalidParameterException",
			"The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version " + tokA +
				", so you must explicitly reference that version in RemoveFromVersionId."},
		{"a label of another version moved without RemoveFromVersionId", js("SecretId", "rot", "VersionStage", "blue", "MoveToVersionId", tokA),
			"InvalidParameterException",
			"The parameter RemoveFromVersionId can't be empty. Staging label blue is currently attached to version " + tokB +
				", so you must explicitly reference that version in RemoveFromVersionId."},
		{"RemoveFromVersionId without the label", js("SecretId", "rot", "VersionStage", "AWSCURRENT", "MoveToVersionId", tokB, "RemoveFromVersionId", tokB),
			"InvalidParameterException", "The parameter RemoveFromVersionId is invalid: staging label AWSCURRENT is not attached to version " + tokB + "."},
		{"AWSCURRENT removed, not moved", js("SecretId", "rot", "VersionStage", "AWSCURRENT", "RemoveFromVersionId", tokA),
			"InvalidParameterException", "The staging label AWSCURRENT can't be removed without being moved: specify the version to move it to in MoveToVersionId."},
		{"unknown MoveToVersionId", js("SecretId", "rot", "VersionStage", "blue", "MoveToVersionId", tokC, "RemoveFromVersionId", tokB),
			"ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: " + tokC},
		{"unknown RemoveFromVersionId", js("SecretId", "rot", "VersionStage", "blue", "MoveToVersionId", tokA, "RemoveFromVersionId", tokC),
			"ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: " + tokC},
		{"neither version", js("SecretId", "rot", "VersionStage", "blue"), "InvalidParameterException",
			"You must specify MoveToVersionId, RemoveFromVersionId, or both: the version to attach the staging label to and the one to remove it from."},
		{"no VersionStage", js("SecretId", "rot", "MoveToVersionId", tokA), "ValidationException",
			"1 validation error detected: Value null at 'versionStage' failed to satisfy constraint: Member must not be null"},
		{"short MoveToVersionId", js("SecretId", "rot", "VersionStage", "blue", "MoveToVersionId", "x"), "ValidationException",
			"1 validation error detected: Value at 'moveToVersionId' failed to satisfy constraint: Member must have length greater than or equal to 32"},
		{"unknown secret", js("SecretId", "nope", "VersionStage", "blue", "MoveToVersionId", tokA), "ResourceNotFoundException",
			"Secrets Manager can't find the specified secret."},
		{"marked for deletion", js("SecretId", "gone", "VersionStage", "blue", "MoveToVersionId", tokD), "InvalidRequestException",
			"You can't perform this operation on the secret because it was marked for deletion."},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			f.call("UpdateSecretVersionStage", tc.body).wantErr(t, "UpdateSecretVersionStage "+tc.name, tc.code, tc.msg, true)
		})
	}
	if got := f.stagesOf("rot"); fmt.Sprint(got) != fmt.Sprint(map[string]string{tokA: "AWSCURRENT", tokB: "blue,AWSPREVIOUS"}) {
		t.Fatalf("the refusals changed the stages: %v", got)
	}
}

// TestStageLimit: a version holds at most 20 staging labels.
func TestStageLimit(t *testing.T) {
	f := newFixture(t)
	var stages []string
	for i := range 19 {
		stages = append(stages, fmt.Sprintf("s%02d", i))
	}
	f.ok("CreateSecret", js("Name", "full", "SecretString", "v", "ClientRequestToken", tokA))
	f.ok("PutSecretValue", js("SecretId", "full", "SecretString", "w", "ClientRequestToken", tokB, "VersionStages", append(stages, "AWSCURRENT")))
	f.call("UpdateSecretVersionStage", js("SecretId", "full", "VersionStage", "one-more", "MoveToVersionId", tokB)).
		wantErr(t, "a 21st label", "LimitExceededException", "at most 20 staging labels", false)
}

// TestListSecretVersionIds: newest first, deprecated versions only when
// asked, pages of MaxResults.
func TestListSecretVersionIds(t *testing.T) {
	f := newFixture(t)
	f.ok("CreateSecret", js("Name", "v", "SecretString", "1", "ClientRequestToken", tokA))
	for _, tok := range []string{tokB, tokC} {
		f.advance(time.Second)
		f.ok("PutSecretValue", js("SecretId", "v", "SecretString", tok, "ClientRequestToken", tok))
	}
	// A is now without labels (deprecated): C AWSCURRENT, B AWSPREVIOUS.
	ids := func(out map[string]any) string {
		var s []string
		for _, v := range out["Versions"].([]any) {
			m := v.(map[string]any)
			stages, _ := m["VersionStages"].([]any) // absent for a deprecated version
			s = append(s, str(m, "VersionId")[:1]+fmt.Sprint(stages))
		}
		return strings.Join(s, " ")
	}
	out := f.ok("ListSecretVersionIds", js("SecretId", "v"))
	if got := ids(out); got != "c[AWSCURRENT] b[AWSPREVIOUS]" || str(out, "Name") != "v" || !patARN("v").MatchString(str(out, "ARN")) {
		t.Fatalf("ListSecretVersionIds = %q (%v)", got, out)
	}
	if got := ids(f.ok("ListSecretVersionIds", js("SecretId", "v", "IncludeDeprecated", true))); got != "c[AWSCURRENT] b[AWSPREVIOUS] a[]" {
		t.Fatalf("ListSecretVersionIds IncludeDeprecated = %q", got)
	}
	var pages []string
	token := ""
	for range 5 {
		body := js("SecretId", "v", "IncludeDeprecated", true, "MaxResults", 2)
		if token != "" {
			body = js("SecretId", "v", "IncludeDeprecated", true, "MaxResults", 2, "NextToken", token)
		}
		out := f.ok("ListSecretVersionIds", body)
		pages = append(pages, ids(out))
		if token = str(out, "NextToken"); token == "" {
			break
		}
	}
	if fmt.Sprint(pages) != "[c[AWSCURRENT] b[AWSPREVIOUS] a[]]" {
		t.Fatalf("pages of 2: %q", pages)
	}
	f.call("ListSecretVersionIds", js("SecretId", "v", "NextToken", "garbage")).
		wantErr(t, "a made-up NextToken", "InvalidNextTokenException", "The NextToken value is invalid.", true)
	f.call("ListSecretVersionIds", js("SecretId", "v", "MaxResults", 0)).
		wantErr(t, "MaxResults 0", "ValidationException", "Value at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1", false)
	f.call("ListSecretVersionIds", js("SecretId", "nope")).
		wantErr(t, "an unknown secret", "ResourceNotFoundException", "Secrets Manager can't find the specified secret.", true)
}

// TestListSecrets: pages, filters (name, description, tags, all, negation),
// sorting, and secrets scheduled for deletion only when asked for.
func TestListSecrets(t *testing.T) {
	f := newFixture(t)
	create := func(name, desc string, tags map[string]string) {
		t.Helper()
		var ts []map[string]string
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			ts = append(ts, map[string]string{"Key": k, "Value": tags[k]})
		}
		f.ok("CreateSecret", js("Name", name, "SecretString", "v", "Description", desc, "Tags", ts))
		f.advance(time.Second)
	}
	create("prod/db", "Main Database password", map[string]string{"env": "prod", "team": "core"})
	create("prod/api", "API key", map[string]string{"env": "prod"})
	create("dev/db", "development database", map[string]string{"env": "dev"})
	create("Prod/other", "", nil)
	create("old", "", nil)
	f.ok("DeleteSecret", js("SecretId", "old"))

	names := func(body string) string {
		t.Helper()
		out := f.ok("ListSecrets", body)
		var s []string
		for _, e := range out["SecretList"].([]any) {
			s = append(s, str(e.(map[string]any), "Name"))
		}
		return strings.Join(s, " ")
	}
	filters := func(kv ...any) []map[string]any {
		var out []map[string]any
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, map[string]any{"Key": kv[i], "Values": kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name, body, want string
	}{
		{"all, by creation", js(), "prod/db prod/api dev/db Prod/other"},
		{"newest first", js("SortOrder", "desc"), "Prod/other dev/db prod/api prod/db"},
		{"by name", js("SortBy", "name"), "Prod/other dev/db prod/api prod/db"},
		{"with those scheduled for deletion", js("IncludePlannedDeletion", true), "prod/db prod/api dev/db Prod/other old"},
		{"name prefix, case-sensitive", js("Filters", filters("name", []string{"prod/"})), "prod/db prod/api"},
		{"two name prefixes", js("Filters", filters("name", []string{"dev", "Prod"})), "dev/db Prod/other"},
		{"name not starting with", js("Filters", filters("name", []string{"!prod"})), "dev/db Prod/other"},
		{"description prefix, any case", js("Filters", filters("description", []string{"main database"})), "prod/db"},
		{"tag key", js("Filters", filters("tag-key", []string{"team"})), "prod/db"},
		{"tag value", js("Filters", filters("tag-value", []string{"pro"})), "prod/db prod/api"},
		{"filters together", js("Filters", filters("tag-value", []string{"prod"}, "name", []string{"prod/a"})), "prod/api"},
		{"all: words anywhere, any case", js("Filters", filters("all", []string{"DATABASE"})), "prod/db dev/db"},
		{"all: every word", js("Filters", filters("all", []string{"core db"})), "prod/db"},
		{"primary region (none here)", js("Filters", filters("primary-region", []string{"us"})), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(tc.body); got != tc.want {
				t.Fatalf("ListSecrets %s = %q, want %q", tc.body, got, tc.want)
			}
		})
	}

	out := f.ok("ListSecrets", js("Filters", filters("name", []string{"prod/db"})))
	e := out["SecretList"].([]any)[0].(map[string]any)
	if str(e, "Description") != "Main Database password" || e["SecretVersionsToStages"] == nil || e["CreatedDate"] == nil ||
		e["LastChangedDate"] == nil || len(e["Tags"].([]any)) != 2 || !patARN("prod/db").MatchString(str(e, "ARN")) {
		t.Fatalf("a ListSecrets entry = %v", e)
	}

	for _, order := range []string{"asc", "desc"} {
		var pages []string
		token := ""
		for range 10 {
			body := js("MaxResults", 3, "SortBy", "name", "SortOrder", order)
			if token != "" {
				body = js("MaxResults", 3, "SortBy", "name", "SortOrder", order, "NextToken", token)
			}
			out := f.ok("ListSecrets", body)
			var s []string
			for _, e := range out["SecretList"].([]any) {
				s = append(s, str(e.(map[string]any), "Name"))
			}
			pages = append(pages, strings.Join(s, " "))
			if token = str(out, "NextToken"); token == "" {
				break
			}
		}
		want := "[Prod/other dev/db prod/api prod/db]"
		if order == "desc" {
			want = "[prod/db prod/api dev/db Prod/other]"
		}
		if fmt.Sprint(pages) != want {
			t.Errorf("pages of 3 by name %s: %q, want %s", order, pages, want)
		}
	}

	refused := []struct {
		name, body, code, msg string
	}{
		{"unknown filter key", js("Filters", filters("color", []string{"x"})), "ValidationException",
			"Value at 'filters.1.member.key' failed to satisfy constraint: Member must satisfy enum value set: [description, name, tag-key, tag-value, primary-region, owning-service, all]"},
		{"filter without values", js("Filters", []map[string]any{{"Key": "name"}}), "InvalidParameterException", "Invalid filter values for key: name"},
		{"filter without key", js("Filters", []map[string]any{{"Values": []string{"a"}}}), "InvalidParameterException", "Invalid filter key"},
		{"filter value with a forbidden character", js("Filters", filters("name", []string{"a*"})), "ValidationException", "regular expression pattern"},
		{"11 filters", js("Filters", filters("name", []string{"a"}, "name", []string{"a"}, "name", []string{"a"}, "name", []string{"a"},
			"name", []string{"a"}, "name", []string{"a"}, "name", []string{"a"}, "name", []string{"a"}, "name", []string{"a"},
			"name", []string{"a"}, "name", []string{"a"})), "ValidationException", "'filters'"},
		{"MaxResults 101", js("MaxResults", 101), "ValidationException", "less than or equal to 100"},
		{"bad sort order", js("SortOrder", "up"), "ValidationException", "[asc, desc]"},
		{"made-up NextToken", js("NextToken", "!!"), "InvalidNextTokenException", "The NextToken value is invalid."},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			f.call("ListSecrets", tc.body).wantErr(t, "ListSecrets "+tc.name, tc.code, tc.msg, false)
		})
	}
}

// TestDeleteAndRestore: the recovery window (7 to 30 days, default 30),
// ForceDeleteWithoutRecovery, RestoreSecret, and the secret gone for good
// when its window ends.
func TestDeleteAndRestore(t *testing.T) {
	f := newFixture(t)
	f.ok("CreateSecret", js("Name", "d", "SecretString", "v", "ClientRequestToken", tokA))
	now := f.clock()
	out := f.ok("DeleteSecret", js("SecretId", "d"))
	if want := float64(now.Add(30*24*time.Hour).UnixMilli()) / 1000; out["DeletionDate"] != want || str(out, "Name") != "d" || !patARN("d").MatchString(str(out, "ARN")) {
		t.Fatalf("DeleteSecret = %v, want DeletionDate 30 days on (%v)", out, want)
	}
	d := f.ok("DescribeSecret", js("SecretId", "d"))
	if d["DeletedDate"] != float64(now.UnixMilli())/1000 {
		t.Fatalf("DescribeSecret of a deleted secret = %v, want DeletedDate %v", d, float64(now.UnixMilli())/1000)
	}
	f.call("DeleteSecret", js("SecretId", "d")).wantErr(t, "DeleteSecret again", "InvalidRequestException",
		"You can't perform this operation on the secret because it was marked for deletion.", true)
	for _, op := range []struct{ op, body string }{
		{"UpdateSecret", js("SecretId", "d", "Description", "x")},
		{"TagResource", js("SecretId", "d", "Tags", []map[string]string{{"Key": "k", "Value": "v"}})},
		{"UntagResource", js("SecretId", "d", "TagKeys", []string{"k"})},
	} {
		f.call(op.op, op.body).wantErr(t, op.op+" of a deleted secret", "InvalidRequestException", "marked for deletion", false)
	}
	if out := f.ok("RestoreSecret", js("SecretId", "d")); str(out, "Name") != "d" || !patARN("d").MatchString(str(out, "ARN")) {
		t.Fatalf("RestoreSecret = %v", out)
	}
	if v := f.ok("GetSecretValue", js("SecretId", "d")); str(v, "SecretString") != "v" {
		t.Fatalf("GetSecretValue after RestoreSecret = %v", v)
	}
	if d := f.ok("DescribeSecret", js("SecretId", "d")); d["DeletedDate"] != nil {
		t.Fatalf("DescribeSecret after RestoreSecret still has a DeletedDate: %v", d)
	}
	f.ok("RestoreSecret", js("SecretId", "d")) // restoring a live secret changes nothing

	// A 7-day window ends: the secret is gone, its name free.
	out = f.ok("DeleteSecret", js("SecretId", "d", "RecoveryWindowInDays", 7))
	if want := float64(f.clock().Add(7*24*time.Hour).UnixMilli()) / 1000; out["DeletionDate"] != want {
		t.Fatalf("DeleteSecret RecoveryWindowInDays 7 = %v, want DeletionDate %v", out, want)
	}
	f.advance(7*24*time.Hour + time.Second)
	f.call("DescribeSecret", js("SecretId", "d")).wantErr(t, "DescribeSecret after the window", "ResourceNotFoundException",
		"Secrets Manager can't find the specified secret.", true)
	f.ok("CreateSecret", js("Name", "d", "SecretString", "new"))

	// Force: gone at once.
	out = f.ok("DeleteSecret", js("SecretId", "d", "ForceDeleteWithoutRecovery", true))
	if out["DeletionDate"] != float64(f.clock().UnixMilli())/1000 {
		t.Fatalf("forced DeleteSecret = %v, want DeletionDate now", out)
	}
	f.call("GetSecretValue", js("SecretId", "d")).wantErr(t, "GetSecretValue after a forced delete", "ResourceNotFoundException",
		"Secrets Manager can't find the specified secret.", true)
	f.call("RestoreSecret", js("SecretId", "d")).wantErr(t, "RestoreSecret after a forced delete", "ResourceNotFoundException",
		"Secrets Manager can't find the specified secret.", true)

	// A scheduled deletion can still be forced.
	f.ok("CreateSecret", js("Name", "e", "SecretString", "v"))
	f.ok("DeleteSecret", js("SecretId", "e"))
	f.ok("DeleteSecret", js("SecretId", "e", "ForceDeleteWithoutRecovery", true))
	f.ok("CreateSecret", js("Name", "e", "SecretString", "again"))

	refused := []struct {
		name, body, code, msg string
	}{
		{"window of 6 days", js("SecretId", "e", "RecoveryWindowInDays", 6), "InvalidParameterException",
			"The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."},
		{"window of 31 days", js("SecretId", "e", "RecoveryWindowInDays", 31), "InvalidParameterException",
			"The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."},
		{"window and force", js("SecretId", "e", "RecoveryWindowInDays", 7, "ForceDeleteWithoutRecovery", true), "InvalidParameterException",
			"You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."},
		{"unknown secret", js("SecretId", "nope"), "ResourceNotFoundException", "Secrets Manager can't find the specified secret."},
		{"no SecretId", js("RecoveryWindowInDays", 7), "ValidationException",
			"1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			f.call("DeleteSecret", tc.body).wantErr(t, "DeleteSecret "+tc.name, tc.code, tc.msg, true)
		})
	}
	if v := f.ok("GetSecretValue", js("SecretId", "e")); str(v, "SecretString") != "again" {
		t.Fatalf("the refused deletes touched e: %v", v)
	}
}

// TestTagsAndUpdateSecret: TagResource merges, UntagResource removes,
// UpdateSecret changes the description and KMS key and, with a value, adds an
// AWSCURRENT version.
func TestTagsAndUpdateSecret(t *testing.T) {
	f := newFixture(t)
	f.ok("CreateSecret", js("Name", "t", "SecretString", "v1", "ClientRequestToken", tokA, "Tags", []map[string]string{{"Key": "a", "Value": "1"}}))
	if out := f.ok("TagResource", js("SecretId", "t", "Tags", []map[string]string{{"Key": "a", "Value": "2"}, {"Key": "b", "Value": ""}})); len(out) != 0 {
		t.Fatalf("TagResource = %v, want {}", out)
	}
	if tags := fmt.Sprint(f.ok("DescribeSecret", js("SecretId", "t"))["Tags"]); tags != "[map[Key:a Value:2] map[Key:b Value:]]" {
		t.Fatalf("tags after TagResource: %s", tags)
	}
	f.ok("UntagResource", js("SecretId", "t", "TagKeys", []string{"a", "zzz"}))
	if tags := fmt.Sprint(f.ok("DescribeSecret", js("SecretId", "t"))["Tags"]); tags != "[map[Key:b Value:]]" {
		t.Fatalf("tags after UntagResource: %s", tags)
	}
	f.call("TagResource", js("SecretId", "t")).wantErr(t, "TagResource without Tags", "ValidationException",
		"1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null", true)
	f.call("UntagResource", js("SecretId", "t")).wantErr(t, "UntagResource without TagKeys", "ValidationException",
		"1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null", true)
	f.call("TagResource", js("SecretId", "nope", "Tags", []map[string]string{{"Key": "a", "Value": "1"}})).wantErr(t, "TagResource of an unknown secret",
		"ResourceNotFoundException", "Secrets Manager can't find the specified secret.", true)

	out := f.ok("UpdateSecret", js("SecretId", "t", "Description", "new description", "KmsKeyId", "alias/mine"))
	if _, ok := out["VersionId"]; ok || str(out, "Name") != "t" {
		t.Fatalf("UpdateSecret without a value = %v, want no VersionId", out)
	}
	d := f.ok("DescribeSecret", js("SecretId", "t"))
	if str(d, "Description") != "new description" || str(d, "KmsKeyId") != "alias/mine" {
		t.Fatalf("DescribeSecret after UpdateSecret = %v", d)
	}
	out = f.ok("UpdateSecret", js("SecretId", "t", "SecretString", "v2", "ClientRequestToken", tokB))
	if str(out, "VersionId") != tokB {
		t.Fatalf("UpdateSecret with a value = %v", out)
	}
	if got := f.stagesOf("t"); got[tokA] != "AWSPREVIOUS" || got[tokB] != "AWSCURRENT" {
		t.Fatalf("stages after UpdateSecret: %v", got)
	}
	out = f.ok("UpdateSecret", js("SecretId", "t", "SecretString", "v3"))
	if id := str(out, "VersionId"); len(id) != 36 || id == tokB {
		t.Fatalf("UpdateSecret with a value and no token = %v, want a new UUID version", out)
	}
	f.call("UpdateSecret", js("SecretId", "t", "SecretString", "other", "ClientRequestToken", tokA)).wantErr(t, "UpdateSecret with a used token",
		"ResourceExistsException", "You can't use ClientRequestToken "+tokA, false)
	f.call("UpdateSecret", js("SecretId", "t", "SecretString", "s", "SecretBinary", []byte("b"))).wantErr(t, "UpdateSecret with both values",
		"InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.", true)
}

// TestUnknownOperation: an operation keyless does not serve is named back.
func TestUnknownOperation(t *testing.T) {
	f := newFixture(t)
	f.call("RotateSecret", js("SecretId", "x")).wantErr(t, "RotateSecret", "UnknownOperationException",
		"keyless does not serve the Secrets Manager operation RotateSecret; it serves CreateSecret, DeleteSecret, DescribeSecret, ", false)
	if ev := f.takeEvents(); len(ev) != 1 || ev[0].Action != "RotateSecret" || ev[0].Decision != audit.Failed || ev[0].ErrorCode != "UnknownOperationException" {
		t.Fatalf("audit events: %+v", ev)
	}
}

// TestValuesSealedAtRest: the store holds no value in clear, and a sealed
// value moved to another version does not open.
func TestValuesSealedAtRest(t *testing.T) {
	f := newFixture(t)
	const plain = "correct horse battery staple"
	f.ok("CreateSecret", js("Name", "sealed", "SecretString", plain, "ClientRequestToken", tokA))
	f.ok("PutSecretValue", js("SecretId", "sealed", "SecretString", "second value", "ClientRequestToken", tokB))
	sec, err := f.st.GetSecret(t.Context(), "sealed")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range sec.Versions {
		if bytes.Contains(v.Value, []byte(plain)) || bytes.Contains(v.Value, []byte("second value")) || len(v.Value) < 28 {
			t.Fatalf("version %s is stored as %q, not sealed", v.ID, v.Value)
		}
	}
	// Swap the two sealed values: neither opens under the other's label.
	if err := f.st.DeleteSecret(t.Context(), "sealed"); err != nil {
		t.Fatal(err)
	}
	sec.Versions[0].Value, sec.Versions[1].Value = sec.Versions[1].Value, sec.Versions[0].Value
	if err := f.st.CreateSecret(t.Context(), sec); err != nil {
		t.Fatal(err)
	}
	r := f.call("GetSecretValue", js("SecretId", "sealed"))
	if r.err == nil || r.err.Code != "InternalFailure" || strings.Contains(r.err.Message, "keywrap") {
		t.Fatalf("GetSecretValue of a moved ciphertext = %v %v, want InternalFailure without detail", r.out, r.err)
	}
}

// TestAuthorization: every call is authorized as secretsmanager:<Operation>
// on the secret's ARN through the caller's policies, denials are
// AccessDeniedException in AWS's words, and every call is audited without
// its value.
func TestAuthorization(t *testing.T) {
	f := newFixture(t)
	arn := str(f.ok("CreateSecret", js("Name", "app/db", "SecretString", "hunter2", "ClientRequestToken", tokA,
		"Tags", []map[string]string{{"Key": "team", "Value": "core"}})), "ARN")
	f.ok("CreateSecret", js("Name", "other", "SecretString", "x"))
	f.takeEvents()
	ctx := t.Context()
	policy := `{"Version":"2012-10-17","Statement":[
		{"Sid":"Describe","Effect":"Allow","Action":"secretsmanager:DescribeSecret","Resource":"arn:aws:secretsmanager:us-east-1:000000000000:secret:app/*"},
		{"Sid":"ReadCore","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*",
		 "Condition":{"StringEquals":{"secretsmanager:ResourceTag/team":"core"}}},
		{"Sid":"Create","Effect":"Allow","Action":"secretsmanager:CreateSecret","Resource":"arn:aws:secretsmanager:us-east-1:000000000000:secret:ci/*"},
		{"Sid":"List","Effect":"Allow","Action":"secretsmanager:ListSecrets","Resource":"*"}]}`
	u := store.User{Name: "ci", ID: "AIDACI", Path: "/", ARN: "arn:aws:iam::000000000000:user/ci", InlinePolicies: map[string]string{"sm": policy}}
	if err := f.st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	ci := &authn.Principal{Kind: authn.User, Account: testAccount, ARN: u.ARN, UserID: u.ID, User: &u}

	allowed := []struct{ op, body string }{
		{"DescribeSecret", js("SecretId", "app/db")},
		{"GetSecretValue", js("SecretId", arn)},
		{"ListSecrets", js()},
		{"CreateSecret", js("Name", "ci/token", "SecretString", "t")},
	}
	for _, c := range allowed {
		if r := f.callAs(ci, c.op, c.body); r.err != nil {
			t.Errorf("%s as ci: %v", c.op, r.err)
		}
	}
	denied := []struct {
		op, body, resource string
	}{
		{"PutSecretValue", js("SecretId", "app/db", "SecretString", "x", "ClientRequestToken", tokB), arn},
		{"GetSecretValue", js("SecretId", "other"), "arn:aws:secretsmanager:us-east-1:000000000000:secret:other-"},
		{"DescribeSecret", js("SecretId", "other"), "arn:aws:secretsmanager:us-east-1:000000000000:secret:other-"},
		{"DeleteSecret", js("SecretId", "app/db"), arn},
		// A secret that does not exist is not revealed to a caller who may not call on it.
		{"DescribeSecret", js("SecretId", "nothing/here"), "arn:aws:secretsmanager:us-east-1:000000000000:secret:nothing/here"},
		// Tags at creation need secretsmanager:TagResource.
		{"CreateSecret", js("Name", "ci/tagged", "SecretString", "t", "Tags", []map[string]string{{"Key": "k", "Value": "v"}}),
			"arn:aws:secretsmanager:us-east-1:000000000000:secret:ci/tagged-"},
		{"CreateSecret", js("Name", "elsewhere", "SecretString", "t"), "arn:aws:secretsmanager:us-east-1:000000000000:secret:elsewhere-"},
	}
	for _, c := range denied {
		t.Run("denied "+c.op+" "+c.body, func(t *testing.T) {
			f.takeEvents()
			r := f.callAs(ci, c.op, c.body)
			action := "secretsmanager:" + c.op
			if c.op == "CreateSecret" && strings.Contains(c.body, "Tags") {
				action = "secretsmanager:TagResource"
			}
			want := "User: arn:aws:iam::000000000000:user/ci is not authorized to perform: " + action + " on resource: " + c.resource
			r.wantErr(t, c.op, "AccessDeniedException", want, false)
			if !strings.HasSuffix(r.err.Message, "because no identity-based policy allows the "+action+" action") {
				t.Errorf("denial message %q does not say why", r.err.Message)
			}
			ev := f.takeEvents()
			if len(ev) != 1 || ev[0].Decision != audit.Denied || ev[0].Service != "secretsmanager" || ev[0].Action != c.op ||
				!strings.HasPrefix(ev[0].Role, c.resource) || ev[0].Caller != u.ARN || ev[0].SourceIP != "192.0.2.7" || ev[0].ErrorCode != "AccessDenied" {
				t.Fatalf("audit events of the denial: %+v", ev)
			}
		})
	}
	if _, err := f.st.GetSecret(ctx, "ci/tagged"); err == nil {
		t.Errorf("the denied CreateSecret with tags created the secret")
	}
	// A secret that does not exist, for a caller who may look: not found.
	f.callAs(ci, "DescribeSecret", js("SecretId", "app/none")).wantErr(t, "DescribeSecret app/none as ci", "ResourceNotFoundException",
		"Secrets Manager can't find the specified secret.", true)

	// Every event of an allowed read names the secret and never its value.
	f.takeEvents()
	f.ok("GetSecretValue", js("SecretId", "app/db"))
	ev := f.takeEvents()
	if len(ev) != 1 || ev[0].Decision != audit.Allowed || ev[0].Role != arn || ev[0].Action != "GetSecretValue" || ev[0].Caller != rootPrincipal.ARN {
		t.Fatalf("audit event of GetSecretValue: %+v", ev)
	}
	if strings.Contains(fmt.Sprintf("%+v", ev), "hunter2") {
		t.Fatalf("an audit event holds the secret value: %+v", ev)
	}
}

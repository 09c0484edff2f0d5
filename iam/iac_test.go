package iam

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/keyless-dev/keyless/store"
)

// Tests of what infrastructure-as-code tools (Terraform's AWS provider) need
// beyond provisioning: policy versions, instance profiles in a role's lifecycle,
// role updates, the entities of a policy, and a provider URL they can parse.

// versionIDs lists a ListPolicyVersions result as "v3*,v2,v1" (* the default).
func versionIDs(vs []types.PolicyVersion) string {
	var out []string
	for _, v := range vs {
		id := aws.ToString(v.VersionId)
		if v.IsDefaultVersion {
			id += "*"
		}
		out = append(out, id)
	}
	return strings.Join(out, ",")
}

func TestPolicyVersions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const arn = "arn:aws:iam::123456789012:policy/deploy"
	doc := func(action string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"*"}]}`
	}
	must(e.root.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("deploy"), PolicyDocument: aws.String(doc("s3:GetObject"))})).get(t)
	e.createRole("app")
	must(e.root.AttachRolePolicy(ctx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String(arn)})).get(t)
	list := func() string {
		t.Helper()
		return versionIDs(must(e.root.ListPolicyVersions(ctx, &iamsdk.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})).get(t).Versions)
	}
	defaultVersion := func() string {
		t.Helper()
		return aws.ToString(must(e.root.GetPolicy(ctx, &iamsdk.GetPolicyInput{PolicyArn: aws.String(arn)})).get(t).Policy.DefaultVersionId)
	}
	// The document the authorizer evaluates for the role's holders.
	effective := func() string {
		t.Helper()
		p, err := e.st.GetPolicy(ctx, arn)
		if err != nil {
			t.Fatal(err)
		}
		return p.Document
	}

	// A version not made the default changes nothing in effect.
	v2 := must(e.root.CreatePolicyVersion(ctx, &iamsdk.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(doc("s3:PutObject"))})).get(t).PolicyVersion
	if aws.ToString(v2.VersionId) != "v2" || v2.IsDefaultVersion || v2.CreateDate == nil || v2.Document != nil {
		t.Fatalf("CreatePolicyVersion = %+v", v2)
	}
	if got := list(); got != "v2,v1*" || defaultVersion() != "v1" || effective() != doc("s3:GetObject") {
		t.Fatalf("after v2: versions %s, default %s, effective %s", got, defaultVersion(), effective())
	}
	// SetAsDefault: GetPolicy's DefaultVersionId and the effective document follow.
	v3 := must(e.root.CreatePolicyVersion(ctx, &iamsdk.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(doc("s3:DeleteObject")), SetAsDefault: true})).get(t).PolicyVersion
	if aws.ToString(v3.VersionId) != "v3" || !v3.IsDefaultVersion {
		t.Fatalf("CreatePolicyVersion SetAsDefault = %+v", v3)
	}
	if got := list(); got != "v3*,v2,v1" || defaultVersion() != "v3" || effective() != doc("s3:DeleteObject") {
		t.Fatalf("after v3: versions %s, default %s, effective %s", got, defaultVersion(), effective())
	}
	got := must(e.root.GetPolicyVersion(ctx, &iamsdk.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v2")})).get(t).PolicyVersion
	if d, _ := url.QueryUnescape(aws.ToString(got.Document)); d != doc("s3:PutObject") || got.IsDefaultVersion {
		t.Fatalf("GetPolicyVersion v2 = %+v", got)
	}
	must(e.root.SetDefaultPolicyVersion(ctx, &iamsdk.SetDefaultPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v2")})).get(t)
	if got := list(); got != "v3,v2*,v1" || defaultVersion() != "v2" || effective() != doc("s3:PutObject") {
		t.Fatalf("after SetDefaultPolicyVersion v2: versions %s, default %s, effective %s", got, defaultVersion(), effective())
	}

	// At most five versions; ids are not reused after a delete.
	for range 2 {
		must(e.root.CreatePolicyVersion(ctx, &iamsdk.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(doc("s3:ListBucket"))})).get(t)
	}
	_, err := e.root.CreatePolicyVersion(ctx, &iamsdk.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(doc("s3:ListBucket"))})
	wantErr(t, err, "LimitExceeded", 409, "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")
	must(e.root.DeletePolicyVersion(ctx, &iamsdk.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v5")})).get(t)
	v6 := must(e.root.CreatePolicyVersion(ctx, &iamsdk.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(doc("s3:ListBucket"))})).get(t).PolicyVersion
	if aws.ToString(v6.VersionId) != "v6" {
		t.Fatalf("version after deleting v5 = %s, want v6", aws.ToString(v6.VersionId))
	}
	if got := list(); got != "v6,v4,v3,v2*,v1" {
		t.Fatalf("versions = %s", got)
	}

	// Errors, each with IAM's code, status and message.
	tests := []struct {
		name   string
		call   func() error
		code   string
		status int
		msg    string
	}{
		{"delete the default version", func() error {
			_, err := e.root.DeletePolicyVersion(ctx, &iamsdk.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v2")})
			return err
		}, "DeleteConflict", 409, "Cannot delete the default version of a policy."},
		{"delete a missing version", func() error {
			_, err := e.root.DeletePolicyVersion(ctx, &iamsdk.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v5")})
			return err
		}, "NoSuchEntity", 404, "Policy " + arn + " version v5 does not exist or is not attachable."},
		{"default a missing version", func() error {
			_, err := e.root.SetDefaultPolicyVersion(ctx, &iamsdk.SetDefaultPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v9")})
			return err
		}, "NoSuchEntity", 404, "Policy " + arn + " version v9 does not exist or is not attachable."},
		{"a version id out of pattern", func() error {
			_, err := e.root.GetPolicyVersion(ctx, &iamsdk.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("2")})
			return err
		}, "ValidationError", 400, `1 validation error detected: Value '2' at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`},
		{"a malformed document", func() error {
			_, err := e.root.CreatePolicyVersion(ctx, &iamsdk.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String("{")})
			return err
		}, "MalformedPolicyDocument", 400, ""},
		{"a version of a missing policy", func() error {
			_, err := e.root.CreatePolicyVersion(ctx, &iamsdk.CreatePolicyVersionInput{PolicyArn: aws.String("arn:aws:iam::123456789012:policy/other"), PolicyDocument: aws.String(doc("s3:*"))})
			return err
		}, "NoSuchEntity", 404, "Policy arn:aws:iam::123456789012:policy/other was not found."},
		{"the versions of a missing policy", func() error {
			_, err := e.root.ListPolicyVersions(ctx, &iamsdk.ListPolicyVersionsInput{PolicyArn: aws.String("arn:aws:iam::123456789012:policy/other")})
			return err
		}, "NoSuchEntity", 404, "Policy arn:aws:iam::123456789012:policy/other was not found."},
		{"a version of an AWS managed policy", func() error {
			_, err := e.root.CreatePolicyVersion(ctx, &iamsdk.CreatePolicyVersionInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess"), PolicyDocument: aws.String(doc("s3:*"))})
			return err
		}, "AccessDenied", 403, "User: arn:aws:iam::123456789012:root is not authorized to perform: iam:CreatePolicyVersion on resource: policy arn:aws:iam::aws:policy/AdministratorAccess"},
		{"delete a policy with versions", func() error {
			must(e.root.DetachRolePolicy(ctx, &iamsdk.DetachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String(arn)})).get(t)
			_, err := e.root.DeletePolicy(ctx, &iamsdk.DeletePolicyInput{PolicyArn: aws.String(arn)})
			return err
		}, "DeleteConflict", 409, "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.call(), tc.code, tc.status, tc.msg) })
	}

	// As Terraform deletes a policy: the other versions, then the policy with its default.
	for _, v := range must(e.root.ListPolicyVersions(ctx, &iamsdk.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})).get(t).Versions {
		if !v.IsDefaultVersion {
			must(e.root.DeletePolicyVersion(ctx, &iamsdk.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: v.VersionId})).get(t)
		}
	}
	must(e.root.DeletePolicy(ctx, &iamsdk.DeletePolicyInput{PolicyArn: aws.String(arn)})).get(t)
	_, err = e.root.ListPolicyVersions(ctx, &iamsdk.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})
	wantErr(t, err, "NoSuchEntity", 404, "Policy "+arn+" was not found.")
	// A policy re-created under the same name starts again at v1.
	must(e.root.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("deploy"), PolicyDocument: aws.String(doc("s3:GetObject"))})).get(t)
	if got := list(); got != "v1*" {
		t.Fatalf("versions of the re-created policy = %s", got)
	}

	// Every new action is audited with the policy as its resource.
	seen := map[string]bool{}
	for _, ev := range e.events() {
		if ev.Role == arn {
			seen[ev.Action+"/"+ev.Decision] = true
		}
	}
	for _, want := range []string{"CreatePolicyVersion/Allowed", "DeletePolicyVersion/Allowed", "SetDefaultPolicyVersion/Allowed", "ListPolicyVersions/Allowed", "DeletePolicyVersion/Error", "CreatePolicyVersion/Error"} {
		if !seen[want] {
			t.Errorf("no audit event %s on %s", want, arn)
		}
	}
}

// TestPolicyVersionsOfOlderPolicies: a policy stored without versions (written by an
// older keyless) has its one version, the default, and gets new ones after it.
func TestPolicyVersionsOfOlderPolicies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const arn = "arn:aws:iam::123456789012:policy/old"
	old := store.ManagedPolicy{ID: "ANPAOLD", Name: "old", Path: "/", ARN: arn, Document: allowAllPolicy, VersionID: "v3",
		CreatedAt: e.svc.now(), UpdatedAt: e.svc.now()}
	if err := e.st.CreatePolicy(ctx, old); err != nil {
		t.Fatal(err)
	}
	if got := versionIDs(must(e.root.ListPolicyVersions(ctx, &iamsdk.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})).get(t).Versions); got != "v3*" {
		t.Fatalf("versions = %s", got)
	}
	v := must(e.root.CreatePolicyVersion(ctx, &iamsdk.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(allowAllPolicy)})).get(t).PolicyVersion
	if aws.ToString(v.VersionId) != "v4" {
		t.Fatalf("new version = %s, want v4", aws.ToString(v.VersionId))
	}
	if got := versionIDs(must(e.root.ListPolicyVersions(ctx, &iamsdk.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})).get(t).Versions); got != "v4,v3*" {
		t.Fatalf("versions = %s", got)
	}
}

func TestInstanceProfiles(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createRole("app")
	e.createRole("other")
	const arn = "arn:aws:iam::123456789012:instance-profile/ci/web"
	p := must(e.root.CreateInstanceProfile(ctx, &iamsdk.CreateInstanceProfileInput{InstanceProfileName: aws.String("web"), Path: aws.String("/ci/"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}})).get(t).InstanceProfile
	if aws.ToString(p.Arn) != arn || !strings.HasPrefix(aws.ToString(p.InstanceProfileId), "AIPA") || len(p.Roles) != 0 || p.CreateDate == nil || len(p.Tags) != 1 {
		t.Fatalf("CreateInstanceProfile = %+v", p)
	}
	must(e.root.CreateInstanceProfile(ctx, &iamsdk.CreateInstanceProfileInput{InstanceProfileName: aws.String("api")})).get(t)
	must(e.root.AddRoleToInstanceProfile(ctx, &iamsdk.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("WEB"), RoleName: aws.String("app")})).get(t)

	p = must(e.root.GetInstanceProfile(ctx, &iamsdk.GetInstanceProfileInput{InstanceProfileName: aws.String("web")})).get(t).InstanceProfile
	if len(p.Roles) != 1 || aws.ToString(p.Roles[0].RoleName) != "app" || aws.ToString(p.Roles[0].Arn) != "arn:aws:iam::123456789012:role/app" {
		t.Fatalf("GetInstanceProfile roles = %+v", p.Roles)
	}
	names := func(ps []types.InstanceProfile) string {
		var out []string
		for _, p := range ps {
			out = append(out, aws.ToString(p.InstanceProfileName))
		}
		return strings.Join(out, ",")
	}
	if got := names(must(e.root.ListInstanceProfiles(ctx, &iamsdk.ListInstanceProfilesInput{})).get(t).InstanceProfiles); got != "api,web" {
		t.Fatalf("ListInstanceProfiles = %s", got)
	}
	if got := names(must(e.root.ListInstanceProfiles(ctx, &iamsdk.ListInstanceProfilesInput{PathPrefix: aws.String("/ci/")})).get(t).InstanceProfiles); got != "web" {
		t.Fatalf("ListInstanceProfiles /ci/ = %s", got)
	}
	page1 := must(e.root.ListInstanceProfiles(ctx, &iamsdk.ListInstanceProfilesInput{MaxItems: aws.Int32(1)})).get(t)
	page2 := must(e.root.ListInstanceProfiles(ctx, &iamsdk.ListInstanceProfilesInput{Marker: page1.Marker})).get(t)
	if names(page1.InstanceProfiles) != "api" || !page1.IsTruncated || names(page2.InstanceProfiles) != "web" || page2.IsTruncated {
		t.Fatalf("pages = %s (%v), %s (%v)", names(page1.InstanceProfiles), page1.IsTruncated, names(page2.InstanceProfiles), page2.IsTruncated)
	}
	if got := names(must(e.root.ListInstanceProfilesForRole(ctx, &iamsdk.ListInstanceProfilesForRoleInput{RoleName: aws.String("APP")})).get(t).InstanceProfiles); got != "web" {
		t.Fatalf("ListInstanceProfilesForRole app = %s", got)
	}
	if got := names(must(e.root.ListInstanceProfilesForRole(ctx, &iamsdk.ListInstanceProfilesForRoleInput{RoleName: aws.String("other")})).get(t).InstanceProfiles); got != "" {
		t.Fatalf("ListInstanceProfilesForRole other = %s", got)
	}

	tests := []struct {
		name   string
		call   func() error
		code   string
		status int
		msg    string
	}{
		{"a second role", func() error {
			_, err := e.root.AddRoleToInstanceProfile(ctx, &iamsdk.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("other")})
			return err
		}, "LimitExceeded", 409, "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"},
		{"a duplicate name", func() error {
			_, err := e.root.CreateInstanceProfile(ctx, &iamsdk.CreateInstanceProfileInput{InstanceProfileName: aws.String("Web")})
			return err
		}, "EntityAlreadyExists", 409, "Instance Profile Web already exists."},
		{"a missing profile", func() error {
			_, err := e.root.GetInstanceProfile(ctx, &iamsdk.GetInstanceProfileInput{InstanceProfileName: aws.String("ghost")})
			return err
		}, "NoSuchEntity", 404, "Instance Profile ghost cannot be found."},
		{"a missing role", func() error {
			_, err := e.root.AddRoleToInstanceProfile(ctx, &iamsdk.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("api"), RoleName: aws.String("ghost")})
			return err
		}, "NoSuchEntity", 404, "The role with name ghost cannot be found."},
		{"profiles of a missing role", func() error {
			_, err := e.root.ListInstanceProfilesForRole(ctx, &iamsdk.ListInstanceProfilesForRoleInput{RoleName: aws.String("ghost")})
			return err
		}, "NoSuchEntity", 404, "The role with name ghost cannot be found."},
		{"delete a role in a profile", func() error {
			_, err := e.root.DeleteRole(ctx, &iamsdk.DeleteRoleInput{RoleName: aws.String("app")})
			return err
		}, "DeleteConflict", 409, "Cannot delete entity, must remove roles from instance profile first."},
		{"delete a profile with a role", func() error {
			_, err := e.root.DeleteInstanceProfile(ctx, &iamsdk.DeleteInstanceProfileInput{InstanceProfileName: aws.String("web")})
			return err
		}, "DeleteConflict", 409, "Cannot delete entity, must remove roles from instance profile first."},
		{"remove a role not in the profile", func() error {
			_, err := e.root.RemoveRoleFromInstanceProfile(ctx, &iamsdk.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("api"), RoleName: aws.String("app")})
			return err
		}, "NoSuchEntity", 404, "The role with name app cannot be found."},
		{"an invalid name", func() error {
			_, err := e.root.CreateInstanceProfile(ctx, &iamsdk.CreateInstanceProfileInput{InstanceProfileName: aws.String("a b")})
			return err
		}, "ValidationError", 400, `1 validation error detected: Value 'a b' at 'instanceProfileName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.call(), tc.code, tc.status, tc.msg) })
	}

	// The role's lifecycle as Terraform ends it: out of its profiles, then deleted.
	for _, p := range must(e.root.ListInstanceProfilesForRole(ctx, &iamsdk.ListInstanceProfilesForRoleInput{RoleName: aws.String("app")})).get(t).InstanceProfiles {
		must(e.root.RemoveRoleFromInstanceProfile(ctx, &iamsdk.RemoveRoleFromInstanceProfileInput{InstanceProfileName: p.InstanceProfileName, RoleName: aws.String("app")})).get(t)
	}
	must(e.root.DeleteRole(ctx, &iamsdk.DeleteRoleInput{RoleName: aws.String("app")})).get(t)
	for _, name := range []string{"web", "api"} {
		must(e.root.DeleteInstanceProfile(ctx, &iamsdk.DeleteInstanceProfileInput{InstanceProfileName: aws.String(name)})).get(t)
	}
	if got := names(must(e.root.ListInstanceProfiles(ctx, &iamsdk.ListInstanceProfilesInput{})).get(t).InstanceProfiles); got != "" {
		t.Fatalf("ListInstanceProfiles after deletes = %s", got)
	}

	// Authorization: on the profile's ARN, audited like every call.
	alice, _, _ := e.createUserWithKey("alice")
	_, err := alice.CreateInstanceProfile(ctx, &iamsdk.CreateInstanceProfileInput{InstanceProfileName: aws.String("x"), Path: aws.String("/ci/")})
	wantErr(t, err, "AccessDenied", 403, "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: iam:CreateInstanceProfile on resource: arn:aws:iam::123456789012:instance-profile/ci/x because no identity-based policy allows the iam:CreateInstanceProfile action")
	_, err = alice.ListInstanceProfilesForRole(ctx, &iamsdk.ListInstanceProfilesForRoleInput{RoleName: aws.String("other")})
	wantErr(t, err, "AccessDenied", 403, "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: iam:ListInstanceProfilesForRole on resource: arn:aws:iam::123456789012:role/other because no identity-based policy allows the iam:ListInstanceProfilesForRole action")
	seen := map[string]bool{}
	for _, ev := range e.events() {
		seen[ev.Action+"/"+ev.Decision+"/"+ev.Role] = true
	}
	for _, want := range []string{
		"CreateInstanceProfile/Allowed/" + arn,
		"AddRoleToInstanceProfile/Allowed/" + arn,
		"AddRoleToInstanceProfile/Error/" + arn,
		"RemoveRoleFromInstanceProfile/Allowed/" + arn,
		"DeleteInstanceProfile/Allowed/" + arn,
		"ListInstanceProfilesForRole/Allowed/arn:aws:iam::123456789012:role/app",
		"DeleteRole/Error/arn:aws:iam::123456789012:role/app",
		"CreateInstanceProfile/Denied/arn:aws:iam::123456789012:instance-profile/ci/x",
	} {
		if !seen[want] {
			t.Errorf("no audit event %s", want)
		}
	}
}

func TestUpdateRole(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createRole("app")
	get := func() *types.Role {
		t.Helper()
		return must(e.root.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("app")})).get(t).Role
	}
	must(e.root.UpdateRole(ctx, &iamsdk.UpdateRoleInput{RoleName: aws.String("app"), Description: aws.String("deploys"), MaxSessionDuration: aws.Int32(7200)})).get(t)
	if r := get(); aws.ToString(r.Description) != "deploys" || aws.ToInt32(r.MaxSessionDuration) != 7200 {
		t.Fatalf("after UpdateRole: %q %d", aws.ToString(r.Description), aws.ToInt32(r.MaxSessionDuration))
	}
	// Only what is given changes.
	must(e.root.UpdateRole(ctx, &iamsdk.UpdateRoleInput{RoleName: aws.String("app"), MaxSessionDuration: aws.Int32(3600)})).get(t)
	if r := get(); aws.ToString(r.Description) != "deploys" || aws.ToInt32(r.MaxSessionDuration) != 3600 {
		t.Fatalf("after UpdateRole MaxSessionDuration: %q %d", aws.ToString(r.Description), aws.ToInt32(r.MaxSessionDuration))
	}
	out := must(e.root.UpdateRoleDescription(ctx, &iamsdk.UpdateRoleDescriptionInput{RoleName: aws.String("app"), Description: aws.String("new")})).get(t)
	if aws.ToString(out.Role.Description) != "new" || aws.ToString(get().Description) != "new" {
		t.Fatalf("UpdateRoleDescription = %+v", out.Role)
	}
	_, err := e.root.UpdateRole(ctx, &iamsdk.UpdateRoleInput{RoleName: aws.String("app"), MaxSessionDuration: aws.Int32(60)})
	wantErr(t, err, "ValidationError", 400, "1 validation error detected: Value '60' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600")
	_, err = e.root.UpdateRole(ctx, &iamsdk.UpdateRoleInput{RoleName: aws.String("ghost"), Description: aws.String("x")})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name ghost cannot be found.")
}

func TestListEntitiesForPolicy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pol := must(e.root.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("shared"), PolicyDocument: aws.String(allowAllPolicy)})).get(t).Policy
	for _, r := range []string{"zeta", "Alpha", "unrelated"} {
		e.createRole(r)
	}
	must(e.root.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("bob"), Path: aws.String("/people/")})).get(t)
	for _, r := range []string{"zeta", "Alpha"} {
		must(e.root.AttachRolePolicy(ctx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String(r), PolicyArn: pol.Arn})).get(t)
	}
	must(e.root.AttachUserPolicy(ctx, &iamsdk.AttachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: pol.Arn})).get(t)
	must(e.root.PutRolePermissionsBoundary(ctx, &iamsdk.PutRolePermissionsBoundaryInput{RoleName: aws.String("unrelated"), PermissionsBoundary: pol.Arn})).get(t)

	show := func(out *iamsdk.ListEntitiesForPolicyOutput) string {
		var s []string
		for _, u := range out.PolicyUsers {
			s = append(s, "user:"+aws.ToString(u.UserName))
		}
		for _, r := range out.PolicyRoles {
			if !strings.HasPrefix(aws.ToString(r.RoleId), "AROA") {
				s = append(s, "bad id "+aws.ToString(r.RoleId))
			}
			s = append(s, "role:"+aws.ToString(r.RoleName))
		}
		return strings.Join(s, ",") + fmt.Sprintf(" groups=%d truncated=%v", len(out.PolicyGroups), out.IsTruncated)
	}
	tests := []struct {
		name string
		in   iamsdk.ListEntitiesForPolicyInput
		want string
	}{
		{"all", iamsdk.ListEntitiesForPolicyInput{}, "user:bob,role:Alpha,role:zeta groups=0 truncated=false"},
		{"roles", iamsdk.ListEntitiesForPolicyInput{EntityFilter: types.EntityTypeRole}, "role:Alpha,role:zeta groups=0 truncated=false"},
		{"users", iamsdk.ListEntitiesForPolicyInput{EntityFilter: types.EntityTypeUser}, "user:bob groups=0 truncated=false"},
		{"groups", iamsdk.ListEntitiesForPolicyInput{EntityFilter: types.EntityTypeGroup}, " groups=0 truncated=false"},
		{"path prefix", iamsdk.ListEntitiesForPolicyInput{PathPrefix: aws.String("/people/")}, "user:bob groups=0 truncated=false"},
		{"boundaries", iamsdk.ListEntitiesForPolicyInput{PolicyUsageFilter: types.PolicyUsageTypePermissionsBoundary}, "role:unrelated groups=0 truncated=false"},
		{"first page", iamsdk.ListEntitiesForPolicyInput{MaxItems: aws.Int32(2)}, "user:bob,role:Alpha groups=0 truncated=true"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.PolicyArn = pol.Arn
			if got := show(must(e.root.ListEntitiesForPolicy(ctx, &in)).get(t)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	first := must(e.root.ListEntitiesForPolicy(ctx, &iamsdk.ListEntitiesForPolicyInput{PolicyArn: pol.Arn, MaxItems: aws.Int32(2)})).get(t)
	rest := must(e.root.ListEntitiesForPolicy(ctx, &iamsdk.ListEntitiesForPolicyInput{PolicyArn: pol.Arn, Marker: first.Marker})).get(t)
	if got := show(rest); got != "role:zeta groups=0 truncated=false" {
		t.Errorf("second page = %s", got)
	}
	_, err := e.root.ListEntitiesForPolicy(ctx, &iamsdk.ListEntitiesForPolicyInput{PolicyArn: aws.String("arn:aws:iam::123456789012:policy/ghost")})
	wantErr(t, err, "NoSuchEntity", 404, "Policy arn:aws:iam::123456789012:policy/ghost was not found.")
}

// TestProviderURLResult: GetOpenIDConnectProvider returns a URL as IAM stores it,
// but one with a port with its scheme, so that clients can parse it.
func TestProviderURLResult(t *testing.T) {
	tests := []struct{ stored, want string }{
		{"token.actions.githubusercontent.com", "token.actions.githubusercontent.com"},
		{"api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc", "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"},
		{"issuer.example/", "issuer.example/"},
		{"issuer.example/a:b", "issuer.example/a:b"},
		{"127.0.0.1:8443/issuer", "https://127.0.0.1:8443/issuer"},
		{"localhost:8443", "https://localhost:8443"},
		{"[::1]:8443/oidc", "https://[::1]:8443/oidc"},
		{"[::1]/oidc", "https://[::1]/oidc"},
	}
	for _, tc := range tests {
		if got := providerURLResult(tc.stored); got != tc.want {
			t.Errorf("providerURLResult(%q) = %q, want %q", tc.stored, got, tc.want)
		}
		// The parse Terraform's AWS provider (5.x) does before comparing.
		u, err := url.Parse(providerURLResult(tc.stored))
		if err != nil {
			t.Errorf("url.Parse(%q): %v", providerURLResult(tc.stored), err)
			continue
		}
		u.Scheme = "https"
		if u.String() != "https://"+tc.stored {
			t.Errorf("%q parses to %q, want https://%s", tc.stored, u.String(), tc.stored)
		}
	}
}

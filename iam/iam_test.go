package iam

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/gateway"
)

func TestOpenIDConnectProviders(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const host = "127.0.0.1:8443/issuer/acme"
	thumb := strings.Repeat("9e", 20)
	out := must(e.root.CreateOpenIDConnectProvider(ctx, &iamsdk.CreateOpenIDConnectProviderInput{
		Url:            aws.String("https://" + host),
		ClientIDList:   []string{"ari:cloud:bitbucket::workspace/acme", "sts.amazonaws.com"},
		ThumbprintList: []string{thumb},
		Tags:           []types.Tag{{Key: aws.String("team"), Value: aws.String("ci")}},
	})).get(t)
	arn := "arn:aws:iam::" + testAccount + ":oidc-provider/" + host
	if got := aws.ToString(out.OpenIDConnectProviderArn); got != arn {
		t.Fatalf("arn = %s, want %s", got, arn)
	}
	if len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "team" {
		t.Fatalf("tags = %+v", out.Tags)
	}

	_, err := e.root.CreateOpenIDConnectProvider(ctx, &iamsdk.CreateOpenIDConnectProviderInput{Url: aws.String("https://" + host), ClientIDList: []string{"x"}})
	wantErr(t, err, "EntityAlreadyExists", 409, "Provider with url https://"+host+" already exists.")

	// Thumbprints are optional since 2024.
	noThumb := must(e.root.CreateOpenIDConnectProvider(ctx, &iamsdk.CreateOpenIDConnectProviderInput{Url: aws.String("https://token.example.com"), ClientIDList: []string{"sts.amazonaws.com"}})).get(t)

	got := must(e.root.GetOpenIDConnectProvider(ctx, &iamsdk.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})).get(t)
	// A URL with a port comes back with its scheme (see TestProviderURLResult).
	if aws.ToString(got.Url) != "https://"+host || len(got.ClientIDList) != 2 || got.ThumbprintList[0] != thumb || got.CreateDate == nil || len(got.Tags) != 1 {
		t.Fatalf("get = %+v", got)
	}

	list := must(e.root.ListOpenIDConnectProviders(ctx, &iamsdk.ListOpenIDConnectProvidersInput{})).get(t)
	if len(list.OpenIDConnectProviderList) != 2 {
		t.Fatalf("list = %+v", list.OpenIDConnectProviderList)
	}

	thumb2 := strings.Repeat("AB", 20)
	must(e.root.UpdateOpenIDConnectProviderThumbprint(ctx, &iamsdk.UpdateOpenIDConnectProviderThumbprintInput{OpenIDConnectProviderArn: aws.String(arn), ThumbprintList: []string{thumb2}})).get(t)
	for range 2 { // idempotent
		must(e.root.AddClientIDToOpenIDConnectProvider(ctx, &iamsdk.AddClientIDToOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn), ClientID: aws.String("extra")})).get(t)
	}
	for range 2 {
		must(e.root.RemoveClientIDFromOpenIDConnectProvider(ctx, &iamsdk.RemoveClientIDFromOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn), ClientID: aws.String("sts.amazonaws.com")})).get(t)
	}
	got = must(e.root.GetOpenIDConnectProvider(ctx, &iamsdk.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})).get(t)
	if fmt.Sprint(got.ThumbprintList) != "["+thumb2+"]" || fmt.Sprint(got.ClientIDList) != "[ari:cloud:bitbucket::workspace/acme extra]" {
		t.Fatalf("after updates: thumbprints %v client ids %v", got.ThumbprintList, got.ClientIDList)
	}

	must(e.root.TagOpenIDConnectProvider(ctx, &iamsdk.TagOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}})).get(t)
	must(e.root.UntagOpenIDConnectProvider(ctx, &iamsdk.UntagOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn), TagKeys: []string{"TEAM"}})).get(t)
	tags := must(e.root.ListOpenIDConnectProviderTags(ctx, &iamsdk.ListOpenIDConnectProviderTagsInput{OpenIDConnectProviderArn: aws.String(arn)})).get(t)
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "env" {
		t.Fatalf("tags = %+v", tags.Tags)
	}

	// Errors.
	for _, u := range []string{"http://insecure.example.com", "https://x.example.com/?a=b", "https://x.example.com/#f", "https:///path"} {
		_, err = e.root.CreateOpenIDConnectProvider(ctx, &iamsdk.CreateOpenIDConnectProviderInput{Url: aws.String(u), ClientIDList: []string{"a"}})
		wantErr(t, err, "InvalidInput", 400, "")
	}
	_, err = e.root.CreateOpenIDConnectProvider(ctx, &iamsdk.CreateOpenIDConnectProviderInput{Url: aws.String("https://y.example.com"), ThumbprintList: []string{"abc"}})
	wantErr(t, err, "ValidationError", 400, "1 validation error detected: Value 'abc' at 'thumbprintList.1.member' failed to satisfy constraint: Member must have length greater than or equal to 40")
	_, err = e.root.CreateOpenIDConnectProvider(ctx, &iamsdk.CreateOpenIDConnectProviderInput{Url: aws.String("https://y.example.com"), ThumbprintList: []string{strings.Repeat("z", 40)}})
	wantErr(t, err, "InvalidInput", 400, "")
	six := []string{thumb, thumb, thumb, thumb, thumb, thumb}
	_, err = e.root.CreateOpenIDConnectProvider(ctx, &iamsdk.CreateOpenIDConnectProviderInput{Url: aws.String("https://y.example.com"), ThumbprintList: six})
	wantErr(t, err, "ValidationError", 400, "")
	if ae := err.Error(); !strings.Contains(ae, "at 'thumbprintList' failed to satisfy constraint: Member must have length less than or equal to 5") {
		t.Fatalf("six thumbprints: %v", err)
	}

	must(e.root.DeleteOpenIDConnectProvider(ctx, &iamsdk.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})).get(t)
	must(e.root.DeleteOpenIDConnectProvider(ctx, &iamsdk.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: noThumb.OpenIDConnectProviderArn})).get(t)
	_, err = e.root.GetOpenIDConnectProvider(ctx, &iamsdk.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	wantErr(t, err, "NoSuchEntity", 404, "OpenIDConnect Provider not found for arn "+arn)
	_, err = e.root.DeleteOpenIDConnectProvider(ctx, &iamsdk.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	wantErr(t, err, "NoSuchEntity", 404, "OpenIDConnect Provider not found for arn "+arn)
	_, err = e.root.AddClientIDToOpenIDConnectProvider(ctx, &iamsdk.AddClientIDToOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn), ClientID: aws.String("x")})
	wantErr(t, err, "NoSuchEntity", 404, "")
}

func TestProviderURLRules(t *testing.T) {
	strict := New(Config{Account: testAccount})
	local := New(Config{Account: testAccount, AllowPortInProviderURL: true})
	cases := []struct {
		url       string
		strict    string // "" means refused
		withPorts string
	}{
		{"https://token.actions.githubusercontent.com", "token.actions.githubusercontent.com", "token.actions.githubusercontent.com"},
		{"https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc", "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc", "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"},
		{"https://issuer.example/", "issuer.example/", "issuer.example/"},
		{"HTTPS://issuer.example", "issuer.example", "issuer.example"},
		{"https://127.0.0.1:8443/oidc", "", "127.0.0.1:8443/oidc"},
		{"https://[::1]:8443", "", "[::1]:8443"},
		{"https://host:0", "", ""},
		{"https://host:99999", "", ""},
		{"http://issuer.example", "", ""},
		{"https://issuer.example?x=1", "", ""},
		{"https://", "", ""},
		{"https://user@host", "", ""},
	}
	for _, c := range cases {
		got, err := strict.providerURL(c.url)
		if (err == nil) != (c.strict != "") || got != c.strict {
			t.Errorf("strict %q = %q, %v; want %q", c.url, got, err, c.strict)
		}
		got, err = local.providerURL(c.url)
		if (err == nil) != (c.withPorts != "") || got != c.withPorts {
			t.Errorf("local %q = %q, %v; want %q", c.url, got, err, c.withPorts)
		}
		if err != nil && !awsapi.HasCode(err, "InvalidInput") {
			t.Errorf("%q: error %v is not InvalidInput", c.url, err)
		}
	}
}

func TestEncodeDocument(t *testing.T) {
	doc := `{"Version": "2012-10-17", "Statement": [{"Action": "s3:Get*", "Resource": "arn:aws:s3:::b/~a_b-c.d"}]}` + "\n"
	enc := encodeDocument(doc)
	if strings.ContainsAny(enc, ` "{}:,*+/`+"\n") || !strings.Contains(enc, "%20") || !strings.Contains(enc, "%3A") || !strings.Contains(enc, "~a_b-c.d") {
		t.Fatalf("encoded = %s", enc)
	}
	if dec, err := url.PathUnescape(enc); err != nil || dec != doc {
		t.Fatalf("round trip = %q, %v", dec, err)
	}
	if got := encodeDocument("é"); got != "%C3%A9" {
		t.Fatalf("utf-8 = %s", got)
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	created := must(e.root.CreateRole(ctx, &iamsdk.CreateRoleInput{
		RoleName:                 aws.String("deploy-role"),
		Path:                     aws.String("/ci/"),
		AssumeRolePolicyDocument: aws.String(testTrust),
		Description:              aws.String("Bitbucket deploys"),
		Tags:                     []types.Tag{{Key: aws.String("Managed By"), Value: aws.String("Cloudformation Stack")}},
	})).get(t).Role
	if !regexp.MustCompile(`^AROA[A-Z0-9]{17}$`).MatchString(aws.ToString(created.RoleId)) {
		t.Fatalf("RoleId = %s", aws.ToString(created.RoleId))
	}
	if aws.ToString(created.Arn) != "arn:aws:iam::123456789012:role/ci/deploy-role" || aws.ToString(created.Path) != "/ci/" {
		t.Fatalf("arn/path = %s %s", aws.ToString(created.Arn), aws.ToString(created.Path))
	}
	if aws.ToInt32(created.MaxSessionDuration) != 3600 || created.CreateDate == nil || len(created.Tags) != 1 {
		t.Fatalf("created = %+v", created)
	}
	// The Go SDK returns the percent-encoded document as it is.
	enc := aws.ToString(created.AssumeRolePolicyDocument)
	if !strings.HasPrefix(enc, "%7B%22Version%22%3A%20%222012-10-17%22") {
		t.Fatalf("document not percent-encoded: %s", enc)
	}
	if dec, _ := url.PathUnescape(enc); dec != testTrust {
		t.Fatalf("document round trip = %s", dec)
	}

	_, err := e.root.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String("DEPLOY-ROLE"), AssumeRolePolicyDocument: aws.String(testTrust)})
	wantErr(t, err, "EntityAlreadyExists", 409, "Role with name DEPLOY-ROLE already exists.")
	_, err = e.root.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String("bad name!"), AssumeRolePolicyDocument: aws.String(testTrust)})
	wantErr(t, err, "ValidationError", 400, `1 validation error detected: Value 'bad name!' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	_, err = e.root.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String(strings.Repeat("r", 65)), AssumeRolePolicyDocument: aws.String(testTrust)})
	wantErr(t, err, "ValidationError", 400, "1 validation error detected: Value '"+strings.Repeat("r", 65)+"' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64")
	_, err = e.root.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String("r1"), Path: aws.String("ci"), AssumeRolePolicyDocument: aws.String(testTrust)})
	wantErr(t, err, "ValidationError", 400, `1 validation error detected: Value 'ci' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	_, err = e.root.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String("r1"), AssumeRolePolicyDocument: aws.String(testTrust), MaxSessionDuration: aws.Int32(100)})
	wantErr(t, err, "ValidationError", 400, "1 validation error detected: Value '100' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600")
	_, err = e.root.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String("r1"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[`)})
	wantErr(t, err, "MalformedPolicyDocument", 400, "")
	_, err = e.root.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String("r1"), AssumeRolePolicyDocument: aws.String(allowAllPolicy)})
	wantErr(t, err, "MalformedPolicyDocument", 400, "")
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalTag/x":"` + strings.Repeat("a", 2100) + `"}}}]}`
	_, err = e.root.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String("r1"), AssumeRolePolicyDocument: aws.String(big)})
	wantErr(t, err, "LimitExceeded", 409, "Cannot exceed quota for ACLSizePerRole: 2048")

	got := must(e.root.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("deploy-role")})).get(t).Role
	if aws.ToString(got.RoleId) != aws.ToString(created.RoleId) || aws.ToString(got.Description) != "Bitbucket deploys" || got.RoleLastUsed == nil {
		t.Fatalf("get = %+v", got)
	}
	_, err = e.root.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("nope")})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name nope cannot be found.")

	must(e.root.UpdateRole(ctx, &iamsdk.UpdateRoleInput{RoleName: aws.String("deploy-role"), Description: aws.String("changed"), MaxSessionDuration: aws.Int32(7200)})).get(t)
	_, err = e.root.UpdateRole(ctx, &iamsdk.UpdateRoleInput{RoleName: aws.String("deploy-role"), MaxSessionDuration: aws.Int32(50000)})
	wantErr(t, err, "ValidationError", 400, "1 validation error detected: Value '50000' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200")
	newTrust := strings.Replace(testTrust, "{repo-uuid}:*", "{repo-uuid}:{env}", 1)
	must(e.root.UpdateAssumeRolePolicy(ctx, &iamsdk.UpdateAssumeRolePolicyInput{RoleName: aws.String("deploy-role"), PolicyDocument: aws.String(newTrust)})).get(t)
	_, err = e.root.UpdateAssumeRolePolicy(ctx, &iamsdk.UpdateAssumeRolePolicyInput{RoleName: aws.String("deploy-role"), PolicyDocument: aws.String(`{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`)})
	wantErr(t, err, "MalformedPolicyDocument", 400, "")
	_, err = e.root.UpdateAssumeRolePolicy(ctx, &iamsdk.UpdateAssumeRolePolicyInput{RoleName: aws.String("ghost"), PolicyDocument: aws.String(newTrust)})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name ghost cannot be found.")
	got = must(e.root.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("deploy-role")})).get(t).Role
	if dec, _ := url.PathUnescape(aws.ToString(got.AssumeRolePolicyDocument)); dec != newTrust || aws.ToInt32(got.MaxSessionDuration) != 7200 || aws.ToString(got.Description) != "changed" {
		t.Fatalf("after update = %+v", got)
	}

	// Inline policies.
	inline := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "cloudfront:CreateInvalidation"], "Resource": "*"}]}`
	must(e.root.PutRolePolicy(ctx, &iamsdk.PutRolePolicyInput{RoleName: aws.String("deploy-role"), PolicyName: aws.String("deploy"), PolicyDocument: aws.String(inline)})).get(t)
	must(e.root.PutRolePolicy(ctx, &iamsdk.PutRolePolicyInput{RoleName: aws.String("deploy-role"), PolicyName: aws.String("another"), PolicyDocument: aws.String(allowAllPolicy)})).get(t)
	rp := must(e.root.GetRolePolicy(ctx, &iamsdk.GetRolePolicyInput{RoleName: aws.String("deploy-role"), PolicyName: aws.String("deploy")})).get(t)
	if dec, _ := url.PathUnescape(aws.ToString(rp.PolicyDocument)); dec != inline || aws.ToString(rp.RoleName) != "deploy-role" || aws.ToString(rp.PolicyName) != "deploy" {
		t.Fatalf("GetRolePolicy = %+v", rp)
	}
	if aws.ToString(rp.PolicyDocument) != encodeDocument(inline) {
		t.Fatalf("inline not percent-encoded: %s", aws.ToString(rp.PolicyDocument))
	}
	names := must(e.root.ListRolePolicies(ctx, &iamsdk.ListRolePoliciesInput{RoleName: aws.String("deploy-role")})).get(t)
	if fmt.Sprint(names.PolicyNames) != "[another deploy]" || names.IsTruncated {
		t.Fatalf("ListRolePolicies = %+v", names)
	}
	_, err = e.root.GetRolePolicy(ctx, &iamsdk.GetRolePolicyInput{RoleName: aws.String("deploy-role"), PolicyName: aws.String("missing")})
	wantErr(t, err, "NoSuchEntity", 404, "The role policy with name missing cannot be found.")
	_, err = e.root.PutRolePolicy(ctx, &iamsdk.PutRolePolicyInput{RoleName: aws.String("deploy-role"), PolicyName: aws.String("bad"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}`)})
	wantErr(t, err, "MalformedPolicyDocument", 400, "")
	_, err = e.root.PutRolePolicy(ctx, &iamsdk.PutRolePolicyInput{RoleName: aws.String("ghost"), PolicyName: aws.String("p"), PolicyDocument: aws.String(allowAllPolicy)})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name ghost cannot be found.")

	_, err = e.root.DeleteRole(ctx, &iamsdk.DeleteRoleInput{RoleName: aws.String("deploy-role")})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete entity, must delete policies first.")
	must(e.root.DeleteRolePolicy(ctx, &iamsdk.DeleteRolePolicyInput{RoleName: aws.String("deploy-role"), PolicyName: aws.String("deploy")})).get(t)
	must(e.root.DeleteRolePolicy(ctx, &iamsdk.DeleteRolePolicyInput{RoleName: aws.String("deploy-role"), PolicyName: aws.String("another")})).get(t)
	_, err = e.root.DeleteRolePolicy(ctx, &iamsdk.DeleteRolePolicyInput{RoleName: aws.String("deploy-role"), PolicyName: aws.String("another")})
	wantErr(t, err, "NoSuchEntity", 404, "The role policy with name another cannot be found.")

	// Tags.
	must(e.root.TagRole(ctx, &iamsdk.TagRoleInput{RoleName: aws.String("deploy-role"), Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("deploy")}, {Key: aws.String("managed by"), Value: aws.String("keyless")}}})).get(t)
	rt := must(e.root.ListRoleTags(ctx, &iamsdk.ListRoleTagsInput{RoleName: aws.String("deploy-role")})).get(t)
	if len(rt.Tags) != 2 || aws.ToString(rt.Tags[0].Value) != "keyless" {
		t.Fatalf("ListRoleTags = %+v", rt.Tags)
	}
	_, err = e.root.TagRole(ctx, &iamsdk.TagRoleInput{RoleName: aws.String("deploy-role"), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("A"), Value: aws.String("2")}}})
	wantErr(t, err, "InvalidInput", 400, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
	must(e.root.UntagRole(ctx, &iamsdk.UntagRoleInput{RoleName: aws.String("deploy-role"), TagKeys: []string{"Name", "Managed By"}})).get(t)
	if rt = must(e.root.ListRoleTags(ctx, &iamsdk.ListRoleTagsInput{RoleName: aws.String("deploy-role")})).get(t); len(rt.Tags) != 0 {
		t.Fatalf("after untag = %+v", rt.Tags)
	}

	must(e.root.DeleteRole(ctx, &iamsdk.DeleteRoleInput{RoleName: aws.String("Deploy-Role")})).get(t)
	_, err = e.root.DeleteRole(ctx, &iamsdk.DeleteRoleInput{RoleName: aws.String("deploy-role")})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name deploy-role cannot be found.")
}

func TestListRolesPagination(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := range 5 {
		e.createRole(fmt.Sprintf("role-%d", i))
	}
	must(e.root.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String("other"), Path: aws.String("/team/"), AssumeRolePolicyDocument: aws.String(testTrust)})).get(t)

	first := must(e.root.ListRoles(ctx, &iamsdk.ListRolesInput{MaxItems: aws.Int32(2)})).get(t)
	if len(first.Roles) != 2 || !first.IsTruncated || first.Marker == nil {
		t.Fatalf("first page = %d roles, truncated %v", len(first.Roles), first.IsTruncated)
	}
	if first.Roles[0].RoleLastUsed != nil || first.Roles[0].AssumeRolePolicyDocument == nil {
		t.Fatalf("ListRoles member shape = %+v", first.Roles[0])
	}
	var names []string
	p := iamsdk.NewListRolesPaginator(e.root, &iamsdk.ListRolesInput{MaxItems: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out := must(p.NextPage(ctx)).get(t)
		pages++
		for _, r := range out.Roles {
			names = append(names, aws.ToString(r.RoleName))
		}
	}
	if pages != 3 || fmt.Sprint(names) != "[other role-0 role-1 role-2 role-3 role-4]" {
		t.Fatalf("paginated %d pages: %v", pages, names)
	}
	team := must(e.root.ListRoles(ctx, &iamsdk.ListRolesInput{PathPrefix: aws.String("/team/")})).get(t)
	if len(team.Roles) != 1 || aws.ToString(team.Roles[0].RoleName) != "other" || team.IsTruncated {
		t.Fatalf("PathPrefix = %+v", team.Roles)
	}
	_, err := e.root.ListRoles(ctx, &iamsdk.ListRolesInput{MaxItems: aws.Int32(1001)})
	wantErr(t, err, "ValidationError", 400, "1 validation error detected: Value '1001' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000")
}

func TestManagedPolicies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createRole("app")
	doc := `{"Version": "2012-10-17", "Statement": [{"Sid": "Deploy", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::site/*"}]}`
	pol := must(e.root.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("deploy"), Path: aws.String("/ci/"), PolicyDocument: aws.String(doc), Description: aws.String("site deploys")})).get(t).Policy
	arn := "arn:aws:iam::123456789012:policy/ci/deploy"
	if aws.ToString(pol.Arn) != arn || aws.ToString(pol.DefaultVersionId) != "v1" || !pol.IsAttachable || aws.ToInt32(pol.AttachmentCount) != 0 ||
		!regexp.MustCompile(`^ANPA[A-Z0-9]{17}$`).MatchString(aws.ToString(pol.PolicyId)) || pol.CreateDate == nil || pol.UpdateDate == nil {
		t.Fatalf("CreatePolicy = %+v", pol)
	}
	_, err := e.root.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("deploy"), PolicyDocument: aws.String(doc)})
	wantErr(t, err, "EntityAlreadyExists", 409, "A policy called deploy already exists. Duplicate names are not allowed.")
	_, err = e.root.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("bad"), PolicyDocument: aws.String(testTrust)})
	wantErr(t, err, "MalformedPolicyDocument", 400, "")

	must(e.root.AttachRolePolicy(ctx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String(arn)})).get(t)
	must(e.root.AttachRolePolicy(ctx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String(arn)})).get(t) // idempotent
	must(e.root.AttachRolePolicy(ctx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")})).get(t)
	got := must(e.root.GetPolicy(ctx, &iamsdk.GetPolicyInput{PolicyArn: aws.String(arn)})).get(t).Policy
	if aws.ToInt32(got.AttachmentCount) != 1 || aws.ToString(got.Description) != "site deploys" {
		t.Fatalf("GetPolicy = %+v", got)
	}
	att := must(e.root.ListAttachedRolePolicies(ctx, &iamsdk.ListAttachedRolePoliciesInput{RoleName: aws.String("app")})).get(t)
	if len(att.AttachedPolicies) != 2 || aws.ToString(att.AttachedPolicies[0].PolicyName) != "deploy" || aws.ToString(att.AttachedPolicies[1].PolicyName) != "AdministratorAccess" {
		t.Fatalf("ListAttachedRolePolicies = %+v", att.AttachedPolicies)
	}
	att = must(e.root.ListAttachedRolePolicies(ctx, &iamsdk.ListAttachedRolePoliciesInput{RoleName: aws.String("app"), PathPrefix: aws.String("/ci/")})).get(t)
	if len(att.AttachedPolicies) != 1 {
		t.Fatalf("PathPrefix /ci/ = %+v", att.AttachedPolicies)
	}

	ver := must(e.root.GetPolicyVersion(ctx, &iamsdk.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v1")})).get(t).PolicyVersion
	if aws.ToString(ver.Document) != encodeDocument(doc) || !ver.IsDefaultVersion || aws.ToString(ver.VersionId) != "v1" {
		t.Fatalf("GetPolicyVersion = %+v", ver)
	}
	_, err = e.root.GetPolicyVersion(ctx, &iamsdk.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v2")})
	wantErr(t, err, "NoSuchEntity", 404, "")

	local := must(e.root.ListPolicies(ctx, &iamsdk.ListPoliciesInput{Scope: types.PolicyScopeTypeLocal})).get(t)
	if len(local.Policies) != 1 || aws.ToString(local.Policies[0].Arn) != arn || aws.ToInt32(local.Policies[0].AttachmentCount) != 1 {
		t.Fatalf("ListPolicies Local = %+v", local.Policies)
	}
	awsOnly := must(e.root.ListPolicies(ctx, &iamsdk.ListPoliciesInput{Scope: types.PolicyScopeTypeAws, OnlyAttached: true})).get(t)
	if len(awsOnly.Policies) != 1 || aws.ToString(awsOnly.Policies[0].PolicyName) != "AdministratorAccess" {
		t.Fatalf("ListPolicies AWS attached = %+v", awsOnly.Policies)
	}
	all := must(e.root.ListPolicies(ctx, &iamsdk.ListPoliciesInput{MaxItems: aws.Int32(3)})).get(t)
	if len(all.Policies) != 3 || !all.IsTruncated {
		t.Fatalf("ListPolicies page = %d, truncated %v", len(all.Policies), all.IsTruncated)
	}

	_, err = e.root.DeletePolicy(ctx, &iamsdk.DeletePolicyInput{PolicyArn: aws.String(arn)})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete a policy attached to entities.")
	_, err = e.root.DeleteRole(ctx, &iamsdk.DeleteRoleInput{RoleName: aws.String("app")})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete entity, must detach all policies first.")

	missing := "arn:aws:iam::123456789012:policy/missing"
	_, err = e.root.AttachRolePolicy(ctx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String(missing)})
	wantErr(t, err, "NoSuchEntity", 404, "Policy "+missing+" does not exist or is not attachable.")
	_, err = e.root.AttachRolePolicy(ctx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("ghost"), PolicyArn: aws.String(arn)})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name ghost cannot be found.")
	_, err = e.root.GetPolicy(ctx, &iamsdk.GetPolicyInput{PolicyArn: aws.String(missing)})
	wantErr(t, err, "NoSuchEntity", 404, "Policy "+missing+" was not found.")

	// The quota of ten managed policies per role.
	for i := range 8 {
		p := must(e.root.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String(fmt.Sprintf("p%d", i)), PolicyDocument: aws.String(allowAllPolicy)})).get(t).Policy
		must(e.root.AttachRolePolicy(ctx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: p.Arn})).get(t)
	}
	eleventh := must(e.root.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("eleventh"), PolicyDocument: aws.String(allowAllPolicy)})).get(t).Policy
	_, err = e.root.AttachRolePolicy(ctx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: eleventh.Arn})
	wantErr(t, err, "LimitExceeded", 409, "Cannot exceed quota for PoliciesPerRole: 10")

	must(e.root.DetachRolePolicy(ctx, &iamsdk.DetachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String(arn)})).get(t)
	_, err = e.root.DetachRolePolicy(ctx, &iamsdk.DetachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String(arn)})
	wantErr(t, err, "NoSuchEntity", 404, "Policy "+arn+" was not found.")
	must(e.root.DeletePolicy(ctx, &iamsdk.DeletePolicyInput{PolicyArn: aws.String(arn)})).get(t)
	_, err = e.root.GetPolicy(ctx, &iamsdk.GetPolicyInput{PolicyArn: aws.String(arn)})
	wantErr(t, err, "NoSuchEntity", 404, "")
	_, err = e.root.DeletePolicy(ctx, &iamsdk.DeletePolicyInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")})
	wantErr(t, err, "AccessDenied", 403, "")
}

func TestUsersAndAccessKeys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := must(e.root.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("deployer"), Path: aws.String("/ci/"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})).get(t).User
	if aws.ToString(u.Arn) != "arn:aws:iam::123456789012:user/ci/deployer" || !regexp.MustCompile(`^AIDA[A-Z0-9]{17}$`).MatchString(aws.ToString(u.UserId)) || u.CreateDate == nil {
		t.Fatalf("CreateUser = %+v", u)
	}
	_, err := e.root.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("Deployer")})
	wantErr(t, err, "EntityAlreadyExists", 409, "User with name Deployer already exists.")
	_, err = e.root.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("")})
	wantErr(t, err, "ValidationError", 400, `2 validation errors detected: Value '' at 'userName' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	got := must(e.root.GetUser(ctx, &iamsdk.GetUserInput{UserName: aws.String("deployer")})).get(t).User
	if aws.ToString(got.UserId) != aws.ToString(u.UserId) || len(got.Tags) != 1 {
		t.Fatalf("GetUser = %+v", got)
	}
	_, err = e.root.GetUser(ctx, &iamsdk.GetUserInput{UserName: aws.String("nobody")})
	wantErr(t, err, "NoSuchEntity", 404, "The user with name nobody cannot be found.")
	rootUser := must(e.root.GetUser(ctx, &iamsdk.GetUserInput{})).get(t).User
	if aws.ToString(rootUser.Arn) != "arn:aws:iam::123456789012:root" || aws.ToString(rootUser.UserId) != testAccount || rootUser.UserName != nil {
		t.Fatalf("root GetUser = %+v", rootUser)
	}
	must(e.root.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("another")})).get(t)
	users := must(e.root.ListUsers(ctx, &iamsdk.ListUsersInput{MaxItems: aws.Int32(1)})).get(t)
	if len(users.Users) != 1 || aws.ToString(users.Users[0].UserName) != "another" || !users.IsTruncated {
		t.Fatalf("ListUsers = %+v", users)
	}
	users = must(e.root.ListUsers(ctx, &iamsdk.ListUsersInput{Marker: users.Marker})).get(t)
	if len(users.Users) != 1 || aws.ToString(users.Users[0].UserName) != "deployer" || users.IsTruncated {
		t.Fatalf("ListUsers page 2 = %+v", users)
	}

	var secrets []string
	for range 2 {
		k := must(e.root.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("deployer")})).get(t).AccessKey
		if !regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`).MatchString(aws.ToString(k.AccessKeyId)) ||
			!regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`).MatchString(aws.ToString(k.SecretAccessKey)) ||
			k.Status != types.StatusTypeActive || aws.ToString(k.UserName) != "deployer" || k.CreateDate == nil {
			t.Fatalf("CreateAccessKey = %+v", k)
		}
		secrets = append(secrets, aws.ToString(k.SecretAccessKey))
	}
	_, err = e.root.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("deployer")})
	wantErr(t, err, "LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2")
	_, err = e.root.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("nobody")})
	wantErr(t, err, "NoSuchEntity", 404, "The user with name nobody cannot be found.")

	keys := must(e.root.ListAccessKeys(ctx, &iamsdk.ListAccessKeysInput{UserName: aws.String("deployer")})).get(t).AccessKeyMetadata
	if len(keys) != 2 || keys[0].Status != types.StatusTypeActive {
		t.Fatalf("ListAccessKeys = %+v", keys)
	}
	first := aws.ToString(keys[0].AccessKeyId)
	must(e.root.UpdateAccessKey(ctx, &iamsdk.UpdateAccessKeyInput{UserName: aws.String("deployer"), AccessKeyId: aws.String(first), Status: types.StatusTypeInactive})).get(t)
	keys = must(e.root.ListAccessKeys(ctx, &iamsdk.ListAccessKeysInput{UserName: aws.String("deployer")})).get(t).AccessKeyMetadata
	if keys[0].Status != types.StatusTypeInactive {
		t.Fatalf("after deactivation = %+v", keys[0])
	}
	// Inactive keys still count.
	_, err = e.root.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("deployer")})
	wantErr(t, err, "LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2")
	_, err = e.root.UpdateAccessKey(ctx, &iamsdk.UpdateAccessKeyInput{UserName: aws.String("deployer"), AccessKeyId: aws.String(first), Status: "Disabled"})
	wantErr(t, err, "ValidationError", 400, "1 validation error detected: Value 'Disabled' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]")
	_, err = e.root.UpdateAccessKey(ctx, &iamsdk.UpdateAccessKeyInput{UserName: aws.String("another"), AccessKeyId: aws.String(first), Status: types.StatusTypeActive})
	wantErr(t, err, "NoSuchEntity", 404, "The Access Key with id "+first+" cannot be found.")

	lu := must(e.root.GetAccessKeyLastUsed(ctx, &iamsdk.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(first)})).get(t)
	if aws.ToString(lu.UserName) != "deployer" || aws.ToString(lu.AccessKeyLastUsed.ServiceName) != "N/A" || aws.ToString(lu.AccessKeyLastUsed.Region) != "N/A" || lu.AccessKeyLastUsed.LastUsedDate != nil {
		t.Fatalf("unused GetAccessKeyLastUsed = %+v", lu.AccessKeyLastUsed)
	}

	_, err = e.root.DeleteUser(ctx, &iamsdk.DeleteUserInput{UserName: aws.String("deployer")})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete entity, must delete access keys first.")
	for _, k := range keys {
		must(e.root.DeleteAccessKey(ctx, &iamsdk.DeleteAccessKeyInput{UserName: aws.String("deployer"), AccessKeyId: k.AccessKeyId})).get(t)
	}
	_, err = e.root.DeleteAccessKey(ctx, &iamsdk.DeleteAccessKeyInput{UserName: aws.String("deployer"), AccessKeyId: aws.String(first)})
	wantErr(t, err, "NoSuchEntity", 404, "The Access Key with id "+first+" cannot be found.")

	must(e.root.PutUserPolicy(ctx, &iamsdk.PutUserPolicyInput{UserName: aws.String("deployer"), PolicyName: aws.String("inline"), PolicyDocument: aws.String(allowAllPolicy)})).get(t)
	_, err = e.root.DeleteUser(ctx, &iamsdk.DeleteUserInput{UserName: aws.String("deployer")})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete entity, must delete policies first.")
	up := must(e.root.GetUserPolicy(ctx, &iamsdk.GetUserPolicyInput{UserName: aws.String("deployer"), PolicyName: aws.String("inline")})).get(t)
	if aws.ToString(up.PolicyDocument) != encodeDocument(allowAllPolicy) || aws.ToString(up.UserName) != "deployer" {
		t.Fatalf("GetUserPolicy = %+v", up)
	}
	if n := must(e.root.ListUserPolicies(ctx, &iamsdk.ListUserPoliciesInput{UserName: aws.String("deployer")})).get(t).PolicyNames; fmt.Sprint(n) != "[inline]" {
		t.Fatalf("ListUserPolicies = %v", n)
	}
	must(e.root.DeleteUserPolicy(ctx, &iamsdk.DeleteUserPolicyInput{UserName: aws.String("deployer"), PolicyName: aws.String("inline")})).get(t)
	_, err = e.root.GetUserPolicy(ctx, &iamsdk.GetUserPolicyInput{UserName: aws.String("deployer"), PolicyName: aws.String("inline")})
	wantErr(t, err, "NoSuchEntity", 404, "The user policy with name inline cannot be found.")

	must(e.root.AttachUserPolicy(ctx, &iamsdk.AttachUserPolicyInput{UserName: aws.String("deployer"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})).get(t)
	if a := must(e.root.ListAttachedUserPolicies(ctx, &iamsdk.ListAttachedUserPoliciesInput{UserName: aws.String("deployer")})).get(t).AttachedPolicies; len(a) != 1 || aws.ToString(a[0].PolicyName) != "ReadOnlyAccess" {
		t.Fatalf("ListAttachedUserPolicies = %+v", a)
	}
	_, err = e.root.DeleteUser(ctx, &iamsdk.DeleteUserInput{UserName: aws.String("deployer")})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete entity, must detach all policies first.")
	must(e.root.DetachUserPolicy(ctx, &iamsdk.DetachUserPolicyInput{UserName: aws.String("deployer"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})).get(t)

	must(e.root.TagUser(ctx, &iamsdk.TagUserInput{UserName: aws.String("deployer"), Tags: []types.Tag{{Key: aws.String("k2"), Value: aws.String("v2")}}})).get(t)
	must(e.root.UntagUser(ctx, &iamsdk.UntagUserInput{UserName: aws.String("deployer"), TagKeys: []string{"k"}})).get(t)
	if tg := must(e.root.ListUserTags(ctx, &iamsdk.ListUserTagsInput{UserName: aws.String("deployer")})).get(t).Tags; len(tg) != 1 || aws.ToString(tg[0].Key) != "k2" {
		t.Fatalf("ListUserTags = %+v", tg)
	}

	must(e.root.DeleteUser(ctx, &iamsdk.DeleteUserInput{UserName: aws.String("deployer")})).get(t)
	_, err = e.root.GetUser(ctx, &iamsdk.GetUserInput{UserName: aws.String("deployer")})
	wantErr(t, err, "NoSuchEntity", 404, "The user with name deployer cannot be found.")

	// No secret is stored in clear.
	for _, s := range secrets {
		if blob := dumpStore(t, e); bytes.Contains(blob, []byte(s)) {
			t.Fatalf("secret access key found in the store")
		}
	}
}

// dumpStore returns the bytes of every IAM record and audit event, for leak checks.
func dumpStore(t *testing.T, e *testEnv) []byte {
	t.Helper()
	ctx := context.Background()
	var b bytes.Buffer
	users, _ := e.st.ListUsers(ctx)
	for _, u := range users {
		fmt.Fprintf(&b, "%+v\n", u)
		keys, _ := e.st.ListAccessKeys(ctx, u.Name)
		for _, k := range keys {
			fmt.Fprintf(&b, "%+v %s\n", k, k.Secret)
		}
	}
	return b.Bytes()
}

func TestUserAuthorization(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createRole("target")
	alice, aliceKey, aliceSecret := e.createUserWithKey("alice")
	aliceARN := "arn:aws:iam::123456789012:user/alice"

	// No policies: denied, with IAM's message.
	_, err := alice.GetUser(ctx, &iamsdk.GetUserInput{})
	wantErr(t, err, "AccessDenied", 403, "User: "+aliceARN+" is not authorized to perform: iam:GetUser on resource: "+aliceARN+" because no identity-based policy allows the iam:GetUser action")
	_, err = alice.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("target")})
	wantErr(t, err, "AccessDenied", 403, "User: "+aliceARN+" is not authorized to perform: iam:GetRole on resource: arn:aws:iam::123456789012:role/target because no identity-based policy allows the iam:GetRole action")
	_, err = alice.ListRoles(ctx, &iamsdk.ListRolesInput{})
	wantErr(t, err, "AccessDenied", 403, "User: "+aliceARN+" is not authorized to perform: iam:ListRoles on resource: * because no identity-based policy allows the iam:ListRoles action")
	// Authorization comes before existence: no probing for names.
	_, err = alice.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("ghost")})
	wantErr(t, err, "AccessDenied", 403, "")

	self := `{"Version":"2012-10-17","Statement":[
		{"Sid":"Self","Effect":"Allow","Action":["iam:GetUser","iam:ListAccessKeys","iam:GetAccessKeyLastUsed","iam:CreateAccessKey"],"Resource":"arn:aws:iam::*:user/${aws:username}"},
		{"Sid":"ReadRoles","Effect":"Allow","Action":["iam:GetRole","iam:ListRoles"],"Resource":"*"},
		{"Sid":"NoDelete","Effect":"Deny","Action":"iam:DeleteRole","Resource":"*"}]}`
	must(e.root.PutUserPolicy(ctx, &iamsdk.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("self"), PolicyDocument: aws.String(self)})).get(t)

	me := must(alice.GetUser(ctx, &iamsdk.GetUserInput{})).get(t).User
	if aws.ToString(me.UserName) != "alice" || aws.ToString(me.Arn) != aliceARN {
		t.Fatalf("GetUser as alice = %+v", me)
	}
	must(alice.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("target")})).get(t)
	_, err = alice.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("ghost")})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name ghost cannot be found.")
	_, err = alice.DeleteRole(ctx, &iamsdk.DeleteRoleInput{RoleName: aws.String("target")})
	wantErr(t, err, "AccessDenied", 403, "User: "+aliceARN+" is not authorized to perform: iam:DeleteRole on resource: arn:aws:iam::123456789012:role/target with an explicit deny in an identity-based policy")
	_, err = alice.GetUser(ctx, &iamsdk.GetUserInput{UserName: aws.String("root-only")})
	wantErr(t, err, "AccessDenied", 403, "")

	// UserName defaults to the caller: the key list and a second key.
	keys := must(alice.ListAccessKeys(ctx, &iamsdk.ListAccessKeysInput{})).get(t).AccessKeyMetadata
	if len(keys) != 1 || aws.ToString(keys[0].AccessKeyId) != aliceKey || aws.ToString(keys[0].UserName) != "alice" {
		t.Fatalf("ListAccessKeys as alice = %+v", keys)
	}
	second := must(alice.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{})).get(t).AccessKey
	if aws.ToString(second.UserName) != "alice" {
		t.Fatalf("CreateAccessKey as alice = %+v", second)
	}

	// The signed calls above were recorded as the key's last use.
	lu := must(e.root.GetAccessKeyLastUsed(ctx, &iamsdk.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(aliceKey)})).get(t)
	l := lu.AccessKeyLastUsed
	if aws.ToString(l.ServiceName) != "iam" || aws.ToString(l.Region) != "us-east-1" || l.LastUsedDate == nil || time.Since(*l.LastUsedDate) > time.Minute {
		t.Fatalf("GetAccessKeyLastUsed = %+v", l)
	}
	lu = must(alice.GetAccessKeyLastUsed(ctx, &iamsdk.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(aliceKey)})).get(t)
	if aws.ToString(lu.UserName) != "alice" {
		t.Fatalf("GetAccessKeyLastUsed as alice = %+v", lu)
	}

	// A deactivated key stops working at once.
	must(e.root.UpdateAccessKey(ctx, &iamsdk.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String(aliceKey), Status: types.StatusTypeInactive})).get(t)
	_, err = e.client(aliceKey, aliceSecret).GetUser(ctx, &iamsdk.GetUserInput{})
	wantErr(t, err, "InvalidClientTokenId", 403, "")
	// The other key still works, and so does root without UserName on a key id.
	must(e.client(aws.ToString(second.AccessKeyId), aws.ToString(second.SecretAccessKey)).GetUser(ctx, &iamsdk.GetUserInput{})).get(t)
	must(e.root.DeleteAccessKey(ctx, &iamsdk.DeleteAccessKeyInput{AccessKeyId: second.AccessKeyId})).get(t)
	_, err = e.client(aws.ToString(second.AccessKeyId), aws.ToString(second.SecretAccessKey)).GetUser(ctx, &iamsdk.GetUserInput{})
	wantErr(t, err, "InvalidClientTokenId", 403, "")

	// Audit: allowed and denied decisions, with the deciding statement, and no secret.
	evs := e.events()
	var allowed, denied, failed, explicit bool
	for _, ev := range evs {
		switch {
		case ev.Decision == "Allowed" && ev.Caller == aliceARN && ev.Action == "GetUser":
			allowed = true
		case ev.Decision == "Denied" && ev.Caller == aliceARN && ev.Action == "GetRole":
			denied = true
			if !strings.Contains(string(ev.Detail), `"errorCode":"AccessDenied"`) || ev.Role != "arn:aws:iam::123456789012:role/target" && ev.Role != "arn:aws:iam::123456789012:role/ghost" {
				t.Errorf("denied event = %+v %s", ev, ev.Detail)
			}
		case ev.Decision == "Denied" && ev.Action == "DeleteRole":
			explicit = strings.Contains(string(ev.Detail), `NoDelete`)
		case ev.Decision == "Error" && ev.Action == "GetRole":
			failed = strings.Contains(string(ev.Detail), `"errorCode":"NoSuchEntity"`)
		}
		for _, secret := range []string{aliceSecret, aws.ToString(second.SecretAccessKey), rootSecretKey} {
			if strings.Contains(fmt.Sprintf("%+v %s", ev, ev.Detail), secret) {
				t.Fatalf("a secret access key appears in audit event %s (action %s)", ev.ID, ev.Action)
			}
		}
	}
	if !allowed || !denied || !failed || !explicit {
		t.Fatalf("audit events: allowed %v denied %v failed %v explicit-deny statement %v (%d events)", allowed, denied, failed, explicit, len(evs))
	}
}

func TestRoleSessionNeedsUserName(t *testing.T) {
	e := newEnv(t)
	call := &gateway.Call{
		RequestID: "req-1",
		Action:    "CreateAccessKey",
		Caller:    &authn.Principal{Kind: authn.AssumedRole, Account: testAccount, ARN: "arn:aws:sts::123456789012:assumed-role/r/s"},
		Time:      time.Now(),
	}
	call.Query.Values = url.Values{}
	_, err := e.svc.Serve(context.Background(), call)
	if ae := awsapi.AsError(err); ae.Code != "ValidationError" || ae.Message != "Must specify userName when calling with non-User credentials" {
		t.Fatalf("err = %v", err)
	}
}

func TestUnknownAction(t *testing.T) {
	e := newEnv(t)
	call := &gateway.Call{
		RequestID: "req-2",
		Action:    "CreateInstanceProfile2",
		Caller:    &authn.Principal{Kind: authn.Root, Account: testAccount, ARN: "arn:aws:iam::123456789012:root"},
		Time:      time.Now(),
	}
	call.Query.Version = "2010-05-08"
	_, err := e.svc.Serve(context.Background(), call)
	if ae := awsapi.AsError(err); ae.Code != "InvalidAction" || ae.Status != 400 || ae.Message != "Could not find operation CreateInstanceProfile2 for version 2010-05-08" {
		t.Fatalf("err = %v", err)
	}
	if e.svc.Unsigned("CreateRole") || e.svc.Namespace() != awsapi.NamespaceIAM {
		t.Fatal("IAM must be signed and use the IAM namespace")
	}
}

package cloudformation

import (
	"reflect"
	"testing"

	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/provision"
)

const policiesTemplate = `Parameters:
  Bucket: {Type: String, Default: acme-site}
Resources:
  Deploy:
    Type: AWS::IAM::Role
    Properties:
      RoleName: deploy
      Path: /ci/
      Description: deploys the site
      MaxSessionDuration: "7200"
      PermissionsBoundary: !Ref Boundary
      ManagedPolicyArns: [!Sub "arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess"]
      AssumeRolePolicyDocument:
        Version: 2012-10-17
        Statement: [{Effect: Allow, Principal: {Service: codebuild.amazonaws.com}, Action: sts:AssumeRole}]
      Policies:
        - PolicyName: write
          PolicyDocument:
            Version: 2012-10-17
            Statement: [{Effect: Allow, Action: s3:PutObject, Resource: !Sub "arn:aws:s3:::${Bucket}/*"}]
      Tags: [{Key: team, Value: web}]
  Boundary:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Description: at most admin
      PolicyDocument: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: "*", Resource: "*"}]}
  Read:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      ManagedPolicyName: read-site
      Path: /ci/
      Roles: [!Ref Deploy]
      PolicyDocument: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: s3:GetObject, Resource: !Sub "arn:aws:s3:::${Bucket}/*"}]}
  Invalidate:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: invalidate
      Roles: [deploy]
      PolicyDocument: '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cloudfront:CreateInvalidation", "Resource": "*"}]}'
  Passing:
    Type: AWS::IAM::RolePolicy
    Properties:
      PolicyName: pass
      RoleName: !Ref Deploy
      PolicyDocument: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: iam:PassRole, Resource: "*"}]}
`

func TestReadPolicies(t *testing.T) {
	st, err := Read([]byte(policiesTemplate), Options{Account: account, StackName: "site"})
	if err != nil {
		t.Fatal(err)
	}
	managed := provision.Tag{Key: provision.ManagedTagKey, Value: "site"}
	boundaryName := generatedName("site", "Boundary", 128)
	wantPolicies := []provision.ManagedPolicy{
		{Name: "read-site", Path: "/ci/", ARN: "arn:aws:iam::123456789012:policy/ci/read-site",
			Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-site/*"}]}`,
			Tags:     []provision.Tag{managed}},
		{Name: boundaryName, Path: "/", ARN: "arn:aws:iam::123456789012:policy/" + boundaryName, Description: "at most admin",
			Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
			Tags:     []provision.Tag{managed}},
	}
	if !reflect.DeepEqual(st.Policies, wantPolicies) {
		t.Errorf("policies:\n got %+v\nwant %+v", st.Policies, wantPolicies)
	}
	wantRoles := []provision.Role{{
		Name: "deploy", Path: "/ci/", ARN: "arn:aws:iam::123456789012:role/ci/deploy", Description: "deploys the site",
		TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
		InlinePolicies: []provision.InlinePolicy{
			{Name: "invalidate", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudfront:CreateInvalidation","Resource":"*"}]}`},
			{Name: "pass", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}`},
			{Name: "write", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::acme-site/*"}]}`},
		},
		ManagedPolicyARNs:   []string{"arn:aws:iam::123456789012:policy/ci/read-site", "arn:aws:iam::aws:policy/ReadOnlyAccess"},
		PermissionsBoundary: "arn:aws:iam::123456789012:policy/" + boundaryName,
		MaxSessionDuration:  7200,
		Tags:                []provision.Tag{managed, {Key: "team", Value: "web"}},
	}}
	if !reflect.DeepEqual(st.Roles, wantRoles) {
		t.Errorf("roles:\n got %+v\nwant %+v", st.Roles, wantRoles)
	}
	var got []string
	for _, f := range st.Findings {
		got = append(got, f.Role+"|"+f.Policy+"|"+f.RuleID)
	}
	want := []string{"|" + boundaryName + "|" + policy.RuleAdminAccess, "deploy|pass|" + policy.RulePassRoleStar}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n got %q\nwant %q", got, want)
	}
}

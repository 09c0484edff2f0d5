package cloudformation

import (
	"errors"
	"strings"
	"testing"
)

// roleTemplate is a template whose one role has a valid trust policy (line 5)
// and the given extra properties, indented by six spaces, from line 9.
func roleTemplate(extra string) string {
	return `Resources:
  Deploy:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}]
      RoleName: deploy
` + extra
}

func TestReadErrors(t *testing.T) {
	seed := string(readFile(t, "seed003.yaml"))
	for _, tc := range []struct {
		name, template string
		opts           Options
		want           string
	}{
		{"missing parameters", seed, Options{Parameters: map[string]string{"RoleName": "r", "URL": "https://x"}},
			"parameters without a default need a value: WorkspaceName, Audience, Thumbprint (give each with --parameter NAME=VALUE)"},
		{"undeclared parameter", seed, Options{Parameters: map[string]string{"Workspace": "acme"}},
			"parameter Workspace is not declared in the template's Parameters"},
		{"parameter not allowed", "Parameters:\n  Env: {Type: String, AllowedValues: [dev, prod]}\n" + roleTemplate(""), Options{Parameters: map[string]string{"Env": "prd"}},
			`parameter Env: "prd" is not one of the AllowedValues dev, prod`},
		{"default not matching its pattern", "Parameters:\n  Env: {Type: String, Default: PROD, AllowedPattern: '[a-z]+'}\n" + roleTemplate(""), Options{},
			`Parameters.Env.Default (line 2, column 32): "PROD" does not match the AllowedPattern [a-z]+`},
		{"number parameter", "Parameters:\n  N: {Type: Number}\n" + roleTemplate(""), Options{Parameters: map[string]string{"N": "three"}},
			`parameter N: "three" is not a number`},
		{"SSM parameter", "Parameters:\n  P:\n    Type: AWS::SSM::Parameter::Value<String>\n" + roleTemplate(""), Options{},
			"Parameters.P.Type (line 3, column 11): type AWS::SSM::Parameter::Value<String> is resolved from Systems Manager by CloudFormation, which keyless cannot do: declare the parameter as String and pass its value"},
		{"unknown Ref", roleTemplate("      Description: !Ref Nope\n"), Options{},
			"Resources.Deploy.Properties.Description.Ref (line 9, column 20): Ref Nope: no parameter, pseudo-parameter or resource is named Nope"},
		{"Ref of a list", roleTemplate("      Description: {Ref: [a]}\n"), Options{},
			"Resources.Deploy.Properties.Description.Ref (line 9, column 26): Ref takes a parameter name or logical id, not a list"},
		{"unsupported intrinsic, short form", roleTemplate("      Description: !If [C, a, b]\n"), Options{},
			"Resources.Deploy.Properties.Description.Fn::If (line 9, column 20): Fn::If is not supported: keyless resolves Ref, Fn::Sub, Fn::GetAtt and Fn::Join"},
		{"unsupported intrinsic, long form", roleTemplate("      Description: {\"Fn::Select\": [0, [a]]}\n"), Options{},
			"Resources.Deploy.Properties.Description.Fn::Select (line 9, column 35): Fn::Select is not supported: keyless resolves Ref, Fn::Sub, Fn::GetAtt and Fn::Join"},
		{"unknown intrinsic", roleTemplate("      Description: {\"Fn::Frobnicate\": a}\n"), Options{},
			"Resources.Deploy.Properties.Description.Fn::Frobnicate (line 9, column 39): unknown intrinsic function Fn::Frobnicate: keyless resolves Ref, Fn::Sub, Fn::GetAtt and Fn::Join"},
		{"unknown tag", roleTemplate("      Description: !Bogus a\n"), Options{},
			"Resources.Deploy.Properties.Description (line 9, column 20): unknown tag !Bogus: keyless resolves Ref, Fn::Sub, Fn::GetAtt and Fn::Join"},
		{"GetAtt of an unknown attribute", roleTemplate("      Description: !GetAtt Deploy.Name\n"), Options{},
			"Resources.Deploy.Properties.Description.Fn::GetAtt (line 9, column 20): Fn::GetAtt Deploy.Name: an AWS::IAM::Role has no attribute Name (it has Arn, RoleId)"},
		{"GetAtt known only after creation", roleTemplate("      Description: !GetAtt Deploy.RoleId\n"), Options{},
			"Resources.Deploy.Properties.Description.Fn::GetAtt (line 9, column 20): Fn::GetAtt Deploy.RoleId is known only after the stack is created"},
		{"GetAtt of an unknown resource", roleTemplate("      Description: !GetAtt [Other, Arn]\n"), Options{},
			"Resources.Deploy.Properties.Description.Fn::GetAtt (line 9, column 20): Fn::GetAtt Other.Arn: no resource is named Other"},
		{"GetAtt without attribute", roleTemplate("      Description: !GetAtt Deploy\n"), Options{},
			"Resources.Deploy.Properties.Description.Fn::GetAtt (line 9, column 20): Fn::GetAtt takes LOGICALID.ATTRIBUTE or [LOGICALID, ATTRIBUTE]"},
		{"Ref of a non-IAM resource", roleTemplate("      Description: !Sub 'arn:aws:s3:::${Site}/*'\n  Site:\n    Type: AWS::S3::Bucket\n"), Options{},
			"Resources.Deploy.Properties.Description.Fn::Sub (line 9, column 20): Ref Site: Site is an AWS::S3::Bucket, whose name keyless cannot know (it reads only IAM resources): pass the value as a parameter"},
		{"Sub of a policy variable", roleTemplate("      Description: !Sub 'home/${aws:username}'\n"), Options{},
			"Resources.Deploy.Properties.Description.Fn::Sub (line 9, column 20): Fn::Sub: ${aws:username} names no parameter, pseudo-parameter, resource or variable (write ${!aws:username} for the literal text)"},
		{"Sub variable of a list", roleTemplate("      Description: !Sub ['${a}', {a: [x]}]\n"), Options{},
			"Resources.Deploy.Properties.Description.Fn::Sub[1].a (line 9, column 38): the variable a of Fn::Sub is a list; it must be a string"},
		{"Join of a mapping", roleTemplate("      Description: !Join [',', [{a: b}]]\n"), Options{},
			"Resources.Deploy.Properties.Description.Fn::Join[1][0] (line 9, column 33): Fn::Join needs strings, not a mapping"},
		{"region unknown", roleTemplate("      Description: !Ref AWS::Region\n"), Options{},
			"Resources.Deploy.Properties.Description.Ref (line 9, column 20): AWS::Region is unknown: give the stack's region"},
		{"string property given a list", roleTemplate("      Description: [a, b]\n"), Options{},
			"Resources.Deploy.Properties.Description (line 9, column 20): must be a string, not a list"},
		{"malformed trust policy JSON", strings.Replace(roleTemplate(""), "Version: \"2012-10-17\"\n        Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}]", `!Sub '{"Version": "2012-10-17", "Statement": ['`, 1), Options{},
			"Resources.Deploy.Properties.AssumeRolePolicyDocument (line 6, column 9): invalid trust policy: MalformedPolicyDocument: Syntax errors in policy: unexpected end of JSON input at line 1, column 41"},
		{"invalid trust policy", strings.Replace(roleTemplate(""), "Effect: Allow", "Effect: Permit", 1), Options{},
			"Resources.Deploy.Properties.AssumeRolePolicyDocument (line 6, column 9): invalid trust policy: MalformedPolicyDocument: statement 0, Effect: Invalid effect: Effect must be \"Allow\" or \"Deny\""},
		{"trust policy not a document", strings.Replace(roleTemplate(""), "AssumeRolePolicyDocument:\n        Version: \"2012-10-17\"\n        Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}]", "AssumeRolePolicyDocument: [x]", 1), Options{},
			"Resources.Deploy.Properties.AssumeRolePolicyDocument (line 5, column 33): must be a policy document (a mapping or a JSON string), not a list"},
		{"inline policy invalid", roleTemplate("      Policies:\n        - PolicyName: read\n          PolicyDocument: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: 's3GetObject', Resource: '*'}]}\n"), Options{},
			"Resources.Deploy.Properties.Policies[0].PolicyDocument (line 11, column 27): invalid identity policy: MalformedPolicyDocument: statement 0, Action: Action \"s3GetObject\" must be prefaced by a vendor, e.g. \"s3:GetObject\", or be \"*\""},
		{"unknown property", roleTemplate("      Name: deploy\n"), Options{},
			"Resources.Deploy.Properties.Name (line 9, column 7): unknown property Name of AWS::IAM::Role"},
		{"groups", roleTemplate("  Read:\n    Type: AWS::IAM::Policy\n    Properties:\n      PolicyName: read\n      PolicyDocument: {}\n      Groups: [devs]\n"), Options{},
			"Resources.Read.Properties.Groups (line 14, column 7): Groups is not supported: keyless manages roles, not users and groups"},
		{"policy of a role outside the template", roleTemplate("  Read:\n    Type: AWS::IAM::Policy\n    Properties:\n      PolicyName: read\n      PolicyDocument: {}\n      Roles: [deploy, legacy]\n"), Options{},
			"Resources.Read.Properties.Roles (line 14, column 23): role legacy is not defined in the template: keyless reads policies of the template's roles only"},
		{"conditional role", roleTemplate("    Condition: IsProd\n"), Options{},
			"Resources.Deploy.Condition (line 9, column 16): conditional resources are not supported: keyless does not evaluate Conditions"},
		{"circular name", strings.Replace(roleTemplate(""), "RoleName: deploy", "RoleName: !Sub '${Deploy.Arn}-x'", 1), Options{},
			"Resources.Deploy (line 3, column 5): circular reference: the name of Deploy depends on itself"},
		{"self-reference", roleTemplate("      Description: !GetAtt Deploy.Arn\n"), Options{},
			"Resources.Deploy (line 3, column 5): circular dependency: Deploy -> Deploy"},
		{"cycle", roleTemplate("      Description: !Ref Read\n  Read:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      Description: !GetAtt Deploy.Arn\n      PolicyDocument: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: s3:GetObject, Resource: '*'}]}\n"), Options{},
			"Resources.Deploy (line 3, column 5): circular dependency: Deploy -> Read -> Deploy"},
		{"Ref of an AWS::IAM::Policy", roleTemplate("      Description: !Ref Read\n  Read:\n    Type: AWS::IAM::Policy\n    Properties: {PolicyName: read, Roles: [deploy], PolicyDocument: {}}\n"), Options{},
			"Resources.Deploy.Properties.Description.Ref (line 9, column 20): Read is an AWS::IAM::Policy, whose physical id is known only after the stack is created"},
		{"AWS::NoValue", roleTemplate("      Description: !Ref AWS::NoValue\n"), Options{},
			"Resources.Deploy.Properties.Description.Ref (line 9, column 20): AWS::NoValue is not supported: it is useful only in Fn::If, which keyless does not evaluate"},
		{"inline policy named twice", roleTemplate("      Policies: [{PolicyName: read, PolicyDocument: {}}]\n  Read:\n    Type: AWS::IAM::Policy\n    Properties: {PolicyName: read, Roles: [deploy], PolicyDocument: {}}\n"), Options{},
			"Resources.Read (line 11, column 5): role deploy already has an inline policy named read"},
		{"role without properties", "Resources:\n  R:\n    Type: AWS::IAM::Role\n", Options{},
			"Resources.R.Properties (line 3, column 5): AssumeRolePolicyDocument is required"},
		{"managed tag", roleTemplate("      Tags: [{Key: keyless:managed, Value: x}]\n"), Options{},
			"Resources.Deploy.Properties.Tags[0] (line 9, column 14): keyless:managed is set by keyless to the stack name or the given name, \"stack\": remove the tag, or give it that value"},
		{"managed tag of another name", roleTemplate("      Tags: [{Key: keyless:managed, Value: x}]\n"), Options{Name: "web"},
			"Resources.Deploy.Properties.Tags[0] (line 9, column 14): keyless:managed is set by keyless to the stack name or the given name, \"web\": remove the tag, or give it that value"},
		{"bad role name", strings.Replace(roleTemplate(""), "RoleName: deploy", "RoleName: deploy role", 1), Options{},
			`Resources.Deploy.Properties.RoleName (line 8, column 17): "deploy role" is not a role name: write 1 to 64 letters, digits and +=,.@_-`},
		{"session duration", roleTemplate("      MaxSessionDuration: 60\n"), Options{},
			`Resources.Deploy.Properties.MaxSessionDuration (line 9, column 27): "60" is not a session duration: write 3600 to 43200 seconds`},
		{"managed policy ARN", roleTemplate("      ManagedPolicyArns: [AdministratorAccess]\n"), Options{},
			`Resources.Deploy.Properties.ManagedPolicyArns[0] (line 9, column 27): "AdministratorAccess" is not a managed policy ARN: write arn:aws:iam::aws:policy/NAME or arn:aws:iam::ACCOUNT:policy/NAME`},
		{"provider URL", "Resources:\n  P:\n    Type: AWS::IAM::OIDCProvider\n    Properties: {Url: http://x}\n", Options{},
			`Resources.P.Properties.Url (line 4, column 23): "http://x" is not an issuer URL: write https://HOST[/PATH] as the token's iss shows it`},
		{"thumbprint", "Resources:\n  P:\n    Type: AWS::IAM::OIDCProvider\n    Properties: {Url: https://x, ThumbprintList: [abc]}\n", Options{},
			`Resources.P.Properties.ThumbprintList[0] (line 4, column 51): "abc" is not a thumbprint: want 40 hex digits`},
		{"alias", "Parameters:\n  A: &a {Type: String, Default: x}\n  B: *a\n" + roleTemplate(""), Options{},
			"Parameters.B (line 3, column 6): YAML aliases (*a) are not supported by CloudFormation"},
		{"duplicate key", roleTemplate("      RoleName: again\n"), Options{},
			"Resources.Deploy.Properties.RoleName (line 9, column 7): duplicate key RoleName"},
		{"transform", "Transform: AWS::Serverless-2016-10-31\n" + roleTemplate(""), Options{},
			"Transform (line 1, column 12): transforms such as AWS::Serverless are not supported: read the processed template (aws cloudformation get-template --template-stage Processed)"},
		{"unknown section", "Resource: {}\n", Options{},
			"Resource (line 1, column 1): unknown template section Resource"},
		{"no resources", "Parameters: {}\n", Options{}, "the template has no Resources"},
		{"no IAM resources", "Resources:\n  Site: {Type: AWS::S3::Bucket}\n", Options{},
			"the template has no AWS::IAM::OIDCProvider, AWS::IAM::Role or AWS::IAM::ManagedPolicy"},
		{"empty", "", Options{}, "the template is empty"},
		{"not a mapping", "- a\n", Options{},
			"line 1, column 1: a template must be a mapping of sections such as Parameters and Resources, not a list"},
		{"not YAML", "a: [\n", Options{}, "the template is neither YAML nor JSON: yaml: line 1: did not find expected node content"},
		{"stack name", roleTemplate(""), Options{StackName: "1stack"},
			`stack name "1stack": write 1 to 128 letters, digits and hyphens, starting with a letter`},
		{"account", roleTemplate(""), Options{Account: "12345"},
			`"12345" is not an AWS account id: want 12 digits`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.StackName == "" {
				tc.opts.StackName = "stack"
			}
			st, err := Read([]byte(tc.template), tc.opts)
			if err == nil {
				t.Fatalf("no error; state %+v", st)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}

// Errors at a position are *Error values that wrap the cause.
func TestErrorWraps(t *testing.T) {
	_, err := Read([]byte(strings.Replace(roleTemplate(""), "Effect: Allow", "Effect: Permit", 1)), Options{StackName: "s"})
	var e *Error
	if !errors.As(err, &e) || e.Path != "Resources.Deploy.Properties.AssumeRolePolicyDocument" || e.Line != 6 || e.Column != 9 {
		t.Fatalf("error %v (%#v), want an *Error at line 6", err, e)
	}
	if errors.Unwrap(errors.Unwrap(err)) == nil {
		t.Errorf("%v does not wrap policy.Parse's error", err)
	}
}

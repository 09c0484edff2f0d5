package cloudformation

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/provision"
)

const (
	account = "123456789012"
	issuer  = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
)

// seedParams are seed 003's five parameters.
var seedParams = map[string]string{
	"WorkspaceName": "acme",
	"RoleName":      "bitbucket-deploy",
	"Audience":      "ari:cloud:bitbucket::workspace/0a1b2c3d-0000-4000-8000-000000000000",
	"Thumbprint":    "A031C46782E6E6C662C2C87C76DA9AA62CCABD8E",
	"URL":           "https://" + issuer,
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadSeed003(t *testing.T) {
	st, err := Read(readFile(t, "seed003.yaml"), Options{Parameters: seedParams, Account: account, StackName: "bitbucket-oidc"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "bitbucket-oidc" || st.Account != account || st.Partition != "aws" {
		t.Errorf("name, account, partition = %q, %q, %q", st.Name, st.Account, st.Partition)
	}
	managed := provision.Tag{Key: provision.ManagedTagKey, Value: "bitbucket-oidc"}
	wantProviders := []provision.Provider{{
		ID:          "OIDCProvider",
		URL:         issuer,
		ARN:         "arn:aws:iam::123456789012:oidc-provider/" + issuer,
		ClientIDs:   []string{seedParams["Audience"]},
		Thumbprints: []string{"a031c46782e6e6c662c2c87c76da9aa62ccabd8e"},
		Tags:        []provision.Tag{managed},
	}}
	if !reflect.DeepEqual(st.Providers, wantProviders) {
		t.Errorf("providers:\n got %+v\nwant %+v", st.Providers, wantProviders)
	}
	ips := `"34.199.54.113/32","34.232.25.90/32","34.232.119.183/32","34.236.25.177/32","35.171.175.212/32","52.54.90.98/32","52.202.195.162/32","52.203.14.55/32","52.204.96.37/32","34.218.156.209/32","34.218.168.212/32","52.41.219.63/32","35.155.178.254/32","35.160.177.10/32","34.216.18.129/32"`
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/` + issuer + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + issuer + `:aud":"` + seedParams["Audience"] + `"},"IpAddress":{"aws:SourceIp":[` + ips + `]}}}]}`
	wantRoles := []provision.Role{{
		Name:               "bitbucket-deploy",
		Path:               "/",
		ARN:                "arn:aws:iam::123456789012:role/bitbucket-deploy",
		Provider:           issuer,
		TrustPolicy:        provision.Document(trust),
		ManagedPolicyARNs:  []string{"arn:aws:iam::aws:policy/AdministratorAccess"},
		MaxSessionDuration: 3600,
		Tags:               []provision.Tag{{Key: "Managed By", Value: "Cloudformation Stack"}, {Key: "Name", Value: "bitbucket-deploy"}, managed},
	}}
	if !reflect.DeepEqual(st.Roles, wantRoles) {
		t.Errorf("roles:\n got %+v\nwant %+v", st.Roles, wantRoles)
	}
	if len(st.Policies) != 0 {
		t.Errorf("policies = %+v, want none", st.Policies)
	}
	var got []string
	for _, f := range st.Findings {
		got = append(got, f.Role+" "+f.Policy+" "+f.RuleID+" "+string(f.Severity))
	}
	want := []string{
		"bitbucket-deploy trust " + policy.RuleNoSub + " error",
		"bitbucket-deploy trust " + policy.RuleBitbucketIPs + " warning",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n got %q\nwant %q", got, want)
	}
}

// Without an account, ARNs and documents carry the placeholder, and WithAccount
// gives what reading with the account gives.
func TestReadSeed003WithoutAccount(t *testing.T) {
	data := readFile(t, "seed003.yaml")
	st, err := Read(data, Options{Parameters: seedParams, StackName: "bitbucket-oidc"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Account != "" || st.Roles[0].ARN != "arn:aws:iam::<account-id>:role/bitbucket-deploy" ||
		!strings.Contains(string(st.Roles[0].TrustPolicy), `"arn:aws:iam::<account-id>:oidc-provider/`+issuer+`"`) {
		t.Errorf("account %q, role ARN %s, trust %s", st.Account, st.Roles[0].ARN, st.Roles[0].TrustPolicy)
	}
	with, err := st.WithAccount(account)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := Read(data, Options{Parameters: seedParams, StackName: "bitbucket-oidc", Account: account})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(with, direct) {
		t.Errorf("WithAccount:\n got %+v\nwant %+v", with, direct)
	}
}

func TestReadJSONEquivalent(t *testing.T) {
	opts := Options{Parameters: seedParams, Account: account, StackName: "bitbucket-oidc", Name: "platform"}
	fromYAML, err := Read(readFile(t, "seed003.yaml"), opts)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := Read(readFile(t, "seed003.json"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromYAML, fromJSON) {
		t.Errorf("JSON template:\n got %+v\nwant %+v", fromJSON, fromYAML)
	}
	if fromJSON.Name != "platform" || fromJSON.Roles[0].Tags[2] != (provision.Tag{Key: provision.ManagedTagKey, Value: "platform"}) {
		t.Errorf("name %q, tags %v: want the given name", fromJSON.Name, fromJSON.Roles[0].Tags)
	}
}

// intrinsicTemplate puts expr at a role's Description.
func intrinsicTemplate(expr string) string {
	return `Parameters:
  Env: {Type: String, Default: prod}
  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
  Count: {Type: Number, Default: 3}
Resources:
  Provider:
    Type: AWS::IAM::OIDCProvider
    Properties:
      Url: https://token.example.com
      ClientIdList: [sts.amazonaws.com]
  Unnamed:
    Type: AWS::IAM::Role
    Properties:
      Path: /ci/
      AssumeRolePolicyDocument: {Version: 2012-10-17, Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}]}
  Boundary:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      ManagedPolicyName: ci-boundary
      PolicyDocument: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: s3:GetObject, Resource: "*"}]}
  Bucket:
    Type: AWS::S3::Bucket
  Subject:
    Type: AWS::IAM::Role
    Properties:
      RoleName: subject
      Description: ` + expr + `
      AssumeRolePolicyDocument:
        Version: 2012-10-17
        Statement:
          - Effect: Allow
            Principal: {Federated: !GetAtt Provider.Arn}
            Action: sts:AssumeRoleWithWebIdentity
            Condition:
              StringEquals: {"token.example.com:aud": sts.amazonaws.com, "token.example.com:sub": "repo:acme/app:ref:refs/heads/main"}
`
}

func TestIntrinsics(t *testing.T) {
	opts := Options{Account: account, Region: "eu-west-1", StackName: "ci"}
	unnamed := generatedName("ci", "Unnamed", 64)
	for _, tc := range []struct{ name, expr, want string }{
		{"plain", `hello`, "hello"},
		{"Ref long", `{Ref: Env}`, "prod"},
		{"Ref short", `!Ref Env`, "prod"},
		{"Ref override", `!Ref Count`, "3"},
		{"Ref AWS::AccountId", `!Ref AWS::AccountId`, account},
		{"Ref AWS::Partition", `!Ref AWS::Partition`, "aws"},
		{"Ref AWS::Region", `!Ref AWS::Region`, "eu-west-1"},
		{"Ref AWS::StackName", `!Ref AWS::StackName`, "ci"},
		{"Ref AWS::URLSuffix", `!Ref AWS::URLSuffix`, "amazonaws.com"},
		{"Ref role", `!Ref Unnamed`, unnamed},
		{"Ref provider", `!Ref Provider`, "arn:aws:iam::123456789012:oidc-provider/token.example.com"},
		{"Ref managed policy", `!Ref Boundary`, "arn:aws:iam::123456789012:policy/ci-boundary"},
		{"GetAtt short", `!GetAtt Unnamed.Arn`, "arn:aws:iam::123456789012:role/ci/" + unnamed},
		{"GetAtt long", `{"Fn::GetAtt": [Unnamed, Arn]}`, "arn:aws:iam::123456789012:role/ci/" + unnamed},
		{"GetAtt short list", `!GetAtt [Provider, Arn]`, "arn:aws:iam::123456789012:oidc-provider/token.example.com"},
		{"GetAtt PolicyArn", `!GetAtt Boundary.PolicyArn`, "arn:aws:iam::123456789012:policy/ci-boundary"},
		{"Sub short", `!Sub "${Env}-${AWS::Region}-${Count}"`, "prod-eu-west-1-3"},
		{"Sub long", `{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Env}"}`, "arn:aws:iam::123456789012:role/prod"},
		{"Sub GetAtt and Ref of resources", `!Sub "${Unnamed.Arn} ${Boundary}"`, "arn:aws:iam::123456789012:role/ci/" + unnamed + " arn:aws:iam::123456789012:policy/ci-boundary"},
		{"Sub literal", `!Sub "${!aws:username} ${!Env}"`, "${aws:username} ${Env}"},
		{"Sub unclosed", `!Sub "a ${Env"`, "a ${Env"},
		{"Sub list form", `!Sub ["${a}/${b}", {a: x, b: !Ref Env}]`, "x/prod"},
		{"Sub variable over parameter", `!Sub ["${Env}", {Env: staging}]`, "staging"},
		{"Sub long list form", `{"Fn::Sub": ["${a}", {a: {"Fn::Join": ["-", [p, q]]}}]}`, "p-q"},
		{"Join short", `!Join [",", [a, !Ref Env, 3]]`, "a,prod,3"},
		{"Join long", `{"Fn::Join": ["", [x, {Ref: Env}]]}`, "xprod"},
		{"Join of a list parameter", `!Join [" ", !Ref Names]`, "a b c"},
		{"Join nested", `!Join ["/", [!Sub "${Env}", !GetAtt Provider.Arn, !Join ["+", [1, 2]]]]`, "prod/arn:aws:iam::123456789012:oidc-provider/token.example.com/1+2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := Read([]byte(intrinsicTemplate(tc.expr)), opts)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			for _, r := range st.Roles {
				if r.Name == "subject" {
					got = r.Description
				}
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// The rest of the intrinsic template reads as expected too.
func TestIntrinsicTemplateState(t *testing.T) {
	st, err := Read([]byte(intrinsicTemplate("x")), Options{StackName: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	unnamed := generatedName("ci", "Unnamed", 64)
	if len(st.Roles) != 2 || st.Roles[0].Name != unnamed || st.Roles[1].Name != "subject" {
		t.Fatalf("roles %+v", st.Roles)
	}
	if got, want := st.Roles[0].ARN, "arn:aws:iam::<account-id>:role/ci/"+unnamed; got != want {
		t.Errorf("generated role ARN %s, want %s", got, want)
	}
	if got, want := string(st.Roles[1].TrustPolicy), `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::<account-id>:oidc-provider/token.example.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.example.com:aud":"sts.amazonaws.com","token.example.com:sub":"repo:acme/app:ref:refs/heads/main"}}}]}`; got != want {
		t.Errorf("trust policy\n got %s\nwant %s", got, want)
	}
	if st.Roles[1].Provider != "token.example.com" || st.Roles[0].Provider != "" {
		t.Errorf("providers of roles %q, %q", st.Roles[0].Provider, st.Roles[1].Provider)
	}
	if len(st.Providers) != 1 || st.Providers[0].URL != "token.example.com" || st.Providers[0].Thumbprints != nil {
		t.Errorf("providers %+v", st.Providers)
	}
}

func TestGeneratedName(t *testing.T) {
	hash := regexp.MustCompile(`^[A-Z2-7]{12}$`)
	for _, tc := range []struct {
		stack, id string
		max       int
		prefix    string
	}{
		{"ci", "Unnamed", 64, "ci-Unnamed-"},
		{strings.Repeat("s", 60), strings.Repeat("L", 40), 64, strings.Repeat("s", 25) + "-" + strings.Repeat("L", 25) + "-"},
		{"stack", strings.Repeat("L", 100), 64, "stack-" + strings.Repeat("L", 45) + "-"},
		{"stack", strings.Repeat("L", 200), 128, "stack-" + strings.Repeat("L", 109) + "-"},
	} {
		got := generatedName(tc.stack, tc.id, tc.max)
		rest, ok := strings.CutPrefix(got, tc.prefix)
		if !ok || !hash.MatchString(rest) || len(got) > tc.max || !nameRe.MatchString(got) {
			t.Errorf("generatedName(%q, %q, %d) = %q, want %q and 12 characters of hash", tc.stack, tc.id, tc.max, got, tc.prefix)
		}
		if again := generatedName(tc.stack, tc.id, tc.max); again != got {
			t.Errorf("not deterministic: %q then %q", got, again)
		}
	}
	if got, want := generatedName("ci", "Unnamed", 64), "ci-Unnamed-SFQHD6FZOEMV"; got != want {
		t.Errorf("generatedName(ci, Unnamed) = %q, want %q", got, want)
	}
	// The hash covers the full names, so names that truncate alike still differ.
	long := strings.Repeat("L", 100)
	if a, b := generatedName("stack", long+"A", 64), generatedName("stack", long+"B", 64); a == b {
		t.Errorf("two logical ids share the name %s", a)
	}
}

// TestManagedTagAsRendered: keyless render writes the keyless:managed tag with the
// config's name; reading that template back with the same name accepts it.
func TestManagedTagAsRendered(t *testing.T) {
	st, err := Read([]byte(roleTemplate("      Tags: [{Key: keyless:managed, Value: web}]\n")), Options{StackName: "stack", Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Roles) != 1 {
		t.Fatalf("roles: %+v", st.Roles)
	}
	n := 0
	for _, tag := range st.Roles[0].Tags {
		if tag.Key == "keyless:managed" {
			n++
			if tag.Value != "web" {
				t.Errorf("keyless:managed = %q, want web", tag.Value)
			}
		}
	}
	if n != 1 {
		t.Errorf("role has %d keyless:managed tags, want 1: %+v", n, st.Roles[0].Tags)
	}
}

// TestTrustPolicyOverTheDefaultQuota: a trust policy over IAM's default 2,048
// characters is read (apply holds it to the account's quota, which can be raised
// to 4,096); one over 4,096 is refused.
func TestTrustPolicyOverTheDefaultQuota(t *testing.T) {
	withIPs := func(n int) string {
		var ips []string
		for i := range n {
			ips = append(ips, fmt.Sprintf("10.0.%d.%d/32", i/250, i%250))
		}
		return strings.Replace(roleTemplate(""), "Action: sts:AssumeRole}]",
			"Action: sts:AssumeRole, Condition: {IpAddress: {aws:SourceIp: ["+strings.Join(ips, ", ")+"]}}}]", 1)
	}
	st, err := Read([]byte(withIPs(150)), Options{StackName: "stack"})
	if err != nil {
		t.Fatalf("a trust policy of about 3,000 characters: %v", err)
	}
	if n := len(st.Roles[0].TrustPolicy); n <= 2048 || n > 4096 {
		t.Fatalf("trust policy has %d characters, want between 2,048 and 4,096", n)
	}
	if _, err := Read([]byte(withIPs(300)), Options{StackName: "stack"}); err == nil || !strings.Contains(err.Error(), "4096") {
		t.Errorf("a trust policy over 4,096 characters: %v", err)
	}
}

package cloudformation_test

import (
	"fmt"
	"os"

	"github.com/keyless-dev/keyless/provision/cloudformation"
)

// Reading seed 003's template as `keyless plan --cloudformation seed003.yaml
// --parameter K=V …` would, for the stack bitbucket-oidc.
func ExampleRead() {
	data, err := os.ReadFile("testdata/seed003.yaml")
	if err != nil {
		panic(err)
	}
	st, err := cloudformation.Read(data, cloudformation.Options{
		Parameters: map[string]string{
			"WorkspaceName": "acme",
			"RoleName":      "bitbucket-deploy",
			"Audience":      "ari:cloud:bitbucket::workspace/0a1b2c3d-0000-4000-8000-000000000000",
			"Thumbprint":    "a031c46782e6e6c662c2c87c76da9aa62ccabd8e",
			"URL":           "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc",
		},
		Account:   "123456789012",
		StackName: "bitbucket-oidc",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Providers[0].ARN)
	fmt.Println(st.Roles[0].ARN)
	for _, f := range st.Findings {
		fmt.Println(f.Severity, f.RuleID)
	}
	// Output:
	// arn:aws:iam::123456789012:oidc-provider/api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc
	// arn:aws:iam::123456789012:role/bitbucket-deploy
	// error no-sub-condition
	// warning bitbucket-pre-2024-source-ip
}

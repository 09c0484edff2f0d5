package cli

import "github.com/spf13/cobra"

// newPolicyCmd is a placeholder until the policy engine lands.
func newPolicyCmd(s Streams) *cobra.Command {
	return &cobra.Command{Use: "policy", Short: "Validate, lint and simulate IAM policies", Hidden: true}
}

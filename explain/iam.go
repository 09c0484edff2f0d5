package explain

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyless-dev/keyless/arn"
	"github.com/keyless-dev/keyless/oidc"
)

// IAMAPI is the part of the IAM client that IAMReader calls; *iam.Client implements it.
type IAMAPI interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListOpenIDConnectProviders(ctx context.Context, in *iam.ListOpenIDConnectProvidersInput, optFns ...func(*iam.Options)) (*iam.ListOpenIDConnectProvidersOutput, error)
	GetOpenIDConnectProvider(ctx context.Context, in *iam.GetOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.GetOpenIDConnectProviderOutput, error)
}

// IAMReader reads from IAM what Run needs: a role's trust policy and the account's
// OpenID Connect providers.
type IAMReader struct {
	Client IAMAPI
}

// TrustPolicy returns the trust policy (assume-role policy document) of the role
// roleARN names, decoded from the percent-encoding IAM sends it in.
func (r IAMReader) TrustPolicy(ctx context.Context, roleARN string) (string, error) {
	role, err := arn.Parse(roleARN)
	if err != nil {
		return "", fmt.Errorf("read the trust policy of a role: %w", err)
	}
	if role.Service() != "iam" || role.ResourceType() != "role" || role.Name() == "" {
		return "", fmt.Errorf("read the trust policy of %s: it is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)", roleARN)
	}
	// GetRole takes the name alone, whatever the role's path.
	out, err := r.Client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role.Name())})
	if err != nil {
		return "", fmt.Errorf("read the trust policy of %s with iam:GetRole: %w", roleARN, err)
	}
	if out.Role == nil {
		return "", fmt.Errorf("read the trust policy of %s with iam:GetRole: the answer has no role", roleARN)
	}
	doc := aws.ToString(out.Role.AssumeRolePolicyDocument)
	if dec, err := url.QueryUnescape(doc); err == nil {
		doc = dec
	}
	return doc, nil
}

// Providers returns every IAM OpenID Connect provider of the account.
func (r IAMReader) Providers(ctx context.Context) ([]oidc.Provider, error) {
	list, err := r.Client.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		return nil, fmt.Errorf("list IAM OIDC providers: %w", err)
	}
	var out []oidc.Provider
	for _, e := range list.OpenIDConnectProviderList {
		p, err := r.Client.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: e.Arn})
		if err != nil {
			return nil, fmt.Errorf("read IAM OIDC provider %s: %w", aws.ToString(e.Arn), err)
		}
		// IAM returns the URL without its scheme; keyless returns a local one, with a
		// port, with it.
		u := strings.TrimPrefix(aws.ToString(p.Url), "https://")
		out = append(out, oidc.Provider{ARN: aws.ToString(e.Arn), URL: u, ClientIDs: p.ClientIDList, Thumbprints: p.ThumbprintList})
	}
	return out, nil
}

// ProviderForURL is the provider explain checks a token against when it is named by
// its URL (https:// optional) and client IDs instead of read from IAM. Its ARN is the
// one IAM gives a provider for that URL in the role's account and partition; when
// roleARN is no ARN, the account is left empty and the partition is
// arn.DefaultPartition.
func ProviderForURL(roleARN, providerURL string, clientIDs []string) oidc.Provider {
	u := strings.TrimPrefix(providerURL, "https://")
	var partition, account string
	if role, err := arn.Parse(roleARN); err == nil {
		partition, account = role.Partition(), role.Account()
	}
	return oidc.Provider{URL: u, ARN: arn.OIDCProvider(partition, account, u).String(), ClientIDs: clientIDs}
}

// Package awsconfig loads the AWS configuration keyless's own tools use to call AWS
// APIs such as IAM: the SDK's default chain, or, when the user has no credentials of
// their own, the root credentials of a sourced keyless env file (`. .keyless/env`).
package awsconfig

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// DefaultRegion is the region used when neither AWS_REGION nor AWS_DEFAULT_REGION is
// set (IAM is global, and `keyless up` answers any region).
const DefaultRegion = "us-east-1"

// Environment variables of the env file `keyless up` writes that Load reads.
const (
	EnvRootAccessKeyID     = "KEYLESS_ROOT_ACCESS_KEY_ID"
	EnvRootSecretAccessKey = "KEYLESS_ROOT_SECRET_ACCESS_KEY"
)

// ErrNoCredentials is returned (wrapped) by Load when the SDK's default chain found
// no credentials anywhere and no keyless root credentials are set. Its message is one
// line; the SDK's account of every place it looked is left out on purpose.
var ErrNoCredentials = errors.New("no AWS credentials: set AWS credentials (environment, profile, SSO) or source the env file keyless up wrote (. .keyless/env)")

// Load returns the AWS configuration for keyless's tools and checks that it has
// credentials. It is the SDK's default configuration (environment, shared files,
// endpoint variables such as AWS_ENDPOINT_URL), with two keyless rules taken from
// getenv (os.Getenv when nil):
//
//   - the region defaults to DefaultRegion;
//   - when KEYLESS_ROOT_ACCESS_KEY_ID and KEYLESS_ROOT_SECRET_ACCESS_KEY are set and
//     the user has no explicit credentials of their own (AWS_ACCESS_KEY_ID,
//     AWS_PROFILE or AWS_DEFAULT_PROFILE), those root credentials sign the calls.
//     AWS_ROLE_ARN does not count as credentials of one's own: in a pipeline it names
//     the role a step assumes.
//
// opts are applied after these rules, so they can override them. When nothing
// provides credentials the error wraps ErrNoCredentials; when a configured source
// fails (an expired SSO session, a broken profile) the SDK's error is wrapped as is.
func Load(ctx context.Context, getenv func(string) string, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var all []func(*config.LoadOptions) error
	if getenv("AWS_REGION") == "" && getenv("AWS_DEFAULT_REGION") == "" {
		all = append(all, config.WithRegion(DefaultRegion))
	}
	if id, secret := getenv(EnvRootAccessKeyID), getenv(EnvRootSecretAccessKey); id != "" && secret != "" && !ownCredentials(getenv) {
		all = append(all, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, "")))
	}
	all = append(all, opts...)
	cfg, err := config.LoadDefaultConfig(ctx, all...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if err := CheckCredentials(ctx, cfg); err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// CheckCredentials retrieves cfg's credentials once (they are cached for the calls
// that follow). When the default chain found none anywhere the error wraps
// ErrNoCredentials; when a configured source fails it wraps the SDK's error.
func CheckCredentials(ctx context.Context, cfg aws.Config) error {
	if cfg.Credentials == nil {
		return ErrNoCredentials
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		if lastResort(cfg.Credentials) {
			return ErrNoCredentials
		}
		return fmt.Errorf("retrieve credentials: %w", err)
	}
	return nil
}

// ownCredentials reports whether the user chose credentials explicitly.
func ownCredentials(getenv func(string) string) bool {
	return getenv("AWS_ACCESS_KEY_ID") != "" || getenv("AWS_PROFILE") != "" || getenv("AWS_DEFAULT_PROFILE") != ""
}

// lastResort reports whether the chain ended on the instance metadata service only
// because nothing else was configured: that is where the SDK goes when it finds no
// credentials anywhere.
func lastResort(p aws.CredentialsProvider) bool {
	s, ok := p.(aws.CredentialProviderSource)
	return ok && slices.Equal(s.ProviderSources(), []aws.CredentialSource{aws.CredentialSourceIMDS})
}

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/keyless-dev/keyless/issuer"
)

// ExchangeOptions configure the exchange benchmark.
type ExchangeOptions struct {
	// RoleARN is the role to assume. Empty: the benchmark creates (or updates)
	// BenchRoleName, trusting the default workspace's issuer for Repository.
	RoleARN string
	// Repository is the repository slug the step token is minted for
	// (default BenchRepository).
	Repository string
	// TokenEvery, when above zero, mints a fresh token after that many
	// exchanges (in the background); zero mints one for the whole run.
	TokenEvery int64
}

// BenchRoleName is the role the exchange benchmark creates when given none.
const BenchRoleName = "keyless-bench-exchange"

// BenchRepository is the repository slug of the benchmarks' tokens by default.
const BenchRepository = "keyless-bench"

// Exchange is the AssumeRoleWithWebIdentity benchmark.
type Exchange struct {
	t       Target
	hc      *http.Client
	mint    *issuer.Client
	req     issuer.MintRequest
	roleARN string
	every   int64
	form    atomic.Pointer[string] // the request body, with the current token
	uses    atomic.Int64
	minting sync.Mutex // held while a background mint runs
	wg      sync.WaitGroup
	// mintErr is the last background mint's failure, if any.
	mintErr atomic.Pointer[error]
}

// NewExchange prepares the exchange benchmark against t with up to conns
// connections: the role (unless o names one) and a first token.
func NewExchange(ctx context.Context, t Target, o ExchangeOptions, conns int) (*Exchange, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if o.Repository == "" {
		o.Repository = BenchRepository
	}
	e := &Exchange{t: t, hc: t.httpClient(conns), roleARN: o.RoleARN, every: o.TokenEvery,
		req: issuer.MintRequest{Workspace: t.Workspace, Repository: o.Repository}}
	var err error
	if e.mint, err = issuer.NewClient(t.Endpoint, t.RunnerToken, issuer.ClientOptions{HTTPClient: e.hc}); err != nil {
		return nil, fmt.Errorf("exchange benchmark: %w", err)
	}
	tok, err := e.mint.Mint(ctx, e.req)
	if err != nil {
		return nil, fmt.Errorf("exchange benchmark: mint a step token: %w", err)
	}
	if e.roleARN == "" {
		if e.roleARN, err = setupRole(ctx, t, e.hc, tok.Claims.RepositoryUUID); err != nil {
			return nil, fmt.Errorf("exchange benchmark: set up role %s: %w", BenchRoleName, err)
		}
	}
	e.setToken(tok.Raw)
	return e, nil
}

// RoleARN is the role the benchmark assumes.
func (e *Exchange) RoleARN() string { return e.roleARN }

func (e *Exchange) setToken(raw string) {
	form := url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
		"RoleArn": {e.roleARN}, "RoleSessionName": {"keyless-bench"}, "WebIdentityToken": {raw},
	}.Encode()
	e.form.Store(&form)
}

// Op is one exchange: an unsigned AssumeRoleWithWebIdentity Query request.
func (e *Exchange) Op(ctx context.Context, _ int, _ int64) error {
	if e.every > 0 && e.uses.Add(1)%e.every == 0 {
		e.refresh()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.t.baseURL()+"/", strings.NewReader(*e.form.Load()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := e.hc.Do(req)
	if err != nil {
		return err
	}
	return checkAnswer(resp)
}

// refresh mints a new token in the background, unless a mint is running.
func (e *Exchange) refresh() {
	if !e.minting.TryLock() {
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer e.minting.Unlock()
		tok, err := e.mint.Mint(context.Background(), e.req)
		if err != nil {
			err = fmt.Errorf("mint a fresh step token: %w", err)
			e.mintErr.Store(&err)
			return
		}
		e.setToken(tok.Raw)
	}()
}

// Close waits for a background mint and returns the last one's failure.
func (e *Exchange) Close() error {
	e.wg.Wait()
	if p := e.mintErr.Load(); p != nil {
		return *p
	}
	return nil
}

// setupRole makes sure the default workspace's issuer is an OIDC provider of
// the account and that BenchRoleName trusts it for the repository of UUID
// repoUUID, and returns the role's ARN.
func setupRole(ctx context.Context, t Target, hc *http.Client, repoUUID string) (string, error) {
	if t.Issuer == "" || t.Audience == "" || t.AccountID == "" {
		return "", errors.New("the issuer, audience or account is unknown: pass --data DIR of keyless up, or --role-arn")
	}
	client := iam.NewFromConfig(t.awsConfig(hc))
	providerURL := strings.TrimPrefix(t.Issuer, "https://")
	providerARN := "arn:aws:iam::" + t.AccountID + ":oidc-provider/" + providerURL
	_, err := client.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(t.Issuer), ClientIDList: []string{t.Audience},
	})
	if isCode(err, "EntityAlreadyExists") {
		_, err = client.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{
			OpenIDConnectProviderArn: aws.String(providerARN), ClientID: aws.String(t.Audience),
		})
	}
	if err != nil {
		return "", fmt.Errorf("OIDC provider for %s: %w", t.Issuer, err)
	}
	trust, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": providerARN},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{
				"StringEquals": map[string]any{providerURL + ":aud": t.Audience},
				"StringLike":   map[string]any{providerURL + ":sub": repoUUID + ":*"},
			},
		}},
	})
	if err != nil {
		return "", err
	}
	out, err := client.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(BenchRoleName), AssumeRolePolicyDocument: aws.String(string(trust)),
		Description: aws.String("created by keyless bench exchange"),
	})
	if err == nil {
		return aws.ToString(out.Role.Arn), nil
	}
	if !isCode(err, "EntityAlreadyExists") {
		return "", err
	}
	if _, err := client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{
		RoleName: aws.String(BenchRoleName), PolicyDocument: aws.String(string(trust)),
	}); err != nil {
		return "", err
	}
	got, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(BenchRoleName)})
	if err != nil {
		return "", err
	}
	return aws.ToString(got.Role.Arn), nil
}

// isCode reports whether err is an AWS API error with the given code.
func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

// awsConfig is an SDK configuration for t's endpoint with its root credentials.
func (t Target) awsConfig(hc *http.Client) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(t.baseURL()),
		Credentials:  credentials.NewStaticCredentialsProvider(t.AccessKeyID, t.SecretAccessKey, ""),
		HTTPClient:   hc,
	}
}

// Mint is the token minting benchmark: POST to the issuer's mint endpoint
// with the runner credential.
type Mint struct {
	t    Target
	hc   *http.Client
	body []byte
}

// NewMint prepares the mint benchmark against t with up to conns connections,
// minting Bitbucket step tokens for the repository slug repo.
func NewMint(t Target, repo string, conns int) (*Mint, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if t.RunnerToken == "" {
		return nil, errors.New("mint benchmark: no runner credential: pass --data DIR of keyless up or --runner-token")
	}
	if repo == "" {
		repo = BenchRepository
	}
	body, err := json.Marshal(issuer.MintRequest{Workspace: t.Workspace, Repository: repo})
	if err != nil {
		return nil, err
	}
	return &Mint{t: t, hc: t.httpClient(conns), body: body}, nil
}

// Op mints one token.
func (m *Mint) Op(ctx context.Context, _ int, _ int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.t.baseURL()+issuer.MintPath, bytes.NewReader(m.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+m.t.RunnerToken)
	resp, err := m.hc.Do(req)
	if err != nil {
		return err
	}
	return checkAnswer(resp)
}

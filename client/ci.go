// Package client is the pipeline side of keyless: it detects the CI system a step runs
// in, obtains the step's OpenID Connect token, exchanges it with STS for temporary AWS
// credentials, writes them in the format a job needs and, for long jobs, keeps serving
// fresh ones through a loopback container-credentials endpoint.
//
// Nothing in this package reads the process environment or the clock directly: callers
// pass a Getenv function, and time is injected where it matters, so every behaviour is
// testable without touching global state.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/arn"
)

// DefaultAudience is the audience requested from GitHub Actions when none is given; it
// is the client ID AWS documents for IAM OIDC providers.
const DefaultAudience = "sts.amazonaws.com"

// CIProvider names the CI system a step runs in.
type CIProvider string

// The CI systems keyless recognises. CINone means no known CI was detected.
const (
	CINone      CIProvider = ""
	CIBitbucket CIProvider = "bitbucket"
	CIGitHub    CIProvider = "github"
	CIGitLab    CIProvider = "gitlab"
)

// CIContext is what the environment says about the running CI step. Fields a provider
// does not offer are empty.
type CIContext struct {
	// Provider is the detected CI system.
	Provider CIProvider
	// Repository is the repository slug (Bitbucket), owner/name (GitHub) or project
	// path (GitLab).
	Repository string
	// Run identifies the pipeline run: Bitbucket's build number, GitHub's run ID,
	// GitLab's pipeline ID.
	Run string
	// Attempt is GitHub's run attempt.
	Attempt string
	// Job identifies the step or job: Bitbucket's step UUID, GitLab's job ID.
	Job string
}

// DetectCI reads the CI context from environment variables through getenv.
func DetectCI(getenv func(string) string) CIContext {
	switch {
	case getenv("BITBUCKET_BUILD_NUMBER") != "" || getenv("BITBUCKET_STEP_OIDC_TOKEN") != "":
		return CIContext{
			Provider:   CIBitbucket,
			Repository: getenv("BITBUCKET_REPO_SLUG"),
			Run:        getenv("BITBUCKET_BUILD_NUMBER"),
			Job:        getenv("BITBUCKET_STEP_UUID"),
		}
	case getenv("GITHUB_ACTIONS") == "true" || getenv("ACTIONS_ID_TOKEN_REQUEST_URL") != "":
		return CIContext{
			Provider:   CIGitHub,
			Repository: getenv("GITHUB_REPOSITORY"),
			Run:        getenv("GITHUB_RUN_ID"),
			Attempt:    getenv("GITHUB_RUN_ATTEMPT"),
		}
	case getenv("GITLAB_CI") == "true" || (getenv("CI_JOB_ID") != "" && getenv("CI_PROJECT_PATH") != ""):
		return CIContext{
			Provider:   CIGitLab,
			Repository: getenv("CI_PROJECT_PATH"),
			Run:        getenv("CI_PIPELINE_ID"),
			Job:        getenv("CI_JOB_ID"),
		}
	}
	return CIContext{}
}

// SessionName derives a role session name from the CI context: bitbucket-<repo>-<build>,
// github-<run id>-<attempt>, gitlab-<job id>, or keyless-<unix time of now> outside CI.
// The result is sanitized with SanitizeSessionName.
func (c CIContext) SessionName(now time.Time) string {
	var name string
	switch {
	case c.Provider == CIBitbucket && c.Run != "":
		name = joinNonEmpty("bitbucket", c.Repository, c.Run)
	case c.Provider == CIGitHub && c.Run != "":
		name = joinNonEmpty("github", c.Run, c.Attempt)
	case c.Provider == CIGitLab && c.Job != "":
		name = "gitlab-" + c.Job
	default:
		name = "keyless-" + strconv.FormatInt(now.Unix(), 10)
	}
	return SanitizeSessionName(name)
}

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "-")
}

// ValidateSessionName checks a role session name the user gave against what STS
// accepts, [\w+=,.@-]{2,64}, and says which rule it breaks. Names keyless derives
// are sanitized instead (SanitizeSessionName); a name the user chose is never
// rewritten behind their back.
func ValidateSessionName(name string) error {
	n := utf8.RuneCountInString(name)
	if n < 2 || n > 64 {
		return fmt.Errorf("invalid role session name %q: STS accepts 2 to 64 characters, this has %d", name, n)
	}
	for _, r := range name {
		if !sessionNameRune(r) {
			return fmt.Errorf("invalid role session name %q: STS accepts only letters, digits and _+=,.@- (not %q)", name, r)
		}
	}
	return nil
}

// sessionNameRune reports whether STS accepts r in a RoleSessionName.
func sessionNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+=,.@-", r)
}

// SanitizeSessionName maps name onto what STS accepts as a RoleSessionName,
// [\w+=,.@-]{2,64}: other characters become '-', the result is cut to 64 characters
// and one shorter than 2 is padded with '-' (an empty name becomes "keyless").
func SanitizeSessionName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if sessionNameRune(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
		if b.Len() == 64 {
			break
		}
	}
	s := b.String()
	switch len(s) {
	case 0:
		return "keyless"
	case 1:
		return s + "-"
	}
	return s
}

// ResolveRoleARN picks the role to assume: flag when set, else $AWS_ROLE_ARN, else the
// Bitbucket pipes' $AWS_OIDC_ROLE_ARN. It checks the value looks like an IAM role ARN.
func ResolveRoleARN(flag string, getenv func(string) string) (string, error) {
	arn := strings.TrimSpace(flag)
	for _, name := range []string{"AWS_ROLE_ARN", "AWS_OIDC_ROLE_ARN"} {
		if arn != "" {
			break
		}
		arn = strings.TrimSpace(getenv(name))
	}
	if arn == "" {
		return "", errors.New("no role to assume: pass --role-arn or set AWS_ROLE_ARN (or the pipes' AWS_OIDC_ROLE_ARN)")
	}
	if _, err := roleAccount(arn); err != nil {
		return "", err
	}
	return arn, nil
}

// roleAccount returns the account ID of an IAM role ARN
// (arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME).
func roleAccount(roleARN string) (string, error) {
	a, err := arn.Parse(roleARN)
	if err != nil || a.Service() != "iam" || a.ResourceType() != "role" || a.Name() == "" || !arn.IsAccountID(a.Account()) {
		return "", fmt.Errorf("%q is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)", roleARN)
	}
	return a.Account(), nil
}

// TokenSource yields the step's OpenID Connect token. Token may be called again later
// for a fresh token: sources that can (a file re-read, a GitHub re-request) return one;
// the others return the same token.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// SourceOptions selects and configures a TokenSource.
type SourceOptions struct {
	// TokenFile is a file holding the token, re-read on every call, or "-" for stdin
	// (read once).
	TokenFile string
	// TokenEnv names an environment variable holding the token (e.g. a GitLab
	// id_tokens entry).
	TokenEnv string
	// Audience is requested from GitHub Actions; DefaultAudience when empty.
	Audience string
	// Getenv reads the environment; required.
	Getenv func(string) string
	// Stdin is read for TokenFile "-".
	Stdin io.Reader
	// HTTPClient requests GitHub tokens; a client with a 30 s timeout when nil.
	HTTPClient *http.Client
}

// ErrNoToken is wrapped by the error NewTokenSource returns when no token source is
// available; the error's text says what to change in the pipeline.
var ErrNoToken = errors.New("no OpenID Connect token found")

// NewTokenSource picks the token source: --token-file, then --token-env, then a
// Bitbucket step token ($BITBUCKET_STEP_OIDC_TOKEN), then GitHub Actions
// ($ACTIONS_ID_TOKEN_REQUEST_URL), then $AWS_WEB_IDENTITY_TOKEN_FILE. When none
// applies it returns an error wrapping ErrNoToken with a fix for the detected CI.
// It returns the detected CI context too.
func NewTokenSource(opts SourceOptions) (TokenSource, CIContext, error) {
	getenv := opts.Getenv
	ci := DetectCI(getenv)
	switch {
	case opts.TokenFile == "-":
		if opts.Stdin == nil {
			return nil, ci, errors.New("token from stdin: no standard input")
		}
		return &stdinSource{r: opts.Stdin}, ci, nil
	case opts.TokenFile != "":
		return FileSource(opts.TokenFile), ci, nil
	case opts.TokenEnv != "":
		return &envSource{name: opts.TokenEnv, getenv: getenv, ci: ci.Provider}, ci, nil
	case getenv("BITBUCKET_STEP_OIDC_TOKEN") != "":
		return &envSource{name: "BITBUCKET_STEP_OIDC_TOKEN", getenv: getenv, ci: CIBitbucket}, ci, nil
	case getenv("ACTIONS_ID_TOKEN_REQUEST_URL") != "":
		if getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") == "" {
			return nil, ci, fmt.Errorf("%w: ACTIONS_ID_TOKEN_REQUEST_URL is set but ACTIONS_ID_TOKEN_REQUEST_TOKEN is not", ErrNoToken)
		}
		hc := opts.HTTPClient
		if hc == nil {
			hc = &http.Client{Timeout: 30 * time.Second}
		}
		aud := opts.Audience
		if aud == "" {
			aud = DefaultAudience
		}
		return &GitHubSource{
			RequestURL:   getenv("ACTIONS_ID_TOKEN_REQUEST_URL"),
			RequestToken: getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
			Audience:     aud,
			HTTPClient:   hc,
		}, ci, nil
	case getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != "":
		return FileSource(getenv("AWS_WEB_IDENTITY_TOKEN_FILE")), ci, nil
	}
	return nil, ci, noTokenError(ci)
}

func noTokenError(ci CIContext) error {
	switch ci.Provider {
	case CIBitbucket:
		return fmt.Errorf("%w: this Bitbucket step has no BITBUCKET_STEP_OIDC_TOKEN: add `oidc: true` to the step in bitbucket-pipelines.yml", ErrNoToken)
	case CIGitHub:
		return fmt.Errorf("%w: GitHub Actions offers no ID token to this job: add `permissions: id-token: write` to the workflow or job", ErrNoToken)
	case CIGitLab:
		return fmt.Errorf("%w: GitLab sets no token by itself: declare one in the job (`id_tokens: {AWS_ID_TOKEN: {aud: sts.amazonaws.com}}`) and pass `--token-env AWS_ID_TOKEN`", ErrNoToken)
	}
	return fmt.Errorf("%w: pass --token-file PATH, --token-env NAME or --token-file - (stdin)", ErrNoToken)
}

// FileSource reads the token from a file on every call, so a file the CI rewrites
// yields fresh tokens.
type FileSource string

// Token reads and trims the file.
func (f FileSource) Token(context.Context) (string, error) {
	b, err := os.ReadFile(string(f))
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("read token file %s: file is empty", string(f))
	}
	return tok, nil
}

type envSource struct {
	name   string
	getenv func(string) string
	ci     CIProvider
}

func (e *envSource) Token(context.Context) (string, error) {
	tok := strings.TrimSpace(e.getenv(e.name))
	if tok != "" {
		return tok, nil
	}
	if e.ci == CIGitLab {
		return "", fmt.Errorf("%w: $%s is empty: declare it under the job's `id_tokens:` (`%s: {aud: sts.amazonaws.com}`)", ErrNoToken, e.name, e.name)
	}
	return "", fmt.Errorf("%w: $%s is empty or unset", ErrNoToken, e.name)
}

type stdinSource struct {
	r    io.Reader
	once sync.Once
	tok  string
	err  error
}

func (s *stdinSource) Token(context.Context) (string, error) {
	s.once.Do(func() {
		// Byte by byte, so that what follows the token's line stays unread for others
		// (the child of `keyless exec` inherits the same standard input).
		var line []byte
		b := make([]byte, 1)
		for len(line) < 1<<20 {
			n, err := s.r.Read(b)
			if n == 1 {
				if b[0] == '\n' {
					break
				}
				line = append(line, b[0])
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				s.err = fmt.Errorf("read token from stdin: %w", err)
				return
			}
		}
		s.tok = strings.TrimSpace(string(line))
		if s.tok == "" {
			s.err = fmt.Errorf("%w: standard input is empty", ErrNoToken)
		}
	})
	return s.tok, s.err
}

// GitHubSource requests a fresh ID token from GitHub Actions on every call:
// GET RequestURL&audience=Audience with "Authorization: bearer RequestToken", answered
// with {"value": "<jwt>"}.
type GitHubSource struct {
	// RequestURL is $ACTIONS_ID_TOKEN_REQUEST_URL.
	RequestURL string
	// RequestToken is $ACTIONS_ID_TOKEN_REQUEST_TOKEN.
	RequestToken string
	// Audience is the requested aud claim.
	Audience string
	// HTTPClient sends the request.
	HTTPClient *http.Client
}

// Token requests a token from GitHub.
func (g *GitHubSource) Token(ctx context.Context) (string, error) {
	u, err := url.Parse(g.RequestURL)
	if err != nil {
		return "", fmt.Errorf("request GitHub ID token: invalid ACTIONS_ID_TOKEN_REQUEST_URL: %w", err)
	}
	if g.Audience != "" {
		q := u.Query()
		q.Set("audience", g.Audience)
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("request GitHub ID token: %w", err)
	}
	req.Header.Set("Authorization", "bearer "+g.RequestToken)
	req.Header.Set("Accept", "application/json; api-version=2.0")
	hc := g.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("request GitHub ID token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("request GitHub ID token: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("request GitHub ID token: %s answered %s", u.Host, resp.Status)
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		return "", errors.New("request GitHub ID token: malformed response: no value")
	}
	return v.Value, nil
}

// ExplainTokenFlags returns the flags that make `keyless explain` read the token src
// reads, for a hint to quote ("" when explain finds it by itself, as it does
// BITBUCKET_STEP_OIDC_TOKEN). A token that cannot be read twice (standard input, a
// GitHub Actions request) is named as a file to save it in.
func ExplainTokenFlags(src TokenSource) string {
	switch s := src.(type) {
	case FileSource:
		return "--token-file " + shellQuote(string(s))
	case *envSource:
		if s.name == "BITBUCKET_STEP_OIDC_TOKEN" {
			return ""
		}
		return "--token-env " + shellQuote(s.name)
	case *stdinSource, *GitHubSource:
		return "--token-file FILE_WITH_THE_TOKEN"
	}
	return ""
}

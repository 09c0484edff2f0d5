package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/keyless-dev/keyless/issuer"
)

// Config is the `keyless up --config FILE` document (JSON). Every field is optional.
type Config struct {
	// Listen is the address to serve on (default 127.0.0.1:8400); flags override it.
	Listen string `json:"listen,omitempty"`
	// MetricsListen, if set, is the address the Prometheus metrics are served on
	// instead of GET /metrics on Listen; `keyless up --metrics-listen` overrides it.
	MetricsListen string `json:"metrics_listen,omitempty"`
	// PublicURL is the https base URL relying parties reach the issuer at, for real
	// deployments behind a hostname (default https://<listen address>).
	PublicURL string `json:"public_url,omitempty"`
	// AccountID is the local AWS account (default 000000000000): the first
	// account, whose IAM, S3, CloudFront and Secrets Manager live in the store
	// with the identity provider.
	AccountID string `json:"account_id,omitempty"`
	// Accounts are further local accounts, each with its own store, root
	// credentials and IAM (accounts.go).
	Accounts []AccountConfig `json:"accounts,omitempty"`
	// Store is a PostgreSQL DSN; empty keeps SQLite in the data directory.
	Store string `json:"store,omitempty"`
	// DefaultWorkspace names the workspace whose issuer KEYLESS_ISSUER points at (default "keyless").
	DefaultWorkspace string `json:"default_workspace,omitempty"`
	// TrustedProxies are addresses or CIDRs of reverse proxies whose X-Forwarded-For
	// header gives the caller's address (aws:SourceIp); by default only the TCP peer counts.
	TrustedProxies []string `json:"trusted_proxies,omitempty"`
	// LogLevel is debug, info (default), warn or error; `keyless up --log-level`
	// overrides it. A reload (SIGHUP) applies it.
	LogLevel string `json:"log_level,omitempty"`
	// Log configures the audit log lines.
	Log LogConfig `json:"log"`
	// Issuer configures tokens and signing keys.
	Issuer IssuerConfig `json:"issuer"`
	// Workspaces are registered at start, with their repositories and environments.
	Workspaces []WorkspaceConfig `json:"workspaces,omitempty"`
	// CloudFront configures the CloudFront API: the invalidation delay and the
	// distributions that exist from the start.
	CloudFront CloudFrontConfig `json:"cloudfront"`
	// Audit configures the retention of audit events.
	Audit AuditConfig `json:"audit"`
	// Console configures the web console at /console/.
	Console ConsoleConfig `json:"console"`
}

// ConsoleConfig configures the web console.
type ConsoleConfig struct {
	// SessionTTL is how long a console sign-in lasts (default 15m, at most 12h).
	SessionTTL issuer.Duration `json:"session_ttl,omitempty"`
}

// maxConsoleSessionTTL bounds console.session_ttl.
const maxConsoleSessionTTL = 12 * time.Hour

// AuditConfig bounds the audit events kept; by default every event is kept.
// The server prunes in the background, in batches (audit.StartRetention).
type AuditConfig struct {
	// Retention prunes events older than this (e.g. "720h").
	Retention issuer.Duration `json:"retention,omitempty"`
	// MaxEvents prunes all but the newest MaxEvents events.
	MaxEvents int `json:"max_events,omitempty"`
	// DataEvents says which S3 object-level requests (GetObject, PutObject,
	// ListObjectsV2, …: CloudTrail's data events) are audited: "denied", the
	// default, only those refused or failed; "all" every one. Like a CloudTrail
	// trail, which records data events only when asked to, keyless leaves the
	// allowed ones out of the store and the log by default: a site deploy makes
	// one per file. Every other decision is always audited.
	DataEvents string `json:"data_events,omitempty"`
}

// Values of AuditConfig.DataEvents.
const (
	DataEventsDenied = "denied"
	DataEventsAll    = "all"
)

// checkDataEvents validates audit.data_events.
func checkDataEvents(v string) error {
	switch v {
	case "", DataEventsDenied, DataEventsAll:
		return nil
	}
	return fmt.Errorf("config: audit.data_events %q: use %q (allowed S3 object requests are not audited, the default) or %q", v, DataEventsDenied, DataEventsAll)
}

// IssuerConfig configures the identity provider.
type IssuerConfig struct {
	TokenTTL    issuer.Duration `json:"token_ttl,omitempty"`     // default 1h
	MaxTokenTTL issuer.Duration `json:"max_token_ttl,omitempty"` // default 12h
	// AutoRegister registers unknown names on first mint (default true).
	AutoRegister *bool `json:"auto_register,omitempty"`
	// Algorithm of new signing keys: RS256 (default) or ES256.
	Algorithm      string          `json:"algorithm,omitempty"`
	LeadTime       issuer.Duration `json:"lead_time,omitempty"`       // default 1h
	RotationPeriod issuer.Duration `json:"rotation_period,omitempty"` // default 720h; negative disables
	// KeyCheckInterval is how often the key schedule runs and changes the schedule
	// of other replicas made are picked up (default 5s). Changes made by `keyless
	// keys` are picked up within KeyWatchInterval (250ms).
	KeyCheckInterval issuer.Duration `json:"key_check_interval,omitempty"`
	// GitHubIssuerURL and GitLabIssuerURL are the issuers GitHub- and GitLab-shaped
	// tokens carry in place of <public URL>/github and <public URL>/gitlab, such as
	// the production https://token.actions.githubusercontent.com and
	// https://gitlab.com. See WorkspaceConfig.IssuerURL.
	GitHubIssuerURL string `json:"github_issuer_url,omitempty"`
	GitLabIssuerURL string `json:"gitlab_issuer_url,omitempty"`
}

// WorkspaceConfig registers a workspace.
type WorkspaceConfig struct {
	Slug        string `json:"slug"`
	UUID        string `json:"uuid,omitempty"`
	SessionTags bool   `json:"session_tags,omitempty"`
	// IssuerURL is the issuer the workspace's tokens carry (iss) in place of the local
	// one, typically the production
	// https://api.bitbucket.org/2.0/workspaces/<slug>/pipelines-config/identity/oidc,
	// so that templates and trust policies written for production run unchanged. Its
	// discovery document and keys are still served locally, and keyless's own
	// verifiers (STS in-process; `explain` and `token inspect` through
	// KEYLESS_ISSUER_ALIASES) take its keys from this server, never from the network.
	IssuerURL    string             `json:"issuer_url,omitempty"`
	Repositories []RepositoryConfig `json:"repositories,omitempty"`
}

// workspaceIssuers collects the workspaces' configured issuer URLs by slug.
func workspaceIssuers(wss []WorkspaceConfig) (map[string]string, error) {
	out := map[string]string{}
	for _, w := range wss {
		if w.IssuerURL == "" {
			continue
		}
		if prev, dup := out[w.Slug]; dup && prev != w.IssuerURL {
			return nil, fmt.Errorf("config: workspace %s is listed twice with different issuer_url (%s and %s)", w.Slug, prev, w.IssuerURL)
		}
		out[w.Slug] = w.IssuerURL
	}
	return out, nil
}

// RepositoryConfig registers a repository.
type RepositoryConfig struct {
	Slug         string              `json:"slug"`
	UUID         string              `json:"uuid,omitempty"`
	Environments []EnvironmentConfig `json:"environments,omitempty"`
}

// EnvironmentConfig registers a deployment environment.
type EnvironmentConfig struct {
	Name string `json:"name"`
	UUID string `json:"uuid,omitempty"`
}

// LoadConfig reads a config file; see ParseConfig.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes a JSON config document. Unknown fields and trailing data are
// errors, so typos do not pass silently.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, err
	}
	if dec.More() {
		return Config{}, fmt.Errorf("trailing data after the JSON object")
	}
	return c, nil
}

func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8400"
	}
	if c.AccountID == "" {
		c.AccountID = "000000000000"
	}
	if c.DefaultWorkspace == "" {
		c.DefaultWorkspace = "keyless"
	}
	if c.Issuer.KeyCheckInterval == 0 {
		c.Issuer.KeyCheckInterval = issuer.Duration(5 * time.Second)
	}
}

// LogConfig configures the audit log lines (not the stored audit events).
type LogConfig struct {
	// SampleAllowed is the fraction of allowed decisions logged, from 0 to 1
	// (default 1, all); denials and errors are always logged, and every
	// decision is stored. See audit.Recorder.SetLogSampling.
	SampleAllowed *float64 `json:"sample_allowed,omitempty"`
}

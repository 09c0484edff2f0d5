package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/atomicfile"
)

// Format is a way of handing credentials to the rest of a job.
type Format string

// The output formats of `keyless login`.
const (
	// FormatEnv prints POSIX shell export lines.
	FormatEnv Format = "env"
	// FormatDotenv prints KEY=value lines for dotenv files and docker --env-file.
	FormatDotenv Format = "dotenv"
	// FormatJSON prints STS's Credentials object.
	FormatJSON Format = "json"
	// FormatCredentialProcess prints the Version 1 JSON of credential_process.
	FormatCredentialProcess Format = "credential-process"
	// FormatAWSProfile writes a profile into the AWS config and credentials files.
	FormatAWSProfile Format = "aws-profile"
	// FormatGitHubEnv appends to $GITHUB_ENV and prints ::add-mask:: commands.
	FormatGitHubEnv Format = "github-env"
)

// Formats lists every Format.
func Formats() []Format {
	return []Format{FormatEnv, FormatDotenv, FormatJSON, FormatCredentialProcess, FormatAWSProfile, FormatGitHubEnv}
}

// ParseFormat checks s names a Format.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, 0, len(Formats()))
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("unknown format %q: use one of %s", s, strings.Join(names, ", "))
}

// OutputOptions configure WriteOutput.
type OutputOptions struct {
	// Format selects the output.
	Format Format
	// Profile names the profile FormatAWSProfile writes; required for it.
	Profile string
	// Region, when set, is written too (AWS_REGION and AWS_DEFAULT_REGION, or the
	// profile's region).
	Region string
	// TokenFile, when set, is the absolute path of a file holding the web identity
	// token; FormatAWSProfile then writes a role_arn + web_identity_token_file profile
	// that SDKs refresh by themselves, instead of static keys.
	TokenFile string
	// SessionName is the profile's role_session_name with TokenFile.
	SessionName string
	// STSEndpoint, when set with TokenFile or Chain, is written as the profile's
	// STS endpoint_url (through a services section).
	STSEndpoint string
	// Chain, for a role chain, holds the credentials of every hop: the web-identity
	// role's first, the last hop's (those given to WriteOutput) last.
	// FormatAWSProfile then writes one profile per hop: the first as without a
	// chain, each further one a role_arn + source_profile profile on the one before,
	// which the SDKs assume by themselves. The last hop's profile is Profile, the
	// others Profile-hop1, Profile-hop2…; the other formats use only the last hop.
	Chain []Credentials
	// ChainDuration is the duration_seconds of the chained profiles; zero writes
	// none (STS's default, one hour).
	ChainDuration time.Duration
	// Getenv reads AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, HOME and GITHUB_ENV.
	Getenv func(string) string
}

// WriteOutput hands c over in opts.Format: printed to w, or written to files with a
// secret-free summary (FormatAWSProfile) or ::add-mask:: commands (FormatGitHubEnv) on w.
func WriteOutput(w io.Writer, c Credentials, opts OutputOptions) error {
	exp := c.Expiration.UTC().Format(time.RFC3339)
	vars := [][2]string{
		{"AWS_ACCESS_KEY_ID", c.AccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", c.SecretAccessKey},
		{"AWS_SESSION_TOKEN", c.SessionToken},
		{"AWS_CREDENTIAL_EXPIRATION", exp},
	}
	if opts.Region != "" {
		vars = append(vars, [2]string{"AWS_REGION", opts.Region}, [2]string{"AWS_DEFAULT_REGION", opts.Region})
	}
	switch opts.Format {
	case FormatEnv:
		var b strings.Builder
		for _, kv := range vars {
			fmt.Fprintf(&b, "export %s=%s\n", kv[0], shellQuote(kv[1]))
		}
		_, err := io.WriteString(w, b.String())
		return err
	case FormatDotenv:
		var b strings.Builder
		for _, kv := range vars {
			fmt.Fprintf(&b, "%s=%s\n", kv[0], dotenvQuote(kv[1]))
		}
		_, err := io.WriteString(w, b.String())
		return err
	case FormatJSON:
		return writeJSON(w, struct {
			AccessKeyID     string `json:"AccessKeyId"`
			SecretAccessKey string `json:"SecretAccessKey"`
			SessionToken    string `json:"SessionToken"`
			Expiration      string `json:"Expiration"`
		}{c.AccessKeyID, c.SecretAccessKey, c.SessionToken, exp})
	case FormatCredentialProcess:
		return writeJSON(w, struct {
			Version         int    `json:"Version"`
			AccessKeyID     string `json:"AccessKeyId"`
			SecretAccessKey string `json:"SecretAccessKey"`
			SessionToken    string `json:"SessionToken"`
			Expiration      string `json:"Expiration"`
		}{1, c.AccessKeyID, c.SecretAccessKey, c.SessionToken, exp})
	case FormatGitHubEnv:
		return writeGitHubEnv(w, vars, opts.Getenv)
	case FormatAWSProfile:
		return writeProfile(w, c, opts)
	}
	_, err := ParseFormat(string(opts.Format))
	return err
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode credentials: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && safeUnquoted.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// dotenvQuote leaves safe values bare (docker --env-file takes them literally) and
// double-quotes the others.
func dotenvQuote(s string) string {
	if safeUnquoted.MatchString(s) {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "$", `\$`)
	return `"` + r.Replace(s) + `"`
}

// safeUnquoted matches values no shell or dotenv parser alters.
var safeUnquoted = regexp.MustCompile(`^[A-Za-z0-9_+/=:.,@%-]*$`)

func writeGitHubEnv(w io.Writer, vars [][2]string, getenv func(string) string) error {
	path := getenv("GITHUB_ENV")
	if path == "" {
		return errors.New("format github-env: $GITHUB_ENV is not set (run inside a GitHub Actions step)")
	}
	var b strings.Builder
	for _, kv := range vars {
		if strings.ContainsAny(kv[1], "\r\n") {
			return fmt.Errorf("format github-env: %s holds a newline", kv[0])
		}
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	// Mask first, so that nothing GitHub logs afterwards can show the values.
	for _, kv := range vars {
		if kv[0] == "AWS_SECRET_ACCESS_KEY" || kv[0] == "AWS_SESSION_TOKEN" {
			if _, err := fmt.Fprintf(w, "::add-mask::%s\n", kv[1]); err != nil {
				return err
			}
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("format github-env: open $GITHUB_ENV: %w", err)
	}
	if _, err := io.WriteString(f, b.String()); err != nil {
		f.Close()
		return fmt.Errorf("format github-env: append to $GITHUB_ENV: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("format github-env: append to $GITHUB_ENV: %w", err)
	}
	return nil
}

// WriteTokenFile writes token to path with mode 0600, replacing the file atomically,
// for the AWS_WEB_IDENTITY_TOKEN_FILE pattern. No newline follows the token: some
// SDKs send the file's content as it is.
func WriteTokenFile(path, token string) error {
	if err := atomicfile.Write(path, []byte(token), 0o600); err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	return nil
}

// AWSFiles returns the paths of the AWS config and shared credentials files:
// $AWS_CONFIG_FILE and $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and
// ~/.aws/credentials.
func AWSFiles(getenv func(string) string) (config, credentials string, err error) {
	config, credentials = getenv("AWS_CONFIG_FILE"), getenv("AWS_SHARED_CREDENTIALS_FILE")
	if config != "" && credentials != "" {
		return config, credentials, nil
	}
	home := getenv("HOME")
	if home == "" {
		if home, err = os.UserHomeDir(); err != nil {
			return "", "", fmt.Errorf("locate AWS config files: %w", err)
		}
	}
	if config == "" {
		config = filepath.Join(home, ".aws", "config")
	}
	if credentials == "" {
		credentials = filepath.Join(home, ".aws", "credentials")
	}
	return config, credentials, nil
}

var profileName = regexp.MustCompile(`^[A-Za-z0-9_+=,.@-]+$`)

// credentialKeys are the keys of a profile that supply credentials; writing one kind
// removes the others so that the SDKs cannot pick a stale one.
func credentialKeys() []string {
	return []string{
		"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token",
		"role_arn", "web_identity_token_file", "role_session_name", "source_profile",
		"credential_source", "credential_process", "sso_session", "sso_start_url", "sso_account_id",
		"sso_role_name", "sso_region", "login_session",
	}
}

func writeProfile(w io.Writer, c Credentials, opts OutputOptions) error {
	name := opts.Profile
	if name == "" {
		return errors.New("format aws-profile: pass --profile NAME")
	}
	if !profileName.MatchString(name) {
		return fmt.Errorf("format aws-profile: invalid profile name %q", name)
	}
	cfgPath, credPath, err := AWSFiles(opts.Getenv)
	if err != nil {
		return err
	}
	cfg, err := loadINI(cfgPath)
	if err != nil {
		return fmt.Errorf("format aws-profile: %w", err)
	}
	creds, err := loadINI(credPath)
	if err != nil {
		return fmt.Errorf("format aws-profile: %w", err)
	}
	svc := "keyless-" + name
	var summary string
	if len(opts.Chain) < 2 {
		summary = fmt.Sprintf("profile %s (%s)", name, writeSourceProfile(cfg, creds, name, svc, c, opts))
	} else {
		names := chainProfileNames(name, len(opts.Chain))
		parts := []string{fmt.Sprintf("%s (%s)", names[0], writeSourceProfile(cfg, creds, names[0], svc, opts.Chain[0], opts))}
		for i, hop := range opts.Chain[1:] {
			set := map[string]string{"role_arn": hop.RoleARN, "source_profile": names[i]}
			if opts.Region != "" {
				set["region"] = opts.Region
			}
			if opts.SessionName != "" {
				set["role_session_name"] = opts.SessionName
			}
			if opts.ChainDuration > 0 {
				set["duration_seconds"] = fmt.Sprint(int64(opts.ChainDuration / time.Second))
			}
			if opts.STSEndpoint != "" {
				set["services"] = svc
			}
			cfg.update(configSection(names[i+1]), append(credentialKeys(), "duration_seconds"), set, true)
			creds.update(names[i+1], credentialKeys(), nil, false)
			parts = append(parts, fmt.Sprintf("%s (role %s from profile %s)", names[i+1], hop.RoleARN, names[i]))
		}
		summary = "profiles " + strings.Join(parts, ", ")
	}
	if opts.STSEndpoint != "" && (opts.TokenFile != "" || len(opts.Chain) > 1) {
		cfg.setSection("services "+svc, []string{"sts =", "  endpoint_url = " + opts.STSEndpoint})
	}
	for _, f := range []struct {
		path string
		ini  *iniFile
	}{{cfgPath, cfg}, {credPath, creds}} {
		data := f.ini.bytes()
		if bytes.Equal(data, f.ini.orig) {
			continue // unchanged (or still absent and empty)
		}
		if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
			return fmt.Errorf("format aws-profile: %w", err)
		}
		if err := atomicfile.Write(f.path, data, 0o600); err != nil {
			return fmt.Errorf("format aws-profile: write %s: %w", f.path, err)
		}
	}
	_, err = fmt.Fprintf(w, "wrote %s to %s and %s\nuse it with: export AWS_PROFILE=%s\n",
		summary, cfgPath, credPath, shellQuote(name))
	return err
}

// chainProfileNames names the profiles of a chain of n hops: name-hop1 … for all
// but the last, name for the last.
func chainProfileNames(name string, n int) []string {
	names := make([]string, n)
	for i := range n - 1 {
		names[i] = fmt.Sprintf("%s-hop%d", name, i+1)
	}
	names[n-1] = name
	return names
}

// configSection is the config file's section of profile name.
func configSection(name string) string {
	if name == "default" {
		return "default"
	}
	return "profile " + name
}

// writeSourceProfile writes profile name with the credentials c: a web identity
// profile with opts.TokenFile (its STS endpoint through services section svc),
// else static keys in the credentials file. It returns what kind it wrote.
func writeSourceProfile(cfg, creds *iniFile, name, svc string, c Credentials, opts OutputOptions) string {
	cfgSet := map[string]string{}
	if opts.Region != "" {
		cfgSet["region"] = opts.Region
	}
	if opts.TokenFile != "" {
		cfgSet["role_arn"] = c.RoleARN
		cfgSet["web_identity_token_file"] = opts.TokenFile
		if opts.SessionName != "" {
			cfgSet["role_session_name"] = opts.SessionName
		}
		if opts.STSEndpoint != "" {
			cfgSet["services"] = svc
		}
		cfg.update(configSection(name), credentialKeys(), cfgSet, true)
		creds.update(name, credentialKeys(), nil, false)
		return "web identity, refreshed by the SDKs from " + opts.TokenFile
	}
	cfg.update(configSection(name), credentialKeys(), cfgSet, len(cfgSet) > 0)
	creds.update(name, credentialKeys(), map[string]string{
		"aws_access_key_id":     c.AccessKeyID,
		"aws_secret_access_key": c.SecretAccessKey,
		"aws_session_token":     c.SessionToken,
	}, true)
	return "static keys until " + c.Expiration.UTC().Format(time.RFC3339)
}

// iniFile is an AWS config or credentials file kept line by line, so that editing one
// section leaves every other byte alone.
type iniFile struct {
	sections []*iniSection // sections[0] is the part before the first header
	orig     []byte        // the content as read
}

type iniSection struct {
	name  string // normalized header content; "" for the preamble
	lines []string
	fresh bool // added by this edit: preceded by a blank line
}

func loadINI(path string) (*iniFile, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	f := &iniFile{sections: []*iniSection{{}}, orig: data}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return f, nil
	}
	for _, line := range strings.Split(text, "\n") {
		if name, ok := sectionHeader(line); ok {
			f.sections = append(f.sections, &iniSection{name: name, lines: []string{line}})
			continue
		}
		s := f.sections[len(f.sections)-1]
		s.lines = append(s.lines, line)
	}
	return f, nil
}

func sectionHeader(line string) (string, bool) {
	t := strings.TrimSpace(line)
	if !strings.HasPrefix(t, "[") {
		return "", false
	}
	end := strings.Index(t, "]")
	if end < 0 {
		return "", false
	}
	return strings.Join(strings.Fields(t[1:end]), " "), true
}

func (f *iniFile) find(name string) *iniSection {
	for _, s := range f.sections[1:] {
		if s.name == name {
			return s
		}
	}
	return nil
}

// setSection replaces (or appends) a whole section.
func (f *iniFile) setSection(name string, body []string) {
	lines := append([]string{"[" + name + "]"}, body...)
	if s := f.find(name); s != nil {
		for i := len(s.lines) - 1; i > 0 && strings.TrimSpace(s.lines[i]) == ""; i-- {
			lines = append(lines, s.lines[i]) // keep the blank lines that end it
		}
		s.lines = lines
		return
	}
	f.sections = append(f.sections, &iniSection{name: name, lines: lines, fresh: true})
}

// update edits section name: it removes the keys in remove (with their indented
// sub-lines), then sets those in set, in place where they were. A missing section is
// created when create is true; a section left without keys is dropped.
func (f *iniFile) update(name string, remove []string, set map[string]string, create bool) {
	s := f.find(name)
	if s == nil {
		if !create || len(set) == 0 {
			return
		}
		s = &iniSection{name: name, lines: []string{"[" + name + "]"}, fresh: true}
		f.sections = append(f.sections, s)
	}
	done := map[string]bool{}
	out := []string{s.lines[0]}
	skipping := false
	for _, line := range s.lines[1:] {
		indented := line != "" && (line[0] == ' ' || line[0] == '\t')
		if indented && skipping {
			continue
		}
		skipping = false
		key, _, isKey := strings.Cut(line, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !isKey || indented || strings.HasPrefix(key, "#") || strings.HasPrefix(key, ";") {
			out = append(out, line)
			continue
		}
		if v, ok := set[key]; ok && !done[key] {
			out = append(out, key+" = "+v)
			done[key] = true
			skipping = true
			continue
		}
		if slices.Contains(remove, key) || done[key] {
			skipping = true
			continue
		}
		out = append(out, line)
	}
	// Trailing blank lines separate sections: keep them after the new keys.
	trail := 0
	for trail < len(out)-1 && strings.TrimSpace(out[len(out)-1-trail]) == "" {
		trail++
	}
	body, tail := out[:len(out)-trail:len(out)-trail], out[len(out)-trail:]
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if !done[k] {
			body = append(body, k+" = "+set[k])
		}
	}
	s.lines = append(body, tail...)
	if !hasKeys(s.lines[1:]) {
		f.drop(s)
	}
}

func (f *iniFile) drop(s *iniSection) {
	for i, x := range f.sections {
		if x == s {
			f.sections = append(f.sections[:i], f.sections[i+1:]...)
			return
		}
	}
}

func hasKeys(lines []string) bool {
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t != "" && !strings.HasPrefix(t, "#") && !strings.HasPrefix(t, ";") {
			return true
		}
	}
	return false
}

func (f *iniFile) bytes() []byte {
	var b strings.Builder
	for i, s := range f.sections {
		if s.fresh && i > 0 && b.Len() > 0 && !strings.HasSuffix(b.String(), "\n\n") {
			b.WriteString("\n") // a blank line before a new section
		}
		for _, l := range s.lines {
			b.WriteString(l)
			b.WriteString("\n")
		}
	}
	text := strings.TrimRight(b.String(), "\n")
	if text == "" {
		return nil
	}
	return []byte(text + "\n")
}

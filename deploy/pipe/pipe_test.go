package pipe

import (
	"bytes"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/testenv"
)

const (
	secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
	oidcToken = "eyJhbGciOiJSUzI1NiJ9.SECRETTOKEN.sig"
	roleARN   = "arn:aws:iam::123456789012:role/deploy-web-production"
)

// env returns a getenv over base plus the variables of more.
func env(base map[string]string, more ...string) func(string) string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(more); i += 2 {
		m[more[i]] = more[i+1]
	}
	return func(k string) string { return m[k] }
}

var keys = map[string]string{
	"AWS_DEFAULT_REGION":    "eu-west-1",
	"AWS_ACCESS_KEY_ID":     "AKIAIOSFODNN7EXAMPLE",
	"AWS_SECRET_ACCESS_KEY": secretKey,
}

var oidc = map[string]string{
	"AWS_DEFAULT_REGION":        "eu-west-1",
	"AWS_OIDC_ROLE_ARN":         roleARN,
	"BITBUCKET_STEP_OIDC_TOKEN": oidcToken,
}

func TestReadS3Deploy(t *testing.T) {
	tests := []struct {
		name   string
		getenv func(string) string
		want   S3Deploy
	}{
		{"access keys, bucket only",
			env(keys, "S3_BUCKET", "my-bucket", "LOCAL_PATH", "build"),
			S3Deploy{Region: "eu-west-1", Args: []string{"build", "s3://my-bucket"}}},
		{"OIDC, bucket and prefix",
			env(oidc, "S3_BUCKET", "my-bucket/site/v2", "LOCAL_PATH", "./dist/"),
			S3Deploy{Region: "eu-west-1", RoleARN: roleARN, OIDC: true, Args: []string{"./dist/", "s3://my-bucket/site/v2"}}},
		{"every variable",
			env(keys, "S3_BUCKET", "b/p", "LOCAL_PATH", "build", "ACL", "public-read", "CONTENT_ENCODING", "br",
				"STORAGE_CLASS", "STANDARD_IA", "CACHE_CONTROL", "max-age=3600", "EXPIRES", "2030-01-01T00:00:00Z",
				"DELETE_FLAG", "true", "DEBUG", "True"),
			S3Deploy{Region: "eu-west-1", Debug: true, Args: []string{"build", "s3://b/p", "--acl", "public-read",
				"--content-encoding", "br", "--storage-class", "STANDARD_IA", "--cache-control", "max-age=3600",
				"--expires", "2030-01-01T00:00:00Z", "--delete"}}},
		{"false flags",
			env(keys, "S3_BUCKET", "b", "LOCAL_PATH", "build", "DELETE_FLAG", "false", "DEBUG", "FALSE"),
			S3Deploy{Region: "eu-west-1", Args: []string{"build", "s3://b"}}},
		{"EXTRA_ARGS translated",
			env(keys, "S3_BUCKET", "b", "LOCAL_PATH", "build", "DELETE_FLAG", "true", "EXTRA_ARGS",
				`--exclude '*.map' --include "assets/*" --cache-control "public, max-age=60" --dryrun --size-only --delete `+
					`--quiet --only-show-errors --no-progress --follow-symlinks --no-follow-symlinks --content-type=text/html `+
					`--acl bucket-owner-full-control --storage-class=GLACIER_IR --content-encoding gzip --expires 2030-01-01T00:00:00Z`),
			S3Deploy{Region: "eu-west-1", Args: []string{"build", "s3://b", "--exclude", "*.map", "--include", "assets/*",
				"--cache-control", "public, max-age=60", "--content-type", "text/html", "--acl", "bucket-owner-full-control",
				"--storage-class", "GLACIER_IR", "--content-encoding", "gzip", "--expires", "2030-01-01T00:00:00Z",
				"--delete", "--dry-run", "--compare", "size"}}},
		{"EXTRA_ARGS after the variables, in order",
			env(keys, "S3_BUCKET", "b", "LOCAL_PATH", "build", "ACL", "private", "EXTRA_ARGS", "--acl public-read --exclude=-x --include ''"),
			S3Deploy{Region: "eu-west-1", Args: []string{"build", "s3://b", "--acl", "private", "--acl", "public-read", "--exclude", "-x", "--include", ""}}},
		{"exact timestamps", env(keys, "S3_BUCKET", "b", "LOCAL_PATH", "build", "EXTRA_ARGS", "--exact-timestamps"),
			S3Deploy{Region: "eu-west-1", Args: []string{"build", "s3://b", "--compare", "size-mtime"}}},
		{"size-only wins over exact timestamps", env(keys, "S3_BUCKET", "b", "LOCAL_PATH", "build", "EXTRA_ARGS", "--size-only --exact-timestamps"),
			S3Deploy{Region: "eu-west-1", Args: []string{"build", "s3://b", "--compare", "size"}}},
		{"--debug in EXTRA_ARGS", env(keys, "S3_BUCKET", "b", "LOCAL_PATH", "build", "EXTRA_ARGS", "--debug"),
			S3Deploy{Region: "eu-west-1", Debug: true, Args: []string{"build", "s3://b"}}},
		{"cache-control that is not a bare rule", env(keys, "S3_BUCKET", "b", "LOCAL_PATH", "build", "CACHE_CONTROL", "foo=bar", "EXTRA_ARGS", `--cache-control "x=1, max-age=5"`),
			S3Deploy{Region: "eu-west-1", Args: []string{"build", "s3://b", "--cache-control", "*=foo=bar", "--cache-control", "*=x=1, max-age=5"}}},
		{"s3:// in S3_BUCKET", env(keys, "S3_BUCKET", "s3://b/p/", "LOCAL_PATH", "build"),
			S3Deploy{Region: "eu-west-1", Args: []string{"build", "s3://b/p/"}}},
		{"LOCAL_PATH that looks like a flag", env(keys, "S3_BUCKET", "b", "LOCAL_PATH", "-site"),
			S3Deploy{Region: "eu-west-1", Args: []string{"./-site", "s3://b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadS3Deploy(tt.getenv)
			if err != nil {
				t.Fatal(err)
			}
			if got.Region != tt.want.Region || got.RoleARN != tt.want.RoleARN || got.OIDC != tt.want.OIDC || got.Debug != tt.want.Debug || !slices.Equal(got.Args, tt.want.Args) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestReadS3DeployErrors(t *testing.T) {
	bucket := []string{"S3_BUCKET", "b", "LOCAL_PATH", "build"}
	tests := []struct {
		name   string
		getenv func(string) string
		want   []string // substrings of the error
	}{
		{"nothing set", env(nil), []string{"AWS_DEFAULT_REGION is not set", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set", "S3_BUCKET is not set", "LOCAL_PATH is not set"}},
		{"secret missing", env(keys, append(bucket, "AWS_SECRET_ACCESS_KEY", "")...), []string{"AWS_SECRET_ACCESS_KEY is not set", "AWS_OIDC_ROLE_ARN"}},
		{"OIDC without oidc: true", env(oidc, append(bucket, "BITBUCKET_STEP_OIDC_TOKEN", "")...), []string{"AWS_OIDC_ROLE_ARN is set but the step has no BITBUCKET_STEP_OIDC_TOKEN: add `oidc: true`"}},
		{"bad role ARN", env(oidc, append(bucket, "AWS_OIDC_ROLE_ARN", "deploy-role")...), []string{`AWS_OIDC_ROLE_ARN "deploy-role" is not a role ARN`}},
		{"bucket without name", env(keys, "S3_BUCKET", "/prefix", "LOCAL_PATH", "build"), []string{`S3_BUCKET "/prefix" does not begin with a bucket name`}},
		{"bad DELETE_FLAG", env(keys, append(bucket, "DELETE_FLAG", "yes")...), []string{`DELETE_FLAG is "yes": write true or false`}},
		{"bad DEBUG", env(keys, append(bucket, "DEBUG", "1")...), []string{`DEBUG is "1": write true or false`}},
		{"unsupported flag", env(keys, append(bucket, "EXTRA_ARGS", "--exclude '*.map' --sse aws:kms")...),
			[]string{"EXTRA_ARGS: keyless does not support the aws s3 sync flag --sse; the flags it supports are --acl, --cache-control, --content-encoding, --content-type, --debug, --delete, --dryrun, --exact-timestamps, --exclude, --expires, --follow-symlinks, --include, --no-follow-symlinks, --no-progress, --only-show-errors, --quiet, --size-only, --storage-class"}},
		{"unsupported flag with =", env(keys, append(bucket, "EXTRA_ARGS", "--metadata-directive=REPLACE")...), []string{"flag --metadata-directive;"}},
		{"short flag", env(keys, append(bucket, "EXTRA_ARGS", "-x")...), []string{"flag -x;"}},
		{"end of flags", env(keys, append(bucket, "EXTRA_ARGS", "-- x")...), []string{"flag --;"}},
		{"value missing at the end", env(keys, append(bucket, "EXTRA_ARGS", "--delete --exclude")...), []string{"EXTRA_ARGS: --exclude needs a value"}},
		{"flag instead of a value", env(keys, append(bucket, "EXTRA_ARGS", "--exclude --delete")...), []string{"--exclude needs a value, but a flag follows it: write --exclude=VALUE"}},
		{"boolean with a value", env(keys, append(bucket, "EXTRA_ARGS", "--delete=true")...), []string{"--delete takes no value"}},
		{"stray word", env(keys, append(bucket, "EXTRA_ARGS", "--delete build")...), []string{"EXTRA_ARGS: word 2 is not a flag"}},
		{"unclosed quote", env(keys, append(bucket, "EXTRA_ARGS", "--exclude '*.map")...), []string{"EXTRA_ARGS: a ' quote is never closed"}},
		{"unclosed double quote", env(keys, append(bucket, "EXTRA_ARGS", `--exclude "*.map`)...), []string{`EXTRA_ARGS: a " quote is never closed`}},
		{"trailing backslash", env(keys, append(bucket, "EXTRA_ARGS", `--delete \`)...), []string{"EXTRA_ARGS: it ends with a backslash"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadS3Deploy(tt.getenv)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "aws-s3-deploy variables: ") {
				t.Errorf("error %q does not say which pipe's variables", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error\n  %s\ndoes not contain\n  %s", msg, w)
				}
			}
			assertNoSecret(t, msg)
		})
	}
}

// TestNoSecretsInErrors makes every check fail at once with secrets in the
// environment and in EXTRA_ARGS values.
func TestNoSecretsInErrors(t *testing.T) {
	for _, extra := range []string{
		"--sse-c-key SECRETVALUE", "--sse-c-key=SECRETVALUE", "--exclude SECRETVALUE --sse-c-key", "--exclude SECRETVALUE --delete SECRETVALUE",
		"--exclude=SECRETVALUE --bogus=SECRETVALUE", "'SECRETVALUE", "--exclude 'SECRETVALUE",
	} {
		getenv := env(keys, "AWS_DEFAULT_REGION", "", "BITBUCKET_STEP_OIDC_TOKEN", oidcToken, "EXTRA_ARGS", extra)
		_, err := ReadS3Deploy(getenv)
		if err == nil {
			t.Fatalf("EXTRA_ARGS %q: no error", extra)
		}
		assertNoSecret(t, err.Error())
		if strings.Contains(err.Error(), "SECRETVALUE") {
			t.Errorf("EXTRA_ARGS %q: the error repeats a value: %s", extra, err)
		}
	}
	_, err := ReadInvalidate(env(keys, "AWS_DEFAULT_REGION", "", "BITBUCKET_STEP_OIDC_TOKEN", oidcToken))
	if err == nil {
		t.Fatal("no error")
	}
	assertNoSecret(t, err.Error())
}

func assertNoSecret(t *testing.T, msg string) {
	t.Helper()
	for _, s := range []string{secretKey, oidcToken, "SECRETKEY", "SECRETTOKEN"} {
		if strings.Contains(msg, s) {
			t.Errorf("error message contains a secret: %s", msg)
		}
	}
}

func TestReadInvalidate(t *testing.T) {
	tests := []struct {
		name   string
		getenv func(string) string
		want   Invalidate
	}{
		{"default paths", env(keys, "DISTRIBUTION_ID", "E2QWRUHAPOMQZL"),
			Invalidate{Region: "eu-west-1", Args: []string{"--distribution-id", "E2QWRUHAPOMQZL", "--paths", "/*"}}},
		{"paths, wait, debug, OIDC", env(oidc, "DISTRIBUTION_ID", "E2QWRUHAPOMQZL", "PATHS", " /index.html\t/about/*  /a,b ", "WAIT", "true", "DEBUG", "true"),
			Invalidate{Region: "eu-west-1", RoleARN: roleARN, OIDC: true, Debug: true,
				Args: []string{"--distribution-id", "E2QWRUHAPOMQZL", "--paths", "/index.html", "--paths", "/about/*", "--paths", "/a,b", "--wait"}}},
		{"blank paths", env(keys, "DISTRIBUTION_ID", "E1", "PATHS", "   ", "WAIT", "false"),
			Invalidate{Region: "eu-west-1", Args: []string{"--distribution-id", "E1", "--paths", "/*"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadInvalidate(tt.getenv)
			if err != nil {
				t.Fatal(err)
			}
			if got.Region != tt.want.Region || got.RoleARN != tt.want.RoleARN || got.OIDC != tt.want.OIDC || got.Debug != tt.want.Debug || !slices.Equal(got.Args, tt.want.Args) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestReadInvalidateErrors(t *testing.T) {
	tests := []struct {
		name   string
		getenv func(string) string
		want   []string
	}{
		{"nothing set", env(nil), []string{"AWS_DEFAULT_REGION is not set", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set", "DISTRIBUTION_ID is not set"}},
		{"OIDC without oidc: true", env(oidc, "DISTRIBUTION_ID", "E1", "BITBUCKET_STEP_OIDC_TOKEN", ""), []string{"add `oidc: true` to the step"}},
		{"bad distribution ID", env(keys, "DISTRIBUTION_ID", "arn:aws:cloudfront::1:distribution/E1"), []string{"is not a distribution ID"}},
		{"bad WAIT", env(keys, "DISTRIBUTION_ID", "E1", "WAIT", "sometimes"), []string{`WAIT is "sometimes": write true or false`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadInvalidate(tt.getenv)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "aws-cloudfront-invalidate variables: ") {
				t.Errorf("error %q does not say which pipe's variables", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error\n  %s\ndoes not contain\n  %s", msg, w)
				}
			}
		})
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  \t ", nil},
		{"a b  c", []string{"a", "b", "c"}},
		{"--exclude '*.map' --include \"*.html\"", []string{"--exclude", "*.map", "--include", "*.html"}},
		{`'a b' "c d"`, []string{"a b", "c d"}},
		{`a"b c"d`, []string{"ab cd"}},
		{`'it'\''s'`, []string{"it's"}},
		{`"a\"b"`, []string{`a"b`}},
		{`"a\\b"`, []string{`a\b`}},
		{`"a\$b"`, []string{`a$b`}},
		{`"a\nb"`, []string{`a\nb`}},
		{`'a\nb'`, []string{`a\nb`}},
		{`a\ b`, []string{"a b"}},
		{`a\*`, []string{"a*"}},
		{"a\\\nb", []string{"ab"}},
		{"\"a\\\nb\"", []string{"ab"}},
		{"a\nb\tc", []string{"a", "b", "c"}},
		{`'' ""`, []string{"", ""}},
		{`$HOME ~ *.js`, []string{"$HOME", "~", "*.js"}},
		{`--cache-control="public, max-age=60"`, []string{"--cache-control=public, max-age=60"}},
		{"é 'ü'", []string{"é", "ü"}},
	}
	for _, tt := range tests {
		got, err := splitWords(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitWords(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{`'a`, `"a`, `a\`, `"a\"`, `'a' "b`} {
		if got, err := splitWords(in); err == nil {
			t.Errorf("splitWords(%q) = %q, want an error", in, got)
		}
	}
}

// TestSplitWordsMatchesBash compares splitWords with bash's own word
// splitting (eval "set -- $s", with globbing off) on random strings of the
// characters that matter to it.
func TestSplitWordsMatchesBash(t *testing.T) {
	bash := testenv.LookPath(t, "bash")
	rng := rand.New(rand.NewPCG(7, 11))
	chars := []rune("ab -='\"\\*\té")
	var inputs []string
	for range 3000 {
		n := rng.IntN(12)
		var b strings.Builder
		for range n {
			b.WriteRune(chars[rng.IntN(len(chars))])
		}
		inputs = append(inputs, b.String())
	}
	var stdin bytes.Buffer
	for _, s := range inputs {
		stdin.WriteString(s)
		stdin.WriteByte(0)
	}
	// For each input: "OK" and the words, or "ERR"; each item ends in NUL,
	// each record in \x01.
	script := `set -f
while IFS= read -r -d '' s; do
  if eval "set -- $s" 2>/dev/null; then
    printf 'OK\0'; for w in "$@"; do printf '%s\0' "$w"; done
  else
    printf 'ERR\0'
  fi
  printf '\001'
done`
	cmd := exec.Command(bash, "--norc", "--noprofile", "-c", script)
	cmd.Stdin = &stdin
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	records := strings.Split(strings.TrimSuffix(string(out), "\x01"), "\x01")
	if len(records) != len(inputs) {
		t.Fatalf("bash answered %d records for %d inputs", len(records), len(inputs))
	}
	for i, rec := range records {
		items := strings.Split(strings.TrimSuffix(rec, "\x00"), "\x00")
		got, err := splitWords(inputs[i])
		if items[0] == "ERR" {
			if err == nil {
				t.Errorf("splitWords(%q) = %q, bash refuses it", inputs[i], got)
			}
			continue
		}
		want := items[1:]
		if err != nil {
			// bash keeps a final lone backslash; keyless refuses it.
			if strings.Contains(err.Error(), "ends with a backslash") {
				continue
			}
			t.Errorf("splitWords(%q): %v, bash gives %q", inputs[i], err, want)
			continue
		}
		if len(got) == 0 && len(want) == 0 {
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("splitWords(%q) = %q, bash gives %q", inputs[i], got, want)
		}
	}
}

// quote is a word single-quoted for a shell.
func quote(w string) string { return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'" }

func FuzzExtraArgs(f *testing.F) {
	for _, s := range []string{
		"--exclude '*.map' --delete", `--cache-control "public, max-age=60" --size-only`, "--exclude=-x --include ''",
		"--sse-c-key SECRETVALUE", "--sse-c-key=SECRETVALUE", "--exclude SECRETVALUE stray", `"a\"b" 'c'\''d'`, "a\\\nb",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, extra string) {
		words, err := splitWords(extra)
		if err != nil {
			return
		}
		// Quoting the words and splitting again gives the same words.
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = quote(w)
		}
		again, err := splitWords(strings.Join(quoted, " "))
		if err != nil || !slices.Equal(again, words) && len(words) > 0 {
			t.Fatalf("words %q quoted and split again: %q, %v", words, again, err)
		}
		var sa syncArgs
		if err := sa.parse(words); err != nil {
			// Errors name flags, never values.
			secretInFlag := false
			for _, w := range words {
				name, _, _ := strings.Cut(w, "=")
				secretInFlag = secretInFlag || strings.HasPrefix(w, "-") && strings.Contains(name, "SECRET")
			}
			if !secretInFlag && strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("error repeats a value: %v", err)
			}
			return
		}
		// The translation is keyless deploy s3 flags, each value flag with
		// its value.
		args := sa.args()
		for i := 0; i < len(args); i++ {
			switch args[i] {
			case "--exclude", "--include", "--acl", "--cache-control", "--content-type", "--content-encoding", "--expires", "--storage-class":
				i++
				if i >= len(args) {
					t.Fatalf("%s without a value in %q", args[i-1], args)
				}
			case "--compare":
				i++
				if i >= len(args) || args[i] != "size" && args[i] != "size-mtime" {
					t.Fatalf("bad --compare in %q", args)
				}
			case "--delete", "--dry-run":
			default:
				t.Fatalf("unexpected %q in %q (from %q)", args[i], args, extra)
			}
		}
	})
}

func FuzzReadS3Deploy(f *testing.F) {
	f.Add("b/p", "build", "true", "max-age=60", "--exclude '*.map'")
	f.Add("", "", "yes", "", "--sse-c-key x")
	f.Fuzz(func(t *testing.T, bucket, local, del, cache, extra string) {
		getenv := env(keys, "S3_BUCKET", bucket, "LOCAL_PATH", local, "DELETE_FLAG", del, "CACHE_CONTROL", cache, "EXTRA_ARGS", extra)
		d, err := ReadS3Deploy(getenv)
		if err != nil {
			assertNoSecret(t, err.Error())
			return
		}
		if len(d.Args) < 2 || !strings.HasPrefix(d.Args[1], "s3://") || strings.HasPrefix(d.Args[0], "-") {
			t.Fatalf("Args %q do not begin with LOCAL_PATH and an s3:// URL", d.Args)
		}
	})
}

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// readmeCommand says how the README test runs one command of the README's ```sh
// blocks and what a reader should see.
type readmeCommand struct {
	// exit is the exit status the command must end with.
	exit int
	// stdout and stderr are substrings the command's output must hold.
	stdout, stderr string
	// in is where the command runs: "work" (a directory holding .keyless of a
	// running keyless up and the files the examples name) or "repo" (the checkout).
	in string
	// needs names a program the command runs besides keyless (testenv.LookPath).
	needs string
	// server marks a command that runs until stopped: it must print its banner
	// (stdout), then stop cleanly on SIGTERM.
	server bool
	// run replaces the command as printed, when running it verbatim would be
	// wrong here; why says why. Empty runs the README's line itself.
	run, why string
	// check makes further assertions after the command ran in dir.
	check func(t *testing.T, dir, stdout string)
}

// readmeCommands covers every command of the README's ```sh blocks, keyed by the
// command as printed (comment removed). A README command missing here fails the
// test, and so does an entry the README no longer has.
var readmeCommands = map[string]readmeCommand{
	// Quick start and building.
	`go run ./cmd/keyless demo`: {in: "repo", stdout: "another was refused, with the reason"},
	`make test`:                 {in: "repo", run: `make -n test`, why: "make test is the suite this test belongs to; CI runs it", stdout: "go test"},
	`make build && export PATH="$PWD/bin:$PATH"`:                           {in: "repo", run: `make build && export PATH="$PWD/bin:$PATH" && command -v keyless`, why: "also show that PATH now finds it", stdout: "/bin/keyless"},
	`go install ./cmd/keyless && export PATH="$(go env GOPATH)/bin:$PATH"`: {in: "repo", run: `go install ./cmd/keyless && export PATH="$(go env GOPATH)/bin:$PATH" && keyless --version`, why: "also show that keyless runs (GOBIN is a temporary directory here)", stdout: "keyless "},
	`keyless --version`: {stdout: "keyless "},

	// keyless up.
	`keyless up`: {server: true, run: `keyless up --listen 127.0.0.1:0`, why: "port 8400 may be taken on the machine running the tests", stdout: "keyless up: ready"},
	`keyless up --listen 127.0.0.1:0 --data "$(mktemp -d)"`: {server: true, stdout: "keyless up: ready"},

	// Failure behaviour.
	`curl -s "$KEYLESS_ENDPOINT/readyz"`: {needs: "curl", stdout: `"status":"ready"`},
	`go test ./e2e -run 'TestFault' -v`:  {in: "repo", run: `go test ./e2e -list 'TestFault'`, why: "the drills run in the suite this test belongs to; here that the pattern selects them", stdout: "TestFaultStoreUnavailable"},

	// Load and soak.
	`keyless bench exchange --concurrency 8 --duration 30s`:          {run: `keyless bench exchange --concurrency 8 --duration 1s`, why: "a second shows the report", stdout: ", 0 errors"},
	`keyless bench exchange --rate 2000 --duration 1m --output json`: {run: `keyless bench exchange --rate 2000 --duration 1s --output json`, why: "as above", stdout: `"loop": "open"`},
	`keyless bench mint --concurrency 4 --count 10000`:               {run: `keyless bench mint --concurrency 4 --count 200`, why: "as above", stdout: "200 in"},
	`keyless bench s3 --concurrency 4 --duration 20s --size 4096`:    {run: `keyless bench s3 --concurrency 4 --duration 1s --size 4096`, why: "as above", stdout: ", 0 errors"},
	`keyless bench exchange --rate 2500 --duration 10m --interval 30s --output json > soak.json`: {
		run: `keyless bench exchange --rate 200 --duration 3s --interval 1s --output json > soak.json && cat soak.json`,
		why: "the soak takes ten minutes: three seconds at a low rate show its interval lines", stdout: `"intervals": [`,
	},

	// Metrics.
	`curl -s "$KEYLESS_ENDPOINT/metrics" | grep '^keyless_signing_keys'`: {needs: "curl", stdout: `keyless_signing_keys{state="active"} 1`},
	`keyless up --metrics-listen 127.0.0.1:9400`:                         {server: true, run: `keyless up --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0`, why: "ports 8400 and 9400 may be taken on the machine running the tests", stdout: "keyless up: ready"},

	// Audit.
	`keyless audit tail`: {stdout: "DECISION"},
	`keyless audit query --decision denied --since 24h`: {
		run:    `keyless login --role-arn "${AWS_ROLE_ARN%/*}/CfnOIDCRoleBitbucketIPsOnly" > /dev/null 2>&1; sleep 1; keyless audit query --decision denied --since 24h`,
		why:    "make a denial first: that role admits only Bitbucket's addresses",
		stdout: "IpAddress on aws:SourceIp",
		check: func(t *testing.T, _, stdout string) {
			if !strings.Contains(stdout, "fix:      the step calls STS from 127.0.0.1, outside the allowed list") {
				t.Errorf("the denial is not explained:\n%s", stdout)
			}
		},
	},
	`keyless audit query --role "$AWS_ROLE_ARN" --since 1h --output json`: {stdout: `"role": "arn:aws:iam::000000000000:role/WebProductionRole"`},
	`keyless audit export --since 24h > audit.jsonl`: {
		run: `keyless audit export --since 24h > audit.jsonl && head -n 1 audit.jsonl`, why: "show its first line", stdout: `{"id":"`},
	`keyless audit prune --older-than 30d`:                                                       {stdout: "Deleted 0 audit events."},
	`go test ./store/internal/sqlstore -run '^$' -bench AuditQuery -benchtime 200x -timeout 60m`: {in: "repo", run: `go test ./store/internal/sqlstore -list 'AuditQuery'`, why: "benchmarks run apart from the suite; here that the pattern selects it", stdout: "BenchmarkAuditQuery"},

	// The root credentials with the AWS CLI.
	`aws sts get-caller-identity`: {needs: "aws", stdout: `"arn:aws:iam::000000000000:root"`},
	`aws iam list-roles`:          {needs: "aws", stdout: "WebProductionRole"},

	// Minting.
	`keyless token mint --workspace acme --repository web`:                                                      {stdout: "eyJ"},
	`keyless token mint --workspace acme --repository web --environment production --branch main --output json`: {stdout: `"branchName": "main"`},
	`keyless token mint --workspace acme --repository web --audience sts.amazonaws.com --ttl 15m`:               {stdout: "eyJ"},
	`keyless token mint --ci github --repository acme/web --environment production`:                             {stdout: "eyJ"},
	`keyless token mint --ci github --owner acme --repository web --tag v1.2.0 --output json`:                   {stdout: `"sub": "repo:acme/web:ref:refs/tags/v1.2.0"`},
	`keyless token mint --ci gitlab --project acme/web --branch main --output json`:                             {stdout: `"sub": "project_path:acme/web:ref_type:branch:ref:main"`},

	// Bitbucket Pipelines variables.
	`keyless token mint --workspace acme --repository web --environment production --print-env`: {stdout: "export BITBUCKET_STEP_OIDC_TOKEN='eyJ"},

	// Signing keys.
	`keyless accounts list`:            {stdout: "000000000000  (first account: account_id)"},
	`keyless keys list`:                {stdout: "active"},
	`keyless keys prepare --alg ES256`: {stdout: "prepared "},
	// --force would switch the signing key at once, before the relying parties
	// here (this stack's own STS) have refetched the JWKS: the refusal is the example.
	`keyless keys activate`:           {exit: 1, stderr: "lead time has not passed"},
	`keyless keys list --output json`: {stdout: `"ES256"`},

	// A pipeline step on the local stack.
	`keyless exec --role-arn "$AWS_ROLE_ARN" -- aws sts get-caller-identity`: {needs: "aws", stdout: "assumed-role/WebProductionRole/"},
	`eval "$(keyless login --role-arn "$AWS_ROLE_ARN")" && keyless whoami`:   {stdout: "assumed-role/WebProductionRole/"},

	// Debugging trust.
	`keyless token inspect "$BITBUCKET_STEP_OIDC_TOKEN" --verify`:          {stdout: "sub"},
	`keyless token inspect --output json < token.jwt`:                      {stdout: `"claims"`},
	`keyless explain --role-arn "$AWS_ROLE_ARN" --source-ip 34.199.54.113`: {stdout: "ADMITTED"},

	// Provisioning.
	`keyless init`: {stdout: "keyless.yaml", check: func(t *testing.T, dir, _ string) {
		b, err := os.ReadFile(filepath.Join(dir, "keyless.yaml"))
		if err != nil || !bytes.Contains(b, []byte("type: bitbucket")) {
			t.Errorf("keyless.yaml is not a Bitbucket starter (%v):\n%.300s", err, b)
		}
	}},
	`keyless init --provider github -f github.yaml`: {stdout: "github.yaml", check: func(t *testing.T, dir, _ string) {
		b, err := os.ReadFile(filepath.Join(dir, "github.yaml"))
		if err != nil || !bytes.Contains(b, []byte("type: github")) {
			t.Errorf("github.yaml is not a GitHub starter (%v):\n%.300s", err, b)
		}
	}},
	`keyless plan`:                 {exit: 2, stdout: "+ create role deploy-web-production"},
	`keyless apply --auto-approve`: {stdout: "Applied: "},
	`keyless plan -f keyless.yaml --output json`: {stdout: `"changes": []`, check: func(t *testing.T, _, stdout string) {
		if !strings.Contains(stdout, `"create": 0`) {
			t.Errorf("the plan after apply is not empty:\n%.600s", stdout)
		}
	}},
	`keyless policy lint --cloudformation seed003.yaml $PARAMS`: {exit: 1, stdout: "seed003.yaml: role example-deploy, trust policy: error [no-sub-condition]", check: func(t *testing.T, _, stdout string) {
		if !strings.Contains(stdout, "[bitbucket-pre-2024-source-ip]") {
			t.Errorf("the lint of seed 003's template lacks bitbucket-pre-2024-source-ip:\n%s", stdout)
		}
	}},
	`keyless plan --cloudformation seed003.yaml $PARAMS`: {exit: 2, stdout: "+ create provider api.bitbucket.org/2.0/workspaces/example/pipelines-config/identity/oidc", check: func(t *testing.T, _, stdout string) {
		if !strings.Contains(stdout, "+ create role example-deploy") || !strings.Contains(stdout, "+ keyless:managed=seed003") {
			t.Errorf("the plan of seed 003's template lacks the role or its keyless:managed=seed003 tag:\n%s", stdout)
		}
	}},
	`keyless apply --auto-approve --allow-risky --cloudformation seed003.yaml $PARAMS`: {stdout: "Applied: "},
	`keyless plan --cloudformation seed003.yaml $PARAMS --stack-name seed003`:          {stdout: "No changes"},

	`keyless render --format cloudformation -f github.yaml > template.yaml`: {check: func(t *testing.T, dir, _ string) {
		b, err := os.ReadFile(filepath.Join(dir, "template.yaml"))
		if err != nil || !bytes.Contains(b, []byte("Type: AWS::IAM::OIDCProvider")) || !bytes.Contains(b, []byte("Type: AWS::IAM::Role")) {
			t.Errorf("template.yaml is not a template of the provider and roles (%v):\n%.300s", err, b)
		}
	}},
	`keyless render --format terraform -f github.yaml -o main.tf`: {stdout: "wrote main.tf", check: func(t *testing.T, dir, _ string) {
		b, err := os.ReadFile(filepath.Join(dir, "main.tf"))
		if err != nil || !bytes.Contains(b, []byte(`resource "aws_iam_openid_connect_provider"`)) {
			t.Errorf("main.tf is not the Terraform of the provider and roles (%v):\n%.300s", err, b)
		}
	}},
	`keyless render --format cdk -f github.yaml -o iam-app`: {stdout: "wrote iam-app/app.js", check: func(t *testing.T, dir, _ string) {
		for _, f := range []string{"app.js", "cdk.json", "package.json"} {
			if _, err := os.Stat(filepath.Join(dir, "iam-app", f)); err != nil {
				t.Error(err)
			}
		}
	}},
	`keyless render --format json -f github.yaml`: {stdout: `"roles": [`},

	// Thumbprints and Bitbucket's IP ranges.
	`keyless thumbprint "$KEYLESS_ISSUER"`: {check: func(t *testing.T, dir, stdout string) {
		env, err := readEnvFile(filepath.Join(dir, ".keyless", "env"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(env["KEYLESS_CA_BUNDLE"])
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(b)
		if block == nil {
			t.Fatalf("%s holds no PEM block", env["KEYLESS_CA_BUNDLE"])
		}
		if sum := sha1.Sum(block.Bytes); stdout != hex.EncodeToString(sum[:])+"\n" {
			t.Errorf("printed %q, want the SHA-1 of the CA certificate, %x", stdout, sum)
		}
	}},
	`openssl x509 -fingerprint -sha1 -noout -in "$KEYLESS_CA_BUNDLE"`: {needs: "openssl", stdout: "Fingerprint="},
	`keyless thumbprint "$KEYLESS_ISSUER" --output json`:              {stdout: `"thumbprints": [`},
	`keyless ip-ranges --file ip-ranges.json`:                         {stdout: "34.199.54.113/32\n"},
	`keyless ip-ranges --file ip-ranges.json --region us-east-1 --format condition`: {stdout: `"aws:SourceIp": [`, check: func(t *testing.T, _, stdout string) {
		if strings.Contains(stdout, "34.218.156.209") {
			t.Errorf("--region us-east-1 printed the us-west-2 address 34.218.156.209:\n%s", stdout)
		}
	}},

	// Policies.
	`keyless policy validate trust.json 'policies/*.json'`: {stdout: "policies/deploy.json: valid identity policy"},
	`keyless policy lint trust.json`:                       {stdout: "trust.json: no findings"},
	`keyless policy lint --format sarif 'policies/*.json' > lint.sarif`: {check: func(t *testing.T, dir, _ string) {
		b, err := os.ReadFile(filepath.Join(dir, "lint.sarif"))
		if err != nil || !bytes.Contains(b, []byte(`"version": "2.1.0"`)) || !bytes.Contains(b, []byte(`"name": "keyless policy lint"`)) {
			t.Errorf("lint.sarif is not a SARIF log of keyless policy lint (%v):\n%.300s", err, b)
		}
	}},
	`keyless policy simulate --input request.json`: {stdout: `"decision": "Allowed"`},

	// Deploying a site. The README's stack has no site, bucket or distribution, and
	// its AWS_ROLE_ARN (the step's role) may not write S3: the commands make a site
	// and a bucket, and deploy with the stack's root credentials.
	// Running the pipeline file: bitbucket-pipelines.yml is written by the test.
	`keyless pipeline validate bitbucket-pipelines.yml`: {stdout: "bitbucket-pipelines.yml"},
	`keyless pipeline run bitbucket-pipelines.yml`:      {stdout: "Pipeline passed."},

	"keyless deploy s3 ./public s3://www.example.com --delete --cache-control 'max-age=300' --cache-control 'index.html=no-cache' --gzip '*.js,*.css,*.svg'": {
		needs: "aws", stdout: "Uploaded 2 files",
		run: "mkdir -p public/assets && printf '<h1>hi</h1>' > public/index.html && printf 'go()' > public/assets/app.js && " +
			`AWS_ACCESS_KEY_ID="$KEYLESS_ROOT_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$KEYLESS_ROOT_SECRET_ACCESS_KEY" aws s3 mb s3://www.example.com && ` +
			"env -u AWS_ROLE_ARN keyless deploy s3 ./public s3://www.example.com --delete --cache-control 'max-age=300' --cache-control 'index.html=no-cache' --gzip '*.js,*.css,*.svg'",
		why: "make the site and the bucket first; deploy with the stack's root credentials",
	},
	`keyless deploy s3 ./public s3://www.example.com --output json > changes.json`: {
		stdout: `"changed": [`,
		run:    `env -u AWS_ROLE_ARN keyless deploy s3 ./public s3://www.example.com --output json > changes.json && cat changes.json`,
		why:    "with the root credentials; show the summary (index.html gets new headers, assets/app.js is no longer gzipped)",
		check: func(t *testing.T, _, stdout string) {
			if !strings.Contains(stdout, `"uploaded": 1`) || !strings.Contains(stdout, `"updated": 1`) {
				t.Errorf("want one upload (app.js, not gzipped now) and one update (index.html's headers):\n%s", stdout)
			}
		},
	},
	`keyless deploy invalidate --distribution-id EKEYLESSSITE01 --changes changes.json --wait`: {
		stdout: "(dry run) invalidate: /index.html",
		run:    `env -u AWS_ROLE_ARN keyless deploy invalidate --distribution-id EKEYLESSSITE01 --changes changes.json --dry-run`,
		why:    "the README's stack has no distribution: print the plan",
	},
	`keyless deploy site --bucket www.example.com --distribution-id EKEYLESSSITE01 ./public --wait`: {
		stdout: "Dry run: would upload 0 files",
		run:    `env -u AWS_ROLE_ARN keyless deploy site --bucket www.example.com --distribution-id EKEYLESSSITE01 ./public --dry-run`,
		why:    "the README's stack has no distribution: a dry run",
	},

	// Rotating static keys: rotation.yaml rotates IAM user ci-legacy (which the test
	// creates, as the README has the reader do) into acme/web's production variables
	// on keyless up's Bitbucket API.
	`keyless rotate run -f rotation.yaml`: {stdout: "create a new access key for IAM user ci-legacy", check: func(t *testing.T, _, stdout string) {
		for _, want := range []string{"create secret ci/legacy-deployer", "verify key AKIA", "into bitbucket deployment acme/web production", "in-sync"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("the first run lacks %q:\n%s", want, stdout)
			}
		}
	}},
	`keyless rotate plan -f rotation.yaml`:   {stdout: "nothing to do"},
	`keyless rotate status -f rotation.yaml`: {stdout: "bitbucket deployment acme/web production  in-sync"},
	`eval "$(keyless token mint --workspace acme --repository web --environment production --print-env)" && keyless whoami`: {stdout: "arn:aws:iam::000000000000:user/ci-legacy"},
	`keyless demo rotate`: {stdout: "\nDone: "},

	// Development.
	`make check`:            {in: "repo", run: `make -n check`, why: "CI runs it before the tests; here only that the target exists", stdout: "go vet"},
	`make fuzz FUZZTIME=5m`: {in: "repo", run: `make -n fuzz FUZZTIME=5m`, why: "fuzzing runs apart from the suite", stdout: "-fuzztime 5m"},
	`make bench`:            {in: "repo", run: `make -n bench`, why: "benchmarks run apart from the suite", stdout: "-bench"},
	`go test ./issuer -run '^$' -bench Mint -benchtime 3s`:                         {in: "repo", run: `go test ./issuer -list 'Mint'`, why: "benchmarks run apart from the suite; here that the pattern selects some", stdout: "BenchmarkMint"},
	`go test ./policy -run '^$' -bench Trust3Conditions -benchmem`:                 {in: "repo", run: `go test ./policy -list 'Trust3Conditions'`, why: "as above", stdout: "Trust3Conditions"},
	`go test ./sts -run '^$' -bench 'Exchange|RawRS256' -benchtime 3s`:             {in: "repo", run: `go test ./sts -list 'Exchange|RawRS256'`, why: "as above", stdout: "BenchmarkRawRS256"},
	`go test ./e2e -run '^$' -bench LoopbackExchange -benchtime 20000x`:            {in: "repo", run: `go test ./e2e -list 'LoopbackExchange'`, why: "as above", stdout: "BenchmarkLoopbackExchange"},
	`go test ./e2e -run '^$' -bench S3SmallObjects -benchtime 10000x -timeout 30m`: {in: "repo", run: `go test ./e2e -list 'S3SmallObjects'`, why: "as above", stdout: "BenchmarkS3SmallObjects"},
	`go test ./store/sqlite -run '^$' -bench PutObjectInline -benchtime 20000x`:    {in: "repo", run: `go test ./store/sqlite -list 'PutObjectInline'`, why: "as above", stdout: "BenchmarkPutObjectInline"},
	`go test ./console -run '^$' -bench ConsoleActivity100k -benchtime 20x`:        {in: "repo", run: `go test ./console -list 'ConsoleActivity100k'`, why: "as above", stdout: "BenchmarkConsoleActivity100k"},
	`go test ./e2e -run '^$' -bench S3Stream1GiB -benchtime 1x`:                    {in: "repo", run: `go test ./e2e -list 'S3Stream1GiB'`, why: "as above", stdout: "BenchmarkS3Stream1GiB"},
	`go test ./e2e -run '^$' -bench Deploy -benchtime 1x`:                          {in: "repo", run: `go test ./e2e -list 'Deploy'`, why: "as above", stdout: "BenchmarkDeploy"},
}

// readmeBlock is one ```sh block: its setup lines (". FILE" and "export …", run
// before each later command of the block) and its commands.
type readmeBlock struct {
	line     int
	setup    []string
	commands []readmeLine
}

type readmeLine struct {
	line  int
	text  string
	setup []string // the block's setup lines before this command
}

var readmeComment = regexp.MustCompile(`\s+#\s.*$`)

// readmeBlocks parses the ```sh blocks of the README at path.
func readmeBlocks(t *testing.T, path string) []readmeBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []readmeBlock
		cur    *readmeBlock
		cont   string
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		switch {
		case cur == nil && text == "```sh":
			blocks = append(blocks, readmeBlock{line: n})
			cur = &blocks[len(blocks)-1]
			continue
		case cur != nil && text == "```":
			cur = nil
			continue
		case cur == nil:
			continue
		}
		text = strings.TrimSpace(readmeComment.ReplaceAllString(text, ""))
		if strings.HasSuffix(text, `\`) {
			cont += strings.TrimSuffix(text, `\`) + " "
			continue
		}
		text, cont = cont+text, ""
		switch {
		case text == "":
		case strings.HasPrefix(text, ". ") || strings.HasPrefix(text, "export "):
			cur.setup = append(cur.setup, text)
		default:
			cur.commands = append(cur.commands, readmeLine{line: n, text: text, setup: append([]string(nil), cur.setup...)})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// TestREADMECommands runs every example command of the README, in order, against a
// running keyless up, as a reader would type them in a shell that has the env file
// sourced: the setup lines of a block run before each of its commands.
func TestREADMECommands(t *testing.T) {
	blocks := readmeBlocks(t, "../README.md")
	seen := map[string]bool{}
	var lines []readmeLine
	for _, b := range blocks {
		for _, c := range b.commands {
			if _, ok := readmeCommands[c.text]; !ok {
				t.Errorf("README.md:%d: %q is not covered: add it to readmeCommands with what it must print", c.line, c.text)
			}
			seen[c.text] = true
			lines = append(lines, c)
		}
	}
	for text := range readmeCommands {
		if !seen[text] {
			t.Errorf("readmeCommands has %q, which README.md no longer shows: remove it", text)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	f := newFederationIn(t, filepath.Join(work, ".keyless"))
	step := mintJSON(t, f.p.env, "--repository", "web", "--environment", "production").Token
	ipRanges, err := os.ReadFile("../ipranges/testdata/atlassian-ip-ranges-2024-06-01.json")
	if err != nil {
		t.Fatal(err)
	}
	seed003, err := os.ReadFile("../provision/cloudformation/testdata/seed003.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The IAM user of rotation.yaml, which the README has the reader create.
	if _, err := f.rootIAM.CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String("ci-legacy")}); err != nil {
		t.Fatalf("CreateUser ci-legacy: %v", err)
	}
	files := map[string]string{
		// The README's rotation.yaml, its target's url this stack's endpoint.
		"rotation.yaml": "rotation:\n  users:\n    - user: ci-legacy\n      secret: ci/legacy-deployer\n      targets:\n" +
			"        - {type: bitbucket, url: " + f.p.env["KEYLESS_ENDPOINT"] + ", workspace: acme, repository: web, deployment: production}\n",
		"bitbucket-pipelines.yml": "pipelines:\n  default:\n    - step:\n        name: Token\n        oidc: true\n        script:\n          - test -n \"$BITBUCKET_STEP_OIDC_TOKEN\"\n          - echo \"the step has its token, for $BITBUCKET_REPO_SLUG\"\n",
		"ip-ranges.json":          string(ipRanges), // the reconstructed feed of ipranges/testdata/README.md
		"seed003.yaml":            string(seed003),  // seed 003's template, byte for byte
		"token.jwt":               step,
		"trust.json":              trustPolicy(f.providerARN, f.providerURL, map[string]any{"StringEquals": map[string]any{f.providerURL + ":aud": f.audience}, "StringLike": map[string]any{f.providerURL + ":sub": f.webRepoUUID + ":" + f.prodEnvUUID + ":*"}}),
		"policies/deploy.json":    `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::my-site", "arn:aws:s3:::my-site/*"]}]}`,
		"request.json": `{"request": {"principal": "arn:aws:iam::000000000000:role/deploy", "action": "s3:PutObject", "resource": "arn:aws:s3:::my-site/index.html"},
			"identityPolicies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::my-site/*"}]}]}`,
	}
	for name, content := range files {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// keyless on PATH, as the README's build section leaves it.
	bin := t.TempDir()
	if err := os.Symlink(keylessBin, filepath.Join(bin, "keyless")); err != nil {
		t.Fatal(err)
	}
	// The Go commands of the README use the machine's build and module caches, as
	// they would in the reader's shell, though HOME is a fresh directory.
	goEnv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	goVars := strings.Fields(string(goEnv))
	if len(goVars) != 3 {
		t.Fatalf("go env GOCACHE GOMODCACHE GOPATH printed %q", goEnv)
	}
	home := t.TempDir()
	var env []string
	for _, kv := range cleanEnv() {
		if k, _, _ := strings.Cut(kv, "="); k != "PATH" && k != "HOME" {
			env = append(env, kv)
		}
	}
	env = append(env,
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+home,
		"AWS_CONFIG_FILE="+filepath.Join(home, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "aws-credentials"),
		"AWS_ROLE_ARN="+f.envRole,
		"BITBUCKET_STEP_OIDC_TOKEN="+step,
		"GOCACHE="+goVars[0], "GOMODCACHE="+goVars[1], "GOPATH="+goVars[2],
	)

	for _, c := range lines {
		want := readmeCommands[c.text]
		t.Run(fmt.Sprintf("README.md:%d", c.line), func(t *testing.T) {
			if want.needs != "" {
				testenv.LookPath(t, want.needs)
			}
			script := c.text
			if want.run != "" {
				script = want.run
				t.Logf("runs %q for %q: %s", want.run, c.text, want.why)
			}
			dir, prelude := work, []string{". ./.keyless/env"}
			if want.in == "repo" {
				dir, prelude = repo, nil
			}
			if want.server {
				dir, prelude = t.TempDir(), nil
				script = "exec " + script
			}
			script = strings.Join(append(append(prelude, c.setup...), script), "\n")
			// Temporary files and installed binaries stay in the test's directories.
			cmdEnv := append(append([]string(nil), env...), "TMPDIR="+t.TempDir(), "GOBIN="+t.TempDir())
			var stdout, stderr string
			var code int
			if want.server {
				stdout, stderr, code = runServerScript(t, dir, cmdEnv, script, want.stdout)
			} else {
				stdout, stderr, code = runScript(t, dir, cmdEnv, script)
			}
			if code != want.exit {
				t.Fatalf("%s\nexit %d, want %d\nstdout: %s\nstderr: %s", c.text, code, want.exit, stdout, stderr)
			}
			if !strings.Contains(stdout, want.stdout) {
				t.Errorf("%s\nstdout lacks %q:\n%s", c.text, want.stdout, stdout)
			}
			if !strings.Contains(stderr, want.stderr) {
				t.Errorf("%s\nstderr lacks %q:\n%s", c.text, want.stderr, stderr)
			}
			noSecrets(t, "output of "+c.text, stdout+stderr, f.p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"], f.p.env["KEYLESS_RUNNER_TOKEN"])
			if want.check != nil {
				want.check(t, dir, stdout)
			}
		})
	}
}

// runScript runs script with sh in dir and returns its output and exit status.
func runScript(t *testing.T, dir string, env []string, script string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return stdout.String(), stderr.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %q: %v", script, err)
	}
	return stdout.String(), stderr.String(), 0
}

// runServerScript starts script, waits until its stdout holds ready, then stops it
// with SIGTERM and returns its output and exit status.
func runServerScript(t *testing.T, dir string, env []string, script, ready string) (string, string, int) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(stdout.String(), ready) {
		select {
		case err := <-done:
			t.Fatalf("%q exited before it was ready: %v\nstdout: %s\nstderr: %s", script, err, stdout, stderr)
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("%q not ready after 30s\nstdout: %s\nstderr: %s", script, stdout, stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), code
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%q did not stop within 15s of SIGTERM", script)
	}
	return "", "", -1
}

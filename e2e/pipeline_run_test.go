package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// TestPipelineRun runs seed 003's step — the token written to a file,
// `aws sts get-caller-identity` with AWS_WEB_IDENTITY_TOKEN_FILE and
// AWS_ROLE_ARN through the machine's AWS CLI — with `keyless pipeline run`
// against keyless up after `keyless apply` of roles for repositories web and
// api in environment production:
//
//   - with `oidc: true` and web's role, green: the CLI prints the assumed role;
//   - without `oidc: true`, red, saying the step has no token and to add it;
//   - with api's role (which trusts another repository), red, with explain's
//     reason naming the sub the policy admits.
func TestPipelineRun(t *testing.T) {
	testenv.LookPath(t, "aws")
	p := startUp(t, t.TempDir())
	web := mintJSON(t, p.env, "--repository", "web", "--environment", "production")
	api := mintJSON(t, p.env, "--repository", "api", "--environment", "production")
	config := fmt.Sprintf(`name: pipeline-run
providers:
  bb:
    type: bitbucket
    workspace: keyless
    workspace_uuid: %q
    url: %s
    audiences: [%q]
roles:
  - name: deploy-{repository}-{environment}
    matrix:
      repositories:
        - {name: web, uuid: %q}
        - {name: api, uuid: %q}
      environments:
        - {name: production, uuid: %q}
    permissions:
      - template: s3-deploy
        bucket: site
`, web.Claims["workspaceUuid"], p.env["KEYLESS_ISSUER"], p.env["KEYLESS_AUDIENCE"],
		web.Claims["repositoryUuid"], api.Claims["repositoryUuid"], web.Claims["deploymentEnvironmentUuid"])
	cfgFile := filepath.Join(t.TempDir(), "keyless.yaml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := run(t, provisionEnv(t, p), "apply", "-f", cfgFile, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	account := p.env["KEYLESS_ACCOUNT_ID"]
	webRole := "arn:aws:iam::" + account + ":role/deploy-web-production"
	apiRole := "arn:aws:iam::" + account + ":role/deploy-api-production"

	pipelineFile := func(oidc bool, role string) string {
		repo := filepath.Join(t.TempDir(), "web")
		if err := os.MkdirAll(repo, 0o755); err != nil {
			t.Fatal(err)
		}
		yml := fmt.Sprintf(`image: amazon/aws-cli:2.15.0
pipelines:
  default:
    - step:
        name: Who am I
        oidc: %t
        deployment: production
        script:
          - echo $BITBUCKET_STEP_OIDC_TOKEN > web-identity-token
          - AWS_WEB_IDENTITY_TOKEN_FILE=$(pwd)/web-identity-token AWS_ROLE_ARN=%s AWS_DEFAULT_REGION=us-east-1 aws sts get-caller-identity --output json
`, oidc, role)
		file := filepath.Join(repo, "bitbucket-pipelines.yml")
		if err := os.WriteFile(file, []byte(yml), 0o644); err != nil {
			t.Fatal(err)
		}
		return file
	}
	env := withEnv(p.env, "HOME="+t.TempDir())

	t.Run("green", func(t *testing.T) {
		out, errOut, code := run(t, env, "pipeline", "run", pipelineFile(true, webRole))
		if code != 0 || !strings.Contains(out, "assumed-role/deploy-web-production/") || !strings.Contains(out, "image amazon/aws-cli:2.15.0: not run") ||
			!strings.Contains(out, "Who am I  passed") || !strings.Contains(out, webRole) || !strings.Contains(out, "Pipeline passed.") {
			t.Fatalf("pipeline run: exit %d, want 0 with the assumed role and a summary\nstdout: %s\nstderr: %s", code, out, errOut)
		}
	})
	t.Run("no oidc", func(t *testing.T) {
		out, errOut, code := run(t, env, "pipeline", "run", pipelineFile(false, webRole), "--output", "json")
		var res struct {
			OK    bool
			Steps []struct{ Status, Role, Explanation string }
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("--output json: %v\nstdout: %s\nstderr: %s", err, out, errOut)
		}
		want := "the step has no `oidc: true`, so Bitbucket gives it no BITBUCKET_STEP_OIDC_TOKEN to assume " + webRole + " with: add `oidc: true` to the step"
		if code != 1 || res.OK || len(res.Steps) != 1 || res.Steps[0].Status != "failed" || res.Steps[0].Explanation != want {
			t.Fatalf("pipeline run without oidc: exit %d, %+v, want 1 and %q\nstderr: %s", code, res, want, errOut)
		}
	})
	t.Run("role of another repository", func(t *testing.T) {
		out, errOut, code := run(t, env, "pipeline", "run", pipelineFile(true, apiRole))
		if code != 1 || !strings.Contains(out, "AccessDenied") || !strings.Contains(out, "why: STS refuses "+apiRole) ||
			!strings.Contains(out, "FAIL") || !strings.Contains(out, "this token's repository is `"+web.Claims["repositoryUuid"].(string)+"`") || !strings.Contains(out, "Pipeline failed.") {
			t.Fatalf("pipeline run with api's role: exit %d, want 1 with explain's reason\nstdout: %s\nstderr: %s", code, out, errOut)
		}
	})
}

// TestPipelineRunSeed002 runs seed 002's final pipeline — one `oidc: true`
// step with the aws-s3-deploy and aws-cloudfront-invalidate pipes, the role
// and region from repository variables — with `keyless pipeline run` against
// keyless up: the variables come from its Bitbucket API, the pipes run as
// keyless pipe, the site lands in the bucket and the distribution gets an
// invalidation.
func TestPipelineRunSeed002(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "keyless.json")
	if err := os.WriteFile(cfgPath, []byte(`{"cloudfront": {"invalidation_delay": "1s", "distributions": [
		{"id": "`+siteDist+`", "bucket": "site"}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, t.TempDir(), "--config", cfgPath)
	ctx := context.Background()
	root := s3.NewFromConfig(rootConfig(p), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("site")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	// A role for repository web (any step of it, as the seed's trust policy).
	m := mintJSON(t, p.env, "--repository", "web")
	config := fmt.Sprintf(`name: seed002
providers:
  bb:
    type: bitbucket
    workspace: keyless
    workspace_uuid: %q
    url: %s
    audiences: [%q]
roles:
  - name: site-{repository}
    matrix:
      repositories:
        - {name: web, uuid: %q}
    permissions:
      - template: s3-deploy
        bucket: site
      - template: cloudfront-invalidate
        distribution: %s
`, m.Claims["workspaceUuid"], p.env["KEYLESS_ISSUER"], p.env["KEYLESS_AUDIENCE"], m.Claims["repositoryUuid"], siteDist)
	cfgFile := filepath.Join(t.TempDir(), "keyless.yaml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := run(t, provisionEnv(t, p), "apply", "-f", cfgFile, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	roleARN := "arn:aws:iam::" + p.env["KEYLESS_ACCOUNT_ID"] + ":role/site-web"

	// The repository variables the seed's pipeline reads.
	for k, v := range map[string]string{"AWS_DEFAULT_REGION": "us-east-1", "AWS_OIDC_ROLE_ARN": roleARN} {
		body := fmt.Sprintf(`{"key": %q, "value": %q, "secured": false}`, k, v)
		req, err := http.NewRequest(http.MethodPost, p.env["KEYLESS_ENDPOINT"]+"/2.0/repositories/keyless/web/pipelines_config/variables/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+p.env["KEYLESS_BITBUCKET_TOKEN"])
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create repository variable %s: %s", k, resp.Status)
		}
	}

	// The repository: the seed's final bitbucket-pipelines.yml (bucket,
	// distribution and LOCAL_PATH filled in) and a built site.
	repo := filepath.Join(t.TempDir(), "web")
	writeFile(t, filepath.Join(repo, "build", "index.html"), "<h1>seed 002</h1>\n")
	writeFile(t, filepath.Join(repo, "build", "css", "site.css"), "body{}\n")
	writeFile(t, filepath.Join(repo, "bitbucket-pipelines.yml"), `pipelines:
  default:
    - step:
        oidc: true
        name: Deploy to Production
        script:
          # sync your files to S3
          - pipe: atlassian/aws-s3-deploy:0.5.0
            variables:
              AWS_DEFAULT_REGION: $AWS_DEFAULT_REGION
              AWS_OIDC_ROLE_ARN: $AWS_OIDC_ROLE_ARN
              S3_BUCKET: 'site'
              LOCAL_PATH: 'build'
          # triggering a distribution invalidation to refresh the CDN caches after s3 completed
          - pipe: atlassian/aws-cloudfront-invalidate:0.5.0
            variables:
              AWS_OIDC_ROLE_ARN: $AWS_OIDC_ROLE_ARN
              AWS_DEFAULT_REGION: $AWS_DEFAULT_REGION
              DISTRIBUTION_ID: '`+siteDist+`'
`)
	out, errOut, code := run(t, withEnv(p.env, "HOME="+t.TempDir()), "pipeline", "run", filepath.Join(repo, "bitbucket-pipelines.yml"))
	if code != 0 || !strings.Contains(out, "Deployment successful") || !strings.Contains(out, "Pipeline passed.") {
		t.Fatalf("pipeline run: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for key, want := range map[string]string{"index.html": "<h1>seed 002</h1>\n", "css/site.css": "body{}\n"} {
		o, err := root.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("site"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		b, _ := io.ReadAll(o.Body)
		o.Body.Close()
		if string(b) != want {
			t.Errorf("%s = %q, want %q", key, b, want)
		}
	}
	cf := cloudfront.NewFromConfig(rootConfig(p))
	if paths := latestInvalidation(t, cf); len(paths) != 1 || paths[0] != "/*" {
		t.Errorf("invalidated %v, want the pipe's default /*", paths)
	}
}

// TestPipelineRunSeed000 runs seed 000's `production-deploy` step — the
// aws-s3-deploy pipe with `deployment: production` and `oidc: true`, its
// variables written in the pipe (the role ARN, bucket and path filled in) —
// with `keyless pipeline run` against keyless up after `keyless apply` of a
// role trusting repository web in environment production:
//
//   - as the seed has it, green: the site lands in the bucket;
//   - with the step deploying to staging, red, with explain's reason naming
//     the token's deployment environment the policy does not admit.
func TestPipelineRunSeed000(t *testing.T) {
	p := startUp(t, t.TempDir())
	ctx := context.Background()
	root := s3.NewFromConfig(rootConfig(p), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("site")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	prod := mintJSON(t, p.env, "--repository", "web", "--environment", "production")
	staging := mintJSON(t, p.env, "--repository", "web", "--environment", "staging")
	config := fmt.Sprintf(`name: seed000
providers:
  bb:
    type: bitbucket
    workspace: keyless
    workspace_uuid: %q
    url: %s
    audiences: [%q]
roles:
  - name: deploy-{repository}-{environment}
    matrix:
      repositories:
        - {name: web, uuid: %q}
      environments:
        - {name: production, uuid: %q}
    permissions:
      - template: s3-deploy
        bucket: site
`, prod.Claims["workspaceUuid"], p.env["KEYLESS_ISSUER"], p.env["KEYLESS_AUDIENCE"],
		prod.Claims["repositoryUuid"], prod.Claims["deploymentEnvironmentUuid"])
	cfgFile := filepath.Join(t.TempDir(), "keyless.yaml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := run(t, provisionEnv(t, p), "apply", "-f", cfgFile, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	roleARN := "arn:aws:iam::" + p.env["KEYLESS_ACCOUNT_ID"] + ":role/deploy-web-production"

	seed, err := os.ReadFile(filepath.Join("..", "pipeline", "testdata", "seed000-full.yml"))
	if err != nil {
		t.Fatal(err)
	}
	// The repository: the seed's file with its placeholders filled in, and
	// the site at the seed's LOCAL_PATH.
	pipelineFile := func(environment string) string {
		yml := strings.NewReplacer(
			"arn:aws:iam::accountid:role/RoleName", roleARN,
			"'xxxxxxx'", "'site'",
			"deployment: production", "deployment: "+environment,
		).Replace(string(seed))
		repo := filepath.Join(t.TempDir(), "web")
		writeFile(t, filepath.Join(repo, "local", "path", "index.html"), "<h1>seed 000</h1>\n")
		writeFile(t, filepath.Join(repo, "bitbucket-pipelines.yml"), yml)
		return filepath.Join(repo, "bitbucket-pipelines.yml")
	}
	env := withEnv(p.env, "HOME="+t.TempDir())

	t.Run("green", func(t *testing.T) {
		out, errOut, code := run(t, env, "pipeline", "run", pipelineFile("production"), "--branch", "master")
		if code != 0 || !strings.Contains(out, "Deployment  passed") || !strings.Contains(out, roleARN) || !strings.Contains(out, "Pipeline passed.") {
			t.Fatalf("pipeline run: exit %d, want 0 with a summary naming the role\nstdout: %s\nstderr: %s", code, out, errOut)
		}
		o, err := root.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("site"), Key: aws.String("index.html")})
		if err != nil {
			t.Fatalf("GetObject index.html: %v", err)
		}
		b, _ := io.ReadAll(o.Body)
		o.Body.Close()
		if string(b) != "<h1>seed 000</h1>\n" {
			t.Errorf("index.html = %q, want the repository's", b)
		}
	})
	t.Run("deployment environment differs", func(t *testing.T) {
		out, errOut, code := run(t, env, "pipeline", "run", pipelineFile("staging"), "--branch", "master")
		want := "this token's deployment environment is `" + staging.Claims["deploymentEnvironmentUuid"].(string) + "`"
		if code != 1 || !strings.Contains(out, "why: STS refuses "+roleARN) || !strings.Contains(out, "FAIL") ||
			!strings.Contains(out, want) || !strings.Contains(out, "Pipeline failed.") {
			t.Fatalf("pipeline run deploying to staging: exit %d, want 1 with explain's reason %q\nstdout: %s\nstderr: %s", code, want, out, errOut)
		}
	})
	// keyless pipeline validate reads the role's trust policy from keyless
	// up's IAM and says the same before anything runs.
	t.Run("validate", func(t *testing.T) {
		if out, errOut, code := run(t, env, "pipeline", "validate", pipelineFile("production")); code != 0 || strings.Contains(out, "trust policy") {
			t.Fatalf("validate production: exit %d, want 0 without a trust finding\nstdout: %s\nstderr: %s", code, out, errOut)
		}
		out, errOut, code := run(t, env, "pipeline", "validate", pipelineFile("staging"))
		want := "error [branches:master › Deployment]: the trust policy of " + roleARN + " would refuse this step of keyless/web in environment staging: FAIL"
		if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, "this token's deployment environment is `"+staging.Claims["deploymentEnvironmentUuid"].(string)+"`") {
			t.Fatalf("validate staging: exit %d, want 1 with %q\nstdout: %s\nstderr: %s", code, want, out, errOut)
		}
	})
}

package pipeline

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts Options
		want []string // Finding.String() fragments, in order; none means no findings
	}{
		{"seed003 clean", string(readTestdata(t, "seed003-aws-cli.yml")), Options{}, nil},
		{"pipe without oidc", `pipelines:
  default:
    - step:
        name: Deploy
        script:
          - pipe: atlassian/aws-s3-deploy:1.1.0
            variables:
              AWS_OIDC_ROLE_ARN: $ROLE
`, Options{}, []string{"6:13: error [default › \"Deploy\"]: the pipe atlassian/aws-s3-deploy gets AWS_OIDC_ROLE_ARN but the step has no `oidc: true`, so Bitbucket gives it no BITBUCKET_STEP_OIDC_TOKEN and the pipe cannot assume the role: add `oidc: true` to the step"}},
		{"web identity without oidc", `pipelines:
  default:
    - step:
        script:
          - export AWS_WEB_IDENTITY_TOKEN_FILE=$(pwd)/t
          - echo $BITBUCKET_STEP_OIDC_TOKEN > $(pwd)/t
          - aws sts get-caller-identity
`, Options{}, []string{"5:13: error [default › step 1]: the script uses a web identity (AWS_WEB_IDENTITY_TOKEN_FILE) but the step has no `oidc: true`"}},
		{"aws with keys", `pipelines:
  default:
    - step:
        script:
          - aws s3 ls
          - pipe: atlassian/aws-lambda-deploy:1.0.0
            variables:
              AWS_ACCESS_KEY_ID: $K
`, Options{}, []string{
			"5:13: warning [default › step 1]: the script runs aws with neither `oidc: true` nor a web identity",
			"6:13: warning [default › step 1]: keyless pipeline run cannot run the pipe atlassian/aws-lambda-deploy (it runs atlassian/aws-s3-deploy and atlassian/aws-cloudfront-invalidate in-process)",
			"6:13: warning [default › step 1]: the pipe atlassian/aws-lambda-deploy gets long-lived access keys (AWS_ACCESS_KEY_ID)",
		}},
		{"oidc but token never handed over", `pipelines:
  default:
    - step:
        oidc: true
        script:
          - aws sts get-caller-identity
`, Options{}, []string{"6:13: warning [default › step 1]: the step has `oidc: true` but the script never hands BITBUCKET_STEP_OIDC_TOKEN to the AWS CLI"}},
		{"token file never written", `pipelines:
  default:
    - step:
        oidc: true
        script:
          - export AWS_WEB_IDENTITY_TOKEN_FILE=/tmp/t
          - aws sts get-caller-identity
`, Options{}, []string{"6:13: warning [default › step 1]: the script sets a web identity token file but never writes BITBUCKET_STEP_OIDC_TOKEN into it"}},
		{"deployment names", `pipelines:
  default:
    - step:
        deployment: prod
        script: [echo]
    - step:
        deployment: qa
        script: [echo]
    - stage:
        deployment: dr
        steps:
          - step: {script: [echo]}
`, Options{Environments: []string{"qa"}}, []string{
			`4:9: warning [default › step 1]: deployment environment "prod" is not one of test, staging, production, qa: Bitbucket fails the step unless the environment exists in Repository settings › Deployments; create it there (and pass --environment prod to validate)`,
			`10: warning [default › stage]: deployment environment "dr"`,
		}},
		{"alias reported once", `definitions:
  steps:
    - step: &d
        name: D
        script:
          - pipe: atlassian/aws-cloudfront-invalidate:0.5.0
            variables: {AWS_OIDC_ROLE_ARN: x, DISTRIBUTION_ID: y}
pipelines:
  default:
    - step: *d
  branches:
    main:
      - step: *d
`, Options{}, []string{`6:13: error [default › "D"]: the pipe atlassian/aws-cloudfront-invalidate gets AWS_OIDC_ROLE_ARN`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Validate(mustParse(t, []byte(tt.in)), tt.opts)
			if len(got) != len(tt.want) {
				t.Fatalf("%d findings, want %d:\n%v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				if s := got[i].String(); !strings.Contains(s, w) {
					t.Errorf("finding %d\n%s\nlacks\n%s", i, s, w)
				}
			}
		})
	}
}

func TestSchemaFindings(t *testing.T) {
	_, err := Parse([]byte("pipelines:\n  default:\n    - step:\n        scrpt: [x]\n"))
	fs := SchemaFindings(err)
	if len(fs) != 2 || fs[0].Code != CodeSchema || fs[0].Line != 4 || fs[0].Column != 9 || !HasErrors(fs) {
		t.Fatalf("%+v", fs)
	}
}

func TestPipeName(t *testing.T) {
	for in, want := range map[string]string{
		"atlassian/aws-s3-deploy:1.1.0":             "atlassian/aws-s3-deploy",
		"atlassian/aws-s3-deploy":                   "atlassian/aws-s3-deploy",
		"docker://registry:5000/acme/pipe:2":        "registry:5000/acme/pipe",
		"docker://registry:5000/acme/pipe":          "registry:5000/acme/pipe",
		"atlassian/aws-cloudfront-invalidate:0.5.0": "atlassian/aws-cloudfront-invalidate",
	} {
		if got := PipeName(in); got != want {
			t.Errorf("PipeName(%q) = %q, want %q", in, got, want)
		}
	}
}

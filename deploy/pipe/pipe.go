// Package pipe reads the variables of Atlassian's Bitbucket Pipelines pipes
// that keyless replaces — atlassian/aws-s3-deploy (1.x) and
// atlassian/aws-cloudfront-invalidate (0.x) — and turns them into keyless's
// own command line, so that a step can swap `pipe: atlassian/aws-s3-deploy`
// for `keyless pipe aws-s3-deploy` and keep its variables.
//
// Both pipes authenticate with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
// or with OpenID Connect when AWS_OIDC_ROLE_ARN is set (the step then needs
// `oidc: true`, which makes Bitbucket set BITBUCKET_STEP_OIDC_TOKEN), and need
// AWS_DEFAULT_REGION. Errors name the variable at fault and never repeat a
// secret.
package pipe

import (
	"errors"
	"fmt"
	"strings"

	"github.com/keyless-dev/keyless/deploy/filter"
)

// S3Deploy is a `keyless deploy s3` run, read from aws-s3-deploy's variables.
type S3Deploy struct {
	// Region is AWS_DEFAULT_REGION.
	Region string
	// RoleARN is AWS_OIDC_ROLE_ARN when OIDC is true, else "".
	RoleARN string
	// OIDC is true when the pipe authenticates by assuming RoleARN with the
	// step's OIDC token (BITBUCKET_STEP_OIDC_TOKEN); false when it uses the
	// access key in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
	OIDC bool
	// Debug is DEBUG, or --debug in EXTRA_ARGS.
	Debug bool
	// Args are the arguments after `keyless deploy s3`: LOCAL_PATH, the
	// s3:// URL of S3_BUCKET, then flags, e.g. ["./build",
	// "s3://bucket/prefix", "--acl", "public-read", "--exclude", "*.map",
	// "--delete"].
	Args []string
}

// Invalidate is a `keyless deploy invalidate` run, read from
// aws-cloudfront-invalidate's variables.
type Invalidate struct {
	// Region, RoleARN, OIDC and Debug are as in S3Deploy.
	Region, RoleARN string
	OIDC            bool
	Debug           bool
	// Args are the arguments after `keyless deploy invalidate`, e.g.
	// ["--distribution-id", "E2QWRUHAPOMQZL", "--paths", "/*"]: one
	// --paths per path, then --wait if WAIT is true.
	Args []string
}

// auth is the authentication and region both pipes read.
type auth struct {
	region, roleARN string
	oidc            bool
}

// readAuth reads AWS_DEFAULT_REGION and either AWS_OIDC_ROLE_ARN (with the
// step's OIDC token) or the access key variables.
func readAuth(getenv func(string) string) (auth, []error) {
	var a auth
	var errs []error
	a.region = strings.TrimSpace(getenv("AWS_DEFAULT_REGION"))
	if a.region == "" {
		errs = append(errs, errors.New("AWS_DEFAULT_REGION is not set: set it to the AWS region, e.g. AWS_DEFAULT_REGION: us-east-1"))
	}
	if role := strings.TrimSpace(getenv("AWS_OIDC_ROLE_ARN")); role != "" {
		switch {
		case !strings.HasPrefix(role, "arn:") || !strings.Contains(role, ":role/"):
			errs = append(errs, fmt.Errorf("AWS_OIDC_ROLE_ARN %q is not a role ARN: write arn:aws:iam::ACCOUNT:role/NAME", role))
		case getenv("BITBUCKET_STEP_OIDC_TOKEN") == "":
			errs = append(errs, errors.New("AWS_OIDC_ROLE_ARN is set but the step has no BITBUCKET_STEP_OIDC_TOKEN: add `oidc: true` to the step in bitbucket-pipelines.yml"))
		default:
			a.roleARN, a.oidc = role, true
		}
		return a, errs
	}
	var missing []string
	for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		verb := "is"
		if len(missing) > 1 {
			verb = "are"
		}
		errs = append(errs, fmt.Errorf("%s %s not set: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (as secured variables), or use OpenID Connect: AWS_OIDC_ROLE_ARN and `oidc: true` on the step", strings.Join(missing, " and "), verb))
	}
	return a, errs
}

// readBool reads a true/false variable; unset is false.
func readBool(getenv func(string) string, name string) (bool, error) {
	switch v := strings.TrimSpace(getenv(name)); strings.ToLower(v) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, fmt.Errorf("%s is %q: write true or false", name, v)
	}
}

// ReadS3Deploy reads atlassian/aws-s3-deploy's variables with getenv (such as
// os.Getenv): AWS_DEFAULT_REGION, AWS_OIDC_ROLE_ARN or AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, S3_BUCKET (BUCKET or BUCKET/PREFIX), LOCAL_PATH, ACL,
// CONTENT_ENCODING, STORAGE_CLASS, CACHE_CONTROL, EXPIRES, DELETE_FLAG,
// EXTRA_ARGS (aws s3 sync flags, split as a shell would, translated to
// keyless's; see the package's tests for the list) and DEBUG. It reports
// every problem it finds at once.
func ReadS3Deploy(getenv func(string) string) (S3Deploy, error) {
	a, errs := readAuth(getenv)
	d := S3Deploy{Region: a.region, RoleARN: a.roleARN, OIDC: a.oidc}

	bucket := strings.TrimSpace(getenv("S3_BUCKET"))
	bucket = strings.TrimPrefix(bucket, "s3://")
	name, _, _ := strings.Cut(bucket, "/")
	switch {
	case bucket == "":
		errs = append(errs, errors.New("S3_BUCKET is not set: set it to the bucket, or BUCKET/PREFIX to deploy under a prefix"))
	case name == "" || strings.ContainsAny(name, " \t\n"):
		errs = append(errs, fmt.Errorf("S3_BUCKET %q does not begin with a bucket name: write BUCKET or BUCKET/PREFIX", getenv("S3_BUCKET")))
	}
	local := getenv("LOCAL_PATH")
	if strings.TrimSpace(local) == "" {
		errs = append(errs, errors.New("LOCAL_PATH is not set: set it to the directory to deploy, e.g. LOCAL_PATH: build"))
	}
	if strings.HasPrefix(local, "-") {
		local = "./" + local // not a flag
	}

	var t syncArgs
	for _, v := range []struct{ name, flag string }{
		{"ACL", "--acl"},
		{"CONTENT_ENCODING", "--content-encoding"},
		{"STORAGE_CLASS", "--storage-class"},
		{"CACHE_CONTROL", "--cache-control"},
		{"EXPIRES", "--expires"},
	} {
		value := strings.TrimSpace(getenv(v.name))
		if value == "" {
			continue
		}
		if v.flag == "--cache-control" {
			value = filter.BareRule(value)
		}
		t.flags = append(t.flags, v.flag, value)
	}
	var err error
	if t.delete, err = readBool(getenv, "DELETE_FLAG"); err != nil {
		errs = append(errs, err)
	}
	if d.Debug, err = readBool(getenv, "DEBUG"); err != nil {
		errs = append(errs, err)
	}
	if words, err := splitWords(getenv("EXTRA_ARGS")); err != nil {
		errs = append(errs, fmt.Errorf("EXTRA_ARGS: %w", err))
	} else if err := t.parse(words); err != nil {
		errs = append(errs, fmt.Errorf("EXTRA_ARGS: %w", err))
	}
	d.Debug = d.Debug || t.debug

	if len(errs) > 0 {
		return S3Deploy{}, fmt.Errorf("aws-s3-deploy variables: %w", errors.Join(errs...))
	}
	d.Args = append([]string{local, "s3://" + bucket}, t.args()...)
	return d, nil
}

// ReadInvalidate reads atlassian/aws-cloudfront-invalidate's variables with
// getenv: the authentication variables as ReadS3Deploy, DISTRIBUTION_ID,
// PATHS (paths separated by blanks, "/*" when unset), WAIT and DEBUG. It
// reports every problem it finds at once.
func ReadInvalidate(getenv func(string) string) (Invalidate, error) {
	a, errs := readAuth(getenv)
	inv := Invalidate{Region: a.region, RoleARN: a.roleARN, OIDC: a.oidc}

	id := strings.TrimSpace(getenv("DISTRIBUTION_ID"))
	switch {
	case id == "":
		errs = append(errs, errors.New("DISTRIBUTION_ID is not set: set it to the CloudFront distribution's ID, e.g. DISTRIBUTION_ID: E2QWRUHAPOMQZL"))
	case strings.ContainsAny(id, " \t\n/"):
		errs = append(errs, fmt.Errorf("DISTRIBUTION_ID %q is not a distribution ID: give the ID alone, e.g. E2QWRUHAPOMQZL", id))
	}
	paths := strings.Fields(getenv("PATHS"))
	if len(paths) == 0 {
		paths = []string{"/*"}
	}
	wait, err := readBool(getenv, "WAIT")
	if err != nil {
		errs = append(errs, err)
	}
	if inv.Debug, err = readBool(getenv, "DEBUG"); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Invalidate{}, fmt.Errorf("aws-cloudfront-invalidate variables: %w", errors.Join(errs...))
	}
	inv.Args = []string{"--distribution-id", id}
	for _, p := range paths {
		inv.Args = append(inv.Args, "--paths", p)
	}
	if wait {
		inv.Args = append(inv.Args, "--wait")
	}
	return inv, nil
}

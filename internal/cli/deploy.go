package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/keyless-dev/keyless/awsconfig"
	"github.com/keyless-dev/keyless/client"
	"github.com/keyless-dev/keyless/deploy/filter"
	"github.com/keyless-dev/keyless/deploy/invalidation"
	"github.com/keyless-dev/keyless/deploy/progress"
	"github.com/keyless-dev/keyless/deploy/s3sync"
)

func newDeployCmd(s Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy a site to S3 and CloudFront: upload what changed, invalidate what changed",
		Long: `Deploy a static site the way the seeds' pipelines do with the aws-s3-deploy and
aws-cloudfront-invalidate pipes, but by content: a fresh CI checkout (new mtimes)
uploads nothing, headers are set per file, and CloudFront invalidates only the
paths that changed.

Credentials: with a role to assume (--role-arn, $AWS_ROLE_ARN or the pipes'
$AWS_OIDC_ROLE_ARN) the step's OIDC token is exchanged for it, as keyless login
does, and exchanged again before the session expires; otherwise the AWS SDK's
default chain (environment, profile, container or instance role).`,
		Example: `  keyless deploy site --bucket www.example.com --distribution-id E2QWRUHAPOMQZL ./public --delete --wait
  keyless deploy s3 ./public s3://www.example.com --cache-control 'index.html=no-cache'
  keyless deploy invalidate --distribution-id E2QWRUHAPOMQZL --paths '/*'`,
	}
	cmd.AddCommand(newDeployS3Cmd(s), newDeployInvalidateCmd(s), newDeploySiteCmd(s))
	return cmd
}

// deployAuth are the flags of the deploy commands that say how to reach AWS.
type deployAuth struct {
	login       loginFlags
	endpointURL string // S3 endpoint override
}

func (a *deployAuth) register(fs *pflag.FlagSet) {
	a.login.register(fs)
	fs.StringVar(&a.endpointURL, "endpoint-url", "", "S3 endpoint URL, for S3-compatible storage (default $AWS_ENDPOINT_URL_S3, else $AWS_ENDPOINT_URL)")
}

// config returns the AWS configuration of a deploy and a logger on stderr.
func (a *deployAuth) config(ctx context.Context, s Streams) (aws.Config, *slog.Logger, error) {
	role := a.login.roleARN
	for _, k := range []string{"AWS_ROLE_ARN", "AWS_OIDC_ROLE_ARN"} {
		if role == "" {
			role = os.Getenv(k)
		}
	}
	if role == "" {
		var level slog.Level
		if err := level.UnmarshalText([]byte(a.login.logLevel)); err != nil {
			return aws.Config{}, nil, fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", a.login.logLevel)
		}
		log := slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: level}))
		var opts []func(*config.LoadOptions) error
		if a.login.region != "" {
			opts = append(opts, config.WithRegion(a.login.region))
		}
		cfg, err := awsconfig.Load(ctx, os.Getenv, opts...)
		if errors.Is(err, awsconfig.ErrNoCredentials) {
			return aws.Config{}, nil, errors.New("no AWS credentials: give a role to assume with the step's OIDC token (--role-arn, AWS_ROLE_ARN or AWS_OIDC_ROLE_ARN, and `oidc: true` on the Bitbucket step), or credentials the AWS SDK finds (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE)")
		}
		if err != nil {
			return aws.Config{}, nil, fmt.Errorf("load AWS configuration: %w", err)
		}
		return cfg, log, nil
	}
	ls, err := a.login.setup(s)
	if err != nil {
		return aws.Config{}, nil, err
	}
	creds := aws.NewCredentialsCache(exchangeProvider{source: ls.source, exchanger: ls.exchanger},
		func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = client.DefaultRefreshMargin })
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(ls.region), config.WithCredentialsProvider(creds))
	if err != nil {
		return aws.Config{}, nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, ls.log, nil
}

// exchangeProvider gives the SDK credentials from the step's OIDC token,
// exchanged for the role's (a fresh token each time the cache refreshes).
type exchangeProvider struct {
	source    client.TokenSource
	exchanger *client.Exchanger
}

// Retrieve exchanges the step's token for the role's credentials.
func (p exchangeProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	token, err := p.source.Token(ctx)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("read the step's OIDC token: %w", err)
	}
	c, err := p.exchanger.Exchange(ctx, token)
	if err != nil {
		return aws.Credentials{}, err
	}
	return aws.Credentials{
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		Source: "keyless (AssumeRoleWithWebIdentity)", CanExpire: true, Expires: c.Expiration, AccountID: c.Account(),
	}, nil
}

// s3Client is the S3 client of a sync: the retryer and connection pool
// s3sync wants, and path-style addressing for an endpoint that is an IP
// address or localhost (keyless up, S3-compatible servers).
func (a *deployAuth) s3Client(cfg aws.Config, concurrency int) *s3.Client {
	endpoint := a.endpointURL
	if endpoint == "" && os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") != "true" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL_S3")
		if endpoint == "" {
			endpoint = os.Getenv("AWS_ENDPOINT_URL")
		}
	}
	return s3.NewFromConfig(cfg, s3sync.ClientOptions(concurrency), func(o *s3.Options) {
		if a.endpointURL != "" {
			o.BaseEndpoint = aws.String(a.endpointURL)
		}
		if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
			host := u.Hostname()
			o.UsePathStyle = host == "localhost" || net.ParseIP(host) != nil
			if ip := net.ParseIP(host); u.Scheme == "http" && (host == "localhost" || ip != nil && ip.IsLoopback()) {
				// Over HTTPS the SDK sends payloads unsigned (TLS protects
				// them) with a checksum; over plain HTTP it hashes every body
				// with SHA-256 to sign it. On loopback there is no network to
				// protect from: send them as over HTTPS.
				o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
			}
		}
	})
}

// orderedFilter is --exclude and --include: one list, in command-line order,
// since aws s3 sync evaluates them in order and the last match wins.
type orderedFilter struct {
	f       *filter.Filter
	exclude bool
}

func (o orderedFilter) String() string { return "" }
func (o orderedFilter) Type() string   { return "pattern" }
func (o orderedFilter) Set(p string) error {
	if p == "" {
		return errors.New("empty pattern")
	}
	if o.exclude {
		o.f.Exclude(p)
	} else {
		o.f.Include(p)
	}
	return nil
}

// syncFlags are the flags of `deploy s3` and `deploy site` that shape the sync.
type syncFlags struct {
	compare                            s3sync.Compare
	del, dryRun, noManifest, quiet     bool
	filter                             filter.Filter
	acl, storageClass, expires         string
	contentEncoding, contentType, gzip string
	cacheControl                       []string
	concurrency                        int
	partSize                           int64
	output                             string
	progressInterval                   time.Duration
}

func (f *syncFlags) register(fs *pflag.FlagSet) {
	f.compare = s3sync.CompareHash
	fs.Var(&f.compare, "compare", "how a file is found unchanged: hash (content), size, or size-mtime (aws s3 sync's rule)")
	fs.BoolVar(&f.del, "delete", false, "delete objects under the prefix that have no file (only those the filters select)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "say what would change and change nothing")
	fs.Var(orderedFilter{&f.filter, true}, "exclude", "exclude files matching PATTERN (aws s3 sync semantics; repeatable, in order with --include, last match wins)")
	fs.Var(orderedFilter{&f.filter, false}, "include", "include files matching PATTERN again (repeatable)")
	fs.StringVar(&f.acl, "acl", "", "canned ACL of the objects written (e.g. public-read; buckets with ACLs disabled refuse all but bucket-owner-full-control)")
	fs.StringVar(&f.storageClass, "storage-class", "", "storage class of the objects written (e.g. STANDARD_IA)")
	fs.StringVar(&f.expires, "expires", "", "Expires header of every object: RFC 3339 / ISO 8601 or an HTTP date")
	fs.StringVar(&f.contentEncoding, "content-encoding", "", "Content-Encoding of every object not pre-compressed with --gzip")
	fs.StringVar(&f.contentType, "content-type", "", "Content-Type of every object (default: by file extension, from keyless's own table)")
	fs.StringArrayVar(&f.cacheControl, "cache-control", nil, "Cache-Control per file: 'PATTERNS=VALUE' (e.g. 'index.html,*.json=no-cache') or VALUE for every file; repeatable, the last matching rule wins")
	fs.StringVar(&f.gzip, "gzip", "", "pre-compress files matching these comma-separated patterns (e.g. '*.js,*.css,*.svg') and set Content-Encoding: gzip")
	fs.IntVar(&f.concurrency, "concurrency", s3sync.DefaultConcurrency, "files hashed and requests in flight at once")
	fs.Int64Var(&f.partSize, "part-size", s3sync.DefaultPartSize, "multipart part size in bytes; larger files are uploaded in parts")
	fs.BoolVar(&f.noManifest, "no-manifest", false, "do not keep the deploy manifest ("+s3sync.ManifestName+"); compare headers with a HEAD per object instead")
	fs.StringVar(&f.output, "output", "text", "output format: text, or json (the summary, with the changed keys)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress lines")
	fs.DurationVar(&f.progressInterval, "progress-interval", 5*time.Second, "how often to print a progress line when stderr is not a terminal")
}

// options turns the flags into the sync's options.
func (f *syncFlags) options(source, bucket, prefix string, log *slog.Logger) (s3sync.Options, error) {
	if f.output != "text" && f.output != "json" {
		return s3sync.Options{}, fmt.Errorf("invalid --output %q: use text or json", f.output)
	}
	o := s3sync.Options{
		Source: source, Bucket: bucket, Prefix: prefix,
		Compare: f.compare, Delete: f.del, DryRun: f.dryRun, Filter: f.filter,
		ACL: f.acl, StorageClass: f.storageClass, ContentEncoding: f.contentEncoding, ContentType: f.contentType,
		Concurrency: f.concurrency, PartSize: f.partSize, Manifest: !f.noManifest, Logger: log,
	}
	if f.expires != "" {
		t, err := parseExpires(f.expires)
		if err != nil {
			return o, err
		}
		o.Expires = t
	}
	for _, rule := range f.cacheControl {
		if err := o.CacheControl.Add(rule); err != nil {
			return o, fmt.Errorf("--cache-control: %w", err)
		}
	}
	if f.gzip != "" {
		p, err := filter.ParsePatterns(f.gzip)
		if err != nil {
			return o, fmt.Errorf("--gzip: %w", err)
		}
		o.Gzip = p
	}
	return o, nil
}

// parseExpires reads --expires: RFC 3339, ISO 8601 without a zone (UTC, as
// the pipe's EXPIRES examples are), a date, or an HTTP date.
func parseExpires(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	if t, err := http.ParseTime(v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid --expires %q: use RFC 3339 (2027-01-01T00:00:00Z) or an HTTP date (Fri, 01 Jan 2027 00:00:00 GMT)", v)
}

// parseS3URL splits s3://BUCKET[/PREFIX].
func parseS3URL(v string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(v, "s3://")
	if !ok {
		return "", "", fmt.Errorf("invalid destination %q: use s3://BUCKET or s3://BUCKET/PREFIX", v)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("invalid destination %q: no bucket name (use s3://BUCKET or s3://BUCKET/PREFIX)", v)
	}
	return bucket, prefix, nil
}

// runSync runs one sync with progress on stderr and its summary on stdout,
// and returns its result.
func (f *syncFlags) runSync(ctx context.Context, s Streams, api s3sync.S3API, o s3sync.Options) (s3sync.Result, error) {
	interactive := false
	if file, ok := s.Err.(*os.File); ok {
		interactive = progress.IsTerminal(file) && os.Getenv("TERM") != "dumb"
	}
	rep := progress.New(s.Err, progress.Options{Interactive: interactive, Interval: f.progressInterval, Quiet: f.quiet})
	rep.Start()
	res, err := s3sync.Sync(ctx, api, o, rep)
	rep.Stop()
	err = deployHint(err, o.Bucket)
	if err != nil && len(res.Changed)+len(res.Deleted)+res.Unchanged == 0 {
		return res, err
	}
	if f.output == "json" {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if encErr := enc.Encode(res.Summary()); encErr != nil {
			return res, errors.Join(err, encErr)
		}
		return res, err
	}
	if res.DryRun {
		for _, k := range res.Changed {
			fmt.Fprintf(s.Out, "(dry run) write: s3://%s/%s\n", res.Bucket, k)
		}
		for _, k := range res.Deleted {
			fmt.Fprintf(s.Out, "(dry run) delete: s3://%s/%s\n", res.Bucket, k)
		}
	}
	failed := 0
	var fe *s3sync.FailedError
	if errors.As(err, &fe) {
		failed = len(fe.Errors)
	}
	fmt.Fprintln(s.Out, progress.SummaryInput{
		Uploaded: res.Upload, Updated: res.Update, Deleted: res.Delete, Unchanged: res.Unchanged, Failed: failed,
		Bytes: res.Bytes, Elapsed: res.Duration, DryRun: res.DryRun,
	}.String())
	return res, err
}

func newDeployS3Cmd(s Streams) *cobra.Command {
	var auth deployAuth
	var sf syncFlags
	cmd := &cobra.Command{
		Use:   "s3 LOCAL_PATH s3://BUCKET[/PREFIX]",
		Short: "Sync a directory to S3 by content: only new and changed files are uploaded",
		Long: `Sync LOCAL_PATH to the bucket (and prefix) by content, from one listing of the bucket:
a file whose content equals its object's is not uploaded, whatever its mtime, so a
fresh CI checkout uploads nothing. A change of headers alone (--cache-control,
--content-type, …) updates the object in place with CopyObject. keyless records the
headers it set in a small manifest object, ` + s3sync.ManifestName + ` under the prefix,
so that it needs no HEAD per object (--no-manifest: HEAD instead).

--exclude and --include follow aws s3 sync exactly: patterns match the path relative
to LOCAL_PATH ('*' crosses '/'), evaluated in order, the last match wins. --delete
removes only objects the filters select.`,
		Example: `  keyless deploy s3 ./public s3://www.example.com --delete \
    --cache-control 'max-age=300' --cache-control 'index.html,*.json=no-cache' \
    --cache-control 'assets/*=max-age=31536000,immutable' --gzip '*.js,*.css,*.svg'
  keyless deploy s3 ./build s3://my-bucket/site --exclude '*.map' --dry-run
  keyless deploy s3 ./build s3://my-bucket --output json > changes.json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			bucket, prefix, err := parseS3URL(args[1])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cfg, log, err := auth.config(ctx, s)
			if err != nil {
				return err
			}
			o, err := sf.options(args[0], bucket, prefix, log)
			if err != nil {
				return err
			}
			_, err = sf.runSync(ctx, s, auth.s3Client(cfg, o.Concurrency), o)
			return err
		},
	}
	sf.register(cmd.Flags())
	auth.register(cmd.Flags())
	return cmd
}

// invalidateFlags are the flags of `deploy invalidate` and `deploy site` that
// shape the invalidation.
type invalidateFlags struct {
	distributionID, originPath, rootObject string
	wait                                   bool
	pollInterval, maxWait                  time.Duration
}

func (f *invalidateFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.distributionID, "distribution-id", "", "CloudFront distribution ID (required)")
	fs.BoolVar(&f.wait, "wait", false, "wait until the invalidation has completed")
	fs.StringVar(&f.originPath, "origin-path", "", "the distribution origin's path, to map keys to URL paths (default: read from the distribution, else none)")
	fs.StringVar(&f.rootObject, "default-root-object", "", "the object served for a directory (default: read from the distribution, else index.html)")
	fs.DurationVar(&f.pollInterval, "poll-interval", 5*time.Second, "how often to poll CloudFront while waiting")
	fs.DurationVar(&f.maxWait, "max-wait", invalidation.DefaultMaxWait, "give up waiting after this long")
}

// distributionLayout fills the origin path and default root object from the
// distribution when the flags left them empty and the caller may read it
// (cloudfront:GetDistribution); a role that may only invalidate gets the
// defaults, which it says.
func (f *invalidateFlags) distributionLayout(ctx context.Context, cf *cloudfront.Client, bucket string, originSet, rootSet bool, log *slog.Logger) (originPath, rootObject string) {
	originPath, rootObject = f.originPath, f.rootObject
	if originSet && rootSet {
		return originPath, rootObject
	}
	out, err := cf.GetDistribution(ctx, &cloudfront.GetDistributionInput{Id: aws.String(f.distributionID)})
	if err != nil || out.Distribution == nil || out.Distribution.DistributionConfig == nil {
		if !rootSet {
			rootObject = "index.html"
		}
		log.Info("could not read the distribution; assuming its layout", "distribution", f.distributionID,
			"origin_path", originPath, "default_root_object", rootObject, "err", err)
		return originPath, rootObject
	}
	dc := out.Distribution.DistributionConfig
	if !rootSet {
		rootObject = aws.ToString(dc.DefaultRootObject)
	}
	if !originSet && dc.Origins != nil {
		for _, o := range dc.Origins.Items {
			if bucket == "" || strings.HasPrefix(aws.ToString(o.DomainName), bucket+".") {
				originPath = aws.ToString(o.OriginPath)
				break
			}
		}
	}
	return originPath, rootObject
}

// invalidate plans (unless paths are given) and runs one invalidation, saying
// what it chose and why on stderr.
func (f *invalidateFlags) invalidate(ctx context.Context, s Streams, cf *cloudfront.Client, plan invalidation.Plan, log *slog.Logger) error {
	for _, r := range plan.Reasons {
		fmt.Fprintf(s.Err, "plan: %s\n", r)
	}
	if len(plan.Paths) == 0 {
		fmt.Fprintln(s.Out, "Nothing to invalidate.")
		return nil
	}
	inv := invalidation.Invalidator{API: cf, PollInterval: f.pollInterval, MaxWait: f.maxWait, Logger: log}
	ids, err := inv.Run(ctx, f.distributionID, plan, f.wait)
	for _, id := range ids {
		state := "created"
		if f.wait && err == nil {
			state = "completed"
		}
		fmt.Fprintf(s.Out, "Invalidation %s %s on %s: %s\n", id, state, f.distributionID, strings.Join(plan.Paths, " "))
	}
	return err
}

// deployHint adds what to do to the errors a deploy's setup most often
// meets: a bucket that is not there, or a role that may not touch it.
func deployHint(err error, bucket string) error {
	var ae smithy.APIError
	if err == nil || !errors.As(err, &ae) {
		return err
	}
	switch ae.ErrorCode() {
	case "NoSuchBucket":
		return fmt.Errorf("%w\nhint: bucket %s does not exist: check its name (and --endpoint-url), or create it (aws s3 mb s3://%s)", err, bucket, bucket)
	case "AccessDenied", "AllAccessDisabled":
		return fmt.Errorf("%w\nhint: the credentials may not sync s3://%s: a deploy needs s3:ListBucket on the bucket, s3:GetObject and s3:PutObject on its objects (s3:DeleteObject with --delete, s3:PutObjectAcl with --acl), as keyless.yaml's s3-deploy template grants", err, bucket)
	}
	return err
}

// printDryRunPlan says what an invalidation would be: its reasons on stderr,
// its paths on stdout.
func printDryRunPlan(s Streams, plan invalidation.Plan) {
	for _, r := range plan.Reasons {
		fmt.Fprintf(s.Err, "plan: %s\n", r)
	}
	for _, p := range plan.Paths {
		fmt.Fprintf(s.Out, "(dry run) invalidate: %s\n", p)
	}
}

// readChanges reads --changes: the JSON summary of `deploy s3 --output json`
// (changed and deleted keys) or one key per line.
func readChanges(path string) (keys []string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read --changes: %w", err)
	}
	if trimmed := strings.TrimSpace(string(b)); strings.HasPrefix(trimmed, "{") {
		var sum s3sync.Summary
		if err := json.Unmarshal(b, &sum); err != nil {
			return nil, fmt.Errorf("read --changes %s: not a keyless deploy summary: %w", path, err)
		}
		return append(sum.Changed, sum.DeletedKeys...), nil
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if k := strings.TrimSpace(sc.Text()); k != "" {
			keys = append(keys, k)
		}
	}
	return keys, sc.Err()
}

func newDeployInvalidateCmd(s Streams) *cobra.Command {
	var auth deployAuth
	var inf invalidateFlags
	var paths []string
	var changes string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "invalidate --distribution-id ID [--paths P…] [--changes FILE] [--wait]",
		Short: "Invalidate exactly what a deploy changed on CloudFront, within its limits",
		Long: `Create a CloudFront invalidation. With --paths, those paths. With --changes (the JSON
summary of ` + "`keyless deploy s3 --output json`" + `, or one key per line) the cheapest
invalidation that covers the changed and deleted keys: a changed dir/index.html also
invalidates /dir/ and /dir, many paths under one directory are collapsed into a
wildcard when that is fewer paths and evicts few unchanged objects, and the plan keeps
within CloudFront's limits (3,000 paths and 15 wildcards in progress), waiting for
room or splitting into batches. It says what it chose and why.`,
		Example: `  keyless deploy invalidate --distribution-id E2QWRUHAPOMQZL --paths '/*' --wait
  keyless deploy s3 ./public s3://www.example.com --output json > changes.json
  keyless deploy invalidate --distribution-id E2QWRUHAPOMQZL --changes changes.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if inf.distributionID == "" {
				return errors.New("--distribution-id is required: the ID of the CloudFront distribution (e.g. E2QWRUHAPOMQZL)")
			}
			if (len(paths) == 0) == (changes == "") {
				return errors.New("give the paths to invalidate with --paths, or the changed keys with --changes FILE (one of them)")
			}
			ctx := cmd.Context()
			cfg, log, err := auth.config(ctx, s)
			if err != nil {
				return err
			}
			cf := cloudfront.NewFromConfig(cfg)
			var plan invalidation.Plan
			if len(paths) > 0 {
				for _, p := range paths {
					if err := invalidation.CheckPath(p); err != nil {
						return fmt.Errorf("--paths %q: %w", p, err)
					}
					if strings.HasSuffix(p, "*") {
						plan.Wildcards++
					}
				}
				plan.Paths = paths
				plan.Reasons = []string{fmt.Sprintf("invalidating the %d paths given", len(paths))}
			} else {
				keys, err := readChanges(changes)
				if err != nil {
					return err
				}
				fs := cmd.Flags()
				origin, root := inf.distributionLayout(ctx, cf, "", fs.Changed("origin-path"), fs.Changed("default-root-object"), log)
				plan, err = invalidation.NewPlan(keys, invalidation.Options{OriginPath: origin, DefaultRootObject: root})
				if err != nil {
					return err
				}
			}
			if dryRun {
				printDryRunPlan(s, plan)
				return nil
			}
			return inf.invalidate(ctx, s, cf, plan, log)
		},
	}
	inf.register(cmd.Flags())
	cmd.Flags().StringArrayVar(&paths, "paths", nil, "a path to invalidate (repeatable), e.g. /index.html or /assets/*")
	cmd.Flags().StringVar(&changes, "changes", "", "file with the changed keys: the JSON of `keyless deploy s3 --output json`, or one key per line")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and create nothing")
	auth.register(cmd.Flags())
	return cmd
}

func newDeploySiteCmd(s Streams) *cobra.Command {
	var auth deployAuth
	var sf syncFlags
	var inf invalidateFlags
	var bucketFlag string
	cmd := &cobra.Command{
		Use:   "site --bucket BUCKET[/PREFIX] --distribution-id ID LOCAL_PATH",
		Short: "The seed pipeline in one command: sync by content, then invalidate exactly what changed",
		Long: `Log in with the step's OIDC token when a role is given (--role-arn, AWS_ROLE_ARN or
AWS_OIDC_ROLE_ARN), sync LOCAL_PATH to the bucket as ` + "`keyless deploy s3`" + ` does, then
invalidate on the distribution exactly the paths that changed or were deleted, planned
as ` + "`keyless deploy invalidate`" + ` plans them, knowing the whole site; --wait waits for
it to complete. Nothing changed: nothing is invalidated.`,
		Example: `  keyless deploy site --bucket www.example.com --distribution-id E2QWRUHAPOMQZL ./public \
    --cache-control 'index.html=no-cache' --delete --wait`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if bucketFlag == "" || inf.distributionID == "" {
				return errors.New("--bucket and --distribution-id are required")
			}
			bucket, prefix, err := parseS3URL("s3://" + strings.TrimPrefix(bucketFlag, "s3://"))
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cfg, log, err := auth.config(ctx, s)
			if err != nil {
				return err
			}
			o, err := sf.options(args[0], bucket, prefix, log)
			if err != nil {
				return err
			}
			res, err := sf.runSync(ctx, s, auth.s3Client(cfg, o.Concurrency), o)
			if err != nil {
				return err
			}
			changed := append(append([]string{}, res.Changed...), res.Deleted...)
			cf := cloudfront.NewFromConfig(cfg)
			fs := cmd.Flags()
			origin, root := inf.distributionLayout(ctx, cf, bucket, fs.Changed("origin-path"), fs.Changed("default-root-object"), log)
			plan, err := invalidation.NewPlan(changed, invalidation.Options{OriginPath: origin, DefaultRootObject: root, All: res.Keys})
			if err != nil {
				return err
			}
			if res.DryRun {
				printDryRunPlan(s, plan)
				return nil
			}
			return inf.invalidate(ctx, s, cf, plan, log)
		},
	}
	cmd.Flags().StringVar(&bucketFlag, "bucket", "", "destination bucket, optionally with a prefix: BUCKET or BUCKET/PREFIX (required)")
	sf.register(cmd.Flags())
	inf.register(cmd.Flags())
	auth.register(cmd.Flags())
	return cmd
}

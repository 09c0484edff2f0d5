package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// deploySite writes the seed site's tree under dir: pages, assets, a nested
// index, a source map the pipeline excludes.
func deploySite(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{
		"index.html":         "<h1>home v1</h1>\n",
		"about.html":         "<h1>about</h1>\n",
		"docs/index.html":    "<h1>docs</h1>\n",
		"docs/guide.html":    "<h1>guide</h1>\n",
		"assets/app.js":      "console.log('v1');\n",
		"assets/app.js.map":  "{}\n",
		"assets/site.css":    "body{color:#111}\n",
		"data/config.json":   "{\"v\":1}\n",
		"img/logo.svg":       "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n",
		"fonts/inter.woff2":  "wOF2-not-really\n",
		"robots.txt":         "User-agent: *\n",
		"blog/2026/hello.md": "# hello\n",
	}
	for i := range 20 {
		files[fmt.Sprintf("blog/2026/post-%02d.html", i)] = fmt.Sprintf("<p>post %d</p>\n", i)
	}
	for name, body := range files {
		writeFile(t, filepath.Join(dir, name), body)
	}
	return files
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// s3Writes counts the S3 PutObject and CopyObject calls keyless up audited in
// out (its stderr from some offset), by key, leaving out the deploy manifest.
func s3Writes(out string) (puts, copies []string) {
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "msg=audit") || !strings.Contains(line, "service=s3") || !strings.Contains(line, "decision=Allowed") {
			continue
		}
		key := ""
		if _, rest, ok := strings.Cut(line, "role=arn:aws:s3:::site/"); ok {
			key, _, _ = strings.Cut(rest, " ")
		}
		if key == "" || strings.HasSuffix(key, ".keyless-deploy.json") {
			continue
		}
		switch {
		case strings.Contains(line, "action=PutObject "):
			puts = append(puts, key)
		case strings.Contains(line, "action=CopyObject "):
			copies = append(copies, key)
		}
	}
	slices.Sort(puts)
	slices.Sort(copies)
	return puts, copies
}

// TestDeploySite is issue 11 end to end, from the built binary against keyless up,
// under the OIDC role the s3-deploy and cloudfront-invalidate templates provision:
// the seed's pipe step (`keyless pipe aws-s3-deploy`, environment only, as a
// Bitbucket step runs it) uploads everything once; a re-run and a re-run after
// touching every file (a fresh CI checkout) make no PUT; after changing two files,
// `keyless deploy s3` makes exactly two PUTs, the distribution keeps serving the old
// pages until `keyless deploy invalidate --changes` has invalidated exactly their
// paths and completed; `keyless deploy site` does it all in one command; and
// `keyless pipe aws-cloudfront-invalidate` invalidates from its variables.
func TestDeploySite(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "keyless.json")
	if err := os.WriteFile(cfgPath, []byte(`{"audit": {"data_events": "all"}, "cloudfront": {"invalidation_delay": "1s", "distributions": [
		{"id": "`+siteDist+`", "bucket": "site", "default_root_object": "index.html", "default_ttl": "1h"}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, t.TempDir(), "--config", cfgPath)
	ctx := context.Background()
	root := s3.NewFromConfig(rootConfig(p), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("site")}); err != nil {
		t.Fatalf("CreateBucket site: %v", err)
	}
	roleARN := applyDeployRole(t, p)
	site := t.TempDir()
	files := deploySite(t, site)

	// The step's environment: the endpoints of keyless up, the pipes' variables
	// and the step's OIDC token; no credentials of any other kind.
	step := func(extra ...string) []string {
		token := mintJSON(t, p.env, "--repository", "web", "--environment", "production").Token
		env := cleanEnv()
		for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_CLOUDFRONT"} {
			env = append(env, k+"="+p.env[k])
		}
		return append(env, append([]string{
			"AWS_DEFAULT_REGION=us-east-1",
			"AWS_OIDC_ROLE_ARN=" + roleARN,
			"BITBUCKET_STEP_OIDC_TOKEN=" + token,
			"BITBUCKET_REPO_SLUG=web", "BITBUCKET_BUILD_NUMBER=7",
		}, extra...)...)
	}
	pipeVars := []string{
		"S3_BUCKET=site", "LOCAL_PATH=" + site, "DELETE_FLAG=true",
		"CACHE_CONTROL=max-age=300",
		`EXTRA_ARGS=--exclude "*.map"`,
	}
	deployed := func(what string, env []string, args ...string) (string, []string, []string) {
		t.Helper()
		mark := len(p.settledStderr())
		out, errOut, code := run(t, env, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", what, code, out, errOut)
		}
		puts, copies := s3Writes(p.settledStderr()[mark:])
		return out, puts, copies
	}

	// 1. The first deploy uploads every file but the excluded map.
	out, puts, _ := deployed("first pipe run", step(pipeVars...), "pipe", "aws-s3-deploy")
	if !strings.Contains(out, "✔ Deployment successful.") {
		t.Errorf("pipe output has no success line:\n%s", out)
	}
	var want []string
	for name := range files {
		if !strings.HasSuffix(name, ".map") {
			want = append(want, name)
		}
	}
	slices.Sort(want)
	if !slices.Equal(puts, want) {
		t.Errorf("first deploy PUT %d keys %v, want the %d files %v", len(puts), puts, len(want), want)
	}
	checkObject := func(key, body, contentType, cacheControl string) {
		t.Helper()
		o, err := root.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("site"), Key: aws.String(key)})
		if err != nil {
			t.Errorf("GetObject %s: %v", key, err)
			return
		}
		b, _ := io.ReadAll(o.Body)
		o.Body.Close()
		if string(b) != body || aws.ToString(o.ContentType) != contentType || aws.ToString(o.CacheControl) != cacheControl {
			t.Errorf("%s = %q (%s, Cache-Control %q), want %q (%s, %q)", key, b, aws.ToString(o.ContentType), aws.ToString(o.CacheControl), body, contentType, cacheControl)
		}
	}
	checkObject("index.html", files["index.html"], "text/html", "max-age=300")
	checkObject("assets/app.js", files["assets/app.js"], "text/javascript", "max-age=300")
	checkObject("img/logo.svg", files["img/logo.svg"], "image/svg+xml", "max-age=300")

	// 2. Nothing changed: no PUT. 3. Every file touched: no PUT.
	if _, puts, copies := deployed("re-run", step(pipeVars...), "pipe", "aws-s3-deploy"); len(puts)+len(copies) != 0 {
		t.Errorf("re-run with nothing changed: PUT %v, copied %v; want none", puts, copies)
	}
	later := time.Now().Add(time.Hour)
	for name := range files {
		if err := os.Chtimes(filepath.Join(site, name), later, later); err != nil {
			t.Fatal(err)
		}
	}
	if _, puts, copies := deployed("re-run after touch", step(pipeVars...), "pipe", "aws-s3-deploy"); len(puts)+len(copies) != 0 {
		t.Errorf("re-run after touching every file: PUT %v, copied %v; want none", puts, copies)
	}

	// The distribution serves (and caches for an hour) the first version.
	edge := func(path string) string {
		t.Helper()
		resp, err := http.Get(p.env["KEYLESS_ENDPOINT"] + "/keyless/v1/cloudfront/" + siteDist + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := edge("/"); got != files["index.html"] {
		t.Fatalf("distribution / = %q, want %q", got, files["index.html"])
	}
	if got := edge("/assets/app.js"); got != files["assets/app.js"] {
		t.Fatalf("distribution /assets/app.js = %q", got)
	}

	// 4. Two files change: exactly two PUTs; the edge still serves the old ones.
	writeFile(t, filepath.Join(site, "index.html"), "<h1>home v2</h1>\n")
	writeFile(t, filepath.Join(site, "assets/app.js"), "console.log('v2');\n")
	syncArgs := []string{"deploy", "s3", site, "s3://site", "--delete", "--exclude", "*.map",
		"--cache-control", "max-age=300", "--output", "json"}
	out, puts, _ = deployed("deploy s3 after two edits", step(), syncArgs...)
	if want := []string{"assets/app.js", "index.html"}; !slices.Equal(puts, want) {
		t.Errorf("after two edits PUT %v, want %v", puts, want)
	}
	var sum struct {
		Uploaded int      `json:"uploaded"`
		Changed  []string `json:"changed"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Uploaded != 2 {
		t.Fatalf("deploy s3 --output json: %v, uploaded %d\n%s", err, sum.Uploaded, out)
	}
	changes := filepath.Join(t.TempDir(), "changes.json")
	if err := os.WriteFile(changes, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := edge("/"); got != files["index.html"] {
		t.Errorf("before the invalidation the distribution serves %q for /, want the cached %q", got, files["index.html"])
	}

	// 5. The invalidation of exactly their paths; once it completed, the new pages.
	out, _, _ = deployed("deploy invalidate", step(), "deploy", "invalidate", "--distribution-id", siteDist,
		"--changes", changes, "--wait", "--poll-interval", "200ms")
	if !strings.Contains(out, "completed") {
		t.Errorf("deploy invalidate --wait output: %q", out)
	}
	cf := cloudfront.NewFromConfig(rootConfig(p))
	paths := latestInvalidation(t, cf)
	if want := []string{"/", "/assets/app.js", "/index.html"}; !slices.Equal(paths, want) {
		t.Errorf("invalidated %v, want exactly %v", paths, want)
	}
	if got := edge("/"); got != "<h1>home v2</h1>\n" {
		t.Errorf("after the invalidation / = %q, want the new page", got)
	}
	if got := edge("/assets/app.js"); got != "console.log('v2');\n" {
		t.Errorf("after the invalidation /assets/app.js = %q, want the new script", got)
	}

	// 6. deploy site: one page changes, one is deleted; one command syncs and
	// invalidates exactly those.
	writeFile(t, filepath.Join(site, "about.html"), "<h1>about v2</h1>\n")
	if err := os.Remove(filepath.Join(site, "robots.txt")); err != nil {
		t.Fatal(err)
	}
	_, puts, _ = deployed("deploy site", step(), "deploy", "site", "--bucket", "site", "--distribution-id", siteDist, site,
		"--delete", "--exclude", "*.map", "--cache-control", "max-age=300",
		"--wait", "--poll-interval", "200ms")
	if want := []string{"about.html"}; !slices.Equal(puts, want) {
		t.Errorf("deploy site PUT %v, want %v", puts, want)
	}
	if paths := latestInvalidation(t, cf); !slices.Equal(paths, []string{"/about.html", "/robots.txt"}) {
		t.Errorf("deploy site invalidated %v, want [/about.html /robots.txt]", paths)
	}
	if _, err := root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("site"), Key: aws.String("robots.txt")}); err == nil {
		t.Error("robots.txt, deleted locally, is still in the bucket")
	}

	// 7. The invalidate pipe, from its variables alone.
	out, _, _ = deployed("invalidate pipe", step("DISTRIBUTION_ID="+siteDist, "PATHS=/index.html /docs/*", "WAIT=true"),
		"pipe", "aws-cloudfront-invalidate")
	if !strings.Contains(out, "✔") {
		t.Errorf("invalidate pipe output has no success line:\n%s", out)
	}
	if paths := latestInvalidation(t, cf); !slices.Equal(paths, []string{"/docs/*", "/index.html"}) {
		t.Errorf("invalidate pipe invalidated %v, want [/docs/* /index.html]", paths)
	}

	// A pipe step without `oidc: true` fails as the pipes do: a ✖ line, exit 1.
	env := step(pipeVars...)
	for i, kv := range env {
		if strings.HasPrefix(kv, "BITBUCKET_STEP_OIDC_TOKEN=") {
			env = slices.Delete(env, i, i+1)
			break
		}
	}
	_, errOut, code := run(t, env, "pipe", "aws-s3-deploy")
	if code != 1 || !strings.Contains(errOut, "✖") || !strings.Contains(errOut, "oidc: true") {
		t.Errorf("pipe without the step token: exit %d, stderr %q; want 1 and a ✖ line naming oidc: true", code, errOut)
	}
}

// latestInvalidation returns the sorted paths of the distribution's newest
// invalidation.
func latestInvalidation(t *testing.T, cf *cloudfront.Client) []string {
	t.Helper()
	ctx := context.Background()
	list, err := cf.ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{DistributionId: aws.String(siteDist)})
	if err != nil || list.InvalidationList == nil || len(list.InvalidationList.Items) == 0 {
		t.Fatalf("ListInvalidations: %v", err)
	}
	newest := list.InvalidationList.Items[0]
	for _, it := range list.InvalidationList.Items {
		if aws.ToTime(it.CreateTime).After(aws.ToTime(newest.CreateTime)) {
			newest = it
		}
	}
	inv, err := cf.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(siteDist), Id: newest.Id})
	if err != nil {
		t.Fatalf("GetInvalidation: %v", err)
	}
	paths := slices.Clone(inv.Invalidation.InvalidationBatch.Paths.Items)
	slices.Sort(paths)
	return paths
}

// TestDeployMotoSameContent deploys the same tree with the same flags to keyless
// up and to moto's S3 server (a third-party S3): both buckets end with the same
// keys, bytes, ETags and headers.
func TestDeployMotoSameContent(t *testing.T) {
	motoURL, _ := startMoto(t)
	p := startUp(t, t.TempDir())
	site := t.TempDir()
	deploySite(t, site)
	ctx := context.Background()
	targets := []struct {
		name     string
		endpoint string
		cfg      aws.Config
	}{
		{"keyless", p.env["KEYLESS_ENDPOINT"], rootConfig(p)},
		{"moto", motoURL, aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(motoURL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIAMOTOEXAMPLE00000", "moto-accepts-any-secret", "")}},
	}
	type object struct{ etag, body, contentType, cacheControl, contentEncoding string }
	contents := map[string]map[string]object{}
	for _, tg := range targets {
		client := s3.NewFromConfig(tg.cfg, func(o *s3.Options) { o.UsePathStyle = true })
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("same")}); err != nil {
			t.Fatalf("%s: CreateBucket: %v", tg.name, err)
		}
		creds, _ := tg.cfg.Credentials.Retrieve(ctx)
		env := append(cleanEnv(), "AWS_ENDPOINT_URL_S3="+tg.endpoint, "AWS_DEFAULT_REGION=us-east-1",
			"AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey)
		if out, errOut, code := run(t, env, "deploy", "s3", site, "s3://same/www", "--exclude", "*.map",
			"--cache-control", "max-age=60", "--cache-control", "*.html=no-cache", "--gzip", "*.css,*.svg", "--quiet"); code != 0 {
			t.Fatalf("%s: deploy s3: exit %d\n%s%s", tg.name, code, out, errOut)
		}
		got := map[string]object{}
		list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("same")})
		if err != nil {
			t.Fatalf("%s: ListObjectsV2: %v", tg.name, err)
		}
		for _, o := range list.Contents {
			key := aws.ToString(o.Key)
			g, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("same"), Key: o.Key})
			if err != nil {
				t.Fatalf("%s: GetObject %s: %v", tg.name, key, err)
			}
			b, _ := io.ReadAll(g.Body)
			g.Body.Close()
			if strings.HasSuffix(key, ".keyless-deploy.json") {
				b = nil // the manifest records times; its presence is what matters
			}
			got[key] = object{aws.ToString(o.ETag), string(b), aws.ToString(g.ContentType), aws.ToString(g.CacheControl), aws.ToString(g.ContentEncoding)}
		}
		contents[tg.name] = got
	}
	k, m := contents["keyless"], contents["moto"]
	if len(k) != len(m) || len(k) < 30 {
		t.Errorf("keyless has %d objects, moto %d", len(k), len(m))
	}
	for key, want := range k {
		if got, ok := m[key]; !ok {
			t.Errorf("moto lacks %s", key)
		} else if got != want && !strings.HasSuffix(key, ".keyless-deploy.json") {
			t.Errorf("%s: moto has %+v, keyless %+v", key, got, want)
		}
	}
	if o := k["www/img/logo.svg"]; o.contentEncoding != "gzip" || o.cacheControl != "max-age=60" {
		t.Errorf("www/img/logo.svg: %+v, want gzip and max-age=60", o)
	}
}

// TestDeployMissingBucket: a deploy to a bucket that does not exist fails
// with S3's error and says what to do.
func TestDeployMissingBucket(t *testing.T) {
	p := startUp(t, t.TempDir())
	site := t.TempDir()
	writeFile(t, filepath.Join(site, "index.html"), "hi\n")
	_, errOut, code := run(t, withEnv(p.env), "deploy", "s3", site, "s3://no-such-bucket")
	if code != 1 || !strings.Contains(errOut, "NoSuchBucket") || !strings.Contains(errOut, "hint: bucket no-such-bucket does not exist") {
		t.Errorf("exit %d, stderr %q; want 1, NoSuchBucket and a hint", code, errOut)
	}
}

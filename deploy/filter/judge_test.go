package filter

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// TestFilterMatchesAWSCLI is the judge: for each combination of --exclude and
// --include it runs the real `aws s3 sync --dryrun --delete` from a tree of
// files to a prefix of a bucket in moto's S3 that holds other, remote-only
// objects, and asserts that Filter selects exactly the files aws uploads and
// exactly the objects it deletes.
func TestFilterMatchesAWSCLI(t *testing.T) {
	aws := testenv.LookPath(t, "aws")
	py := testenv.Python3(t, "moto.server")
	endpoint := startMoto(t, py)
	env := awsEnv(t)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(aws, append(args, "--endpoint-url", endpoint)...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("aws %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}

	dir := t.TempDir()
	site, remote := filepath.Join(dir, "site"), filepath.Join(dir, "remote")
	local := []string{
		"index.html", "about/index.html", "assets/app.js", "assets/app.js.map", "assets/app.css",
		"assets/vendor/lib.min.js", "assets/img/logo.png", "assets/img/Logo.PNG", ".well-known/security.txt",
		".DS_Store", "docs/.DS_Store", "docs/readme.md", "docs/a[1].txt", "docs/a1.txt", "docs/[abc",
		"data/x.json", "node_modules/pkg/index.js", "sp ace.txt", "über/ü.txt", "deep/a/b/c/d.txt",
		"q?.txt", "robots.txt", "favicon.ico", "-dash.txt", "a]b.txt", "x_y.txt",
	}
	remoteOnly := []string{
		"old.html", "gone/index.html", "assets/old.js", "assets/old.js.map", "assets/img/old.png",
		"node_modules/old.js", "docs/old[1].txt", ".old-dotfile", "zz.txt", "über/alt.txt",
	}
	writeTree(t, site, local)
	writeTree(t, remote, remoteOnly)
	run("s3", "mb", "s3://judge")
	run("s3", "sync", remote, "s3://judge/site", "--only-show-errors")

	cases := [][]string{
		nil,
		{"--exclude", "*.map"},
		{"--exclude", "*", "--include", "*.html"},
		{"--include", "*.html", "--exclude", "*"},
		{"--exclude", "assets/*"},
		{"--exclude", "assets/*", "--include", "assets/*.css"},
		{"--exclude", "*/index.html"},
		{"--exclude", "index.html"},
		{"--exclude", "?ndex.html"},
		{"--exclude", "*.[jc]s*"},
		{"--exclude", "*[!a-z].txt"},
		{"--exclude", ".*", "--exclude", "*/.*"},
		{"--exclude", "node_modules/*", "--exclude", ".DS_Store", "--exclude", "*/.DS_Store"},
		{"--exclude", "docs/a[1].txt"},
		{"--exclude", "docs/a[[]1].txt"},
		{"--exclude", "docs/[abc"},
		{"--exclude", "*", "--include", "assets/img/*", "--exclude", "*.PNG"},
		{"--exclude", "/*"},
		{"--exclude", "*[z-a]*"},
		{"--exclude", "*ü*"},
		{"--exclude", "deep/*/c/*"},
		{"--exclude", "*/"},
		{"--exclude", "*[]-a]*"},
		{"--exclude=-*"},
		{"--exclude", "*", "--include", "*old*", "--exclude", "*.map"},
	}
	for _, filters := range cases {
		t.Run(strings.Join(filters, " "), func(t *testing.T) {
			args := append([]string{"s3", "sync", site, "s3://judge/site", "--dryrun", "--delete"}, filters...)
			uploads, deletes := parseDryRun(t, run(args...), "s3://judge/site/")
			f := filterFromArgs(t, filters)
			localSide, s3Side := f.Rooted(site), f.Rooted("judge/site")
			var gotUploads, gotDeletes, plainUploads, plainDeletes []string
			for _, rel := range local {
				if localSide.Included(rel) {
					gotUploads = append(gotUploads, rel)
				}
				if f.Included(rel) {
					plainUploads = append(plainUploads, rel)
				}
			}
			for _, rel := range remoteOnly {
				if s3Side.Included(rel) {
					gotDeletes = append(gotDeletes, rel)
				}
				if f.Included(rel) {
					plainDeletes = append(plainDeletes, rel)
				}
			}
			slices.Sort(gotUploads)
			slices.Sort(gotDeletes)
			slices.Sort(plainUploads)
			slices.Sort(plainDeletes)
			if !slices.Equal(gotUploads, uploads) {
				t.Errorf("uploads: Filter.Rooted(local root) selects\n  %q\naws s3 sync uploads\n  %q", gotUploads, uploads)
			}
			if !slices.Equal(gotDeletes, deletes) {
				t.Errorf("deletes: Filter.Rooted(bucket/prefix) selects\n  %q\naws s3 sync deletes\n  %q", gotDeletes, deletes)
			}
			// Without a root, Included is the same except for a pattern
			// beginning with '/', which aws matches against the absolute
			// local path.
			if !slices.Equal(plainDeletes, deletes) {
				t.Errorf("deletes: Filter.Included selects\n  %q\naws s3 sync deletes\n  %q", plainDeletes, deletes)
			}
			if !slices.Equal(plainUploads, uploads) && !slices.ContainsFunc(filters, func(s string) bool { return strings.HasPrefix(s, "/") }) {
				t.Errorf("uploads: Filter.Included selects\n  %q\naws s3 sync uploads\n  %q", plainUploads, uploads)
			}
		})
	}
}

// filterFromArgs builds a Filter from aws s3 sync's --exclude/--include
// arguments.
func filterFromArgs(t *testing.T, args []string) Filter {
	var f Filter
	for i := 0; i < len(args); i++ {
		flag, value, ok := strings.Cut(args[i], "=")
		if !ok {
			i++
			value = args[i]
		}
		switch flag {
		case "--exclude":
			f.Exclude(value)
		case "--include":
			f.Include(value)
		default:
			t.Fatalf("unexpected argument %q", args[i])
		}
	}
	return f
}

// parseDryRun returns the paths, relative to the source directory and to
// prefix, of aws s3 sync --dryrun's "(dryrun) upload: SRC to DST" and
// "(dryrun) delete: DST" lines, sorted.
func parseDryRun(t *testing.T, out, prefix string) (uploads, deletes []string) {
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case line == "":
		case strings.HasPrefix(line, "(dryrun) upload: "):
			i := strings.LastIndex(line, " to "+prefix)
			if i < 0 {
				t.Fatalf("unexpected upload line %q", line)
			}
			uploads = append(uploads, line[i+len(" to "+prefix):])
		case strings.HasPrefix(line, "(dryrun) delete: "+prefix):
			deletes = append(deletes, strings.TrimPrefix(line, "(dryrun) delete: "+prefix))
		default:
			t.Fatalf("unexpected line from aws s3 sync: %q", line)
		}
	}
	slices.Sort(uploads)
	slices.Sort(deletes)
	return uploads, deletes
}

func writeTree(t *testing.T, root string, files []string) {
	for _, rel := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("content of "+rel), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// awsEnv is the environment for the AWS CLI: dummy credentials, no shared
// config or credentials file, no instance metadata, no proxy, UTF-8 output.
func awsEnv(t *testing.T) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "KEYLESS_") || strings.HasPrefix(k, "BITBUCKET_") ||
			strings.EqualFold(k, "http_proxy") || strings.EqualFold(k, "https_proxy") || strings.EqualFold(k, "all_proxy") {
			continue
		}
		env = append(env, kv)
	}
	home := t.TempDir()
	return append(env, testenv.MetadataDisabledEnv,
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"NO_PROXY=127.0.0.1,localhost", "PYTHONIOENCODING=utf-8", "LC_ALL=C.UTF-8")
}

// startMoto starts moto's server on a free loopback port and returns its URL.
func startMoto(t *testing.T, py string) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	srv := exec.Command(py, "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	srv.Env = awsEnv(t)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return endpoint
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto server not up after 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// TestS3ObjectACLWithAWSCLI: with keyless up and the AWS CLI (aws s3api, root
// credentials), a bucket switched to ObjectWriter by put-bucket-ownership-controls
// (read back by get-bucket-ownership-controls) takes put-object --acl public-read;
// get-object-acl shows the owner's FULL_CONTROL and AllUsers READ; an unsigned
// GET of that object (Host acl-site.s3.localhost) reads it, audited as allowed,
// while one of a private object beside it is AccessDenied. On a bucket created
// with the defaults (BucketOwnerEnforced), put-object --acl public-read and
// put-object-acl --acl public-read fail with AccessControlListNotSupported, and
// get-object-acl shows the owner's FULL_CONTROL alone.
func TestS3ObjectACLWithAWSCLI(t *testing.T) {
	awsCLI := testenv.LookPath(t, "aws")
	p := startUp(t, t.TempDir(), "--config", allDataEventsConfig(t)) // the allowed anonymous read is audited
	endpoint := p.env["KEYLESS_ENDPOINT"]
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	clientEnv := rootCLIEnv(t, p)
	// s3api runs `aws s3api ARGS --output json` and returns its stdout and stderr.
	s3api := func(args ...string) (stdout, stderr string, err error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsCLI, append(append([]string{"s3api"}, args...), "--output", "json")...)
		cmd.Env = clientEnv
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err = cmd.Run()
		return out.String(), errOut.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, errOut, err := s3api(args...)
		if err != nil {
			t.Fatalf("aws s3api %s: %v\nstdout: %s\nstderr: %s\nserver: %s", strings.Join(args, " "), err, out, errOut, p.stderr)
		}
		return out
	}
	type aclOutput struct {
		Owner  struct{ ID string }
		Grants []struct {
			Grantee    struct{ Type, ID, URI string }
			Permission string
		}
	}
	objectACL := func(bucket, key string) (owner string, grants []string) {
		t.Helper()
		var acl aclOutput
		out := must("get-object-acl", "--bucket", bucket, "--key", key)
		if err := json.Unmarshal([]byte(out), &acl); err != nil {
			t.Fatalf("get-object-acl printed %q: %v", out, err)
		}
		for _, g := range acl.Grants {
			who := g.Grantee.ID
			if g.Grantee.Type == "Group" {
				who = g.Grantee.URI
			}
			grants = append(grants, fmt.Sprintf("%s:%s:%s", g.Grantee.Type, who, g.Permission))
		}
		return acl.Owner.ID, grants
	}
	// anonymous is an unsigned GET, as curl would send it to the virtual host.
	anonymous := func(bucket, key string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/"+key, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = bucket + ".s3.localhost:" + u.Port()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	work := t.TempDir()
	page := "<!doctype html><h1>public by ACL</h1>\n"
	file := filepath.Join(work, "index.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}

	// A bucket with ACLs enabled.
	must("create-bucket", "--bucket", "acl-site")
	must("put-bucket-ownership-controls", "--bucket", "acl-site", "--ownership-controls", "Rules=[{ObjectOwnership=ObjectWriter}]")
	var oc struct {
		OwnershipControls struct {
			Rules []struct{ ObjectOwnership string }
		}
	}
	if out := must("get-bucket-ownership-controls", "--bucket", "acl-site"); json.Unmarshal([]byte(out), &oc) != nil ||
		len(oc.OwnershipControls.Rules) != 1 || oc.OwnershipControls.Rules[0].ObjectOwnership != "ObjectWriter" {
		t.Fatalf("get-bucket-ownership-controls printed %q", out)
	}
	must("put-object", "--bucket", "acl-site", "--key", "index.html", "--body", file, "--acl", "public-read", "--content-type", "text/html")
	must("put-object", "--bucket", "acl-site", "--key", "private.html", "--body", file)
	owner, grants := objectACL("acl-site", "index.html")
	wantGrants := "CanonicalUser:" + owner + ":FULL_CONTROL Group:http://acs.amazonaws.com/groups/global/AllUsers:READ"
	if len(owner) != 64 || strings.Join(grants, " ") != wantGrants {
		t.Errorf("get-object-acl of the public-read object: owner %q, grants %v; want %s", owner, grants, wantGrants)
	}
	if code, body := anonymous("acl-site", "index.html"); code != 200 || body != page {
		t.Errorf("anonymous GET of the public-read object: %d %s\nserver: %s", code, body, p.stderr)
	}
	if code, body := anonymous("acl-site", "private.html"); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Errorf("anonymous GET of the private object: %d %s", code, body)
	}

	// A bucket with the defaults: ACLs disabled.
	must("create-bucket", "--bucket", "acl-default")
	_, errOut, err := s3api("put-object", "--bucket", "acl-default", "--key", "index.html", "--body", file, "--acl", "public-read")
	if err == nil || !strings.Contains(errOut, "(AccessControlListNotSupported) when calling the PutObject operation: The bucket does not allow ACLs") {
		t.Errorf("put-object --acl public-read on a default bucket: %v\n%s", err, errOut)
	}
	must("put-object", "--bucket", "acl-default", "--key", "index.html", "--body", file)
	_, errOut, err = s3api("put-object-acl", "--bucket", "acl-default", "--key", "index.html", "--acl", "public-read")
	if err == nil || !strings.Contains(errOut, "(AccessControlListNotSupported) when calling the PutObjectAcl operation: The bucket does not allow ACLs") {
		t.Errorf("put-object-acl --acl public-read on a default bucket: %v\n%s", err, errOut)
	}
	if o, g := objectACL("acl-default", "index.html"); o != owner || strings.Join(g, " ") != "CanonicalUser:"+owner+":FULL_CONTROL" {
		t.Errorf("get-object-acl on a default bucket: owner %q, grants %v", o, g)
	}
	if code, _ := anonymous("acl-default", "index.html"); code != 403 {
		t.Errorf("anonymous GET on a default bucket: %d", code)
	}

	var allowed bool
	for _, line := range strings.Split(p.settledStderr(), "\n") {
		if strings.Contains(line, "msg=audit") && strings.Contains(line, "service=s3") && strings.Contains(line, "action=GetObject") &&
			strings.Contains(line, "decision=Allowed") && !strings.Contains(line, "caller=arn:") && strings.Contains(line, "role=arn:aws:s3:::acl-site/index.html") {
			allowed = true
		}
	}
	if !allowed {
		t.Errorf("no audit event of the anonymous read allowed by the object ACL\n%s", p.stderr)
	}
}

package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	_ "modernc.org/sqlite" // to check the database after the drill
)

// mountTmpfs mounts a tmpfs of the given size on a new directory until the test
// ends, or skips the test when this process may not mount.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("the disk-full drill mounts a small tmpfs, which this process may not do (it needs root or CAP_SYS_ADMIN): mount: %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file in dir until the file system has no space left, and returns
// its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for size := len(buf); size > 0; {
		if _, err := f.Write(buf[:size]); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			size /= 2
		}
	}
	return path
}

// TestFaultDiskFull fills the file system of a SQLite data directory under a running
// keyless up: writes get an AWS-shaped ServiceUnavailable (503) and the log says the
// disk is full, what failed was not written, reads and token exchanges go on, and
// once space is freed writes succeed again with no restart; the database passes
// SQLite's integrity check and opens again.
func TestFaultDiskFull(t *testing.T) {
	data := mountTmpfs(t, "24m")
	p := startUp(t, data)
	ctx := context.Background()
	m := mintJSON(t, p.env, "--repository", "web")
	roleARN := webIdentityRole(t, p, "deploy", m.Claims["repositoryUuid"].(string))
	endpoint := p.env["KEYLESS_ENDPOINT"]
	// Writes without retries, so that each one's own answer is seen; reads with
	// the SDK's standard retries, which every client has and which absorb the
	// SDK's rare "use of closed network connection" race on a good response
	// (aws/aws-sdk-go-v2#1825): what is checked there is what the store holds.
	iamC := iam.NewFromConfig(noRetry(rootConfig(p)))
	reads := iam.NewFromConfig(rootConfig(p))

	filler := fill(t, data)
	// SQLite may still have room in pages it holds: write until a call fails.
	created, failed := 0, ""
	for i := 0; i < 2000 && failed == ""; i++ {
		name := fmt.Sprintf("full-%04d", i)
		_, err := iamC.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(otherTrust(p)),
			Description: aws.String(strings.Repeat("d", 1000))})
		if err == nil {
			created++
			continue
		}
		failed = name
		if code, status := apiError(err); code != "ServiceUnavailable" || status != http.StatusServiceUnavailable {
			t.Fatalf("CreateRole on a full disk: %v (code %q, status %d), want ServiceUnavailable 503", err, code, status)
		}
	}
	if failed == "" {
		t.Fatalf("%d CreateRole calls succeeded on a full disk", created)
	}
	t.Logf("%d CreateRole calls succeeded on the full disk, then %s got ServiceUnavailable", created, failed)
	if logs := p.settledStderr(); !strings.Contains(logs, "disk full") {
		t.Errorf("the log does not say the disk is full:\n%s", tail(logs, 20))
	}
	if _, err := reads.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("deploy")}); err != nil {
		t.Errorf("GetRole (a read) on a full disk: %v", err)
	}
	if _, err := exchange(ctx, endpoint, roleARN, "full", m.Token); err != nil {
		t.Errorf("token exchange on a full disk: %v", err)
	}
	if _, err := reads.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(failed)}); err == nil {
		t.Errorf("role %s, whose CreateRole failed, exists", failed)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, err := iamC.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(failed), AssumeRolePolicyDocument: aws.String(otherTrust(p))}); err != nil {
		t.Errorf("CreateRole once space was freed: %v", err)
	}
	roles, err := iam.NewListRolesPaginator(reads, &iam.ListRolesInput{}).NextPage(ctx)
	if err != nil {
		t.Fatalf("ListRoles once space was freed: %v\nkeyless up (exited: %s):\n%s", err, p.exited(), tail(p.stderr.String(), 20))
	}
	if want := created + 2; len(roles.Roles) != want { // + deploy and the retried one
		t.Errorf("%d roles after the drill, want %d", len(roles.Roles), want)
	}
	if err := p.stop(); err != nil {
		t.Fatalf("keyless up after the drill: %v\n%s", err, tail(p.stderr.String(), 20))
	}

	db, err := sql.Open("sqlite", filepath.Join(data, "keyless.db"))
	if err != nil {
		t.Fatal(err)
	}
	var check string
	err = db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check)
	db.Close()
	if err != nil || check != "ok" {
		t.Errorf("integrity_check after the drill: %q, %v", check, err)
	}
	again := startUp(t, data)
	if _, err := iam.NewFromConfig(noRetry(rootConfig(again))).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(failed)}); err != nil {
		t.Errorf("GetRole after a restart on the data directory: %v", err)
	}
}

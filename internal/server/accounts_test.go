package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5"

	"github.com/keyless-dev/keyless/store/postgres/pgtest"
)

// twoAccounts declares accounts B (named) and C (unnamed) beside the first, 000000000000.
var twoAccounts = []AccountConfig{{ID: "222222222222", Name: "deploy-b"}, {ID: "333333333333"}}

// TestAccountsConfigRefused: a bad accounts list is refused with an error naming
// the entry and what to do, before the data directory is touched.
func TestAccountsConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		accounts []AccountConfig
		want     string
	}{
		{"short id", []AccountConfig{{ID: "22222"}}, `config: accounts[0]: id "22222" is not an AWS account id: give 12 digits, such as "222222222222"`},
		{"letters", []AccountConfig{{ID: "22222222222a"}}, `config: accounts[0]: id "22222222222a" is not an AWS account id`},
		{"missing id", []AccountConfig{{Name: "b"}}, `config: accounts[0]: id "" is not an AWS account id`},
		{"first account", []AccountConfig{{ID: "000000000000"}}, "config: accounts[0]: id 000000000000 is account_id, the first account, which needs no entry: list only the further accounts"},
		{"twice", []AccountConfig{{ID: "222222222222"}, {ID: "333333333333"}, {ID: "222222222222"}}, "config: accounts[2]: id 222222222222 is listed twice (also accounts[0]): give each account once"},
		{"long name", []AccountConfig{{ID: "222222222222", Name: strings.Repeat("n", 51)}}, "config: accounts[0]: name \"" + strings.Repeat("n", 51) + "\": use at most 50 printable characters"},
		{"control character", []AccountConfig{{ID: "222222222222", Name: "a\nb"}}, `config: accounts[0]: name "a\nb": use at most 50 printable characters`},
		{"name twice", []AccountConfig{{ID: "222222222222", Name: "b"}, {ID: "333333333333", Name: "b"}}, `config: accounts[1]: name "b" is also accounts[0]'s: give each account its own name`},
		{"name of digits", []AccountConfig{{ID: "222222222222", Name: "333333333333"}}, `config: accounts[0]: name "333333333333" would read as an account id: give a name that is not 12 digits`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			_, err := Start(t.Context(), Options{Config: Config{Listen: "127.0.0.1:0", Accounts: tc.accounts}, DataDir: dir, Getenv: noEnv})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("Start: %v\nwant an error beginning %s", err, tc.want)
			}
			if exists(dir) {
				t.Errorf("the refused start created %s", dir)
			}
		})
	}
	if err := validateAccounts("000000000000", twoAccounts); err != nil {
		t.Errorf("valid accounts refused: %v", err)
	}
}

// TestAccountsBootstrap: each further account gets a private store in
// DIR/accounts/<id> with its own root credentials, kept across restarts, while
// DIR/env keeps the first account's; ListAccounts (keyless accounts) reads them
// back from the stopped server's directory.
func TestAccountsBootstrap(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Accounts: twoAccounts}
	s := startTest(t, dir, cfg, noEnv, nil)
	got := s.Accounts()
	if len(got) != 3 || got[0].ID != "000000000000" || !got[0].First || got[1].ID != "222222222222" || got[1].Name != "deploy-b" || got[2].ID != "333333333333" {
		t.Fatalf("Accounts() = %+v", got)
	}
	keys := map[string]bool{}
	for _, a := range got {
		if !strings.HasPrefix(a.Root.AccessKeyID, "AKIA") || len(a.Root.SecretAccessKey) < 40 || keys[a.Root.AccessKeyID] {
			t.Errorf("account %s: root key %q is not a fresh AKIA key with a secret", a.ID, a.Root.AccessKeyID)
		}
		keys[a.Root.AccessKeyID] = true
	}
	if got[0].Root != s.Root() {
		t.Errorf("the first account's root credentials %s are not Root() %s", got[0].Root.AccessKeyID, s.Root().AccessKeyID)
	}
	env, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(env), "KEYLESS_ROOT_ACCESS_KEY_ID="+s.Root().AccessKeyID+"\n") || strings.Contains(string(env), got[1].Root.AccessKeyID) {
		t.Errorf("DIR/env does not hold the first account's root key alone:\n%s", env)
	}
	for _, id := range []string{"222222222222", "333333333333"} {
		for path, mode := range map[string]os.FileMode{
			filepath.Join(dir, AccountsDir):                os.ModeDir | 0o700,
			filepath.Join(dir, AccountsDir, id):            os.ModeDir | 0o700,
			filepath.Join(dir, AccountsDir, id, StoreFile): 0o600,
		} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != mode {
				t.Errorf("%s: mode %v, want %v", path, fi.Mode(), mode)
			}
		}
	}
	stopTest(t, s)

	listed, err := ListAccounts(t.Context(), dir, "", noEnv)
	if err != nil {
		t.Fatalf("ListAccounts: %v", err)
	}
	if len(listed) != len(got) {
		t.Fatalf("ListAccounts = %+v, want %+v", listed, got)
	}
	for i := range got {
		if listed[i] != got[i] {
			t.Errorf("ListAccounts[%d] = %s %q %s, want %s %q %s", i, listed[i].ID, listed[i].Name, listed[i].Root.AccessKeyID, got[i].ID, got[i].Name, got[i].Root.AccessKeyID)
		}
	}

	s = startTest(t, dir, cfg, noEnv, nil)
	for i, a := range s.Accounts() {
		if a.Root != got[i].Root {
			t.Errorf("after a restart, account %s has root key %s, was %s", a.ID, a.Root.AccessKeyID, got[i].Root.AccessKeyID)
		}
	}
}

// TestAccountStoreOfAnotherAccount: a store under DIR/accounts/<id> that belongs to
// another account is refused, not served as <id>.
func TestAccountStoreOfAnotherAccount(t *testing.T) {
	dir := t.TempDir()
	s := startTest(t, dir, Config{Accounts: []AccountConfig{{ID: "222222222222"}}}, noEnv, nil)
	stopTest(t, s)
	if err := os.Rename(filepath.Join(dir, AccountsDir, "222222222222"), filepath.Join(dir, AccountsDir, "444444444444")); err != nil {
		t.Fatal(err)
	}
	_, err := Start(t.Context(), Options{Config: Config{Listen: "127.0.0.1:0", Accounts: []AccountConfig{{ID: "444444444444"}}}, DataDir: dir, Getenv: noEnv})
	want := "account 444444444444: this data directory belongs to account 222222222222, not 444444444444"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Start: %v\nwant an error beginning %s", err, want)
	}
}

// sdkConfig is an AWS SDK config for the server's endpoint with root credentials.
func sdkConfig(s *Server, root RootCredentials) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider(root.AccessKeyID, root.SecretAccessKey, "")}
}

// TestAccountsIsolated: the root key and IAM user keys of each account
// authenticate to that account; IAM roles and secrets made in one account are
// not seen in another; CloudFront refuses callers of a further account.
func TestAccountsIsolated(t *testing.T) {
	s := startTest(t, t.TempDir(), Config{Accounts: twoAccounts}, noEnv, nil)
	accts := s.Accounts()
	a, b := accts[0], accts[1]
	ctx := t.Context()
	for _, acct := range accts {
		id, err := sts.NewFromConfig(sdkConfig(s, acct.Root)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("GetCallerIdentity as root of %s: %v", acct.ID, err)
		}
		if aws.ToString(id.Account) != acct.ID || aws.ToString(id.Arn) != "arn:aws:iam::"+acct.ID+":root" {
			t.Errorf("root of %s is %s (%s)", acct.ID, aws.ToString(id.Arn), aws.ToString(id.Account))
		}
	}

	iamA, iamB := iam.NewFromConfig(sdkConfig(s, a.Root)), iam.NewFromConfig(sdkConfig(s, b.Root))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sts:AssumeRole"}]}`
	role, err := iamB.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("only-in-b"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatalf("CreateRole in B: %v", err)
	}
	if got := aws.ToString(role.Role.Arn); got != "arn:aws:iam::222222222222:role/only-in-b" {
		t.Errorf("role made in B has ARN %s", got)
	}
	var nse interface{ ErrorCode() string }
	if _, err := iamA.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("only-in-b")}); !errors.As(err, &nse) || nse.ErrorCode() != "NoSuchEntity" {
		t.Errorf("GetRole in A of B's role: %v, want NoSuchEntity", err)
	}

	// An IAM user's key of B authenticates as that user of B.
	if _, err := iamB.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ci")}); err != nil {
		t.Fatal(err)
	}
	key, err := iamB.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ci")})
	if err != nil {
		t.Fatal(err)
	}
	user := RootCredentials{AccessKeyID: aws.ToString(key.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(key.AccessKey.SecretAccessKey)}
	id, err := sts.NewFromConfig(sdkConfig(s, user)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:iam::222222222222:user/ci" || aws.ToString(id.Account) != "222222222222" {
		t.Errorf("GetCallerIdentity with B's user key: %+v, %v", id, err)
	}

	smA, smB := secretsmanager.NewFromConfig(sdkConfig(s, a.Root)), secretsmanager.NewFromConfig(sdkConfig(s, b.Root))
	sec, err := smB.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("b-secret"), SecretString: aws.String("v")})
	if err != nil {
		t.Fatalf("CreateSecret in B: %v", err)
	}
	if !strings.HasPrefix(aws.ToString(sec.ARN), "arn:aws:secretsmanager:us-east-1:222222222222:secret:b-secret-") {
		t.Errorf("secret made in B has ARN %s", aws.ToString(sec.ARN))
	}
	if _, err := smA.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("b-secret")}); !errors.As(err, &nse) || nse.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("GetSecretValue in A of B's secret: %v, want ResourceNotFoundException", err)
	}

	var ae smithy.APIError
	_, err = cloudfront.NewFromConfig(sdkConfig(s, b.Root)).ListDistributions(ctx, &cloudfront.ListDistributionsInput{})
	want := "keyless serves CloudFront in account 000000000000 only: credentials of account 222222222222 cannot use it"
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || !strings.HasPrefix(ae.ErrorMessage(), want) {
		t.Errorf("ListDistributions as B: %v, want AccessDenied %s", err, want)
	}
}

// TestAccountsS3: bucket names are one namespace across accounts, each bucket
// served from its owner's store: CreateBucket of another account's name is
// BucketAlreadyExists, of one's own BucketAlreadyOwnedByYou; ListBuckets shows
// the caller's account's buckets; another account's signed callers are refused;
// a deleted bucket's name is free for any account at once.
func TestAccountsS3(t *testing.T) {
	s := startTest(t, t.TempDir(), Config{Accounts: twoAccounts}, noEnv, nil)
	accts := s.Accounts()
	ctx := t.Context()
	client := func(root RootCredentials) *s3.Client {
		return s3.NewFromConfig(sdkConfig(s, root), func(o *s3.Options) { o.UsePathStyle = true })
	}
	a, b := client(accts[0].Root), client(accts[1].Root)
	code := func(err error) string {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			return ae.ErrorCode()
		}
		return fmt.Sprint(err)
	}
	if _, err := b.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-site")}); err != nil {
		t.Fatalf("CreateBucket b-site as B: %v", err)
	}
	if _, err := a.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("a-site")}); err != nil {
		t.Fatalf("CreateBucket a-site as A: %v", err)
	}
	for _, tc := range []struct {
		who    string
		client *s3.Client
		bucket string
		want   string
	}{
		{"A", a, "b-site", "BucketAlreadyExists"},
		{"B", b, "a-site", "BucketAlreadyExists"},
		{"B", b, "b-site", "BucketAlreadyOwnedByYou"},
		{"A", a, "a-site", "BucketAlreadyOwnedByYou"},
	} {
		if _, err := tc.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(tc.bucket)}); code(err) != tc.want {
			t.Errorf("CreateBucket %s as %s: %v, want %s", tc.bucket, tc.who, err, tc.want)
		}
	}
	if _, err := b.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-site"), Key: aws.String("index.html"), Body: strings.NewReader("hello from B")}); err != nil {
		t.Fatalf("PutObject as B: %v", err)
	}
	got, err := b.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-site"), Key: aws.String("index.html")})
	if err != nil {
		t.Fatalf("GetObject as B: %v", err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(body) != "hello from B" {
		t.Errorf("GetObject as B read %q", body)
	}
	_, err = a.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-site"), Key: aws.String("index.html")})
	var ae smithy.APIError
	want := "User: arn:aws:iam::000000000000:root is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b-site/index.html because no resource-based policy allows"
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || !strings.HasPrefix(ae.ErrorMessage(), want) {
		t.Errorf("GetObject of B's bucket as A: %v, want AccessDenied %s", err, want)
	}
	for who, tc := range map[string]struct {
		client *s3.Client
		want   []string
	}{"A": {a, []string{"a-site"}}, "B": {b, []string{"b-site"}}, "C": {client(accts[2].Root), nil}} {
		out, err := tc.client.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatalf("ListBuckets as %s: %v", who, err)
		}
		var names []string
		for _, bk := range out.Buckets {
			names = append(names, aws.ToString(bk.Name))
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("ListBuckets as %s = %v, want %v", who, names, tc.want)
		}
	}
	// Anonymous requests to a bucket (virtual host) go to its owner's S3, whose
	// bucket policy decides.
	pub := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b-site/*"}]}`
	if _, err := b.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("b-site"), Policy: aws.String(pub)}); err != nil {
		t.Fatalf("PutBucketPolicy as B: %v", err)
	}
	u, err := url.Parse(s.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint()+"/index.html", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "b-site." + S3VirtualHost + ":" + u.Port()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "hello from B" {
		t.Errorf("anonymous GET of b-site.s3.localhost/index.html: %d %q, want 200 with B's object", resp.StatusCode, body)
	}
	if _, err := b.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("b-site"), Key: aws.String("index.html")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("b-site")}); err != nil {
		t.Fatalf("DeleteBucket b-site as B: %v", err)
	}
	if _, err := a.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-site")}); err != nil {
		t.Errorf("CreateBucket b-site as A once B deleted it: %v", err)
	}
}

// TestFailedStartRemovesAccountStores: a start that fails on one account removes
// the stores and directories it made for the others, leaving the data directory as
// it was.
func TestFailedStartRemovesAccountStores(t *testing.T) {
	dir := t.TempDir()
	s := startTest(t, dir, Config{Accounts: []AccountConfig{{ID: "444444444444"}}}, noEnv, nil)
	stopTest(t, s)
	// 555555555555's directory holds 444444444444's store.
	if err := os.Rename(filepath.Join(dir, AccountsDir, "444444444444"), filepath.Join(dir, AccountsDir, "555555555555")); err != nil {
		t.Fatal(err)
	}
	before := listing(t, filepath.Join(dir, AccountsDir))
	_, err := Start(t.Context(), Options{Config: Config{Listen: "127.0.0.1:0", Accounts: []AccountConfig{{ID: "222222222222"}, {ID: "555555555555"}}}, DataDir: dir, Getenv: noEnv})
	if err == nil || !strings.Contains(err.Error(), "account 555555555555: this data directory belongs to account 444444444444") {
		t.Fatalf("Start: %v, want the refusal of 555555555555's store", err)
	}
	if after := listing(t, filepath.Join(dir, AccountsDir)); !slices.Equal(after, before) {
		t.Errorf("the failed start left %s as\n%v\nwas\n%v", filepath.Join(dir, AccountsDir), after, before)
	}
}

// TestAccountDSN: a further account's PostgreSQL store is the DSN's database in
// the schema <first search_path schema>_<id>, or keyless_<id>.
func TestAccountDSN(t *testing.T) {
	for _, tc := range []struct{ dsn, wantDSN, wantSchema, wantErr string }{
		{dsn: "postgres://u@db/keyless?sslmode=disable", wantDSN: "postgres://u@db/keyless?search_path=keyless_222222222222&sslmode=disable", wantSchema: "keyless_222222222222"},
		{dsn: "postgres://u@db/k?search_path=prod,public", wantDSN: "postgres://u@db/k?search_path=prod_222222222222", wantSchema: "prod_222222222222"},
		{dsn: "host=db user=u search_path=team", wantDSN: "host=db user=u search_path=team search_path=team_222222222222", wantSchema: "team_222222222222"},
		{dsn: "host=db user=u", wantDSN: "host=db user=u search_path=keyless_222222222222", wantSchema: "keyless_222222222222"},
		{dsn: `postgres://u@db/k?search_path="Prod"`, wantErr: `account 222222222222: the schema "\"Prod\"_222222222222" derived from the DSN's search_path is not a plain lower-case PostgreSQL name`},
	} {
		gotDSN, gotSchema, err := accountDSN(tc.dsn, "222222222222")
		if tc.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("accountDSN(%s): %v, want an error beginning %s", tc.dsn, err, tc.wantErr)
			}
			continue
		}
		if err != nil || gotDSN != tc.wantDSN || gotSchema != tc.wantSchema {
			t.Errorf("accountDSN(%s) = %s, %s, %v; want %s, %s", tc.dsn, gotDSN, gotSchema, err, tc.wantDSN, tc.wantSchema)
		}
		if _, err := pgx.ParseConfig(gotDSN); err != nil {
			t.Errorf("accountDSN(%s) = %s, which pgx cannot parse: %v", tc.dsn, gotDSN, err)
		} else if c, _ := pgx.ParseConfig(gotDSN); c.RuntimeParams["search_path"] != tc.wantSchema {
			t.Errorf("accountDSN(%s) = %s: pgx reads search_path %q", tc.dsn, gotDSN, c.RuntimeParams["search_path"])
		}
	}
}

// TestAccountsPostgres: with a PostgreSQL store, a further account lives in its
// own schema, created at start, with its own root credentials, which
// ListAccounts reads back through the DSN.
func TestAccountsPostgres(t *testing.T) {
	sch := pgtest.NewSchema(t)
	schema := sch.Name + "_222222222222"
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), sch.DSN)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	dir := t.TempDir()
	s := startTest(t, dir, Config{Store: sch.DSN, Accounts: twoAccounts[:1]}, noEnv, nil)
	got := s.Accounts()
	b := got[1]
	id, err := sts.NewFromConfig(sdkConfig(s, b.Root)).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != "222222222222" {
		t.Fatalf("GetCallerIdentity as B's root: %+v, %v", id, err)
	}
	stopTest(t, s)
	conn, err := pgx.Connect(t.Context(), sch.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = $1", schema).Scan(&n); err != nil || n == 0 {
		t.Errorf("schema %s holds %d tables (%v), want keyless's", schema, n, err)
	}
	listed, err := ListAccounts(t.Context(), dir, sch.DSN, noEnv)
	if err != nil || len(listed) != 2 || listed[1] != b || listed[0].Root != got[0].Root {
		t.Errorf("ListAccounts = %+v, %v; want %+v", listed, err, got)
	}
}

// TestAccountRemovedFromConfig: once an account is dropped from the config, its
// root key and the sessions of its roles no longer authenticate, while its store
// stays on disk for a later start that lists it again.
func TestAccountRemovedFromConfig(t *testing.T) {
	dir := t.TempDir()
	s := startTest(t, dir, Config{Accounts: twoAccounts[:1]}, noEnv, nil)
	b := s.Accounts()[1]
	ctx := t.Context()
	iamB := iam.NewFromConfig(sdkConfig(s, b.Root))
	if _, err := iamB.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ci")}); err != nil {
		t.Fatal(err)
	}
	if _, err := iamB.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("ci"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	key, err := iamB.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ci")})
	if err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:user/ci"},"Action":"sts:AssumeRole"}]}`
	if _, err := iamB.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("deploy"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	user := RootCredentials{AccessKeyID: aws.ToString(key.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(key.AccessKey.SecretAccessKey)}
	out, err := sts.NewFromConfig(sdkConfig(s, user)).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::222222222222:role/deploy"), RoleSessionName: aws.String("same-account")})
	if err != nil {
		t.Fatalf("AssumeRole in B by B's user: %v", err)
	}
	sessionCfg := func(s *Server) aws.Config {
		cfg := sdkConfig(s, RootCredentials{})
		cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
		return cfg
	}
	id, err := sts.NewFromConfig(sessionCfg(s)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:sts::222222222222:assumed-role/deploy/same-account" {
		t.Fatalf("GetCallerIdentity of B's session: %+v, %v", id, err)
	}
	stopTest(t, s)

	s = startTest(t, dir, Config{}, noEnv, nil)
	var ae smithy.APIError
	for what, cfg := range map[string]aws.Config{"B's root key": sdkConfig(s, b.Root), "B's user key": sdkConfig(s, user), "B's session": sessionCfg(s)} {
		_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidClientTokenId" {
			t.Errorf("GetCallerIdentity with %s once B is not served: %v, want InvalidClientTokenId", what, err)
		}
	}
	if _, err := os.Stat(accountStorePath(dir, "222222222222")); err != nil {
		t.Errorf("B's store: %v", err)
	}
}

package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/awsapi"
	blobfs "github.com/keyless-dev/keyless/blob/fs"
	"github.com/keyless-dev/keyless/blob/tiered"
	"github.com/keyless-dev/keyless/gateway"
	"github.com/keyless-dev/keyless/iam"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/s3"
	"github.com/keyless-dev/keyless/secretsmanager"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/postgres"
	"github.com/keyless-dev/keyless/store/sqlite"
	"github.com/keyless-dev/keyless/sts"
)

// Several local accounts.
//
// The first account (Config.AccountID) lives in the server's store, with the
// identity provider's keys, the CA, runners, workspaces and the audit log. Each
// further account (Config.Accounts) is an isolated namespace, as AWS accounts are:
// a store of its own, holding its account id, root credentials (sealed with the
// same key-encryption key) and its IAM entities and secrets:
//
//   - SQLite: DIR/accounts/<id>/keyless.db (directories 0700, the file 0600);
//   - PostgreSQL: the same database, in the schema <S>_<id>, where S is the first
//     schema of the DSN's search_path, or keyless_<id> when the DSN sets none; it
//     is created when missing.
//
// Signed calls authenticate in any account (authn.Authenticator.Join); IAM,
// Secrets Manager and STS act in the caller's account, AssumeRole and
// AssumeRoleWithWebIdentity in the role's. S3 has one bucket namespace: each
// bucket is in its owner's store and served by the owner's S3 (accountS3).
// CloudFront is the first account's alone: other accounts' callers are refused.

// AccountConfig declares a further local account.
type AccountConfig struct {
	// ID is the 12-digit account id.
	ID string `json:"id"`
	// Name is an optional label, shown by `keyless accounts list`.
	Name string `json:"name,omitempty"`
}

// AccountsDir is the directory of the further accounts' SQLite stores inside the
// data directory: DIR/accounts/<id>/keyless.db.
const AccountsDir = "accounts"

// settingAccounts lists, in the first account's store, the further accounts the
// last start served ([]AccountConfig, JSON), for `keyless accounts`.
const settingAccounts = "accounts"

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// maxAccountName bounds an account's name (AWS's limit for account names).
const maxAccountName = 50

// validateAccounts checks the accounts config: 12-digit ids, each once, none the
// first account's, and optional names, each once, of at most 50 printable
// characters and not themselves 12 digits (`keyless accounts credentials` takes
// either).
func validateAccounts(primary string, accounts []AccountConfig) error {
	seen, names := map[string]int{}, map[string]int{}
	for i, a := range accounts {
		where := fmt.Sprintf("config: accounts[%d]", i)
		if !accountIDPattern.MatchString(a.ID) {
			return fmt.Errorf("%s: id %q is not an AWS account id: give 12 digits, such as \"222222222222\"", where, a.ID)
		}
		if a.ID == primary {
			return fmt.Errorf("%s: id %s is account_id, the first account, which needs no entry: list only the further accounts", where, a.ID)
		}
		if j, dup := seen[a.ID]; dup {
			return fmt.Errorf("%s: id %s is listed twice (also accounts[%d]): give each account once", where, a.ID, j)
		}
		seen[a.ID] = i
		if len([]rune(a.Name)) > maxAccountName || strings.IndexFunc(a.Name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			return fmt.Errorf("%s: name %q: use at most %d printable characters", where, a.Name, maxAccountName)
		}
		if a.Name == "" {
			continue
		}
		if accountIDPattern.MatchString(a.Name) {
			return fmt.Errorf("%s: name %q would read as an account id: give a name that is not 12 digits", where, a.Name)
		}
		if j, dup := names[a.Name]; dup {
			return fmt.Errorf("%s: name %q is also accounts[%d]'s: give each account its own name", where, a.Name, j)
		}
		names[a.Name] = i
	}
	return nil
}

// account is a further local account, open.
type account struct {
	id, name string
	st       store.Store
	root     RootCredentials
}

// accountStorePath is the SQLite store of account id in dataDir.
func accountStorePath(dataDir, id string) string {
	return filepath.Join(dataDir, AccountsDir, id, StoreFile)
}

// pgSchemaName is what a PostgreSQL schema name of keyless's may be: unquoted.
var pgSchemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// accountSchema is the PostgreSQL schema of account id: <S>_<id> for the DSN's
// first search_path schema S, else keyless_<id>.
func accountSchema(dsn, id string) (string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", fmt.Errorf("parse DSN: %w", err)
	}
	base := "keyless"
	if sp := cfg.RuntimeParams["search_path"]; sp != "" {
		first, _, _ := strings.Cut(sp, ",")
		if first = strings.TrimSpace(first); first != "" && first != `"$user"` && first != "$user" {
			base = first
		}
	}
	schema := base + "_" + id
	if !pgSchemaName.MatchString(schema) || len(schema) > 63 {
		return "", fmt.Errorf("account %s: the schema %q derived from the DSN's search_path is not a plain lower-case PostgreSQL name of at most 63 bytes: set search_path to one, such as keyless", id, schema)
	}
	return schema, nil
}

// withSearchPath returns dsn with its search_path set to schema.
func withSearchPath(dsn, schema string) (string, error) {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", errors.New("parse DSN: not a URL")
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return dsn + " search_path=" + schema, nil // a later key=value wins
}

// accountDSN is the DSN of account id's store: dsn in the account's schema.
func accountDSN(dsn, id string) (dsnOut, schema string, err error) {
	if schema, err = accountSchema(dsn, id); err != nil {
		return "", "", err
	}
	if dsnOut, err = withSearchPath(dsn, schema); err != nil {
		return "", "", err
	}
	return dsnOut, schema, nil
}

// openAccountStore opens (creating it if needed) the store of account id.
func (s *Server) openAccountStore(ctx context.Context, id string) (store.Store, error) {
	if dsn := s.cfg.Store; dsn != "" {
		adsn, schema, err := accountDSN(dsn, id)
		if err != nil {
			return nil, fmt.Errorf("account %s: store: %w", id, err)
		}
		if err := createSchema(ctx, dsn, schema); err != nil {
			return nil, fmt.Errorf("account %s: store: %w", id, err)
		}
		st, err := postgres.Open(ctx, adsn)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", id, err)
		}
		return st, nil
	}
	dir := filepath.Dir(accountStorePath(s.dataDir, id))
	for _, d := range []string{filepath.Dir(dir), dir} {
		if !exists(d) {
			// Removed (if empty) with the data directory when the start fails.
			s.createdDirs = append([]string{d}, s.createdDirs...)
		}
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("account %s: create store directory: %w", id, err)
		}
	}
	db := accountStorePath(s.dataDir, id)
	if !exists(db) {
		s.created = append(s.created, db, db+"-wal", db+"-shm", db+"-journal")
	}
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", id, err)
	}
	return st, nil
}

// createSchema creates schema in the database of dsn unless it exists.
func createSchema(ctx context.Context, dsn, schema string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("create schema %s: connect: %w", schema, err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P06") {
		err = nil // created meanwhile by a replica starting with this one
	}
	if err != nil {
		return fmt.Errorf("create schema %s: %w", schema, err)
	}
	return nil
}

// openAccounts opens and bootstraps the further accounts' stores (account id and
// root credentials) and records them in the first account's store.
func (s *Server) openAccounts(ctx context.Context) error {
	entries := make([]AccountConfig, 0, len(s.cfg.Accounts))
	for _, c := range s.cfg.Accounts {
		st, err := s.openAccountStore(ctx, c.ID)
		if err != nil {
			return err
		}
		a := &account{id: c.ID, name: c.Name, st: st}
		s.accounts = append(s.accounts, a)
		if _, err := ensureAccount(ctx, st, c.ID); err != nil {
			return fmt.Errorf("account %s: %w", c.ID, err)
		}
		if a.root, err = ensureRootCredentials(ctx, st, s.box); err != nil {
			return fmt.Errorf("account %s: %w", c.ID, err)
		}
		entries = append(entries, c)
	}
	b, err := json.Marshal(entries)
	if err != nil {
		return fmt.Errorf("record accounts: %w", err)
	}
	if err := s.st.PutSetting(ctx, settingAccounts, b); err != nil {
		return fmt.Errorf("record accounts: %w", err)
	}
	return nil
}

// closeAccounts closes the further accounts' stores.
func (s *Server) closeAccounts() {
	for _, a := range s.accounts {
		a.st.Close()
	}
	s.accounts = nil
}

// Accounts returns every account the server serves with its root credentials: the
// first account, then the further ones in the config's order.
func (s *Server) Accounts() []AccountInfo {
	out := []AccountInfo{{ID: s.cfg.AccountID, First: true, Root: s.root}}
	for _, a := range s.accounts {
		out = append(out, AccountInfo{ID: a.id, Name: a.name, Root: a.root})
	}
	return out
}

// accountServices are the AWS services of one account over its store.
type accountServices struct {
	authn *authn.Authenticator
	authz *authz.Authorizer
	sts   *sts.Service
	iam   *iam.Service
	sm    gateway.JSONHandler
	s3    *s3.Service
}

// newAccountServices builds the authenticator, authorizer, STS, IAM, Secrets
// Manager and S3 of a further account, from the first account's STS configuration.
func (s *Server) newAccountServices(a *account, z *authz.Authorizer, stsCfg sts.Config) (*accountServices, error) {
	as := &accountServices{authz: z}
	as.authn = authn.NewAuthenticator(a.st, s.box, s.sessionKeys, authn.RootCredentials(a.root), a.id, s.now)
	stsCfg.Store, stsCfg.Authorizer, stsCfg.Account = a.st, z, a.id
	as.sts = sts.New(stsCfg)
	s.closers = append(s.closers, as.sts.Close)
	as.iam = iam.New(iam.Config{
		Store: a.st, Box: s.box, Authorizer: z, Authenticator: as.authn, Audit: s.audit,
		Account: a.id, Now: s.now, Rand: rand.Reader, AllowPortInProviderURL: true,
		OnChange: as.sts.Invalidate,
	})
	sst, ok := a.st.(store.SecretStore)
	if !ok {
		return nil, fmt.Errorf("account %s: secretsmanager: the store (%T) does not keep secrets", a.id, a.st)
	}
	sm, err := secretsmanager.New(secretsmanager.Config{
		Store: sst, Box: s.box, Authorizer: z, Audit: s.audit, Region: SecretsManagerRegion,
		Account: a.id, Now: s.now, Rand: rand.Reader, Logger: s.log,
	})
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", a.id, err)
	}
	as.sm = sm
	if as.s3, err = s.newAccountS3(a, z); err != nil {
		return nil, err
	}
	return as, nil
}

// byAccount picks the service of the caller's account: the first account's for an
// unsigned call, InvalidClientTokenId for an account not served (authn refuses
// those before, so this is a guard).
func byAccount[T any](by map[string]T, first T, caller *authn.Principal) (T, error) {
	if caller == nil {
		return first, nil
	}
	if svc, ok := by[caller.Account]; ok {
		return svc, nil
	}
	var zero T
	return zero, awsapi.InvalidClientTokenID()
}

// accountQuery is a Query service (IAM) that acts in the caller's account.
type accountQuery struct {
	first gateway.QueryService
	by    map[string]gateway.QueryService // every account's, the first's included
}

// Namespace implements gateway.QueryService.
func (q accountQuery) Namespace() string { return q.first.Namespace() }

// Unsigned implements gateway.QueryService.
func (q accountQuery) Unsigned(action string) bool { return q.first.Unsigned(action) }

// Serve implements gateway.QueryService.
func (q accountQuery) Serve(ctx context.Context, call *gateway.Call) (any, error) {
	svc, err := byAccount(q.by, q.first, call.Caller)
	if err != nil {
		return nil, err
	}
	return svc.Serve(ctx, call)
}

// accountSTS is STS over several accounts: AssumeRole and
// AssumeRoleWithWebIdentity go to the account of the role they name (when it is
// one of the local accounts), every other call to the caller's account.
type accountSTS struct{ accountQuery }

// Serve implements gateway.QueryService.
func (q accountSTS) Serve(ctx context.Context, call *gateway.Call) (any, error) {
	switch call.Action {
	case sts.ActionAssumeRole, sts.ActionAssumeRoleWithWebIdentity:
		if svc, ok := q.by[arnAccount(call.Query.Get("RoleArn"))]; ok {
			return svc.Serve(ctx, call)
		}
	}
	return q.accountQuery.Serve(ctx, call)
}

// arnAccount is the account field of an ARN ("" if s is not one).
func arnAccount(s string) string {
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[0] != "arn" {
		return ""
	}
	return f[4]
}

// accountJSON is a JSON-protocol service (Secrets Manager) that acts in the
// caller's account.
type accountJSON struct {
	first gateway.JSONHandler
	by    map[string]gateway.JSONHandler
}

// ServeJSON implements gateway.JSONHandler.
func (j accountJSON) ServeJSON(ctx context.Context, call *gateway.Call, body []byte) (any, error) {
	h, err := byAccount(j.by, j.first, call.Caller)
	if err != nil {
		return nil, err
	}
	return h.ServeJSON(ctx, call, body)
}

// firstAccountOnly serves a REST service (CloudFront) that only the first
// account has: signed callers of other accounts are refused with AccessDenied.
type firstAccountOnly struct {
	h          http.Handler
	service    string
	account    string
	writeError func(w http.ResponseWriter, requestID string, err error)
}

// ServeHTTP implements http.Handler.
func (f firstAccountOnly) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c := gateway.CallFrom(r.Context()); c != nil && c.Caller != nil && c.Caller.Account != f.account {
		f.writeError(w, c.RequestID, awsapi.AccessDenied(fmt.Sprintf(
			"keyless serves %s in account %s only: credentials of account %s cannot use it; use credentials of account %s",
			f.service, f.account, c.Caller.Account, f.account)))
		return
	}
	f.h.ServeHTTP(w, r)
}

// AccountInfo is one account of a data directory, as `keyless accounts` shows it.
type AccountInfo struct {
	ID string
	// Name is the configured name; empty for the first account and unnamed ones.
	Name string
	// First reports the first account (account_id), whose store holds the
	// identity provider.
	First bool
	Root  RootCredentials
}

// ListAccounts reads the accounts of the data directory dataDir (or of the
// PostgreSQL store dsn), the first one first, with their root credentials,
// without creating or changing anything: the first account's from its store, the
// further ones the last `keyless up` served from their own stores.
func ListAccounts(ctx context.Context, dataDir, dsn string, getenv func(string) string) ([]AccountInfo, error) {
	st, err := OpenExistingStore(ctx, dataDir, dsn)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	box, err := loadKEK(ctx, st, dataDir, getenv)
	if err != nil {
		return nil, err
	}
	first, err := readAccount(ctx, st, box)
	if err != nil {
		return nil, err
	}
	first.First = true
	out := []AccountInfo{first}
	var entries []AccountConfig
	if b, err := st.GetSetting(ctx, settingAccounts); err == nil {
		if err := json.Unmarshal(b, &entries); err != nil {
			return nil, fmt.Errorf("decode accounts: %w", err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("read accounts: %w", err)
	}
	for _, e := range entries {
		ast, err := openExistingAccountStore(ctx, dataDir, dsn, e.ID)
		if err != nil {
			return nil, err
		}
		a, err := readAccount(ctx, ast, box)
		ast.Close()
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", e.ID, err)
		}
		if a.ID != e.ID {
			return nil, fmt.Errorf("account %s: its store belongs to account %s", e.ID, a.ID)
		}
		a.Name = e.Name
		out = append(out, a)
	}
	return out, nil
}

// openExistingAccountStore opens the store of a further account without creating it.
func openExistingAccountStore(ctx context.Context, dataDir, dsn, id string) (store.Store, error) {
	if dsn != "" {
		adsn, _, err := accountDSN(dsn, id)
		if err != nil {
			return nil, fmt.Errorf("account %s: store: %w", id, err)
		}
		st, err := postgres.OpenExisting(ctx, adsn)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", id, err)
		}
		return st, nil
	}
	st, err := sqlite.OpenExisting(ctx, accountStorePath(dataDir, id))
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", id, err)
	}
	return st, nil
}

// readAccount reads the account id and root credentials of an existing store.
func readAccount(ctx context.Context, st store.Store, box *keywrap.Box) (AccountInfo, error) {
	id, err := st.GetSetting(ctx, settingAccount)
	if err != nil {
		return AccountInfo{}, fmt.Errorf("read account id: %w", err)
	}
	v, err := st.GetSetting(ctx, settingRoot)
	if err != nil {
		return AccountInfo{}, fmt.Errorf("read root credentials: %w", err)
	}
	root, err := openRootCredentials(box, v)
	if err != nil {
		return AccountInfo{}, err
	}
	return AccountInfo{ID: string(id), Root: root}, nil
}

// newAccountS3 builds a further account's S3 service: buckets and object metadata
// in the account's store, bytes in the files of DIR/blobs (random names, shared by
// every account) or, small ones, inline in the account's store.
func (s *Server) newAccountS3(a *account, z *authz.Authorizer) (*s3.Service, error) {
	meta, ok := a.st.(store.S3Store)
	if !ok {
		return nil, fmt.Errorf("account %s: s3: the store (%T) does not keep S3 metadata", a.id, a.st)
	}
	files, err := blobfs.New(filepath.Join(s.dataDir, blobsDir))
	if err != nil {
		return nil, fmt.Errorf("account %s: s3: %w", a.id, err)
	}
	cfg := s3.Config{
		Store: meta, Blobs: files, Region: S3Region, Account: a.id,
		Authorizer: s3Authorizer{z}, Audit: s.auditor(), Identify: identifyS3,
		Logger: s.log, Now: s.now, Rand: rand.Reader,
	}
	if inline, ok := a.st.(store.BlobStore); ok {
		t, err := tiered.New(files, inline)
		if err != nil {
			return nil, fmt.Errorf("account %s: s3: %w", a.id, err)
		}
		cfg.Blobs = t
		if in, ok := a.st.(store.InlineObjectStore); ok {
			cfg.Inline, cfg.InlineMax = in, t.Threshold()
		}
	}
	svc, err := s3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("account %s: s3: %w", a.id, err)
	}
	return svc, nil
}

// bucketOwnerTTL is how long accountS3 trusts a bucket's owner it looked up (its
// own CreateBucket and DeleteBucket calls forget it at once).
const bucketOwnerTTL = time.Second

// accountS3 is S3 over several accounts, with one global bucket namespace as on
// AWS: each account's buckets are in its own store, served by its own service.
// ListBuckets goes to the caller's account; a request naming a bucket to the
// owner's service when the caller is of that account or anonymous (a bucket
// policy decides), and is refused with AccessDenied for a signed caller of
// another account (keyless evaluates no cross-account bucket access). CreateBucket
// of a name another account owns is BucketAlreadyExists.
type accountS3 struct {
	first  string
	by     map[string]*s3.Service
	stores map[string]store.S3Store
	order  []string // account ids, the first's first
	now    func() time.Time

	createMu sync.Mutex // one CreateBucket at a time, so two accounts cannot both take a name
	mu       sync.Mutex
	owners   map[string]bucketOwner
}

type bucketOwner struct {
	account string // "" when no account has the bucket
	fetched time.Time
}

// ServeHTTP implements http.Handler.
func (h *accountS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := gateway.CallFrom(r.Context())
	if c == nil {
		s3.WriteError(w, "", awsapi.AccessDenied("Access Denied"))
		return
	}
	caller := h.first
	if c.Caller != nil {
		caller = c.Caller.Account
	}
	svc, ok := h.by[caller]
	if !ok {
		s3.WriteError(w, c.RequestID, awsapi.InvalidClientTokenID())
		return
	}
	bucket, key := s3Target(r)
	if bucket == "" { // ListBuckets
		s3Handler{svc}.ServeHTTP(w, r)
		return
	}
	create := r.Method == http.MethodPut && key == "" && onlyQuery(r, "x-id")
	if create {
		h.createMu.Lock()
		defer h.createMu.Unlock()
	}
	owner, err := h.owner(r.Context(), bucket)
	if err != nil {
		s3.WriteError(w, c.RequestID, err)
		return
	}
	switch {
	case owner == "" || owner == caller:
		s3Handler{svc}.ServeHTTP(w, r)
		if create || (r.Method == http.MethodDelete && key == "" && onlyQuery(r, "x-id")) {
			h.forget(bucket)
		}
	case create:
		s3.WriteError(w, c.RequestID, awsapi.NewError("BucketAlreadyExists", http.StatusConflict,
			"The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."))
	case c.Caller == nil:
		s3Handler{h.by[owner]}.ServeHTTP(w, r)
	default:
		s3.WriteError(w, c.RequestID, awsapi.AccessDenied(fmt.Sprintf(
			"User: %s is not authorized to access bucket %s of account %s: keyless serves no S3 access across accounts", c.Caller.ARN, bucket, owner)))
	}
}

// owner returns the account that has bucket ("" for none), from a short cache.
func (h *accountS3) owner(ctx context.Context, bucket string) (string, error) {
	now := h.now()
	h.mu.Lock()
	o, ok := h.owners[bucket]
	h.mu.Unlock()
	if ok && now.Sub(o.fetched) < bucketOwnerTTL {
		return o.account, nil
	}
	o = bucketOwner{fetched: now}
	for _, id := range h.order {
		_, err := h.stores[id].GetBucket(ctx, bucket)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("s3: find the owner of bucket %s: %w", bucket, err)
		}
		o.account = id
		break
	}
	h.mu.Lock()
	if len(h.owners) > 4096 {
		clear(h.owners)
	}
	h.owners[bucket] = o
	h.mu.Unlock()
	return o.account, nil
}

// forget drops bucket's cached owner.
func (h *accountS3) forget(bucket string) {
	h.mu.Lock()
	delete(h.owners, bucket)
	h.mu.Unlock()
}

// s3Target is the bucket and key a request addresses: virtual host style
// (BUCKET.s3.localhost) or path style (/bucket/key). Both are "" for ListBuckets.
func s3Target(r *http.Request) (bucket, key string) {
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	if b, ok := virtualHostBucket(r.Host); ok {
		key, _ = url.PathUnescape(path)
		return b, key
	}
	b, k, _ := strings.Cut(path, "/")
	bucket, _ = url.PathUnescape(b)
	key, _ = url.PathUnescape(k)
	return bucket, key
}

// onlyQuery reports whether r's query has no parameter but those allowed (an
// S3 subresource such as ?policy makes a bucket request another operation).
func onlyQuery(r *http.Request, allowed ...string) bool {
	for k := range r.URL.Query() {
		if !slices.Contains(allowed, k) {
			return false
		}
	}
	return true
}

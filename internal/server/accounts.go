package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
// further account (Config.Accounts, or made by Organizations' CreateAccount:
// organizations.go) is an isolated namespace, as AWS accounts are:
// a store of its own, holding its account id, root credentials (sealed with the
// same key-encryption key) and its IAM entities and secrets:
//
//   - SQLite: DIR/accounts/<id>/keyless.db (directories 0700, the file 0600);
//   - PostgreSQL: the same database, in the schema <S>_<id>, where S is the first
//     schema of the DSN's search_path, or keyless_<id> when the DSN sets none; it
//     is created when missing.
//
// The accounts served are a registry (registry, below): an immutable snapshot
// behind an atomic pointer, replaced whole when CreateAccount adds an account,
// so that the hot path takes no lock.
//
// Signed calls authenticate in any account (authn.Authenticator.Add); IAM,
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
// server serves ([]accountRecord, JSON), for `keyless accounts` and the next
// start: those of the config at the last start, and every account Organizations'
// CreateAccount made (organizations.go), which stay served whatever the config.
const settingAccounts = "accounts"

// accountRecord is one entry of settingAccounts.
type accountRecord struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Organization marks an account CreateAccount made: kept when the config
	// does not list it.
	Organization bool `json:"organization,omitempty"`
}

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
	// org reports an account Organizations' CreateAccount made.
	org bool
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
// root credentials): those of the config, in its order, then those
// Organizations created that the config does not list; and records them in the
// first account's store.
func (s *Server) openAccounts(ctx context.Context) error {
	prev, err := readAccountRecords(ctx, s.st)
	if err != nil {
		return err
	}
	created := map[string]bool{}
	for _, r := range prev {
		created[r.ID] = r.Organization
	}
	records := make([]accountRecord, 0, len(s.cfg.Accounts))
	for _, c := range s.cfg.Accounts {
		records = append(records, accountRecord{ID: c.ID, Name: c.Name, Organization: created[c.ID]})
	}
	for _, r := range prev {
		if r.Organization && !slices.ContainsFunc(records, func(c accountRecord) bool { return c.ID == r.ID }) {
			records = append(records, r)
		}
	}
	for _, r := range records {
		if _, err := s.openAccount(ctx, r); err != nil {
			return err
		}
	}
	return s.recordAccounts(ctx)
}

// openAccount opens (creating them if needed) the store, account id and root
// credentials of the further account r, and adds it to s.accounts.
func (s *Server) openAccount(ctx context.Context, r accountRecord) (*account, error) {
	st, err := s.openAccountStore(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	a := &account{id: r.ID, name: r.Name, st: st, org: r.Organization}
	if _, err := ensureAccount(ctx, st, r.ID); err != nil {
		st.Close()
		return nil, fmt.Errorf("account %s: %w", r.ID, err)
	}
	if a.root, err = ensureRootCredentials(ctx, st, s.box); err != nil {
		st.Close()
		return nil, fmt.Errorf("account %s: %w", r.ID, err)
	}
	s.accountsMu.Lock()
	s.accounts = append(s.accounts, a)
	s.accountsMu.Unlock()
	return a, nil
}

// recordAccounts writes the further accounts served to settingAccounts.
func (s *Server) recordAccounts(ctx context.Context) error {
	s.accountsMu.Lock()
	records := make([]accountRecord, 0, len(s.accounts))
	for _, a := range s.accounts {
		records = append(records, accountRecord{ID: a.id, Name: a.name, Organization: a.org})
	}
	s.accountsMu.Unlock()
	b, err := json.Marshal(records)
	if err != nil {
		return fmt.Errorf("record accounts: %w", err)
	}
	if err := s.st.PutSetting(ctx, settingAccounts, b); err != nil {
		return fmt.Errorf("record accounts: %w", err)
	}
	return nil
}

// recordAccount adds r to settingAccounts in one transaction, keeping what
// other replicas sharing the store recorded meanwhile (recordAccounts, which
// writes this server's list, would drop an account another replica created).
func (s *Server) recordAccount(ctx context.Context, r accountRecord) error {
	err := s.st.UpdateSetting(ctx, settingAccounts, func(b []byte) ([]byte, error) {
		var records []accountRecord
		if err := json.Unmarshal(b, &records); err != nil {
			return nil, fmt.Errorf("decode accounts: %w", err)
		}
		if slices.ContainsFunc(records, func(c accountRecord) bool { return c.ID == r.ID }) {
			return b, nil
		}
		return json.Marshal(append(records, r))
	})
	if errors.Is(err, store.ErrNotFound) {
		return s.recordAccounts(ctx) // not recorded yet: this server's list is all there is
	}
	if err != nil {
		return fmt.Errorf("record account %s: %w", r.ID, err)
	}
	return nil
}

// readAccountRecords reads settingAccounts (none when it is not set).
func readAccountRecords(ctx context.Context, st store.Store) ([]accountRecord, error) {
	var records []accountRecord
	b, err := st.GetSetting(ctx, settingAccounts)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read accounts: %w", err)
	}
	if err := json.Unmarshal(b, &records); err != nil {
		return nil, fmt.Errorf("decode accounts: %w", err)
	}
	return records, nil
}

// closeAccounts closes the further accounts' stores.
func (s *Server) closeAccounts() {
	s.accountsMu.Lock()
	defer s.accountsMu.Unlock()
	for _, a := range s.accounts {
		a.st.Close()
	}
	s.accounts = nil
}

// Accounts returns every account the server serves with its root credentials: the
// first account, then the further ones: the config's in its order, then those
// Organizations created, in the order they were created.
func (s *Server) Accounts() []AccountInfo {
	out := []AccountInfo{{ID: s.cfg.AccountID, First: true, Root: s.root}}
	s.accountsMu.Lock()
	defer s.accountsMu.Unlock()
	for _, a := range s.accounts {
		out = append(out, AccountInfo{ID: a.id, Name: a.name, Root: a.root, Organization: a.org})
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

// serveAccount builds the services of the further account a and starts serving
// them: its keys authenticate, and the gateway routes its callers to them.
func (s *Server) serveAccount(a *account) error {
	as, err := s.newAccountServices(a, authz.New(a.st), s.stsCfg)
	if err != nil {
		return err
	}
	meta, _ := a.st.(store.S3Store) // newAccountS3 checked it
	s.authn.Add(as.authn)
	s.reg.add(a.id, as, meta)
	return nil
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

// accountSet is one snapshot of the services of every account served, by
// account id, the first's included. It is never changed: registry.add replaces
// it whole.
type accountSet struct {
	iam, sts map[string]gateway.QueryService
	sm       map[string]gateway.JSONHandler
	authz    map[string]*authz.Authorizer
	s3       *accountS3
}

// registry holds the accounts served; accounts are added while the server
// serves (Organizations' CreateAccount), so the hot path reads an immutable
// snapshot through an atomic pointer, without a lock.
type registry struct {
	first string
	cur   atomic.Pointer[accountSet]
	mu    sync.Mutex // serializes add
}

// newRegistry returns a registry serving the first account alone.
func newRegistry(first string, z *authz.Authorizer, iamSvc, stsSvc gateway.QueryService, sm gateway.JSONHandler, s3s *accountS3) *registry {
	r := &registry{first: first}
	s3s.authz = map[string]*authz.Authorizer{first: z}
	r.cur.Store(&accountSet{
		iam: map[string]gateway.QueryService{first: iamSvc}, sts: map[string]gateway.QueryService{first: stsSvc},
		sm: map[string]gateway.JSONHandler{first: sm}, authz: map[string]*authz.Authorizer{first: z}, s3: s3s,
	})
	return r
}

// load returns the current snapshot.
func (r *registry) load() *accountSet { return r.cur.Load() }

// has reports whether account id is served.
func (r *registry) has(id string) bool {
	_, ok := r.load().iam[id]
	return ok
}

// authorizer returns the Authorizer of account id, if it is served
// (sts.Config.CallerAuthorizer).
func (r *registry) authorizer(id string) (*authz.Authorizer, bool) {
	z, ok := r.load().authz[id]
	return z, ok
}

// add starts serving account id with the services as, its store meta holding
// its buckets.
func (r *registry) add(id string, as *accountServices, meta store.S3Store) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.load()
	n := &accountSet{iam: maps.Clone(old.iam), sts: maps.Clone(old.sts), sm: maps.Clone(old.sm), authz: maps.Clone(old.authz)}
	n.iam[id], n.sts[id], n.sm[id], n.authz[id] = as.iam, as.sts, as.sm, as.authz
	s3s := *old.s3 // shares the locks and the owner cache
	s3s.by, s3s.stores, s3s.authz = maps.Clone(old.s3.by), maps.Clone(old.s3.stores), maps.Clone(old.s3.authz)
	s3s.order = append(slices.Clone(old.s3.order), id)
	s3s.by[id], s3s.stores[id], s3s.authz[id] = as.s3, meta, as.authz
	n.s3 = &s3s
	r.cur.Store(n)
}

// byAccount picks the service of the caller's account: the first account's for an
// unsigned call or a caller of the first account, InvalidClientTokenId for an
// account not served (authn refuses those before, so this is a guard).
func byAccount[T any](r *registry, pick func(*accountSet) map[string]T, first T, caller *authn.Principal) (T, error) {
	if caller == nil || caller.Account == r.first {
		return first, nil
	}
	if svc, ok := pick(r.load())[caller.Account]; ok {
		return svc, nil
	}
	var zero T
	return zero, awsapi.InvalidClientTokenID()
}

// accountQuery is a Query service (IAM) that acts in the caller's account.
type accountQuery struct {
	first gateway.QueryService
	reg   *registry
	pick  func(*accountSet) map[string]gateway.QueryService // every account's, the first's included
}

// Namespace implements gateway.QueryService.
func (q accountQuery) Namespace() string { return q.first.Namespace() }

// Unsigned implements gateway.QueryService.
func (q accountQuery) Unsigned(action string) bool { return q.first.Unsigned(action) }

// Serves implements gateway.ActionSet as the first account's service does.
func (q accountQuery) Serves(action string) bool { return serves(q.first, action) }

// serves reports whether svc, if a gateway.ActionSet, serves action.
func serves(svc any, action string) bool {
	set, ok := svc.(gateway.ActionSet)
	return ok && set.Serves(action)
}

// Serve implements gateway.QueryService.
func (q accountQuery) Serve(ctx context.Context, call *gateway.Call) (any, error) {
	svc, err := byAccount(q.reg, q.pick, q.first, call.Caller)
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
	by := q.pick(q.reg.load())
	if len(by) == 1 { // the first account alone
		return q.first.Serve(ctx, call)
	}
	switch call.Action {
	case sts.ActionAssumeRole, sts.ActionAssumeRoleWithWebIdentity:
		if svc, ok := by[arnAccount(call.Query.Get("RoleArn"))]; ok {
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
	reg   *registry
}

func pickSM(a *accountSet) map[string]gateway.JSONHandler { return a.sm }

// Serves implements gateway.ActionSet as the first account's service does.
func (j accountJSON) Serves(action string) bool { return serves(j.first, action) }

// ServeJSON implements gateway.JSONHandler.
func (j accountJSON) ServeJSON(ctx context.Context, call *gateway.Call, body []byte) (any, error) {
	h, err := byAccount(j.reg, pickSM, j.first, call.Caller)
	if err != nil {
		return nil, err
	}
	return h.ServeJSON(ctx, call, body)
}

// registryS3 serves S3 with the current snapshot's accountS3.
type registryS3 struct{ reg *registry }

// ServeHTTP implements http.Handler.
func (h registryS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	set := h.reg.load()
	if len(set.s3.order) == 1 { // the first account alone: no other owner to look up
		s3Handler{set.s3.by[h.reg.first]}.ServeHTTP(w, r)
		return
	}
	set.s3.ServeHTTP(w, r)
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
	// Organization reports an account Organizations' CreateAccount made.
	Organization bool
	Root         RootCredentials
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
	entries, err := readAccountRecords(ctx, st)
	if err != nil {
		return nil, err
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
		a.Name, a.Organization = e.Name, e.Organization
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
// owner's service, which for a signed caller of another account decides with
// both sides as AWS does (serveCrossAccount). CreateBucket of a name another
// account owns is BucketAlreadyExists.
type accountS3 struct {
	first  string
	by     map[string]*s3.Service
	stores map[string]store.S3Store
	authz  map[string]*authz.Authorizer // each account's, for its callers' side across accounts
	order  []string                     // account ids, the first's first
	now    func() time.Time

	// Shared by every snapshot of the registry (registry.add copies the rest).
	createMu *sync.Mutex // one CreateBucket at a time, so two accounts cannot both take a name
	mu       *sync.Mutex // guards owners
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
	default: // a signed caller of another account: both sides decide, as on AWS (s3.go)
		serveCrossAccount(w, r, c, h.by[owner], owner, h.authz[caller])
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

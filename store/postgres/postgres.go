// Package postgres is the keyless store on PostgreSQL, for deployments where one
// machine is not enough. It uses github.com/jackc/pgx/v5 through database/sql.
//
// Tables live in the connection's current schema (the first schema on search_path, which
// the DSN may set, e.g. "…?search_path=keyless"). Migrations are serialised across
// processes with a transaction-scoped advisory lock; update callbacks run in a
// transaction that holds the record with SELECT … FOR UPDATE. Storage conventions
// (time precision, ordering, case rules, cascades) are described in
// store/internal/sqlstore, which this package shares with store/sqlite; text columns use the "C" collation so lists are
// ordered by byte value as in SQLite.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/internal/sqlstore"
)

// maxConns bounds the connection pool so that many keyless replicas do not exhaust
// the server's max_connections.
const maxConns = 20

// postgresDialect is PostgreSQL's side of the shared SQL code.
var postgresDialect = sqlstore.Dialect{
	Types: strings.NewReplacer(
		"{text}", `TEXT COLLATE "C"`,
		"{blob}", "BYTEA",
		"{seqpk}", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
	),
	ForUpdate:   " FOR UPDATE",
	MigrateLock: `SELECT pg_advisory_xact_lock(hashtext('keyless.migrate.' || COALESCE(current_schema(), '')))`,
	HasTable:    `SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1`,
	Classify:    classifyPostgres,
}

// classifyPostgres maps PostgreSQL integrity violations to store sentinels.
func classifyPostgres(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	if unavailablePgError(pe) { // unavailable.go
		return store.Unavailable("postgres "+pe.Code, err)
	}
	switch pe.Code {
	case "23505": // unique_violation
		return store.ErrAlreadyExists
	case "23503": // foreign_key_violation
		return fmt.Errorf("referenced record %w", store.ErrNotFound)
	}
	return nil
}

// Open connects to the PostgreSQL database named by dsn (a URL or key=value string, as
// pgx accepts) and migrates it to the latest schema version. A database written by a
// newer keyless is left untouched and reported with an error wrapping
// store.ErrSchemaTooNew. Errors do not repeat the DSN, which may hold a password.
func Open(ctx context.Context, dsn string) (*sqlstore.Store, error) {
	return open(ctx, dsn, true)
}

// OpenExisting connects to the keyless store in the PostgreSQL database named by dsn
// without creating or migrating anything, for commands that work on a store `keyless
// up` made. A schema without keyless's tables gives an error wrapping
// store.ErrNoStore; one at another schema version an error wrapping
// store.ErrSchemaTooOld or store.ErrSchemaTooNew. Errors do not repeat the DSN.
func OpenExisting(ctx context.Context, dsn string) (*sqlstore.Store, error) {
	return open(ctx, dsn, false)
}

func open(ctx context.Context, dsn string, migrate bool) (*sqlstore.Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: parse DSN: %w", err)
	}
	db := openDB(cfg) // unavailable.go: connections that fail fast and say when the database is unreachable
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns / 4)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open postgres %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	if migrate {
		err = sqlstore.Migrate(ctx, db, postgresDialect)
	} else {
		err = sqlstore.Check(ctx, db, postgresDialect)
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open postgres %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	return sqlstore.New(db, db, postgresDialect), nil
}

// Redact returns dsn fit for a message: a password, in the URL's user information,
// its password parameter or a key=value password, is replaced by "xxxxx".
func Redact(dsn string) string {
	if scheme, _, ok := strings.Cut(dsn, "://"); ok {
		u, err := url.Parse(dsn)
		if err != nil {
			return scheme + "://… (unparsable, not shown)"
		}
		if q := u.Query(); q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return kvPassword.ReplaceAllString(dsn, "${1}xxxxx")
}

// kvPassword matches the value of a password in a key=value DSN, quoted or not.
var kvPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`)

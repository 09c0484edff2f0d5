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
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

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
	Classify:    classifyPostgres,
}

// classifyPostgres maps PostgreSQL integrity violations to store sentinels.
func classifyPostgres(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
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
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: parse DSN: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns / 4)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open postgres %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	if err := sqlstore.Migrate(ctx, db, postgresDialect); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open postgres %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	return sqlstore.New(db, db, postgresDialect), nil
}

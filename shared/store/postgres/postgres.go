// Package postgres implements store.Store on PostgreSQL (TencentDB for
// PostgreSQL, RDS, Aurora, or any PostgreSQL 11 or later) with pgx.
//
// # Table
//
// Every item is one row of minifn_items, created on first use in the first
// schema of the connection's search_path:
//
//	pk text COLLATE "C", sk text COLLATE "C"  primary key (byte order, as in DynamoDB and bbolt)
//	value bytea, n bigint, version bigint, expires_at timestamptz (null: never)
//
// # Serverless
//
// Open makes no connection. The pool holds at most 2 connections per
// instance (pool_max_conns in the URL overrides it): a function instance
// serves one request at a time, and a thousand warm instances must not open
// thousands of connections. Put RDS Proxy or PgBouncer in front for larger
// fleets; with a transaction-mode pooler add default_query_exec_mode=exec to
// the URL so that pgx does not rely on prepared statements.
//
// The table is created by the first call that needs it, under a
// transaction-scoped advisory lock, so any number of instances may cold-start
// at once against an empty database.
//
// # Writes
//
// A Write is one READ COMMITTED transaction. It first takes a
// transaction-scoped advisory lock per key (in ascending order, so two Writes
// never deadlock) — a row lock cannot guard a key that has no row yet — then
// reads the rows FOR UPDATE, evaluates every condition with store.Holds and
// applies store.Apply. Expiry uses the injected clock, never SQL now().
//
// # Caveats
//
//   - Expired rows stay until overwritten or removed by Sweep; run Sweep from
//     a timer to keep the table small.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/minifn/minifn/shared/store"
)

// defaultMaxConns is the pool size per instance (see the package doc).
const defaultMaxConns = 2

// Options configures a Store.
type Options struct {
	// Now is the clock used for expiry; nil means time.Now.
	Now func() time.Time
}

// Store is a store.Store on one PostgreSQL table.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time

	ready atomic.Bool // the table is known to exist
	mu    sync.Mutex  // serialises this instance's schema creation
}

var _ store.Store = (*Store)(nil)

// Open returns a Store for the libpq-style URL (postgres://…). It parses the
// URL and makes no connection.
func Open(ctx context.Context, url string, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error would echo the URL with its password.
		return nil, errors.New("store: postgres: cannot parse the connection URL")
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Store{pool: pool, now: now}, nil
}

// Close closes the pool's connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// MaxConns is the pool's size.
func (s *Store) MaxConns() int32 { return s.pool.Config().MaxConns }

// schemaLock is the advisory lock (two-int form, which never collides with
// the one-bigint per-key locks) held while the table is created.
const schemaLock = "SELECT pg_advisory_xact_lock(1835626089, 1)" // "minifn"

const schema = `
CREATE TABLE IF NOT EXISTS minifn_items (
	pk         text COLLATE "C" NOT NULL,
	sk         text COLLATE "C" NOT NULL,
	value      bytea,
	n          bigint NOT NULL DEFAULT 0,
	version    bigint NOT NULL,
	expires_at timestamptz,
	PRIMARY KEY (pk, sk)
);
CREATE INDEX IF NOT EXISTS minifn_items_expires_at ON minifn_items (expires_at) WHERE expires_at IS NOT NULL`

// ensure creates the table unless it is known to exist. CREATE TABLE IF NOT
// EXISTS alone is not safe when two sessions run it at once (one fails on a
// catalog unique index), hence the advisory lock.
func (s *Store) ensure(ctx context.Context) error {
	if s.ready.Load() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready.Load() {
		return nil
	}
	var exists bool
	err := s.pool.QueryRow(ctx, "SELECT to_regclass('minifn_items') IS NOT NULL").Scan(&exists)
	if err == nil && !exists {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, schemaLock); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, schema)
			return err
		})
	}
	if err != nil {
		return wrapErr("create schema", err)
	}
	s.ready.Store(true)
	return nil
}

// wrapErr puts a driver error into the store's vocabulary: anything that
// says the server cannot be reached or is overloaded wraps
// store.ErrUnavailable.
func wrapErr(what string, err error) error {
	err = fmt.Errorf("store: postgres: %s: %w", what, err)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return store.Unavailable(err) // network, pool, timeout, cancelled context
	}
	switch {
	case strings.HasPrefix(pe.Code, "08"), // connection exception
		strings.HasPrefix(pe.Code, "53"),       // insufficient resources (too many connections)
		strings.HasPrefix(pe.Code, "57P"),      // server shutting down / cannot connect now
		pe.Code == "40001", pe.Code == "40P01", // still conflicting after the retries
		pe.Code == "55P03": // lock not available
		return store.Unavailable(err)
	}
	return err
}

// retryable reports errors after which the whole transaction may simply run
// again: serialization failures, deadlocks, and a row that another
// transaction inserted between our read and our insert.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01" || pe.Code == "23505") ||
		errors.Is(err, errRaced)
}

var errRaced = errors.New("store: postgres: a row appeared after it was read as absent")

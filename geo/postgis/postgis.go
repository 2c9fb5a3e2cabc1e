// Package postgis implements geo.Store on PostgreSQL with PostGIS, the
// system of record of hotspots. It is the only package that imports pgx.
//
// Geometry goes in and out as EWKB through go-geom; H3 cells are bigint
// columns aggregated with the h3_parent SQL function, which matches
// geo.Cell.Parent bit for bit. The schema is applied by Migrate from SQL files
// embedded in the binary.
package postgis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotspots/geo"
)

// Options tune a DB. The zero value is usable.
type Options struct {
	// Logger receives migration and slow-path messages; nil discards them.
	Logger *slog.Logger
	// MaxConns caps the pool; 0 keeps pgx's default (max(4, NumCPU)) or the
	// URL's pool_max_conns.
	MaxConns int
	// Now is the clock for created/updated stamps, injectable so tests can
	// pin it; nil means time.Now.
	Now func() time.Time
	// BulkLoadRows is how many new incidents one load must add, into a
	// table holding at most twice as many, before the store drops the
	// secondary indexes for the rest of the load and rebuilds them at its
	// end (see bulk.go); 0 means DefaultBulkLoadRows, negative never.
	BulkLoadRows int
}

// DB is a PostGIS-backed geo.Store. It is safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	cfg  *pgxpool.Config
	log  *slog.Logger
	now  func() time.Time

	bulkRows int
	bulk     bulkState
	// areaApplies counts loads whose own area month sums went in
	// (applyAreaDeltas); tests read it.
	areaApplies atomic.Int64
}

var _ geo.Store = (*DB)(nil)

// connectTimeout bounds the first ping so a wrong URL fails fast at start-up
// instead of hanging in the pool's retry loop.
const connectTimeout = 10 * time.Second

// Open connects to the database at url (a postgres:// URL or key=value DSN)
// and checks that it answers. It does not migrate: call Migrate, and Ready to
// check the schema version. A search_path given in the URL selects the schema
// (PostGIS must be reachable on it, usually through public).
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgis: parse database url: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = int32(opts.MaxConns)
	}
	db := &DB{cfg: cfg, log: opts.Logger, now: opts.Now, bulkRows: opts.BulkLoadRows}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	if db.now == nil {
		db.now = time.Now
	}
	db.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgis: open pool for %s: %w", describe(cfg), err)
	}
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := db.pool.Ping(pctx); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("postgis: cannot reach %s: %w", describe(cfg), oneLine(err))
	}
	return db, nil
}

// describe names the server and database without the password, for errors.
func describe(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("database %q on %s:%d as %q", c.Database, c.Host, c.Port, c.User)
}

// oneLine keeps start-up errors on one log line; pgconn joins the attempts of
// a multi-host URL with newlines.
func oneLine(err error) error {
	if !strings.Contains(err.Error(), "\n") {
		return err
	}
	return &flatError{err}
}

type flatError struct{ err error }

func (e *flatError) Error() string { return strings.ReplaceAll(e.err.Error(), "\n", "; ") }
func (e *flatError) Unwrap() error { return e.err }

// Close closes the pool, waiting for connections in use to be released.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgis: ping: %w", err)
	}
	return nil
}

// nowUTC returns the clock in UTC at PostgreSQL's microsecond precision, so
// what is returned to callers equals what a later read gives.
func (db *DB) nowUTC() time.Time { return db.now().UTC().Truncate(time.Microsecond) }

// wrap prefixes err with the operation and, for errors the caller can act
// on, adds a geo error code while keeping the driver error in the chain.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if geo.ErrorCode(err) != geo.EINTERNAL {
		return fmt.Errorf("postgis: %s: %w", op, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505":
			return fmt.Errorf("postgis: %s: %w: %w", op, geo.Errorf(geo.ECONFLICT, "%s", pgErr.Message), err)
		case pgErr.Code == "23503":
			return fmt.Errorf("postgis: %s: %w: %w", op, geo.Errorf(geo.EINVALID, "reference to a missing row: %s", pgErr.Detail), err)
		case strings.HasPrefix(pgErr.Code, "22"), pgErr.Code == "23514", pgErr.Code == "XX000" && strings.Contains(pgErr.Message, "geometry"):
			return fmt.Errorf("postgis: %s: %w: %w", op, geo.Errorf(geo.EINVALID, "%s", pgErr.Message), err)
		}
	}
	return fmt.Errorf("postgis: %s: %w", op, err)
}

// inTx runs fn in one transaction, committing if it returns nil.
func (db *DB) inTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return wrap(op, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
	if err := fn(tx); err != nil {
		return wrap(op, err)
	}
	return wrap(op, tx.Commit(ctx))
}

// bumpDataVersion marks a change of incident data inside tx.
func bumpDataVersion(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `UPDATE data_version SET version = version + 1`)
	return err
}

// DataVersion returns a counter that changes whenever incidents change.
func (db *DB) DataVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.pool.QueryRow(ctx, `SELECT version FROM data_version`).Scan(&v)
	return v, wrap("data version", err)
}

// dateOf returns t's calendar date at 00:00 UTC: the form days are passed to
// and read from date columns in.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Schema returns the schema the store works in (the first existing schema
// of the connection's search_path), for tools and tests that inspect it.
func (db *DB) Schema(ctx context.Context) (string, error) {
	var s string
	err := db.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&s)
	return s, wrap("current schema", err)
}

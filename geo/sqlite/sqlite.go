// Package sqlite implements geo.Store on a single SQLite file through the
// pure-Go modernc.org/sqlite driver: the default store when no database URL
// is configured, so hotspots runs from one binary and one file.
//
// SQLite has no spatial SQL here, so points are lon/lat columns, polygons
// WKB blobs with bounding boxes, and H3 parents come from a deterministic Go
// function registered as h3_parent, which is geo.Cell.Parent itself.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"

	"hotspots/geo"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

func init() {
	// Registered once per process for every connection the driver opens.
	sqlite.MustRegisterDeterministicScalarFunction("h3_parent", 2, h3Parent)
}

// h3Parent is the SQL h3_parent(cell, res): geo.Cell.Parent on int64s.
func h3Parent(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	cell, ok1 := args[0].(int64)
	res, ok2 := args[1].(int64)
	if !ok1 || !ok2 {
		return nil, nil // NULL in, NULL out, as in PostgreSQL
	}
	return int64(geo.Cell(uint64(cell)).Parent(int(res))), nil
}

// Options tune a DB. The zero value is usable.
type Options struct {
	// Logger receives migration messages; nil discards them.
	Logger *slog.Logger
	// MaxReaders caps concurrent read connections; 0 means 4.
	MaxReaders int
	// Now is the clock for created/updated stamps; nil means time.Now.
	Now func() time.Time
}

// DB is a geo.Store in one SQLite file. It keeps one writer connection (SQLite
// allows one writer at a time; queueing in Go beats SQLITE_BUSY retries) and
// a small pool of read-only connections that WAL lets run beside it.
type DB struct {
	write *sql.DB
	read  *sql.DB
	path  string
	log   *slog.Logger
	now   func() time.Time
}

var _ geo.Store = (*DB)(nil)

// Open opens (creating if needed) the store file at path and checks that it
// is usable. It does not migrate: call Migrate, and Ready to check.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: open: %w", geo.Errorf(geo.EINVALID, "empty path"))
	}
	db := &DB{path: path, log: opts.Logger, now: opts.Now}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	if db.now == nil {
		db.now = time.Now
	}
	// WAL lets readers run during a write; busy_timeout covers other
	// processes holding the file; synchronous=NORMAL is durable in WAL
	// except for the last commits on power loss, the usual trade-off;
	// _txlock=immediate takes the write lock at BEGIN so a transaction
	// never fails half-way on lock upgrade.
	base := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	var err error
	if db.write, err = sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_txlock=immediate"); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.write.SetMaxOpenConns(1)
	if err := pingRetryBusy(ctx, db.write); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if db.read, err = sql.Open("sqlite", base+"&_pragma=query_only(1)"); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	readers := opts.MaxReaders
	if readers <= 0 {
		readers = 4
	}
	db.read.SetMaxOpenConns(readers)
	return db, nil
}

// pingRetryBusy opens the first connection, retrying while another process
// holds the file: switching a new file to WAL needs an exclusive lock that
// SQLite does not wait for through busy_timeout, so two processes starting
// on one fresh file (serve and an ingest worker) could otherwise fail.
func pingRetryBusy(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(15 * time.Second)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		err := db.PingContext(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// isBusy reports whether err is SQLite's "database is locked".
func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// Close closes both connection pools.
func (db *DB) Close() error {
	err1 := db.read.Close()
	err2 := db.write.Close()
	if err1 != nil {
		return fmt.Errorf("sqlite: close: %w", err1)
	}
	if err2 != nil {
		return fmt.Errorf("sqlite: close: %w", err2)
	}
	return nil
}

// Ping checks that the file answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// latestVersion is the newest embedded migration's version.
var latestVersion = func() int64 {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	var v int64
	for _, n := range names {
		nv, err := goose.NumericComponent(path.Base(n))
		if err != nil {
			panic(fmt.Sprintf("sqlite: migration %s: %v", n, err))
		}
		v = max(v, nv)
	}
	return v
}()

// Migrate applies the embedded migrations not applied yet; running it again
// is a no-op, and two processes migrating one file at once both succeed.
func (db *DB) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db.write, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	// SQLite has no advisory lock for goose to hold. When two processes
	// migrate one file at once, both may plan the same migration; the
	// second waits on the write lock, then fails on the tables the first
	// created, and its transaction rolls back. Running Up again then finds
	// the work done, so a failed attempt is retried a few times.
	var results []*goose.MigrationResult
	for attempt := 1; ; attempt++ {
		results, err = p.Up(ctx)
		if err == nil {
			break
		}
		if attempt == 5 || ctx.Err() != nil {
			return fmt.Errorf("sqlite: migrate %s: %w", db.path, err)
		}
		db.log.WarnContext(ctx, "migration_retry", slog.String("path", db.path), slog.Int("attempt", attempt), slog.Any("error", err))
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
	for _, r := range results {
		db.log.InfoContext(ctx, "migration_applied",
			slog.String("path", db.path),
			slog.Int64("version", r.Source.Version),
			slog.Duration("duration", r.Duration))
	}
	return nil
}

// Ready reports an error unless the file answers and its schema is at the
// version this binary embeds.
func (db *DB) Ready(ctx context.Context) error {
	var n int
	err := db.read.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'`).Scan(&n)
	if err != nil {
		return fmt.Errorf("sqlite: ready: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: ready: %w", geo.Errorf(geo.EUNAVAILABLE, "schema not migrated (want version %d)", latestVersion))
	}
	var v int64
	err = db.read.QueryRowContext(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v)
	if err != nil {
		return fmt.Errorf("sqlite: ready: %w", err)
	}
	if v != latestVersion {
		return fmt.Errorf("sqlite: ready: %w", geo.Errorf(geo.EUNAVAILABLE, "schema at version %d, want %d", v, latestVersion))
	}
	return nil
}

// wrap prefixes err with the operation; constraint failures also carry a geo
// error code so callers can tell bad input from a broken store.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if geo.ErrorCode(err) != geo.EINTERNAL {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 19: // SQLITE_CONSTRAINT: foreign key, check, unique
			code := geo.EINVALID
			if se.Code() == 2067 || se.Code() == 1555 { // UNIQUE, PRIMARY KEY
				code = geo.ECONFLICT
			}
			return fmt.Errorf("sqlite: %s: %w: %w", op, geo.Errorf(code, "%s", se.Error()), err)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// inTx runs fn in one write transaction, committing if it returns nil.
func (db *DB) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return wrap(op, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if err := fn(tx); err != nil {
		return wrap(op, err)
	}
	return wrap(op, tx.Commit())
}

// nowUTC returns the clock in UTC at the stores' microsecond precision.
func (db *DB) nowUTC() time.Time { return db.now().UTC().Truncate(time.Microsecond) }

// us converts a time to the stored unix microseconds.
func us(t time.Time) int64 { return t.UnixMicro() }

// fromUS converts stored unix microseconds to a UTC time.
func fromUS(v int64) time.Time { return time.UnixMicro(v).UTC() }

// usPtr converts an optional time for a nullable column.
func usPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// fromUSPtr converts a nullable column back.
func fromUSPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromUS(v.Int64)
	return &t
}

// dayText is the stored form of a day.
func dayText(t time.Time) string { return t.Format(time.DateOnly) }

// parseDay reads a stored day.
func parseDay(s string) (time.Time, error) { return time.Parse(time.DateOnly, s) }

// dayOf returns t's calendar date as stored text, in t's own location, the
// same rule geo.Incident.Normalize applies.
func dayOf(t time.Time) string {
	y, m, d := t.Date()
	return dayText(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

// DataVersion returns a counter that changes whenever incidents change.
func (db *DB) DataVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.read.QueryRowContext(ctx, `SELECT version FROM data_version`).Scan(&v)
	return v, wrap("data version", err)
}

// bumpDataVersion marks a change of incident data inside tx.
func bumpDataVersion(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE data_version SET version = version + 1`)
	return err
}

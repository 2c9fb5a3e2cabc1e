package postgis

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"path"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"hotspots/geo"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable is goose's bookkeeping table, created in the current schema.
const versionTable = "goose_db_version"

// latestVersion is the version of the newest embedded migration: the one
// Ready requires.
var latestVersion = func() int64 {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	var v int64
	for _, n := range names {
		nv, err := goose.NumericComponent(path.Base(n))
		if err != nil {
			panic(fmt.Sprintf("postgis: migration %s: %v", n, err))
		}
		v = max(v, nv)
	}
	return v
}()

// Migrate applies the embedded migrations that are not applied yet. It holds
// a PostgreSQL advisory lock while doing so, so several processes starting at
// once wait for each other instead of failing; running it again is a no-op.
func (db *DB) Migrate(ctx context.Context) error {
	var schema string
	if err := db.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return wrap("migrate: current schema", err)
	}
	// goose's default lock id is database-wide; keying it by schema lets
	// separate schemas in one database (tests, staging) migrate in parallel
	// while two processes migrating the same schema still serialise.
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(crc32.ChecksumIEEE([]byte("hotspots.migrate:"+schema)))),
		lock.WithLockTimeout(1, 600), // poll every second, for up to 10 minutes
	)
	if err != nil {
		return fmt.Errorf("postgis: migrate: %w", err)
	}
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("postgis: migrate: %w", err)
	}
	// goose works on database/sql; give it its own small handle on the same
	// connection settings (search_path included) and close it afterwards.
	sqlDB := stdlib.OpenDB(*db.cfg.ConnConfig.Copy())
	defer sqlDB.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, sub,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("postgis: migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("postgis: migrate schema %q: %w", schema, err)
	}
	for _, r := range results {
		db.log.InfoContext(ctx, "migration_applied",
			slog.String("schema", schema),
			slog.Int64("version", r.Source.Version),
			slog.Duration("duration", r.Duration))
	}
	if len(results) > 0 {
		// Statements the pool's connections prepared before a migration
		// changed a column's type would fail once each ("cached plan
		// must not change result type"): new connections prepare afresh.
		db.pool.Reset()
	}
	// A bulk load whose process died left its cell counts to recompute
	// (readers are right meanwhile, only slower) and indexes dropped: they
	// come back here, at the latest, the counts first so their index is
	// built over them rather than kept row by row.
	if err := db.refreshCellDays(ctx); err != nil {
		return fmt.Errorf("postgis: migrate schema %q: %w", schema, err)
	}
	if err := db.ensureIndexesUnlessBulk(ctx); err != nil {
		return fmt.Errorf("postgis: migrate schema %q: %w", schema, err)
	}
	return nil
}

// Ready reports an error unless the database answers and its schema is at
// the version this binary embeds. It only reads, so health checks may call
// it often.
func (db *DB) Ready(ctx context.Context) error {
	var table *string
	err := db.pool.QueryRow(ctx,
		`SELECT to_regclass(format('%I.%I', current_schema(), $1::text))::text`, versionTable).Scan(&table)
	if err != nil {
		return wrap("ready", err)
	}
	if table == nil {
		return fmt.Errorf("postgis: ready: %w", geo.Errorf(geo.EUNAVAILABLE, "schema not migrated (want version %d)", latestVersion))
	}
	var v int64
	// Unqualified, the name resolves to the current schema's table, which
	// was just found to exist.
	err = db.pool.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM `+
		versionTable+` WHERE is_applied`).Scan(&v)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return wrap("ready", err)
	}
	if v != latestVersion {
		return fmt.Errorf("postgis: ready: %w", geo.Errorf(geo.EUNAVAILABLE, "schema at version %d, want %d", v, latestVersion))
	}
	return nil
}

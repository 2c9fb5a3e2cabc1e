package postgis

import (
	"context"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// MigrateUpTo applies the embedded migrations up to version v only, so a
// test can fill a schema as an older release left it and then Migrate.
func (db *DB) MigrateUpTo(ctx context.Context, v int64) error {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	sqlDB := stdlib.OpenDB(*db.cfg.ConnConfig.Copy())
	defer sqlDB.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, v)
	return err
}

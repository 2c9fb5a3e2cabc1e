// Package postgistest gives tests a real, isolated PostGIS store.
//
// The database comes from HOTSPOTS_TEST_DATABASE_URL (scripts/test.sh
// provisions one). Without it tests skip, except under CI=true, where a
// missing PostGIS is a failure: a green CI must mean the SQL really ran.
// Every MustOpenDB call gets its own schema in that database, dropped when
// the test ends, so packages and tests run in parallel without seeing each
// other's rows.
package postgistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hotspots/geo/postgis"
)

// EnvURL names the environment variable holding the test database URL.
const EnvURL = "HOTSPOTS_TEST_DATABASE_URL"

// URL returns the test database URL. It skips tb when none is set, or fails
// it when CI=true.
func URL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostGIS required: %s is not set (run scripts/test.sh)", EnvURL)
		}
		tb.Skipf("%s not set; skipping PostGIS test (scripts/test.sh provisions one)", EnvURL)
	}
	return u
}

// MustOpenDB opens and migrates a store in a new schema, closing it and
// dropping the schema when the test ends.
func MustOpenDB(tb testing.TB) *postgis.DB {
	tb.Helper()
	schema := NewSchema(tb)
	db := Open(tb, schema)
	if err := db.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate schema %s: %v", schema, err)
	}
	return db
}

// Open opens a store on an existing schema (from NewSchema) without
// migrating it, closing it when the test ends.
func Open(tb testing.TB, schema string) *postgis.DB {
	tb.Helper()
	return OpenWith(tb, schema, postgis.Options{})
}

// OpenWith is Open with options.
func OpenWith(tb testing.TB, schema string, opts postgis.Options) *postgis.DB {
	tb.Helper()
	db, err := postgis.Open(context.Background(), SchemaURL(tb, schema), opts)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// SchemaURL returns the test database URL with search_path set to schema
// (then public, where PostGIS lives).
func SchemaURL(tb testing.TB, schema string) string {
	tb.Helper()
	base := URL(tb)
	path := schema + ",public"
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			tb.Fatalf("%s: %v", EnvURL, err)
		}
		q := u.Query()
		q.Set("search_path", path)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return base + " search_path=" + path
}

var extensionOnce sync.Once

// NewSchema creates an empty schema, dropped with everything in it when the
// test ends, and makes sure PostGIS is installed in the database (in public)
// so migrations in the schema find it instead of installing it there.
func NewSchema(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, URL(tb))
	if err != nil {
		tb.Fatalf("connect to test database: %v", err)
	}
	defer conn.Close(ctx)
	var extErr error
	extensionOnce.Do(func() { extErr = ensurePostGIS(ctx, conn) })
	if extErr != nil {
		tb.Fatalf("install postgis: %v", extErr)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, URL(tb))
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// ensurePostGIS installs PostGIS in public unless present. The advisory
// lock keeps test packages running in parallel from racing on it.
func ensurePostGIS(ctx context.Context, conn *pgx.Conn) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('hotspots.test.postgis', 0))`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public`); err != nil {
		return fmt.Errorf("%w (a superuser must run CREATE EXTENSION postgis in the test database)", err)
	}
	return tx.Commit(ctx)
}

package ops_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hotspots/geo/postgis"
)

// mustTool returns the path of a PostgreSQL client program. Without it
// the test skips on a laptop but fails under CI=true, where a skipped
// backup test would make a green run mean nothing.
func mustTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// dbURL returns base with its database replaced by name.
func dbURL(t *testing.T, base, name string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("database URL: %v", err)
	}
	u.Path = "/" + name
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	return u.String()
}

// mustCreateDatabase creates an empty database on the server of adminURL,
// dropped (with any sessions left) when the test ends, and returns its URL.
func mustCreateDatabase(t *testing.T, adminURL, prefix string) string {
	t.Helper()
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := prefix + "_" + hex.EncodeToString(b[:])
	mustExec(t, adminURL, "CREATE DATABASE "+name)
	t.Cleanup(func() { mustExec(t, adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	return dbURL(t, adminURL, name)
}

// mustExec runs one statement on its own connection.
func mustExec(t *testing.T, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// mustOpenPostGIS opens (and with migrate, migrates) a store on dsn,
// closed when the test ends.
func mustOpenPostGIS(t *testing.T, dsn string, migrate bool) *postgis.DB {
	t.Helper()
	ctx := context.Background()
	db, err := postgis.Open(ctx, dsn, postgis.Options{Logger: discard})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if migrate {
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	return db
}

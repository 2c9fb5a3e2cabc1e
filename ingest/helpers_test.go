package ingest

import (
	"context"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/postgis/postgistest"
	"hotspots/geo/sqlite"
)

// MustOpenStore opens a migrated embedded store in a temporary folder.
func MustOpenStore(tb testing.TB) *sqlite.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "hotspots.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// MustCity opens a builtin city.
func MustCity(tb testing.TB, name string) *cities.City {
	tb.Helper()
	c, err := cities.Open(name)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// discard is a logger for tests that do not look at logs.
var discard = slog.New(slog.DiscardHandler)

func openCity(name string) (*cities.City, error) { return cities.Open(name) }

func readFS(c *cities.City, name string) ([]byte, error) { return fs.ReadFile(c.FS, name) }

func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(1, 1)) }

// city0Loc is a zone for parsers under fuzzing.
var city0Loc = time.FixedZone("EST", -5*3600)

// storeKinds are the stores the store-backed tests run against: the
// embedded store always, and PostGIS from HOTSPOTS_TEST_DATABASE_URL
// (skipped without it, a failure under CI=true).
var storeKinds = []struct {
	name string
	open func(testing.TB) geo.Store
}{
	{"sqlite", func(tb testing.TB) geo.Store { return MustOpenStore(tb) }},
	{"postgis", func(tb testing.TB) geo.Store { return postgistest.MustOpenDB(tb) }},
}

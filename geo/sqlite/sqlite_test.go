package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"hotspots/geo"
	"hotspots/geo/sqlite"
	"hotspots/geo/storetest"
)

// MustOpenDB opens and migrates a store in a file named by t, closing it when
// the test ends. Called again with the same t it reopens the same file.
func MustOpenDB(t *testing.T) *sqlite.DB {
	t.Helper()
	path := fileFor(t)
	db, err := sqlite.Open(t.Context(), path, sqlite.Options{Now: storetest.Clock(t)})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

var (
	filesMu sync.Mutex
	files   = map[*testing.T]string{}
)

// fileFor returns the store file of t, the same on every call for one t.
func fileFor(t *testing.T) string {
	filesMu.Lock()
	defer filesMu.Unlock()
	if p, ok := files[t]; ok {
		return p
	}
	p := filepath.Join(t.TempDir(), "hotspots.db")
	files[t] = p
	t.Cleanup(func() {
		filesMu.Lock()
		delete(files, t)
		filesMu.Unlock()
	})
	return p
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) geo.Store { return MustOpenDB(t) })
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	db := MustOpenDB(t)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if err := db.Ready(t.Context()); err != nil {
		t.Fatalf("Ready: %v", err)
	}
}

func TestReadyFailsBeforeMigrate(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "fresh.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Ready(t.Context())
	if code := geo.ErrorCode(err); code != geo.EUNAVAILABLE {
		t.Fatalf("Ready before migrate = %v (code %q), want %s", err, code, geo.EUNAVAILABLE)
	}
}

// TestConcurrentMigrate races several migrators on fresh files; it failed
// in about a third of rounds before Migrate retried.
func TestConcurrentMigrate(t *testing.T) {
	for round := range 4 {
		concurrentMigrate(t, filepath.Join(t.TempDir(), fmt.Sprintf("shared-%d.db", round)))
	}
}

func concurrentMigrate(t *testing.T, path string) {
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			errs[i] = db.Migrate(context.Background())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrator %d: %v", i, err)
		}
	}
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ready(context.Background()); err != nil {
		t.Fatalf("Ready after concurrent migrations: %v", err)
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := sqlite.Open(t.Context(), "", sqlite.Options{}); geo.ErrorCode(err) != geo.EINVALID {
		t.Fatalf("Open(\"\") = %v, want EINVALID", err)
	}
}

package postgis_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"hotspots/geo"
	"hotspots/geo/postgis"
	"hotspots/geo/postgis/postgistest"
	"hotspots/geo/storetest"
)

var (
	schemasMu sync.Mutex
	schemas   = map[*testing.T]string{}
)

// openFor gives each conformance test its own schema and reopens that
// schema when called again for the same test.
func openFor(t *testing.T) geo.Store {
	t.Helper()
	schemasMu.Lock()
	schema, ok := schemas[t]
	schemasMu.Unlock()
	if !ok {
		schema = postgistest.NewSchema(t)
		schemasMu.Lock()
		schemas[t] = schema
		schemasMu.Unlock()
		t.Cleanup(func() {
			schemasMu.Lock()
			delete(schemas, t)
			schemasMu.Unlock()
		})
	}
	// The suite's clock (storetest.Clock) stamps rows in the past for the
	// retention and interrupted-load tests.
	db := postgistest.OpenWith(t, schema, postgis.Options{Now: storetest.Clock(t)})
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

func TestConformance(t *testing.T) {
	postgistest.URL(t)
	storetest.Run(t, openFor)
}

// connect opens a plain connection on schema for checks the Store does not
// expose.
func connect(t *testing.T, schema string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), postgistest.SchemaURL(t, schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func appliedMigrations(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	schema := postgistest.NewSchema(t)
	db := postgistest.Open(t, schema)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, schema)
	before := appliedMigrations(t, conn)
	if before == 0 {
		t.Fatal("no migration recorded")
	}
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if after := appliedMigrations(t, conn); after != before {
		t.Fatalf("second migrate recorded %d migrations, first %d", after, before)
	}
	if err := db.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentMigrate(t *testing.T) {
	schema := postgistest.NewSchema(t)
	dbs := []*postgis.DB{postgistest.Open(t, schema), postgistest.Open(t, schema)}
	errs := make([]error, len(dbs))
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Migrate(context.Background())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrator %d: %v", i, err)
		}
	}
	for i, db := range dbs {
		if err := db.Ready(t.Context()); err != nil {
			t.Errorf("Ready %d: %v", i, err)
		}
	}
	files, _ := filepath.Glob("migrations/*.sql")
	if n := appliedMigrations(t, connect(t, schema)); n != len(files) {
		t.Fatalf("%d migrations recorded, want each of %d once", n, len(files))
	}
}

func TestReadyFailsBeforeMigrate(t *testing.T) {
	db := postgistest.Open(t, postgistest.NewSchema(t))
	if err := db.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	err := db.Ready(t.Context())
	if code := geo.ErrorCode(err); code != geo.EUNAVAILABLE {
		t.Fatalf("Ready before migrate = %v (code %q), want %s", err, code, geo.EUNAVAILABLE)
	}
}

func TestOpenUnreachable(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"refused", "postgres://hotspots:secret@127.0.0.1:1/hotspots?connect_timeout=2", "cannot reach"},
		{"bad url", "postgres://%zz", "parse database url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := postgis.Open(t.Context(), tc.url, postgis.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") || strings.Contains(msg, "secret") {
				t.Fatalf("error %q: want one line naming %q, without the password", msg, tc.want)
			}
		})
	}
}

// TestH3ParentSQLMatchesGo checks the SQL function bit for bit against
// geo.Cell.Parent, at every resolution, for cells around the world.
func TestH3ParentSQLMatchesGo(t *testing.T) {
	db := postgistest.MustOpenDB(t)
	conn := connect(t, currentSchema(t, db))
	for _, p := range []orb.Point{{-76.6122, 39.2904}, {13.377704, 52.516262}, {151.2, -33.87}, {-0.1, 0.1}, {179.9, 89.9}} {
		c, err := geo.CellFromPoint(p, geo.FinestRes)
		if err != nil {
			t.Fatal(err)
		}
		for res := 0; res <= 15; res++ {
			var got int64
			if err := conn.QueryRow(t.Context(), `SELECT h3_parent($1, $2)`, int64(c), res).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if want := c.Parent(res); geo.Cell(got) != want {
				t.Errorf("h3_parent(%s, %d) = %s, want %s", c, res, geo.Cell(got), want)
			}
		}
	}
}

// TestGeometryColumnsForQGIS checks the typmods QGIS reads to list layers.
func TestGeometryColumnsForQGIS(t *testing.T) {
	db := postgistest.MustOpenDB(t)
	schema := currentSchema(t, db)
	conn := connect(t, schema)
	tests := []struct{ table, column, typ string }{
		{"incidents", "geom", "POINT"},
		{"areas", "geom", "MULTIPOLYGON"},
		{"subscriptions", "geom", "MULTIPOLYGON"},
	}
	for _, tc := range tests {
		var typ string
		var srid int
		err := conn.QueryRow(t.Context(), `SELECT type, srid FROM geometry_columns
WHERE f_table_schema = $1 AND f_table_name = $2 AND f_geometry_column = $3`, schema, tc.table, tc.column).Scan(&typ, &srid)
		if err != nil {
			t.Fatalf("%s.%s: %v", tc.table, tc.column, err)
		}
		if typ != tc.typ || srid != 4326 {
			t.Errorf("%s.%s is %s/%d, want %s/4326", tc.table, tc.column, typ, srid, tc.typ)
		}
	}
}

// currentSchema finds the schema a store from postgistest works in.
func currentSchema(t *testing.T, db *postgis.DB) string {
	t.Helper()
	s, err := db.Schema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

package postgis_test

import (
	"strings"
	"testing"

	"hotspots/geo"
	"hotspots/geo/postgis/postgistest"
)

// TestAccessLogAppendOnly checks that the database itself refuses to
// change or delete access log rows, whatever code holds a connection.
func TestAccessLogAppendOnly(t *testing.T) {
	schema := postgistest.NewSchema(t)
	db := postgistest.Open(t, schema)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendAccess(t.Context(), geo.AccessEntry{Role: geo.RoleAnalyst, KeyName: "a", Route: "GET /x", Rows: 3}); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, schema)
	for _, q := range []string{`UPDATE access_log SET rows = 0`, `DELETE FROM access_log`} {
		_, err := conn.Exec(t.Context(), q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only refusal", q, err)
		}
	}
	got, err := db.ListAccess(t.Context(), geo.AccessFilter{})
	if err != nil || len(got) != 1 || got[0].Rows != 3 {
		t.Fatalf("after the refused statements: %+v, %v", got, err)
	}
	// The key hash is what is stored, never the secret.
	_, secret, err := db.CreateKey(t.Context(), geo.APIKey{Name: "k", Role: geo.RolePublic})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM api_keys WHERE hash = $1 AND position($2::bytea IN hash) = 0`,
		geo.HashKeySecret(secret), []byte(secret)).Scan(&n); err != nil || n != 1 {
		t.Fatalf("stored hash: %d rows, %v", n, err)
	}
}

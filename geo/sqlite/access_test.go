package sqlite_test

import (
	"database/sql"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"hotspots/geo"
)

// TestAccessLogAppendOnly checks that the file itself refuses to change or
// delete access log rows, whatever code opens it.
func TestAccessLogAppendOnly(t *testing.T) {
	db := MustOpenDB(t)
	if err := db.AppendAccess(t.Context(), geo.AccessEntry{Role: geo.RoleAnalyst, KeyName: "a", Route: "GET /x", Rows: 3}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := db.CreateKey(t.Context(), geo.APIKey{Name: "k", Role: geo.RolePublic})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+fileFor(t)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`UPDATE access_log SET rows = 0`, `DELETE FROM access_log`} {
		_, err := raw.ExecContext(t.Context(), q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only refusal", q, err)
		}
	}
	got, err := db.ListAccess(t.Context(), geo.AccessFilter{})
	if err != nil || len(got) != 1 || got[0].Rows != 3 {
		t.Fatalf("after the refused statements: %+v, %v", got, err)
	}
	var stored []byte
	if err := raw.QueryRowContext(t.Context(), `SELECT hash FROM api_keys`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if string(stored) != string(geo.HashKeySecret(secret)) || strings.Contains(string(stored), secret) {
		t.Fatalf("stored %x, want the SHA-256 of the secret only", stored)
	}
}

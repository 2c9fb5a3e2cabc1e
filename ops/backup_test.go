package ops_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"hotspots/geo/postgis/postgistest"
	"hotspots/ingest"
)

// TestBackupRestore follows docs/operations.md: it loads a fresh database,
// dumps it with pg_dump -Fc, restores the dump into another fresh database
// with pg_restore, and checks that the restored store is ready and gives
// identical cell counts and indicators, the same data version, and that a
// feed re-sent to it changes nothing (the content hashes came along).
func TestBackupRestore(t *testing.T) {
	pgDump, pgRestore := mustTool(t, "pg_dump"), mustTool(t, "pg_restore")
	admin := postgistest.URL(t)
	ctx := context.Background()

	srcURL := mustCreateDatabase(t, admin, "hs_backup_src")
	src := mustOpenPostGIS(t, srcURL, true)
	mustLoadFixture(t, src)
	want := mustSnapshot(t, src)
	wantVersion, err := src.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}

	dump := filepath.Join(t.TempDir(), "hotspots.dump")
	if out, err := exec.CommandContext(ctx, pgDump, "-Fc", "--no-owner", "-f", dump, "-d", srcURL).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	dstURL := mustCreateDatabase(t, admin, "hs_backup_dst")
	if out, err := exec.CommandContext(ctx, pgRestore, "--no-owner", "--exit-on-error", "-d", dstURL, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}

	dst := mustOpenPostGIS(t, dstURL, false)
	if err := dst.Ready(ctx); err != nil {
		t.Fatalf("restored store not ready (schema not current?): %v", err)
	}
	assertSameSnapshot(t, mustSnapshot(t, dst), want)
	if v, err := dst.DataVersion(ctx); err != nil || v != wantVersion {
		t.Fatalf("restored data version %d, %v; want %d", v, err, wantVersion)
	}
	sum, err := ingest.Run(ctx, dst, mustCity(t), fixtureLoads[1][0], fixtureLoads[1][1],
		ingest.RunOptions{Options: ingest.Options{Logger: discard}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != 0 || sum.Changed != 0 || sum.Unchanged != 277 {
		t.Fatalf("re-sent feed after restore: added %d, changed %d, unchanged %d; want 0, 0, 277",
			sum.Added, sum.Changed, sum.Unchanged)
	}
}

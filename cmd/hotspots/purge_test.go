package main

import (
	"context"
	"strings"
	"testing"
)

// TestPurgeCommand loads the 2020 sample into the embedded store and
// purges with an age that covers it all, then again to see nothing left;
// a malformed age is refused before the store is opened.
func TestPurgeCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if code, _, errOut := hs(t, ctx, dir, "ingest", "--mapping", "mappings/bpd-part1-2020.yaml", "sample/bpd-part1-2020.csv"); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errOut)
	}
	// All from 2020: the 277 with coordinates (ingest/samples_test.go) and
	// the one row without that the city's offline geocoder places.
	code, out, errOut := hs(t, ctx, dir, "purge", "--older-than", "1d")
	if code != 0 || !strings.Contains(out, "purged points of 278 incidents that occurred before ") {
		t.Fatalf("purge: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = hs(t, ctx, dir, "purge", "--older-than", "1d")
	if code != 0 || !strings.Contains(out, "purged points of 0 incidents") {
		t.Fatalf("second purge: exit %d\n%s\n%s", code, out, errOut)
	}
	code, _, errOut = hs(t, ctx, dir, "purge", "--older-than", "soon")
	if code != 2 || !strings.Contains(errOut, `age "soon"`) {
		t.Fatalf("bad age: exit %d: %s", code, errOut)
	}
}

package geocode

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"hotspots/geo"
)

// TestCachedCensusSurvivesReopen wraps the Census adapter (against the fake
// server) in a file cache: a repeated address costs no second request, not
// even after the cache is closed and reopened.
func TestCachedCensusSurvivesReopen(t *testing.T) {
	f := newFakeCensus(t)
	census, err := NewCensus(testHTTPConfig(f.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "geocode-cache.jsonl")
	ctx := context.Background()

	fc, err := OpenFileCache(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := NewCached(census, fc, "census", nil)
	first, err := g.Geocode(ctx, "1200 N MILTON AV")
	if err != nil {
		t.Fatal(err)
	}
	// A different spelling of the same address is the same key.
	second, err := g.Geocode(ctx, "1200 n. Milton Avenue")
	if err != nil {
		t.Fatal(err)
	}
	if first != second || f.requests.Load() != 1 {
		t.Fatalf("second lookup: %+v vs %+v, %d requests", first, second, f.requests.Load())
	}
	if err := fc.Close(); err != nil {
		t.Fatal(err)
	}

	fc2, err := OpenFileCache(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fc2.Close()
	g2 := NewCached(census, fc2, "census", nil)
	third, err := g2.Geocode(ctx, "1200 N MILTON AV")
	if err != nil {
		t.Fatal(err)
	}
	if third != first || f.requests.Load() != 1 {
		t.Errorf("after reopen: %+v vs %+v, %d requests", third, first, f.requests.Load())
	}
	// Another namespace must not see census answers.
	other := NewCached(fakeGeocoder{}, fc2, "other", nil)
	if r, _ := other.Geocode(ctx, "1200 N MILTON AV"); r.OK() {
		t.Errorf("namespace leak: %+v", r)
	}
}

func TestCachedBatchSendsOnlyMisses(t *testing.T) {
	f := newFakeCensus(t)
	census, _ := NewCensus(testHTTPConfig(f.srv.URL))
	fc, err := OpenFileCache(filepath.Join(t.TempDir(), "c.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	g := NewCached(census, fc, "census", nil)
	ctx := context.Background()
	if _, err := g.Geocode(ctx, "1200 N MILTON AV"); err != nil {
		t.Fatal(err)
	}
	in := []string{"1200 N MILTON AV", "300 E 22ND ST", "300 E 22nd St", "1 NOWHERE ST", "300 E 22ND ST"}
	rs, err := g.GeocodeBatch(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.rows.Load(); got != 3 {
		t.Errorf("rows sent = %d, want 3 (1 single + 2 distinct misses)", got)
	}
	if rs[1] != rs[2] || rs[1] != rs[4] || !rs[0].OK() || rs[3].Reason != geo.ReasonUngeocodable {
		t.Errorf("batch results %+v", rs)
	}
	// Everything is cached now: no request at all.
	before := f.requests.Load()
	if _, err := g.GeocodeBatch(ctx, in); err != nil || f.requests.Load() != before {
		t.Errorf("fully cached batch: %v, %d new requests", err, f.requests.Load()-before)
	}
}

func TestCachedDoesNotCacheErrors(t *testing.T) {
	f := newFakeCensus(t, "400")
	census, _ := NewCensus(testHTTPConfig(f.srv.URL))
	fc, err := OpenFileCache(filepath.Join(t.TempDir(), "c.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	g := NewCached(census, fc, "census", nil)
	if _, err := g.Geocode(context.Background(), "1200 N MILTON AV"); err == nil {
		t.Fatal("want the 400 as an error")
	}
	if fc.Len() != 0 {
		t.Errorf("error was cached")
	}
	if r, err := g.Geocode(context.Background(), "1200 N MILTON AV"); err != nil || !r.OK() {
		t.Errorf("retry after error: %+v %v", r, err)
	}
}

func TestFileCacheTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.jsonl")
	fc, err := OpenFileCache(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Score: 0.9, Precision: geo.PrecisionBlock, Matched: "1200 N MILTON AVE", Candidates: 1}
	want.Point[0], want.Point[1] = -76.6, 39.3
	if err := fc.Put("k1", want); err != nil {
		t.Fatal(err)
	}
	if err := fc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fc.Put("k2", want); err == nil {
		t.Error("Put after Close: want error")
	}
	// Simulate a crash mid-append.
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteString(`{"k":"k3","r":{"Sco`); err != nil {
		t.Fatal(err)
	}
	fh.Close()

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	fc2, err := OpenFileCache(path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := fc2.Get("k1"); !ok || got != want {
		t.Errorf("k1 = %+v, %v", got, ok)
	}
	if _, ok := fc2.Get("k3"); ok {
		t.Error("torn line was loaded")
	}
	if err := fc2.Put("k4", want); err != nil {
		t.Fatal(err)
	}
	fc2.Close()
	fc3, err := OpenFileCache(path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer fc3.Close()
	if _, ok := fc3.Get("k4"); !ok || fc3.Len() != 2 {
		t.Errorf("entry after a torn line lost: len %d", fc3.Len())
	}
}

func TestOpenFileCacheError(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenFileCache(dir, nil); err == nil || errors.Is(err, os.ErrNotExist) {
		t.Errorf("opening a directory: err = %v", err)
	}
}

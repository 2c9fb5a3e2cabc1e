package ops_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"hotspots/api"
	"hotspots/cities"
	"hotspots/geo"
	"hotspots/ingest"
	"hotspots/ingest/areas"
)

// The fault fixture is Tempe's opioid EMS sample: 2,743 rows, 2,358
// incidents and 4 quarantined rows (ingest/samples_test.go), keyed by the
// source's OBJECTID and not merged, so incidents are written batch by
// batch while the feed is still being read.
const (
	faultMapping    = "mappings/tempe-opioid-ems.yaml"
	faultFile       = "sample/tempe-opioid-ems.csv"
	faultIncidents  = 2358
	faultQuarantine = 4
	faultBatch      = 200
)

// TestDatabaseStoppedMidIngest stops a private PostgreSQL after the second
// batch of an ingest has been committed, checks the API stays live
// (/healthz 200) but not ready (/readyz 503) while the database is gone,
// starts it again, waits for /readyz to recover on its own, reruns the
// ingest and checks the store holds exactly the rows a clean load gives:
// none lost, none doubled, quarantine not doubled, same cell counts.
func TestDatabaseStoppedMidIngest(t *testing.T) {
	pg := startPG(t)
	ctx := context.Background()
	city, err := cities.Open("tempe")
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, pg.URL("postgres"), "CREATE DATABASE clean")
	mustExec(t, pg.URL("postgres"), "CREATE DATABASE faulty")

	clean := mustOpenPostGIS(t, pg.URL("clean"), true)
	if err := areas.LoadCity(ctx, clean, city); err != nil {
		t.Fatal(err)
	}
	if sum, err := ingest.Run(ctx, clean, city, faultMapping, faultFile, runOpts()); err != nil || sum.Added != faultIncidents {
		t.Fatalf("clean load: added %d, %v; want %d", sum.Added, err, faultIncidents)
	}
	want := mustRows(t, clean)

	st := mustOpenPostGIS(t, pg.URL("faulty"), true)
	if err := areas.LoadCity(ctx, st, city); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Store: st, City: city, Logger: discard}).Handler())
	t.Cleanup(srv.Close)
	if got := status(t, srv.URL+"/readyz"); got != http.StatusOK {
		t.Fatalf("/readyz before the fault = %d", got)
	}

	// Stop the database from inside the load, once two batches are in.
	m, err := ingest.OpenMapping(city, faultMapping)
	if err != nil {
		t.Fatal(err)
	}
	feed, _, closeFeed, err := ingest.OpenFeed(ctx, city, m, faultFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFeed()
	batches := 0
	opts := runOpts().Options
	opts.AfterUpsert = func(context.Context, []geo.Incident) {
		if batches++; batches == 2 {
			pg.Stop()
		}
	}
	if _, err := ingest.Load(ctx, st, city, m, feed, opts); err == nil {
		t.Fatal("ingest succeeded although the database was stopped during it")
	}
	// The writer keeps two upserts in flight, so a batch of the other lane
	// may commit while the server stops; its hook still runs.
	if batches < 2 {
		t.Fatalf("%d batches committed, want the stop after the second", batches)
	}

	// The database is gone: alive, not ready.
	if got := status(t, srv.URL+"/healthz"); got != http.StatusOK {
		t.Fatalf("/healthz with the database down = %d, want 200", got)
	}
	if got := status(t, srv.URL+"/readyz"); got != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the database down = %d, want 503", got)
	}

	pg.Start()
	waitReady(t, srv.URL+"/readyz")
	partial, err := st.CountIncidents(ctx, geo.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// Batches are transactions: what is stored is exactly the committed
	// batches, none half-written.
	if partial != batches*faultBatch {
		t.Fatalf("%d incidents after the interrupted load, want the %d of the %d committed batches", partial, batches*faultBatch, batches)
	}
	t.Logf("interrupted load kept %d committed batches (%d incidents)", batches, partial)

	sum, err := ingest.Run(ctx, st, city, faultMapping, faultFile, runOpts())
	if err != nil {
		t.Fatalf("rerun after restart: %v", err)
	}
	if sum.Added != faultIncidents-partial || sum.Unchanged != partial || sum.Changed != 0 {
		t.Fatalf("rerun: added %d, unchanged %d, changed %d; want %d, %d, 0",
			sum.Added, sum.Unchanged, sum.Changed, faultIncidents-partial, partial)
	}
	got := mustRows(t, st)
	if !slices.Equal(got.incidents, want.incidents) {
		t.Fatalf("incidents differ from a clean load: %d vs %d", len(got.incidents), len(want.incidents))
	}
	if !slices.Equal(got.cells, want.cells) {
		t.Fatal("cell counts differ from a clean load")
	}
	if got.quarantined != faultQuarantine || want.quarantined != faultQuarantine {
		t.Fatalf("quarantined rows %d (clean load %d), want %d", got.quarantined, want.quarantined, faultQuarantine)
	}
}

func runOpts() ingest.RunOptions {
	return ingest.RunOptions{Options: ingest.Options{Logger: discard, BatchSize: faultBatch}}
}

// rows is a store's content in a form two databases can be compared in:
// every incident as one line (no database ids or write times), the
// resolution 9 cell counts, and the quarantine size.
type rows struct {
	incidents   []string
	cells       []string
	quarantined int
}

func mustRows(t *testing.T, st geo.Store) rows {
	t.Helper()
	ctx := context.Background()
	incs, err := st.FindIncidents(ctx, geo.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var r rows
	for _, i := range incs {
		r.incidents = append(r.incidents, fmt.Sprintf("%s|%s|%s|%s|%s|%v|%d|%d|%v|%v",
			i.Source, i.SourceID, i.Kind, i.OccurredAt.UTC().Format(time.RFC3339), i.Day.Format(time.DateOnly),
			i.Location, i.Victims, i.Naloxone, i.Cell, i.Areas))
	}
	slices.Sort(r.incidents)
	cc, err := st.CellCounts(ctx, geo.CellCountFilter{Res: geo.DefaultDetectRes})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cc {
		r.cells = append(r.cells, fmt.Sprintf("%v|%s|%d", c.Cell, c.Kind, c.Count))
	}
	slices.Sort(r.cells)
	q, err := st.ListQuarantine(ctx, geo.QuarantineFilter{IncludeResolved: true, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	r.quarantined = len(q)
	return r
}

func status(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// waitReady polls /readyz until it answers 200. The bound is generous: it
// only stops a broken build from hanging, it does not measure recovery.
func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code := status(t, url)
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d two minutes after the database came back", code)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

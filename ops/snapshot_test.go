package ops_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/indicator"
	"hotspots/geo/sqlite"
	"hotspots/ingest"
	"hotspots/ingest/areas"
)

var discard = slog.New(slog.DiscardHandler)

// fixtureLoads are two bundled Baltimore samples, one from 2018 and one
// from 2020, so a cutoff in 2019 splits them.
var fixtureLoads = [][2]string{
	{"mappings/bpd-part1-2018.yaml", "sample/bpd-part1-2018.csv"},
	{"mappings/bpd-part1-2020.yaml", "sample/bpd-part1-2020.csv"},
}

// fixtureIncidents is how many incidents the two samples hold (445 and
// 277, from ingest/samples_test.go, worked out from the data).
const fixtureIncidents = 445 + 277

// mustLoadFixture loads Baltimore's area layers and the two samples.
func mustLoadFixture(t *testing.T, st geo.Store) {
	t.Helper()
	ctx := context.Background()
	city := mustCity(t)
	if err := areas.LoadCity(ctx, st, city); err != nil {
		t.Fatalf("load areas: %v", err)
	}
	for _, l := range fixtureLoads {
		if _, err := ingest.Run(ctx, st, city, l[0], l[1], ingest.RunOptions{Options: ingest.Options{Logger: discard}}); err != nil {
			t.Fatalf("ingest %s: %v", l[1], err)
		}
	}
}

func mustCity(t *testing.T) *cities.City {
	t.Helper()
	city, err := cities.Open("baltimore")
	if err != nil {
		t.Fatal(err)
	}
	return city
}

func mustSQLite(t *testing.T) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ops.db"), sqlite.Options{Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// snapshot is what users of aggregates see: cell counts at the detection
// and finest resolutions, and every layer's yearly indicator table.
type snapshot struct {
	Cells9, Cells12 []geo.CellCount
	Indicators      map[string]*indicator.Table
	Incidents       int
}

// mustSnapshot reads a snapshot of st.
func mustSnapshot(t *testing.T, st geo.Store) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	var err error
	if s.Cells9, err = st.CellCounts(ctx, geo.CellCountFilter{Res: geo.DefaultDetectRes}); err != nil {
		t.Fatal(err)
	}
	if s.Cells12, err = st.CellCounts(ctx, geo.CellCountFilter{Res: geo.FinestRes}); err != nil {
		t.Fatal(err)
	}
	if s.Incidents, err = st.CountIncidents(ctx, geo.IncidentFilter{}); err != nil {
		t.Fatal(err)
	}
	layers, err := st.Layers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	from, to := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	periods, err := indicator.Periods(indicator.Year, from, to)
	if err != nil {
		t.Fatal(err)
	}
	s.Indicators = map[string]*indicator.Table{}
	for _, l := range layers {
		as, err := st.Areas(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		counts, err := st.AreaDayCounts(ctx, geo.AreaCountFilter{Layer: l.ID, From: &from, To: &to})
		if err != nil {
			t.Fatal(err)
		}
		tb, err := indicator.Compute(indicator.Input{Areas: as, Counts: counts, Period: indicator.Year, Periods: periods, DataStart: from})
		if err != nil {
			t.Fatalf("indicators of %s: %v", l.ID, err)
		}
		s.Indicators[l.ID] = tb
	}
	if len(s.Indicators) == 0 || len(s.Cells9) == 0 {
		t.Fatalf("empty snapshot: %d layers, %d cells", len(s.Indicators), len(s.Cells9))
	}
	return s
}

// assertSameSnapshot fails t when got differs from want, naming the part.
func assertSameSnapshot(t *testing.T, got, want snapshot) {
	t.Helper()
	if !reflect.DeepEqual(got.Cells9, want.Cells9) {
		t.Errorf("resolution 9 cell counts differ: %d vs %d rows", len(got.Cells9), len(want.Cells9))
	}
	if !reflect.DeepEqual(got.Cells12, want.Cells12) {
		t.Errorf("resolution 12 cell counts differ: %d vs %d rows", len(got.Cells12), len(want.Cells12))
	}
	if got.Incidents != want.Incidents {
		t.Errorf("incidents %d, want %d", got.Incidents, want.Incidents)
	}
	for id, w := range want.Indicators {
		if !reflect.DeepEqual(got.Indicators[id], w) {
			t.Errorf("indicators of layer %s differ", id)
		}
	}
	if len(got.Indicators) != len(want.Indicators) {
		t.Errorf("%d indicator layers, want %d", len(got.Indicators), len(want.Indicators))
	}
}

// withPoint counts incidents that still have a location.
func withPoint(t *testing.T, st geo.Store, f geo.IncidentFilter) int {
	t.Helper()
	box := orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}
	f.Bounds = &box
	n, err := st.CountIncidents(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

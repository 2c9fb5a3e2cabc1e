package detect_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/detect"
	"hotspots/geo/postgis/postgistest"
	"hotspots/geo/sqlite"
)

// storeKinds are the stores the store-backed tests run on: the embedded
// store always, PostGIS from HOTSPOTS_TEST_DATABASE_URL (skipped without
// it, a failure under CI=true).
var storeKinds = []struct {
	name string
	open func(testing.TB) geo.Store
}{
	{"sqlite", func(tb testing.TB) geo.Store { return mustOpenSQLite(tb) }},
	{"postgis", func(tb testing.TB) geo.Store { return postgistest.MustOpenDB(tb) }},
}

func mustOpenSQLite(tb testing.TB) *sqlite.DB {
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

var (
	cityOnce sync.Once
	city     *cities.City
	cityErr  error
)

func mustBaltimore(tb testing.TB) *cities.City {
	tb.Helper()
	cityOnce.Do(func() { city, cityErr = cities.Open("baltimore") })
	if cityErr != nil {
		tb.Fatal(cityErr)
	}
	return city
}

// The planted world: a box in central Baltimore split into two districts
// (west and east of splitLon), background overdoses and shootings spread
// uniformly over it, an overdose outbreak at hotPoint in the last two
// days, and pairs of shootings close in space and time through the year.
var (
	box      = orb.Bound{Min: orb.Point{-76.68, 39.27}, Max: orb.Point{-76.56, 39.33}}
	splitLon = -76.62
	hotPoint = orb.Point{-76.645, 39.300} // in the west district
)

const districtLayer = "district_test"

// world describes planted data relative to the as-of day.
type world struct {
	asOf     time.Time // an instant on the as-of day, local noon
	day      time.Time // the as-of date at 00:00 UTC
	incs     []geo.Incident
	outbreak []geo.Incident
}

// plantWorld builds days of background up to the as-of day, with the
// outbreak and the near-repeat pairs.
func plantWorld(tb testing.TB, asOfDay time.Time, days int, seed uint64) world {
	tb.Helper()
	loc := mustBaltimore(tb).Location
	rng := rand.New(rand.NewPCG(seed, 99))
	w := world{day: asOfDay, asOf: time.Date(asOfDay.Year(), asOfDay.Month(), asOfDay.Day(), 12, 0, 0, 0, loc)}
	n := 0
	add := func(kind geo.Kind, p orb.Point, day time.Time) geo.Incident {
		n++
		c, err := geo.CellFromPoint(p, geo.FinestRes)
		if err != nil {
			tb.Fatal(err)
		}
		district := "west"
		if p.Lon() > splitLon {
			district = "east"
		}
		inc := geo.Incident{
			Source: "test", SourceID: fmt.Sprintf("t%06d", n), Kind: kind,
			OccurredAt: time.Date(day.Year(), day.Month(), day.Day(), 1+rng.IntN(22), rng.IntN(60), 0, 0, loc).UTC(),
			TimeKnown:  true, Day: day, Location: p, Precision: geo.PrecisionExact, Victims: 1, Cell: c,
			Areas: map[string]string{districtLayer: district},
		}
		w.incs = append(w.incs, inc)
		return inc
	}
	uniform := func() orb.Point {
		return orb.Point{box.Min.Lon() + rng.Float64()*(box.Max.Lon()-box.Min.Lon()),
			box.Min.Lat() + rng.Float64()*(box.Max.Lat()-box.Min.Lat())}
	}
	near := func(c orb.Point, m float64) orb.Point {
		r, a := m*math.Sqrt(rng.Float64()), 2*math.Pi*rng.Float64()
		return orb.Point{c.Lon() + r*math.Cos(a)/(111320*math.Cos(c.Lat()*math.Pi/180)), c.Lat() + r*math.Sin(a)/111320}
	}
	odKinds := []geo.Kind{geo.KindOverdoseFatal, geo.KindOverdoseNonFatal, geo.KindOverdoseSuspected}
	for d := range days {
		day := asOfDay.AddDate(0, 0, -d)
		for range poisson(rng, 6) {
			add(odKinds[rng.IntN(3)], uniform(), day)
		}
		if rng.Float64() < 0.8 {
			add(geo.KindShootingNonFatal, uniform(), day)
		}
		// a near repeat about every five days: a second shooting within
		// 60 m and 2 days of a first
		if d >= 2 && d < 365 && rng.IntN(5) == 0 {
			p := uniform()
			add(geo.KindShootingNonFatal, p, day)
			add(geo.KindShootingFatal, near(p, 60), day.AddDate(0, 0, rng.IntN(3)))
		}
	}
	for i := range 16 {
		day := asOfDay.AddDate(0, 0, -min(1, i/12)) // 12 on the as-of day, 4 the day before
		w.outbreak = append(w.outbreak, add(geo.KindOverdoseNonFatal, near(hotPoint, 150), day))
	}
	return w
}

func poisson(r *rand.Rand, lam float64) int {
	l, k, p := math.Exp(-lam), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// load writes the world and the district layer into a store.
func (w world) load(tb testing.TB, st geo.Store) {
	tb.Helper()
	ctx := context.Background()
	rect := func(minLon, maxLon float64) orb.MultiPolygon {
		return orb.MultiPolygon{{{{minLon, box.Min.Lat()}, {maxLon, box.Min.Lat()}, {maxLon, box.Max.Lat()}, {minLon, box.Max.Lat()}, {minLon, box.Min.Lat()}}}}
	}
	err := st.PutLayer(ctx, geo.AreaLayer{ID: districtLayer, Name: "Test districts", Kind: "police_district"}, []geo.Area{
		{Layer: districtLayer, Code: "west", Name: "West", Geometry: rect(box.Min.Lon(), splitLon)},
		{Layer: districtLayer, Code: "east", Name: "East", Geometry: rect(splitLon, box.Max.Lon())},
	})
	if err != nil {
		tb.Fatal(err)
	}
	l, err := st.StartLoad(ctx, "test")
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < len(w.incs); i += 2000 {
		if _, err := st.UpsertIncidents(ctx, l.ID, w.incs[i:min(i+2000, len(w.incs))]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := st.FinishLoad(ctx, l); err != nil {
		tb.Fatal(err)
	}
}

// capture is a sink that keeps every run.
type capture struct {
	mu   sync.Mutex
	runs []geo.DetectionRun
	fs   map[string][]geo.Finding // by run detector + kinds
}

func (c *capture) sink(_ context.Context, run geo.DetectionRun, fs []geo.Finding) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fs == nil {
		c.fs = map[string][]geo.Finding{}
	}
	c.runs = append(c.runs, run)
	c.fs[runKey(run)] = fs
	return nil
}

func runKey(run geo.DetectionRun) string {
	return fmt.Sprintf("%s/%s", run.Detector, run.Kinds[0].Family())
}

// testConfig is the default configuration with fewer replications, so the
// tests stay quick on two cores; the detectors' behaviour is otherwise the
// shipped one.
func testConfig() detect.Config {
	cfg := detect.DefaultConfig().WithReplications(199)
	cfg.Seed = 20240601
	return cfg
}

// quiet drops the runner's log lines in benchmarks.
var quiet = slog.New(slog.DiscardHandler)

package api

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/paulmach/orb"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/postgis/postgistest"
	"hotspots/geo/sqlite"
	"hotspots/ingest/areas"
)

// benchIncidents is how many incidents BenchmarkIndicators loads;
// HOTSPOTS_BENCH_INCIDENTS overrides the default of one million.
func benchIncidents(b *testing.B) int {
	n := 1_000_000
	if s := os.Getenv("HOTSPOTS_BENCH_INCIDENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("HOTSPOTS_BENCH_INCIDENTS=%q", s)
		}
		n = v
	}
	return n
}

// indicatorBenchStore is PostGIS when a test database is configured, else the
// embedded store.
func indicatorBenchStore(b *testing.B) (geo.Store, string) {
	if os.Getenv(postgistest.EnvURL) != "" {
		return postgistest.MustOpenDB(b), "postgis"
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	return st, "sqlite"
}

// BenchmarkIndicators measures GET /api/v1/indicators for all 278 2010
// neighborhoods over 12 monthly periods, with every indicator (3-year
// baselines, trends, ranks, targets), on a store holding many incidents
// spread over four years. The target is under 200 ms with a million
// incidents on PostGIS. "cold" empties the result cache before every
// request, so each one aggregates the incidents in the store again; "warm"
// is a dashboard asking again before the data change.
func BenchmarkIndicators(b *testing.B) {
	ctx := context.Background()
	city, err := cities.Open("baltimore")
	if err != nil {
		b.Fatal(err)
	}
	var layer areas.Layer
	for _, cfg := range city.Layers {
		if cfg.ID == "neighborhood_2010" {
			if layer, err = areas.ReadLayer(city, cfg); err != nil {
				b.Fatal(err)
			}
		}
	}
	st, kind := indicatorBenchStore(b)
	if err := st.PutLayer(ctx, layer.AreaLayer, layer.Areas); err != nil {
		b.Fatal(err)
	}
	n := benchIncidents(b)
	loadBenchIncidents(b, st, layer.Areas, n)
	url := "/api/v1/indicators?layer=neighborhood_2010&kinds=shooting,overdose&period=month&from=2024-01-01&to=2025-01-01"
	for _, who := range []struct {
		name string
		p    geo.Principal
	}{{"analyst", *analyst}, {"public", geo.Anonymous}} {
		for _, cold := range []bool{true, false} {
			name := fmt.Sprintf("%s/%d/%s/warm", kind, n, who.name)
			if cold {
				name = fmt.Sprintf("%s/%d/%s/cold", kind, n, who.name)
			}
			b.Run(name, func(b *testing.B) {
				h := New(Config{Store: st, City: city}).newIndicatorHandler()
				e := echo.New()
				e.HTTPErrorHandler = h.s.errorHandler
				e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
					return func(c echo.Context) error { c.Set("principal", who.p); return next(c) }
				})
				e.GET("/api/v1/indicators", h.indicatorsHandler)
				serve := func() {
					if cold { // every request aggregates the incidents again
						h.mu.Lock()
						h.results = map[resultKey]cachedResult{}
						h.mu.Unlock()
					}
					rec := httptest.NewRecorder()
					e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
				}
				serve() // areas and data span cached, as in a running server
				for b.Loop() {
					serve()
				}
			})
		}
	}
}

func loadBenchIncidents(b *testing.B, st geo.Store, nbhd []geo.Area, n int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(42, 7))
	kinds := []geo.Kind{geo.KindShootingFatal, geo.KindShootingNonFatal, geo.KindOverdoseFatal, geo.KindOverdoseNonFatal}
	start := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	load, err := st.StartLoad(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	began := time.Now()
	const batch = 10_000
	for i := 0; i < n; i += batch {
		incs := make([]geo.Incident, 0, min(batch, n-i))
		for j := i; j < min(i+batch, n); j++ {
			a := nbhd[rng.IntN(len(nbhd))]
			day := start.AddDate(0, 0, rng.IntN(4*365))
			c := a.Geometry.Bound().Center()
			incs = append(incs, geo.Incident{Source: "bench", SourceID: strconv.Itoa(j), Kind: kinds[rng.IntN(len(kinds))],
				OccurredAt: day.Add(time.Duration(rng.IntN(86400)) * time.Second), Day: day, Location: orb.Point{c[0], c[1]},
				Precision: geo.PrecisionExact, Victims: 1 + rng.IntN(2), Areas: map[string]string{"neighborhood_2010": a.Code}})
		}
		if _, err := st.UpsertIncidents(ctx, load.ID, incs); err != nil {
			b.Fatal(err)
		}
	}
	// As ingest does at the end of every load (PostGIS vacuums its
	// aggregate tables there).
	if err := st.FinishLoad(ctx, load); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d incidents in %s", n, time.Since(began).Round(time.Second))
}

package notify_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hotspots/geo"
	"hotspots/geo/postgis/postgistest"
	"hotspots/geo/sqlite"
)

// BenchmarkIncidentToWebhook measures the latency from an incident pushed
// to the area-threshold rule to its alert arriving at a webhook on
// loopback: store the incident, evaluate the rule, write alert and delivery
// in one transaction, wake the pool, claim, sign, POST. Each incident falls
// in its own area, so each raises one alert and one webhook. It pushes at
// least 1,000 incidents and reports p50, p99 and max in milliseconds:
//
//	HOTSPOTS_TEST_DATABASE_URL=... go test -run '^$' -bench IncidentToWebhook -benchtime 1x ./geo/notify/
//
// On PostGIS when HOTSPOTS_TEST_DATABASE_URL is set, else on the embedded
// store.
func BenchmarkIncidentToWebhook(b *testing.B) {
	var store geo.Store
	backend := "sqlite"
	if os.Getenv(postgistest.EnvURL) != "" {
		store, backend = postgistest.MustOpenDB(b), "postgis"
	} else {
		st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		if err := st.Migrate(context.Background()); err != nil {
			b.Fatal(err)
		}
		store = st
	}
	n := max(b.N, 1000)
	w := newWorld(b, store, n)
	cfg := fastPool("bench")
	cfg.Poll = time.Second // rely on Wake, as the serve command does
	p := w.pool(cfg)
	w.engine.Enqueued = p.Wake
	stop := run(p)
	defer stop()
	ctx := context.Background()
	pushed := make(map[string]time.Time, n)
	b.ResetTimer()
	for _, code := range w.areas[:n] {
		pushed[code] = time.Now()
		if err := w.overdose(ctx, code); err != nil {
			b.Fatal(err)
		}
	}
	w.settle(time.Minute)
	b.StopTimer()
	alerts, err := store.FindAlerts(ctx, geo.AlertFilter{})
	if err != nil {
		b.Fatal(err)
	}
	w.rcv.mu.Lock()
	lat := make([]float64, 0, len(alerts))
	for _, a := range alerts {
		code := strings.TrimPrefix(a.Areas[0], "grid:")
		if at, ok := w.rcv.arrived[a.ID]; ok {
			lat = append(lat, float64(at.Sub(pushed[code]))/float64(time.Millisecond))
		}
	}
	w.rcv.mu.Unlock()
	if len(lat) != n {
		b.Fatalf("%d of %d alerts arrived", len(lat), n)
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(lat[len(lat)-1], "max-ms")
	b.Logf("%s: %d incidents, incident to webhook p50 %.1f ms, p99 %.1f ms, max %.1f ms", backend, n, q(0.5), q(0.99), lat[len(lat)-1])
}

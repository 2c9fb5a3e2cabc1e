package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"hotspots/api"
	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/notify"
	"hotspots/geo/sqlite"
	"hotspots/ingest"
	"hotspots/metrics"
)

// TestMetricsOverHTTP ingests a bundled sample twice, requests tiles and
// reads /metrics back, checking each counter against what the sample is
// known to hold (ingest/samples_test.go: 277 incidents, one row with no
// coordinates quarantined as geocode_unmatched).
func TestMetricsOverHTTP(t *testing.T) {
	ctx := context.Background()
	discard := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"), sqlite.Options{Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	city, err := cities.Open("baltimore")
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(prometheus.NewRegistry())
	var source string
	for range 2 {
		sum, err := ingest.Run(ctx, st, city, "mappings/bpd-part1-2020.yaml", "sample/bpd-part1-2020.csv",
			ingest.RunOptions{Options: ingest.Options{Logger: discard, Observer: m}})
		if err != nil {
			t.Fatal(err)
		}
		source = sum.Source
	}
	m.AlertsWritten(geo.AlertBatchResult{
		Run: geo.DetectionRun{Detector: "stpscan", Duration: 1500 * time.Millisecond},
		Events: []geo.AlertEvent{
			{Type: geo.EventRaised, Alert: geo.Alert{Rule: geo.RuleCluster, Severity: geo.SeverityStrong}},
			{Type: geo.EventRaised, Alert: geo.Alert{Rule: geo.RuleCluster, Severity: geo.SeverityStrong}},
		},
	})
	if err := m.WatchPool(func() notify.PoolStats { return notify.PoolStats{Sent: 3, Dead: 1} }); err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(api.New(api.Config{Store: st, City: city, Logger: discard, Metrics: m}).Handler())
	t.Cleanup(srv.Close)
	tile := maptile.At(orb.Point{-76.6122, 39.2904}, 12)
	tilePath := "/tiles/hex/12/" + strconv.Itoa(int(tile.X)) + "/" + strconv.Itoa(int(tile.Y)) + ".mvt?window=all"
	for _, c := range []struct {
		path string
		want int
	}{
		{tilePath, 200},
		{tilePath, 200},
		{"/tiles/hex/99/0/0.mvt", 400},
		{"/no/such/path", 404},
	} {
		if got := get(t, srv.URL+c.path); got != c.want {
			t.Fatalf("GET %s = %d, want %d", c.path, got, c.want)
		}
	}

	fams := scrape(t, srv.URL+"/metrics")
	tileRoute := "/tiles/:layer/:z/:x/:y"
	tests := []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"rows added once", "hotspots_ingest_rows_total", map[string]string{"source": source, "outcome": "added"}, 277},
		{"rows unchanged on the rerun", "hotspots_ingest_rows_total", map[string]string{"source": source, "outcome": "unchanged"}, 277},
		{"quarantined by reason", "hotspots_ingest_quarantined_rows_total", map[string]string{"source": source, "reason": string(geo.ReasonUngeocodable)}, 2},
		{"loads", "hotspots_ingest_loads_total", map[string]string{"source": source, "status": "done"}, 2},
		{"tile cache miss", "hotspots_tile_cache_requests_total", map[string]string{"layer": "hex", "result": "miss"}, 1},
		{"tile cache hit", "hotspots_tile_cache_requests_total", map[string]string{"layer": "hex", "result": "hit"}, 1},
		{"tile latency observed", "hotspots_tile_duration_seconds", map[string]string{"layer": "hex"}, 2},
		{"http tiles ok", "hotspots_http_requests_total", map[string]string{"route": tileRoute, "status": "200", "method": "GET"}, 2},
		{"http tiles bad zoom", "hotspots_http_requests_total", map[string]string{"route": tileRoute, "status": "400"}, 1},
		{"http unmatched", "hotspots_http_requests_total", map[string]string{"route": "unmatched", "status": "404"}, 1},
		{"http latency", "hotspots_http_request_duration_seconds", map[string]string{"route": tileRoute}, 3},
		{"alerts raised", "hotspots_alert_events_total", map[string]string{"rule": "cluster", "type": "raised", "severity": "strong"}, 2},
		{"detection duration", "hotspots_detection_duration_seconds", map[string]string{"detector": "stpscan"}, 1},
		{"deliveries sent", "hotspots_alert_deliveries_total", map[string]string{"state": "sent"}, 3},
		{"deliveries dead", "hotspots_alert_deliveries_total", map[string]string{"state": "dead"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sum(fams[tt.metric], tt.labels); got != tt.want {
				t.Fatalf("%s%v = %v, want %v", tt.metric, tt.labels, got, tt.want)
			}
		})
	}
}

// TestNilMetrics checks that a nil *Metrics is a no-op observer, which
// lets components be built without metrics.
func TestNilMetrics(t *testing.T) {
	var m *metrics.Metrics
	m.LoadFinished(&ingest.Summary{Source: "x", Added: 1}, nil)
	m.TileServed("hex", true, time.Millisecond, nil)
	m.ObserveRequest("GET", "/", 200, time.Millisecond)
	m.AlertsWritten(geo.AlertBatchResult{Run: geo.DetectionRun{Detector: "x"}})
	if err := m.WatchPool(func() notify.PoolStats { return notify.PoolStats{} }); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound || m.Registry() != nil {
		t.Fatalf("nil metrics served %d", rec.Code)
	}
}

func get(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d", res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// sum adds the counter values, or histogram sample counts, of the series
// of f whose labels include want; an empty wanted value matches any. A
// missing family sums to -1, so a test expecting 0 still notices it.
func sum(f *dto.MetricFamily, want map[string]string) float64 {
	if f == nil {
		return -1
	}
	var total float64
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		ok := true
		for k, v := range want {
			if v != "" && have[k] != v {
				ok = false
			}
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/api"
	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/alerting"
	"hotspots/geo/notify"
	"hotspots/geo/postgis/postgistest"
	"hotspots/geo/sqlite"
)

// BenchmarkPushToWebhook measures issue 6's path as serve wires it: an
// overdose POSTed to the push API (HTTP, key authentication, strict
// parsing, validation, area assignment, upsert), the AfterUpsert hook into
// the alerting engine (an area threshold of 1 trips), the outbox, the
// delivery pool woken at once, and the signed webhook received. Each of at
// least 1,000 incidents lands in its own area of a grid layer, so each one
// raises its own alert; p50/p99 are from the POST to the receiver's read.
//
//	go test -run '^$' -bench PushToWebhook -benchtime 1x ./cmd/hotspots/
//
// On PostGIS when HOTSPOTS_TEST_DATABASE_URL is set, else the embedded store.
func BenchmarkPushToWebhook(b *testing.B) {
	ctx := context.Background()
	var st geo.Store
	backend := "embedded"
	if os.Getenv(postgistest.EnvURL) != "" {
		st, backend = postgistest.MustOpenDB(b), "postgis"
	} else {
		db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "b.db"), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		st = db
	}
	city, err := cities.Open("baltimore")
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	n := max(b.N, 1000)
	var areas []geo.Area
	points := make([]orb.Point, n)
	for i := range n {
		x, y := i%40, i/40
		lon0, lat0 := -76.66+float64(x)*0.002, 39.27+float64(y)*0.002
		code := fmt.Sprintf("g%04d", i)
		areas = append(areas, geo.Area{Layer: "grid", Code: code, Name: "Grid " + code,
			Geometry: orb.MultiPolygon{{{{lon0, lat0}, {lon0 + 0.002, lat0}, {lon0 + 0.002, lat0 + 0.002}, {lon0, lat0 + 0.002}, {lon0, lat0}}}}})
		points[i] = orb.Point{lon0 + 0.001, lat0 + 0.001}
	}
	if err := st.PutLayer(ctx, geo.AreaLayer{ID: "grid", Name: "Grid", Kind: "custom"}, areas); err != nil {
		b.Fatal(err)
	}
	cfg := alertConfig(city, 0)
	cfg.Cooldown = 0
	cfg.Thresholds = []alerting.Threshold{{Layer: "grid", Kind: geo.KindOverdoseNonFatal, Window: 24 * time.Hour, Min: 1}}
	eng, err := alerting.NewEngine(st, cfg, quiet)
	if err != nil {
		b.Fatal(err)
	}

	var mu sync.Mutex
	arrived := map[string]time.Time{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var doc struct {
			Alert struct {
				Areas []struct {
					ID string `json:"id"`
				} `json:"areas"`
			} `json:"alert"`
		}
		body, _ := io.ReadAll(r.Body)
		at := time.Now()
		if err := json.Unmarshal(body, &doc); err == nil && len(doc.Alert.Areas) > 0 {
			mu.Lock()
			if _, seen := arrived[doc.Alert.Areas[0].ID]; !seen {
				arrived[doc.Alert.Areas[0].ID] = at
			}
			mu.Unlock()
		}
	}))
	defer rcv.Close()
	if _, err := st.CreateSubscription(ctx, geo.Subscription{Team: "t", Name: "all", Active: true,
		Channels: []geo.Channel{{Type: geo.ChannelWebhook, URL: rcv.URL, Secret: "bench-secret-bench-secret"}}}); err != nil {
		b.Fatal(err)
	}
	render, err := eng.Renderer(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	pool, err := notify.NewPool(st, map[geo.ChannelType]notify.Sender{geo.ChannelWebhook: notify.NewWebhookSender(10 * time.Second)},
		render, notify.PoolConfig{Poll: time.Second}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	eng.Enqueued = pool.Wake
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { pool.Run(pctx); close(done) }()
	defer func() { stop(); <-done }()

	a := &App{Log: quiet}
	opts, err := a.ingestOptions(city, eng)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Store: st, City: city, Logger: quiet, Ingest: opts}).Handler())
	defer srv.Close()
	_, secret, err := st.CreateKey(ctx, geo.APIKey{Name: "bench", Role: geo.RoleAnalyst})
	if err != nil {
		b.Fatal(err)
	}

	pushed := make([]time.Time, n)
	b.ResetTimer()
	for i := range n {
		body := fmt.Sprintf(`{"agency":"bench","incidents":[{"id":"b%d","time":%q,"kind":"overdose","fatal":false,"lat":%f,"lon":%f}]}`,
			i, time.Now().Add(-time.Minute).Format(time.RFC3339), points[i][1], points[i][0])
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/ingest/push", bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		pushed[i] = time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("push %d: %d %s", i, resp.StatusCode, rb)
		}
	}
	for deadline := time.Now().Add(2 * time.Minute); ; {
		mu.Lock()
		got := len(arrived)
		mu.Unlock()
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d alerts arrived", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.StopTimer()
	lat := make([]float64, 0, n)
	mu.Lock()
	for i := range n {
		lat = append(lat, float64(arrived[fmt.Sprintf("grid:g%04d", i)].Sub(pushed[i]))/float64(time.Millisecond))
	}
	mu.Unlock()
	slices.Sort(lat)
	q := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(lat[len(lat)-1], "max-ms")
	b.Logf("%s: %d pushed incidents, push to webhook p50 %.1f ms, p99 %.1f ms, max %.1f ms", backend, n, q(0.5), q(0.99), lat[len(lat)-1])
}

package ingest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hotspots/geo"
)

func TestSummaryPrint(t *testing.T) {
	s := newSummary("src")
	s.RowsRead, s.Quarantined = 10, 5
	s.ByReason[geo.ReasonNullIsland] = 1
	s.ByReason[geo.ReasonMissingDate] = 4
	s.Examples[geo.ReasonMissingDate] = []string{"line 3: column d is empty"}
	s.Filtered["filter:x"] = 2
	var b bytes.Buffer
	if err := s.Print(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	md, ni := strings.Index(out, "missing_date"), strings.Index(out, "null_island")
	if md < 0 || ni < 0 || md > ni || !strings.Contains(out, "line 3: column d is empty") || !strings.Contains(out, "filter:x") {
		t.Fatalf("summary:\n%s", out)
	}
}

func TestProgressLogsWhenNotATerminal(t *testing.T) {
	var logs bytes.Buffer
	p := NewProgress(&bytes.Buffer{}, "src", 1000, slog.New(slog.NewTextHandler(&logs, nil)))
	if p.bar != nil {
		t.Fatal("a bar was drawn on a buffer")
	}
	p.every = 0
	r := p.Reader(strings.NewReader(strings.Repeat("x", 600)))
	if _, err := r.Read(make([]byte, 600)); err != nil {
		t.Fatal(err)
	}
	p.Rows(42)
	p.Finish()
	if out := logs.String(); !strings.Contains(out, "ingest_progress") || !strings.Contains(out, "rows=42") || !strings.Contains(out, "bytes=600") {
		t.Fatalf("progress log: %q", out)
	}
}

func TestPollerRunPollsUntilCancelled(t *testing.T) {
	var polls atomic.Int32
	srv := &arcgisServer{maxCount: 10}
	srv.rows = append(srv.rows, arcgisRow(1, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "SHOOTING"))
	hs := newCountingServer(srv, &polls)
	defer hs.Close()
	m := mustMapping(t, strings.Replace(fmtArcGIS(hs.URL), "every: 1h", "every: 20ms", 1))
	p, err := NewPoller(MustOpenStore(t), MustCity(t, "baltimore"), PollerOptions{Options: Options{Logger: discard},
		Fetcher: fastFetcher(), Sources: []*Mapping{m}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	deadline := time.After(10 * time.Second)
	for polls.Load() < 3 {
		select {
		case <-deadline:
			t.Fatalf("only %d polls", polls.Load())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
}

func TestLoadDemoIsIdempotent(t *testing.T) {
	ctx := context.Background()
	city := MustCity(t, "tempe")
	st := MustOpenStore(t)
	first, _, err := LoadDemo(ctx, st, city, DemoOptions{RunOptions: RunOptions{Options: Options{Logger: discard}}})
	if err != nil || len(first) != len(city.Demo.Loads) {
		t.Fatalf("demo: %v, %v", first, err)
	}
	again, _, err := LoadDemo(ctx, st, city, DemoOptions{RunOptions: RunOptions{Options: Options{Logger: discard}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range again {
		if s.Added != 0 || s.Changed != 0 {
			t.Errorf("second demo load of %s added %d changed %d", s.Source, s.Added, s.Changed)
		}
	}
}

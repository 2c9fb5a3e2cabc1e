package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRunCountsEveryRequest sends a short run to a fake server that fails
// one layer, and checks that every scheduled request was sent once, every
// path was a well-formed tile URL, and failures were counted by status.
func TestRunCountsEveryRequest(t *testing.T) {
	tileRE := regexp.MustCompile(`^/tiles/(hex|bad)/1[1-2]/\d+/\d+\.mvt$`)
	var mu sync.Mutex
	seen := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen++
		mu.Unlock()
		if !tileRE.MatchString(r.URL.Path) || r.URL.RawQuery != "window=all" || r.Header.Get("X-Key") != "k" {
			http.Error(w, "bad request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		if strings.Contains(r.URL.Path, "/bad/") {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("tile"))
	}))
	defer srv.Close()

	cfg, _, err := parseFlags([]string{"-url", srv.URL, "-rate", "200", "-duration", "250ms",
		"-layers", "hex,bad", "-zooms", "11-12", "-header", "X-Key: k"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	const want = 50 // 200/s × 0.25 s
	if res.Sent+res.Dropped != want || seen != res.Sent {
		t.Fatalf("sent %d + dropped %d, server saw %d; want %d scheduled", res.Sent, res.Dropped, seen, want)
	}
	if res.OK+res.Errors != res.Sent || res.Status["400"] != 0 {
		t.Fatalf("ok %d + errors %d != sent %d; status %v", res.OK, res.Errors, res.Sent, res.Status)
	}
	if res.Errors != res.Status["500"] || res.Errors == 0 || res.OK == 0 {
		t.Fatalf("errors %d, status %v: want both layers hit and only the bad one failing", res.Errors, res.Status)
	}
	if res.P50 > res.P99 || res.P99 > res.Max {
		t.Fatalf("percentiles out of order: %v %v %v", res.P50, res.P99, res.Max)
	}
}

func TestParseFlagsRejects(t *testing.T) {
	for name, args := range map[string][]string{
		"zero rate":      {"-rate", "0"},
		"short bbox":     {"-bbox", "1,2,3"},
		"zoom backwards": {"-zooms", "15-11"},
		"bad header":     {"-header", "nocolon"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := parseFlags(args); err == nil {
				t.Fatalf("parseFlags(%v) accepted", args)
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if q := quantile(d, 0.5); q != 5 {
		t.Fatalf("p50 = %v", q)
	}
	if q := quantile(d, 0.99); q != 10 {
		t.Fatalf("p99 = %v", q)
	}
	if q := quantile(nil, 0.5); q != 0 {
		t.Fatalf("empty p50 = %v", q)
	}
}

// Command loadgen drives the tile endpoint of a running hotspots server at
// a steady request rate and reports errors and latency percentiles.
//
// It is open-loop: request i is sent at start + i/rate whether or not
// earlier ones have answered, so a slow server shows up as latency and
// errors rather than as a quietly lower rate. Requests pick tiles at random
// (seeded, so runs repeat) among those covering a bounding box at a range
// of zooms, over the layers given, so the tile cache sees both hits and
// misses as it does when people pan a map.
//
//	loadgen -url http://127.0.0.1:8080 -rate 500 -duration 60s
//
// It only talks to the address it is given; point it at your own server.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"
)

// Config is one load run.
type Config struct {
	URL         string
	Rate        float64
	Duration    time.Duration
	Layers      []string
	Query       string
	Bound       orb.Bound
	MinZoom     maptile.Zoom
	MaxZoom     maptile.Zoom
	Concurrency int
	Headers     http.Header
	Seed        uint64
	Timeout     time.Duration
}

// Result is what a run measured.
type Result struct {
	Sent       int            `json:"sent"`
	OK         int            `json:"ok"`
	Errors     int            `json:"errors"`
	Dropped    int            `json:"dropped"`
	Status     map[string]int `json:"status"`
	Rate       float64        `json:"achieved_rate"`
	P50        time.Duration  `json:"p50_ns"`
	P90        time.Duration  `json:"p90_ns"`
	P99        time.Duration  `json:"p99_ns"`
	Max        time.Duration  `json:"max_ns"`
	Elapsed    time.Duration  `json:"elapsed_ns"`
	FirstError string         `json:"first_error,omitempty"`
}

func main() {
	cfg, jsonOut, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	printTable(os.Stdout, cfg, res)
	if jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(jsonOut, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
	}
	if res.Errors > 0 || res.Dropped > 0 {
		os.Exit(1)
	}
}

type headerFlags http.Header

func (h headerFlags) String() string { return "" }
func (h headerFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("header %q: want Name: value", v)
	}
	http.Header(h).Add(strings.TrimSpace(k), strings.TrimSpace(val))
	return nil
}

func parseFlags(args []string) (Config, string, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	cfg := Config{Headers: http.Header{}}
	var layers, bbox, zooms, jsonOut string
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "base URL of the hotspots server")
	fs.Float64Var(&cfg.Rate, "rate", 500, "requests per second")
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "how long to send")
	fs.StringVar(&layers, "layers", "hex", "comma-separated tile layers to request")
	fs.StringVar(&cfg.Query, "query", "window=all", "query string added to every tile URL")
	fs.StringVar(&bbox, "bbox", "-76.72,39.19,-76.52,39.38", "minlon,minlat,maxlon,maxlat of the tiles (default: Baltimore)")
	fs.StringVar(&zooms, "zooms", "11-15", "zoom range, min-max")
	fs.IntVar(&cfg.Concurrency, "concurrency", 512, "most requests in flight; a request due when all are busy is dropped and counted")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the tile choice")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.Var(headerFlags(cfg.Headers), "header", "extra request header, Name: value (repeatable)")
	fs.StringVar(&jsonOut, "json", "", "also write the result as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return cfg, "", err
	}
	cfg.Layers = strings.Split(layers, ",")
	var b [4]float64
	parts := strings.Split(bbox, ",")
	if len(parts) != 4 {
		return cfg, "", fmt.Errorf("bbox %q: want 4 numbers", bbox)
	}
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return cfg, "", fmt.Errorf("bbox %q: %w", bbox, err)
		}
		b[i] = v
	}
	cfg.Bound = orb.Bound{Min: orb.Point{b[0], b[1]}, Max: orb.Point{b[2], b[3]}}
	lo, hi, ok := strings.Cut(zooms, "-")
	if !ok {
		hi = lo
	}
	z0, err0 := strconv.Atoi(lo)
	z1, err1 := strconv.Atoi(hi)
	if err := errors.Join(err0, err1); err != nil || z0 < 0 || z1 < z0 || z1 > 20 {
		return cfg, "", fmt.Errorf("zooms %q: want min-max within 0-20", zooms)
	}
	cfg.MinZoom, cfg.MaxZoom = maptile.Zoom(z0), maptile.Zoom(z1)
	if cfg.Rate <= 0 || cfg.Duration <= 0 || cfg.Concurrency <= 0 {
		return cfg, "", errors.New("rate, duration and concurrency must be positive")
	}
	return cfg, jsonOut, nil
}

// paths lists the tile URLs a run picks from.
func paths(cfg Config) ([]string, error) {
	var out []string
	for z := cfg.MinZoom; z <= cfg.MaxZoom; z++ {
		tiles, err := tilecover.Geometry(cfg.Bound, z)
		if err != nil {
			return nil, fmt.Errorf("tiles at zoom %d: %w", z, err)
		}
		keys := make([]maptile.Tile, 0, len(tiles))
		for t := range tiles {
			keys = append(keys, t)
		}
		// Map order is random; sort so a seed always means the same run.
		slices.SortFunc(keys, func(a, b maptile.Tile) int {
			if a.X != b.X {
				return int(a.X) - int(b.X)
			}
			return int(a.Y) - int(b.Y)
		})
		for _, l := range cfg.Layers {
			for _, t := range keys {
				p := fmt.Sprintf("%s/tiles/%s/%d/%d/%d.mvt", strings.TrimRight(cfg.URL, "/"), l, t.Z, t.X, t.Y)
				if cfg.Query != "" {
					p += "?" + cfg.Query
				}
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no tiles cover the bounding box")
	}
	return out, nil
}

// Run sends round(rate*duration) requests on schedule and waits for the
// last answer.
func Run(ctx context.Context, cfg Config) (Result, error) {
	urls, err := paths(cfg)
	if err != nil {
		return Result{}, err
	}
	client := &http.Client{
		Timeout: cfg.Timeout,
		Transport: &http.Transport{
			MaxIdleConns: cfg.Concurrency, MaxIdleConnsPerHost: cfg.Concurrency,
			IdleConnTimeout: 30 * time.Second, DisableCompression: false,
		},
	}
	defer client.CloseIdleConnections()
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	n := int(cfg.Rate*cfg.Duration.Seconds() + 0.5)
	interval := time.Duration(float64(time.Second) / cfg.Rate)

	var (
		mu        sync.Mutex
		res       = Result{Status: map[string]int{}}
		latencies = make([]time.Duration, 0, n)
		wg        sync.WaitGroup
		slots     = make(chan struct{}, cfg.Concurrency)
	)
	record := func(code int, d time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		latencies = append(latencies, d)
		switch {
		case err != nil:
			res.Errors++
			res.Status["transport"]++
			if res.FirstError == "" {
				res.FirstError = err.Error()
			}
		case code == http.StatusOK || code == http.StatusNotModified:
			res.OK++
			res.Status[strconv.Itoa(code)]++
		default:
			res.Errors++
			res.Status[strconv.Itoa(code)]++
			if res.FirstError == "" {
				res.FirstError = "status " + strconv.Itoa(code)
			}
		}
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-ctx.Done():
				i = n
				continue
			case <-time.After(d):
			}
		}
		url := urls[rng.IntN(len(urls))]
		select {
		case slots <- struct{}{}:
		default:
			mu.Lock()
			res.Dropped++
			mu.Unlock()
			continue
		}
		res.Sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			code, d, err := get(ctx, client, url, cfg.Headers)
			record(code, d, err)
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Rate = float64(res.Sent) / res.Elapsed.Seconds()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	res.P50, res.P90, res.P99 = quantile(latencies, 0.50), quantile(latencies, 0.90), quantile(latencies, 0.99)
	if len(latencies) > 0 {
		res.Max = latencies[len(latencies)-1]
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// get fetches url, reads the whole body (a tile is only served once it is
// read) and returns the status and the time to the last byte.
func get(ctx context.Context, c *http.Client, url string, h http.Header) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Accept-Encoding", "gzip")
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, time.Since(t0), err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(t0), err
}

// quantile is the nearest-rank quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func printTable(w io.Writer, cfg Config, r Result) {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + " ms" }
	var codes []string
	for k, v := range r.Status {
		codes = append(codes, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(codes)
	fmt.Fprintf(w, "| measure | value |\n|---|---|\n")
	fmt.Fprintf(w, "| target | %.0f req/s for %s, layers %s, zooms %d-%d |\n", cfg.Rate, cfg.Duration, strings.Join(cfg.Layers, ","), cfg.MinZoom, cfg.MaxZoom)
	fmt.Fprintf(w, "| sent | %d in %s (%.1f req/s) |\n", r.Sent, r.Elapsed.Round(time.Millisecond), r.Rate)
	fmt.Fprintf(w, "| ok (200/304) | %d |\n", r.OK)
	fmt.Fprintf(w, "| errors | %d |\n", r.Errors)
	fmt.Fprintf(w, "| dropped (all %d slots busy) | %d |\n", cfg.Concurrency, r.Dropped)
	fmt.Fprintf(w, "| status | %s |\n", strings.Join(codes, ", "))
	fmt.Fprintf(w, "| p50 / p90 / p99 / max | %s / %s / %s / %s |\n", ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max))
	if r.FirstError != "" {
		fmt.Fprintf(w, "| first error | %s |\n", r.FirstError)
	}
}

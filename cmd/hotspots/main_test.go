package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"hotspots/geo/postgis/postgistest"
	"hotspots/geo/sqlite"
)

// hs runs the hotspots command line in-process with its own data folder.
func hs(t *testing.T, ctx context.Context, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(ctx, append([]string{"--data-dir", dir, "--log-level", "warn"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestBadConfigurationExitsWithOneLine(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown city", []string{"--city", "atlantis", "migrate"}, "atlantis"},
		{"unknown city folder", []string{"--city", "./no/such/city", "ingest", "--list"}, "no/such/city"},
		{"unreachable database", []string{"--database-url", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", "migrate"}, "database"},
		{"malformed database url", []string{"--database-url", "postgres://%zz", "migrate"}, "database"},
		{"bad port", []string{"serve", "--listen", ":99999"}, "port"},
		{"port not a number", []string{"demo", "--listen", "localhost:http8"}, "port"},
		{"unknown flag", []string{"serve", "--lisen", ":8080"}, "--lisen"},
		{"ingest without mapping", []string{"ingest", "sample/x.csv"}, "--mapping"},
		{"watch with input", []string{"ingest", "--watch", "x.csv"}, "--watch"},
		{"missing input file", []string{"ingest", "--mapping", "mappings/arrests-2017-drug.yaml", "/no/such.csv"}, "no/such.csv"},
		{"smtp without sender", []string{"serve", "--smtp-addr", "localhost:25"}, "--smtp-from"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := hs(t, context.Background(), t.TempDir(), tc.args...)
			if code == 0 {
				t.Fatalf("exit 0, want failure; stderr %q", stderr)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "hotspots: ") || !strings.Contains(last, tc.want) {
				t.Fatalf("last stderr line %q: want one 'hotspots: ...' line naming %q", last, tc.want)
			}
			for _, l := range lines[:len(lines)-1] {
				if !strings.Contains(l, "level=") { // only log lines may precede it
					t.Errorf("extra stderr line %q", l)
				}
			}
		})
	}
}

func TestEveryCommandExplainsItself(t *testing.T) {
	want := map[string][]string{
		"serve":   {"--listen", "HOTSPOTS_LISTEN", "HOTSPOTS_DATABASE_URL", "--smtp-addr", "-poll", "--retention", "--rate-limit", "--cors-origin", "]metrics", "--detect-at"},
		"ingest":  {"--mapping", "--watch", "--reprocess", "HOTSPOTS_DATABASE_URL"},
		"migrate": {"--reload-areas", "HOTSPOTS_DATABASE_URL"},
		"demo":    {"--listen", "--load-only", "HOTSPOTS_DATA_DIR"},
		"version": {"Print the version"},
	}
	for cmd, words := range want {
		t.Run(cmd, func(t *testing.T) {
			code, out, errOut := hs(t, context.Background(), t.TempDir(), cmd, "--help")
			if code != 0 {
				t.Fatalf("%s --help: exit %d, %s", cmd, code, errOut)
			}
			for _, w := range words {
				if !strings.Contains(out, w) {
					t.Errorf("%s --help does not mention %s:\n%s", cmd, w, out)
				}
			}
		})
	}
}

func TestIngestCommandOnTheEmbeddedStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	code, out, errOut := hs(t, ctx, dir, "ingest", "--list")
	if code != 0 || !strings.Contains(out, "mappings/bpd-part1-2020.yaml") {
		t.Fatalf("--list: exit %d\n%s\n%s", code, out, errOut)
	}
	code, first, errOut := hs(t, ctx, dir, "ingest", "--mapping", "mappings/arrests-2017-drug.yaml", "sample/arrests-2017.csv")
	if code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errOut)
	}
	added := summaryNumber(t, first, "added")
	quarantined := summaryNumber(t, first, "quarantined")
	if added == 0 || quarantined == 0 {
		t.Fatalf("first load: want added and quarantined rows (the sample has unusable ones):\n%s", first)
	}
	code, second, errOut := hs(t, ctx, dir, "ingest", "--mapping", "mappings/arrests-2017-drug.yaml", "sample/arrests-2017.csv")
	if code != 0 {
		t.Fatalf("second ingest: exit %d: %s", code, errOut)
	}
	if a, u := summaryNumber(t, second, "added"), summaryNumber(t, second, "unchanged"); a != 0 || u != added {
		t.Fatalf("second load added %d, unchanged %d; want 0 and %d:\n%s", a, u, added, second)
	}
	code, re, errOut := hs(t, ctx, dir, "ingest", "--reprocess", "--mapping", "mappings/arrests-2017-drug.yaml")
	if code != 0 {
		t.Fatalf("reprocess: exit %d: %s", code, errOut)
	}
	// Nothing was fixed, so every quarantined row is still quarantined.
	if q := summaryNumber(t, re, "quarantined"); q != quarantined {
		t.Fatalf("reprocess quarantined %d, want %d:\n%s", q, quarantined, re)
	}
}

// summaryNumber reads "name: N" or "N name" from an ingest summary.
func summaryNumber(t *testing.T, summary, name string) int {
	t.Helper()
	re := regexp.MustCompile(`(?mi)^[ \t]*` + name + `[ \t]*:?[ \t]+(\d+)|(\d+)[ \t]+` + name + `\b`)
	m := re.FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("no %q in summary:\n%s", name, summary)
	}
	n := 0
	for _, s := range m[1:] {
		for _, c := range s {
			n = n*10 + int(c-'0')
		}
	}
	return n
}

func TestDemoLoadsDetectsAndServes(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the whole demo")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	code := -1
	go func() {
		defer wg.Done()
		defer pw.Close()
		code = run(ctx, []string{"--data-dir", dir, "--log-level", "warn", "demo", "--listen", "127.0.0.1:0"}, pw, &errb)
	}()
	url, key := "", ""
	sc := bufio.NewScanner(pr)
	var out strings.Builder
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if m := regexp.MustCompile(`map is at (http://\S+/)`).FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
		}
		if m := regexp.MustCompile(`#key=(\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			key = m[1]
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if url == "" {
		cancel()
		wg.Wait()
		t.Fatalf("demo printed no URL (exit %d):\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "simulated") || !strings.Contains(out.String(), "incidents stored") ||
		!regexp.MustCompile(`Detection on overdoses as of \d{4}-\d\d-\d\d: \d+ runs, [1-9]\d* findings`).MatchString(out.String()) {
		t.Errorf("demo output does not report the loads and the simulated stream:\n%s", out.String())
	}
	for path, want := range map[string]string{"healthz": `"ok"`, "readyz": `"ready"`, "": "maplibre", "map/config.json": "simulated-overdose"} {
		body := get(t, url+path)
		if !strings.Contains(strings.ToLower(body), strings.ToLower(want)) {
			t.Errorf("GET /%s does not contain %q: %.300s", path, want, body)
		}
	}
	// The printed key signs in as an analyst: alerts answer, and the
	// anonymous caller is refused them.
	req, _ := http.NewRequest("GET", url+"api/v1/alerts", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous alerts: %v %v, want 401", resp, err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("alerts with the demo key: %v %v, want 200", resp, err)
	}
	// The simulated stream ends yesterday with a planted spike, so the
	// demo's alerts are live: at least the spike's cluster or flags.
	var page struct {
		Alerts []map[string]any `json:"alerts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || len(page.Alerts) == 0 {
		t.Errorf("demo alerts: %d, %v; want the live spike's alerts", len(page.Alerts), err)
	}
	resp.Body.Close()
	cancel()
	wg.Wait()
	if code != 0 {
		t.Fatalf("demo exit %d after cancel: %s", code, errb.String())
	}
	// A second start reuses the data and the key: nothing new is loaded.
	code, out2, errOut := hs(t, context.Background(), dir, "demo", "--load-only")
	if code != 0 || !strings.Contains(out2, "(0 new)") || strings.Contains(out2, "new), ") && regexp.MustCompile(`\(([1-9]\d*) new\)`).MatchString(out2) {
		t.Fatalf("second demo load: exit %d, want nothing new:\n%s\n%s", code, out2, errOut)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func TestMigrateTwiceAndConcurrentlyOnPostGIS(t *testing.T) {
	u := postgistest.SchemaURL(t, postgistest.NewSchema(t))
	ctx := context.Background()
	code, out, errOut := hs(t, ctx, t.TempDir(), "--database-url", u, "migrate")
	if code != 0 || !strings.Contains(out, "postgis") {
		t.Fatalf("first migrate: exit %d %s %s", code, out, errOut)
	}
	code, _, errOut = hs(t, ctx, t.TempDir(), "--database-url", u, "--log-level", "info", "migrate")
	if code != 0 || strings.Contains(errOut, "migration_applied") {
		t.Fatalf("second migrate: exit %d, want a no-op: %s", code, errOut)
	}
	fresh := postgistest.SchemaURL(t, postgistest.NewSchema(t))
	var wg sync.WaitGroup
	codes := make([]int, 3)
	errs := make([]string, 3)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, errs[i] = hs(t, ctx, t.TempDir(), "--database-url", fresh, "migrate")
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 0 {
			t.Errorf("concurrent migrate %d: exit %d: %s", i, c, errs[i])
		}
	}
}

func TestMigrateTwiceOnTheEmbeddedStore(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if code, _, e := hs(t, ctx, dir, "migrate", "--reload-areas"); code != 0 {
		t.Fatalf("migrate: %s", e)
	}
	code, _, errOut := hs(t, ctx, dir, "--log-level", "info", "migrate")
	if code != 0 || strings.Contains(errOut, "migration_applied") {
		t.Fatalf("second migrate: exit %d, want a no-op: %s", code, errOut)
	}
}

// TestServeDetectsAfterNewData runs serve on the embedded store, loads a
// file with a separate ingest command (as the compose ingest worker does),
// and waits for the scheduler to notice the new data and store detection
// runs.
func TestServeDetectsAfterNewData(t *testing.T) {
	dir := t.TempDir()
	srv := startServe(t, dir, "--no-poll", "--detect-settle", "300ms", "--rate-limit", "2", "--rate-burst", "4", "--retention", "30y")
	url, lines := srv.url, srv.lines
	deadline := time.After(60 * time.Second)
	// The flags reach the API: metrics are served, and a client going
	// over its rate gets 429 with Retry-After (health checks never do).
	if body := get(t, url+"metrics"); !strings.Contains(body, "hotspots_") {
		t.Errorf("/metrics has no hotspots metrics: %.300s", body)
	}
	limited := false
	for range 20 {
		resp, err := http.Get(url + "api/v1/methods")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("20 quick requests at --rate-limit 2 were never limited")
	}
	for range 10 {
		get(t, url+"healthz")
	}
	if c, _, e := hs(t, context.Background(), dir, "ingest", "--no-alerts", "--mapping", "mappings/bpd-part1-2020.yaml", "sample/bpd-part1-2020.csv"); c != 0 {
		t.Fatalf("ingest: %s", e)
	}
	for done := false; !done; {
		select {
		case l := <-lines:
			done = strings.Contains(l, "msg=detect_done")
			if strings.Contains(l, "msg=detect_failed") {
				t.Fatalf("detection failed: %s", l)
			}
		case <-deadline:
			t.Fatal("no detection run after the ingest")
		}
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "hotspots.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.ListRuns(context.Background(), "stpscan", 10)
	if err != nil || len(runs) == 0 {
		t.Fatalf("stpscan runs after the scheduled detection: %v, %v", runs, err)
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
}

// served is a `hotspots serve` running in-process for a test.
type served struct {
	url   string
	lines <-chan string // its log lines from the start on (dropped when nobody reads)
	stop  func() int    // cancels it and returns its exit code
}

// startServe runs serve on the embedded store in dir with extra flags,
// waits until it listens, and stops it when the test ends.
func startServe(t *testing.T, dir string, flags ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	code := -1
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer pw.Close()
		args := append([]string{"--data-dir", dir, "--log-level", "info", "serve", "--listen", "127.0.0.1:0"}, flags...)
		code = run(ctx, args, io.Discard, pw)
	}()
	stop := func() int { cancel(); <-done; return code }
	t.Cleanup(func() { stop() })
	re := regexp.MustCompile(`msg=serving url=(http://\S+/)`)
	deadline := time.After(60 * time.Second)
	for {
		select {
		case l := <-lines:
			if m := re.FindStringSubmatch(l); m != nil {
				return &served{url: m[1], lines: lines, stop: stop}
			}
		case <-done:
			t.Fatalf("serve exited with %d before listening", code)
		case <-deadline:
			t.Fatal("serve did not start")
		}
	}
}

func TestGeocodeCommand(t *testing.T) {
	ctx := context.Background()
	code, out, errOut := hs(t, ctx, t.TempDir(), "geocode", "1200 N MILTON AVE", "N MILTON AVE & E NORTH AVE", "999 NOWHERE ST")
	if code != 0 {
		t.Fatalf("geocode: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"block", "intersection", "unmatched", "-76.58"} {
		if !strings.Contains(out, want) {
			t.Errorf("geocode output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = hs(t, ctx, t.TempDir(), "geocode", "accuracy")
	if code != 0 {
		t.Fatalf("geocode accuracy: exit %d: %s", code, errOut)
	}
	// The bar: at least 95% matched, median under 100 m.
	m := regexp.MustCompile(`(?m)^\s*all\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no 'all' row in:\n%s", out)
	}
	var pct, median float64
	fmt.Sscan(m[3], &pct)
	fmt.Sscan(m[4], &median)
	if pct < 95 || median >= 100 {
		t.Errorf("accuracy %.1f%% matched, median %.1f m: want >= 95%% and < 100 m\n%s", pct, median, out)
	}
	// Another city's own reference cases through --cases.
	cases := filepath.Join(t.TempDir(), "mine.csv")
	if err := os.WriteFile(cases, []byte("address,lon,lat\n1200 N MILTON AVE,-76.5827,39.3051\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut = hs(t, ctx, t.TempDir(), "geocode", "accuracy", "--cases", cases); code != 0 || !strings.Contains(out, "source=mine") {
		t.Fatalf("--cases: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut = hs(t, ctx, t.TempDir(), "--city", "tempe", "geocode", "accuracy"); code == 0 || !strings.Contains(errOut, "--cases") {
		t.Fatalf("tempe without cases: exit %d %s", code, errOut)
	}
}

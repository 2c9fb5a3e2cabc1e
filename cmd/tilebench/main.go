// Command tilebench measures the hex tile layer on loopback, in one run,
// against the database's own speed: the same tile lists replayed at the
// same concurrency through
//
//   - postgis: ST_AsMVT over a table of resolution-9 hexagons built from the
//     same incidents, with the SQL of the shared pgbench scripts (see
//     scripts/bench/tiles/README.md), sent over pgx;
//   - hotspots: GET /tiles/hex/{z}/{x}/{y}.mvt from the real API handler on
//     a net/http server over PostGIS, with the encoded-tile cache off
//     (uncached) and then on (cached, after one pass that fills it).
//
// It prints requests/s, p50 and p99 per band, concurrency and target, and
// the ratio hotspots/postgis. scripts/bench-tiles.sh drives it.
//
//	tilebench -database-url URL [-load 1000000] [-duration 10s] [-conc 8,64]
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"hotspots/api"
	"hotspots/cities"
	"hotspots/cmd/internal/gctune"
	"hotspots/geo"
	"hotspots/geo/postgis"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "tilebench:", err)
		os.Exit(1)
	}
}

type options struct {
	dbURL    string
	tilesDir string
	bands    []string
	conc     []int
	cachedC  int
	duration time.Duration
	load     int
	query    string
	targets  string
}

func run() error {
	var o options
	var bands, conc string
	flag.StringVar(&o.dbURL, "database-url", os.Getenv("HOTSPOTS_DATABASE_URL"), "PostGIS URL (a database of its own: public.hex_r9 is created in it)")
	flag.StringVar(&o.tilesDir, "tiles", "scripts/bench/tiles", "folder with zxy-{low,mid,high}.txt")
	flag.StringVar(&bands, "bands", "high,mid,low", "tile lists to replay")
	flag.StringVar(&conc, "conc", "8,64", "concurrency levels")
	flag.IntVar(&o.cachedC, "cached-conc", 64, "concurrency of the cached run (0: skip)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measuring time per band, concurrency and target")
	flag.IntVar(&o.load, "load", 1_000_000, "load clustered synthetic incidents until the store holds this many")
	flag.StringVar(&o.query, "query", "window=all", "query string of the hex tile requests")
	flag.StringVar(&o.targets, "targets", "postgis,hotspots", "what to measure uncached")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the load generator (or, with -serve, the server) here")
	serveMode := flag.String("serve", "", "internal: serve the API on a loopback port with the tile cache on or off, print the address, run until killed")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	o.bands = strings.Split(bands, ",")
	for _, s := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-conc %q", conc)
		}
		o.conc = append(o.conc, n)
	}
	if o.dbURL == "" {
		return errors.New("no database: set -database-url or HOTSPOTS_DATABASE_URL")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *serveMode != "" {
		return serveChild(ctx, o.dbURL, *serveMode == "cached")
	}

	st, err := postgis.Open(ctx, o.dbURL, postgis.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	if err := loadIncidents(ctx, st, o.load); err != nil {
		return err
	}
	// As many connections as the highest concurrency: capping the pool
	// would make PostGIS queue requests, not serve them.
	pcfg, err := pgxpool.ParseConfig(o.dbURL)
	if err != nil {
		return err
	}
	pcfg.MaxConns = int32(max(slices.Max(o.conc), 4))
	pcfg.ConnConfig.RuntimeParams["application_name"] = "tilebench-mvt"
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := buildHexR9(ctx, st, pool); err != nil {
		return err
	}
	// The servers run in processes of their own, so their CPU time can be
	// told apart from the load generator's.
	uncached, err := startChild(ctx, o.dbURL, "uncached")
	if err != nil {
		return err
	}
	defer uncached.stop()
	cached, err := startChild(ctx, o.dbURL, "cached")
	if err != nil {
		return err
	}
	defer cached.stop()
	// Open every connection now, so the backends whose CPU is counted
	// are all there before the first measurement.
	var conns []*pgxpool.Conn
	for range pcfg.MaxConns {
		c, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Release()
	}

	fmt.Printf("tilebench: %s, %d CPUs, %s per run\n", time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), o.duration)
	fmt.Println("| band | conc | target | req/s | p50 ms | p99 ms | errors | server CPU µs/req | req/s vs postgis | CPU/req vs postgis |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, band := range o.bands {
		tiles, err := readTiles(filepath.Join(o.tilesDir, "zxy-"+band+".txt"))
		if err != nil {
			return err
		}
		// One request per zoom first: the hex layer's in-memory aggregate
		// for that resolution is built once per data version, as in a
		// running server, and the database gets its buffers warm.
		if err := warm(ctx, uncached.url, pool, tiles, o.query); err != nil {
			return err
		}
		for _, c := range o.conc {
			var pg result
			for _, target := range strings.Split(o.targets, ",") {
				var r result
				switch target {
				case "postgis":
					r = measure(ctx, c, o.duration, tiles, pgFetcher(pool), cpuOf(ctx, pool, "tilebench-mvt"))
					pg = r
				case "hotspots":
					r = measure(ctx, c, o.duration, tiles, httpFetcher(uncached.url, o.query, c), uncached.cpu(ctx, pool))
				default:
					return fmt.Errorf("unknown target %q", target)
				}
				vsRate, vsCPU := "", ""
				if target == "hotspots" && pg.rate > 0 {
					vsRate = fmt.Sprintf("%.2f×", r.rate/pg.rate)
					if r.cpuPerReq > 0 {
						vsCPU = fmt.Sprintf("%.2f× less", pg.cpuPerReq/r.cpuPerReq)
					}
				}
				fmt.Printf("| %s | %d | %s | %.0f | %.2f | %.2f | %d | %.0f | %s | %s |\n", band, c, target+" uncached",
					r.rate, ms(r.p50), ms(r.p99), r.errors, r.cpuPerReq, vsRate, vsCPU)
			}
		}
		if o.cachedC > 0 {
			fill := httpFetcher(cached.url, o.query, 1)
			for _, t := range tiles {
				if err := fill(ctx, t); err != nil {
					return fmt.Errorf("fill cache: %w", err)
				}
			}
			r := measure(ctx, o.cachedC, o.duration, tiles, httpFetcher(cached.url, o.query, o.cachedC), cached.cpu(ctx, pool))
			fmt.Printf("| %s | %d | %s | %.0f | %.2f | %.2f | %d | %.0f | | |\n", band, o.cachedC, "hotspots cached",
				r.rate, ms(r.p50), ms(r.p99), r.errors, r.cpuPerReq)
		}
	}
	fmt.Printf("load average at the end: %s\n", loadavg())
	return ctx.Err()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// tile is one z/x/y of a list.
type tile struct{ z, x, y int }

func readTiles(path string) ([]tile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []tile
	for _, line := range strings.Fields(string(b)) {
		var t tile
		if _, err := fmt.Sscanf(line, "%d/%d/%d", &t.z, &t.x, &t.y); err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, line, err)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no tiles", path)
	}
	return out, nil
}

// loadIncidents tops the store up to n clustered synthetic incidents over
// Baltimore (normal around a dozen centres, four years, shootings and
// overdoses), in batches as ingest sends them.
func loadIncidents(ctx context.Context, st *postgis.DB, n int) error {
	have, err := st.CountIncidents(ctx, geo.IncidentFilter{})
	if err != nil {
		return err
	}
	if have >= n {
		return nil
	}
	fmt.Fprintf(os.Stderr, "tilebench: loading %d incidents\n", n-have)
	rng := rand.New(rand.NewPCG(5, 9))
	centers := make([]orb.Point, 12)
	for i := range centers {
		centers[i] = orb.Point{-76.68 + 0.12*rng.Float64(), 39.24 + 0.1*rng.Float64()}
	}
	kinds := []geo.Kind{geo.KindShootingFatal, geo.KindShootingNonFatal, geo.KindOverdoseFatal, geo.KindOverdoseNonFatal}
	start := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	began := time.Now()
	const batch = 10_000
	for i := have; i < n; i += batch {
		incs := make([]geo.Incident, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			c := centers[rng.IntN(len(centers))]
			p := orb.Point{c[0] + rng.NormFloat64()*0.012, c[1] + rng.NormFloat64()*0.009}
			cell, err := geo.CellFromPoint(p, geo.FinestRes)
			if err != nil {
				return err
			}
			day := start.AddDate(0, 0, rng.IntN(4*365))
			incs = append(incs, geo.Incident{Source: "tilebench", SourceID: strconv.Itoa(j), Kind: kinds[rng.IntN(len(kinds))],
				OccurredAt: day.Add(time.Duration(rng.IntN(86400)) * time.Second), Day: day, Location: p, Cell: cell,
				Precision: geo.PrecisionExact, Victims: 1})
		}
		if _, err := st.UpsertIncidents(ctx, 0, incs); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "tilebench: loaded in %s\n", time.Since(began).Round(time.Second))
	return nil
}

// buildHexR9 (re)builds public.hex_r9 as the shared pgbench scripts expect
// it: one row per occupied resolution-9 cell with its shooting and overdose
// counts over all time and its hexagon in web mercator, GiST-indexed.
func buildHexR9(ctx context.Context, st *postgis.DB, pool *pgxpool.Pool) error {
	counts, err := st.CellCounts(ctx, geo.CellCountFilter{Res: 9})
	if err != nil {
		return err
	}
	type agg struct{ shooting, overdose int32 }
	m := map[geo.Cell]*agg{}
	for _, c := range counts {
		a := m[c.Cell]
		if a == nil {
			a = &agg{}
			m[c.Cell] = a
		}
		switch c.Kind.Family() {
		case "shooting":
			a.shooting += int32(c.Count)
		case "overdose":
			a.overdose += int32(c.Count)
		}
	}
	var cells, wkts []string
	var shootings, overdoses []int32
	for c, a := range m {
		var b strings.Builder
		b.WriteString("POLYGON((")
		ring := c.Boundary()
		for i, p := range append(ring, ring[0]) {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%.9f %.9f", p[0], p[1])
		}
		b.WriteString("))")
		cells, wkts = append(cells, c.String()), append(wkts, b.String())
		shootings, overdoses = append(shootings, a.shooting), append(overdoses, a.overdose)
	}
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS public.hex_r9;
CREATE TABLE public.hex_r9 (cell text PRIMARY KEY, n_shooting int, n_overdose int, geom geometry(Polygon, 3857))`); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `
INSERT INTO public.hex_r9 (cell, n_shooting, n_overdose, geom)
SELECT c, s, o, ST_Transform(ST_GeomFromText(w, 4326), 3857)
FROM unnest($1::text[], $2::int[], $3::int[], $4::text[]) AS t(c, s, o, w)`, cells, shootings, overdoses, wkts); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `CREATE INDEX hex_r9_geom_idx ON public.hex_r9 USING gist (geom); ANALYZE public.hex_r9`); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "tilebench: public.hex_r9 holds %d occupied resolution-9 cells\n", len(cells))
	return nil
}

// mvtSQL is the tile query of scripts/bench/tiles/mvt_hex_r9_*.sql (pg_tileserv's
// table-layer SQL) with the tile as parameters.
const mvtSQL = `SELECT ST_AsMVT(mvtgeom, 'public.hex_r9', 4096, 'geom') FROM (
  SELECT ST_AsMVTGeom(ST_Transform(ST_Force2D(t."geom"), 3857), bounds.geom_clip, 4096, 64) AS "geom", "cell", "n_shooting", "n_overdose"
  FROM "public"."hex_r9" t,
       (SELECT ST_TileEnvelope($1, $2, $3) AS geom_clip, ST_TileEnvelope($1, $2, $3, margin => 64.0/4096) AS geom_query) bounds
  WHERE ST_Intersects(t."geom", ST_Transform(bounds.geom_query, 3857))
) mvtgeom`

// fetcher gets one tile and discards it.
type fetcher func(ctx context.Context, t tile) error

func pgFetcher(pool *pgxpool.Pool) fetcher {
	return func(ctx context.Context, t tile) error {
		var b []byte
		return pool.QueryRow(ctx, mvtSQL, t.z, t.x, t.y).Scan(&b)
	}
}

// httpFetcher asks like a browser would: gzip accepted, body read to the
// end, connection kept alive. Compressed bytes are not inflated: that is
// the client's cost, not the server's.
func httpFetcher(base, query string, conns int) fetcher {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	client := &http.Client{Transport: tr}
	return func(ctx context.Context, t tile) error {
		url := fmt.Sprintf("%s/tiles/hex/%d/%d/%d.mvt?%s", base, t.z, t.x, t.y, query)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		return nil
	}
}

// warm asks for the first tile of each zoom of the list from both targets.
func warm(ctx context.Context, base string, pool *pgxpool.Pool, tiles []tile, query string) error {
	seen := map[int]bool{}
	get, pg := httpFetcher(base, query, 1), pgFetcher(pool)
	for _, t := range tiles {
		if seen[t.z] {
			continue
		}
		seen[t.z] = true
		if err := get(ctx, t); err != nil {
			return fmt.Errorf("warm: %w", err)
		}
		if err := pg(ctx, t); err != nil {
			return fmt.Errorf("warm: %w", err)
		}
	}
	return nil
}

type result struct {
	rate      float64
	p50, p99  time.Duration
	errors    int64
	cpuPerReq float64 // server CPU (µs) per completed request
}

// measure runs c workers for d, each taking the next tile of the list in
// turn, and returns the completed requests per second, latency percentiles
// and the server's CPU time per request (cpu reads the server's total).
func measure(ctx context.Context, c int, d time.Duration, tiles []tile, get fetcher, cpu func() time.Duration) result {
	cpu0 := cpu()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var next, errs atomic.Int64
	lat := make([][]time.Duration, c)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ls := make([]time.Duration, 0, 1<<14)
			for ctx.Err() == nil {
				t := tiles[int(next.Add(1)-1)%len(tiles)]
				t0 := time.Now()
				err := get(ctx, t)
				if ctx.Err() != nil {
					break // cut off by the end of the run: not counted
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				ls = append(ls, time.Since(t0))
			}
			lat[w] = ls
		}()
	}
	wg.Wait()
	el := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := result{errors: errs.Load(), rate: float64(len(all)) / el.Seconds()}
	if used := cpu() - cpu0; len(all) > 0 && used > 0 {
		r.cpuPerReq = float64(used.Microseconds()) / float64(len(all))
	}
	if len(all) > 0 {
		r.p50 = all[len(all)*50/100]
		r.p99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return r
}

// child is a server process started by startChild.
type child struct {
	cmd *exec.Cmd
	url string
}

// startChild runs this program with -serve and waits for its address.
func startChild(ctx context.Context, dbURL, mode string) (*child, error) {
	cmd := exec.CommandContext(ctx, os.Args[0], "-serve", mode, "-database-url", withAppName(dbURL, "tilebench-server-"+mode))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("%s server: %w", mode, err)
	}
	return &child{cmd: cmd, url: strings.TrimSpace(line)}, nil
}

func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	c.cmd.Wait()
}

// cpu returns a meter of the server's CPU: its process plus the database
// backends it holds (the data version checks; tiles themselves come from
// its in-memory aggregate).
func (c *child) cpu(ctx context.Context, pool *pgxpool.Pool) func() time.Duration {
	backends := cpuOf(ctx, pool, "tilebench-server-"+c.cmd.Args[2])
	return func() time.Duration { return procCPU(c.cmd.Process.Pid) + backends() }
}

// cpuOf returns a meter of the CPU time of the database backends whose
// application_name is app (PostgreSQL runs on this machine). Backends seen
// once stay counted, so a reading that misses one (pg_stat_activity read
// while it was starting or busy) does not make the delta go wrong.
func cpuOf(ctx context.Context, pool *pgxpool.Pool, app string) func() time.Duration {
	known := map[int]bool{}
	return func() time.Duration {
		rows, err := pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
		if err == nil {
			for rows.Next() {
				var pid int
				if rows.Scan(&pid) == nil {
					known[pid] = true
				}
			}
			rows.Close()
		}
		var total time.Duration
		for pid := range known {
			total += procCPU(pid)
		}
		if os.Getenv("TILEBENCH_DEBUG") != "" {
			fmt.Fprintln(os.Stderr, "cpu", app, len(known), total, err)
		}
		return total
	}
}

// procCPU is a process's user plus system time from /proc (clock ticks of
// 10 ms), 0 when it cannot be read.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// withAppName sets application_name in a connection URL.
func withAppName(dbURL, app string) string {
	u, err := url.Parse(dbURL)
	if err != nil || u.Scheme == "" {
		return dbURL + " application_name=" + app
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String()
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// serveChild is the -serve mode: the real API handler over PostGIS on a
// loopback port, with the encoded-tile cache on or off.
func serveChild(ctx context.Context, dbURL string, cached bool) error {
	gctune.Apply() // as hotspots serve does
	st, err := postgis.Open(ctx, dbURL, postgis.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer st.Close()
	city, err := cities.Open("baltimore")
	if err != nil {
		return err
	}
	cfg := api.Config{Store: st, City: city, Logger: slog.New(slog.DiscardHandler)}
	if !cached {
		cfg.TileCacheBytes = -1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: api.New(cfg).Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	// TILEBENCH_SERVER_PROFILE=prefix writes prefix-<mode>.prof for the
	// server alone, until it is stopped.
	if p := os.Getenv("TILEBENCH_SERVER_PROFILE"); p != "" {
		mode := "uncached"
		if cached {
			mode = "cached"
		}
		f, err := os.Create(p + "-" + mode + ".prof")
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

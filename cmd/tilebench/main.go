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
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"hotspots/api"
	"hotspots/cities"
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
	flag.Parse()
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

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
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := buildHexR9(ctx, st, pool); err != nil {
		return err
	}
	city, err := cities.Open("baltimore")
	if err != nil {
		return err
	}
	logger := slog.New(slog.DiscardHandler)
	uncached, err := serve(api.New(api.Config{Store: st, City: city, Logger: logger, TileCacheBytes: -1}).Handler())
	if err != nil {
		return err
	}
	cached, err := serve(api.New(api.Config{Store: st, City: city, Logger: logger}).Handler())
	if err != nil {
		return err
	}

	fmt.Printf("tilebench: %s, %d CPUs, %s per run\n", time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), o.duration)
	fmt.Println("| band | conc | target | req/s | p50 ms | p99 ms | errors | hotspots/postgis |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, band := range o.bands {
		tiles, err := readTiles(filepath.Join(o.tilesDir, "zxy-"+band+".txt"))
		if err != nil {
			return err
		}
		// One request per zoom first: the hex layer's in-memory aggregate
		// for that resolution is built once per data version, as in a
		// running server, and the database gets its buffers warm.
		if err := warm(ctx, uncached, pool, tiles, o.query); err != nil {
			return err
		}
		for _, c := range o.conc {
			var pgRate float64
			for _, target := range strings.Split(o.targets, ",") {
				var r result
				switch target {
				case "postgis":
					r = measure(ctx, c, o.duration, tiles, pgFetcher(pool))
					pgRate = r.rate
				case "hotspots":
					r = measure(ctx, c, o.duration, tiles, httpFetcher(uncached, o.query, c))
				default:
					return fmt.Errorf("unknown target %q", target)
				}
				ratio := ""
				if target == "hotspots" && pgRate > 0 {
					ratio = fmt.Sprintf("%.1f×", r.rate/pgRate)
				}
				fmt.Printf("| %s | %d | %s | %.0f | %.2f | %.2f | %d | %s |\n", band, c, target+" uncached",
					r.rate, ms(r.p50), ms(r.p99), r.errors, ratio)
			}
		}
		if o.cachedC > 0 {
			fill := httpFetcher(cached, o.query, 1)
			for _, t := range tiles {
				if err := fill(ctx, t); err != nil {
					return fmt.Errorf("fill cache: %w", err)
				}
			}
			r := measure(ctx, o.cachedC, o.duration, tiles, httpFetcher(cached, o.query, o.cachedC))
			fmt.Printf("| %s | %d | %s | %.0f | %.2f | %.2f | %d | |\n", band, o.cachedC, "hotspots cached",
				r.rate, ms(r.p50), ms(r.p99), r.errors)
		}
	}
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
	rate     float64
	p50, p99 time.Duration
	errors   int64
}

// measure runs c workers for d, each taking the next tile of the list in
// turn, and returns the completed requests per second and latency
// percentiles.
func measure(ctx context.Context, c int, d time.Duration, tiles []tile, get fetcher) result {
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
	if len(all) > 0 {
		r.p50 = all[len(all)*50/100]
		r.p99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return r
}

// serve starts h on a loopback port and returns its base URL.
func serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // runs until the process exits
	return "http://" + ln.Addr().String(), nil
}

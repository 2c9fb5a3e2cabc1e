package api

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/cities"
	"hotspots/geo"
)

// tileBenchStore serves synthetic cell counts; the methods the tile path does
// not use are left to the nil embedded interface.
type tileBenchStore struct {
	geo.Store
	counts []geo.CellCount
}

func (b *tileBenchStore) CellCounts(_ context.Context, f geo.CellCountFilter) ([]geo.CellCount, error) {
	out := make([]geo.CellCount, len(b.counts))
	for i, c := range b.counts {
		out[i] = geo.CellCount{Cell: c.Cell.Parent(f.Res), Kind: c.Kind, Count: c.Count}
	}
	return out, nil
}

func (b *tileBenchStore) CellDayCounts(context.Context, geo.CellCountFilter) ([]geo.CellDayCount, error) {
	return []geo.CellDayCount{{Day: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC), Count: 1}}, nil
}

func (b *tileBenchStore) DataVersion(context.Context) (int64, error) { return 1, nil }

// BenchmarkTileHTTP drives the whole router for the z15-16 tile list over
// 200,000 synthetic clustered incidents: after the first pass every tile
// comes from the byte cache, which is what a map session mostly asks for.
func BenchmarkTileHTTP(b *testing.B) { benchTileHTTP(b, 0) }

// BenchmarkTileHTTPUncached is the same with the byte cache off: every
// request encodes its tile from the in-memory aggregate, which is what the
// uncached line of scripts/bench-tiles.sh measures over the network.
func BenchmarkTileHTTPUncached(b *testing.B) { benchTileHTTP(b, -1) }

func benchTileHTTP(b *testing.B, cacheBytes int) {
	h, paths := tileBenchHandler(b, cacheBytes)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, paths[i%len(paths)], nil)
		req.Header.Set("Accept-Encoding", "gzip")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", paths[i%len(paths)], w.Code, w.Body)
		}
		i++
	}
}

// tileBenchHandler is the API over 200,000 synthetic clustered incidents,
// and the paths of the z15-16 tile list.
func tileBenchHandler(b testing.TB, cacheBytes int) (http.Handler, []string) {
	r := rand.New(rand.NewPCG(1, 1))
	agg := map[geo.Cell]int{}
	for range 200_000 {
		p := orb.Point{-76.62 + r.NormFloat64()*0.03, 39.29 + r.NormFloat64()*0.025}
		c, _ := geo.CellFromPoint(p, 11)
		agg[c]++
	}
	st := &tileBenchStore{}
	for c, n := range agg {
		st.counts = append(st.counts, geo.CellCount{Cell: c, Kind: geo.KindShootingNonFatal, Count: n})
	}
	city, err := cities.Open("baltimore")
	if err != nil {
		b.Fatal(err)
	}
	h := New(Config{Store: st, City: city, Logger: slog.New(slog.DiscardHandler), TileCacheBytes: cacheBytes}).Handler()
	f, err := os.Open("../tiles/testdata/zxy-high.txt")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var paths []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			paths = append(paths, "/tiles/hex/"+line+".mvt?window=all")
		}
	}
	return h, paths
}

// BenchmarkTileServerUncached is BenchmarkTileHTTPUncached through a
// net/http server on loopback, as Serve configures it, with one keep-alive
// connection written and read raw (as wrk does): what the server's
// profile under wrk holds, net/http's own work and the syscalls included.
// The client reads with http.ReadResponse, whose allocations are in the
// figures too (the same for any server).
func BenchmarkTileServerUncached(b *testing.B) {
	h, paths := tileBenchHandler(b, -1)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	srv.Start()
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	reqs := make([][]byte, len(paths))
	for i, p := range paths {
		reqs[i] = []byte("GET " + p + " HTTP/1.1\r\nHost: bench\r\nAccept-Encoding: gzip\r\n\r\n")
	}
	br := bufio.NewReader(conn)
	b.ReportAllocs()
	cpu0 := processCPU()
	i := 0
	for b.Loop() {
		if _, err := conn.Write(reqs[i%len(reqs)]); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", paths[i%len(paths)], resp.StatusCode)
		}
		i++
	}
	// CPU time rather than wall time is what compares on a shared
	// machine: client and server both, the client's share the same for
	// any server.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the process's user and system time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

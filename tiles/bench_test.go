package tiles

import (
	"bufio"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"hotspots/geo"
)

// benchCounts are the cell counts of 1,000,000 synthetic incidents in
// Gaussian clusters over Baltimore, at resolution 11, made once.
var benchCounts = sync.OnceValue(func() []geo.CellCount {
	r := rand.New(rand.NewPCG(42, 42))
	type centre struct {
		p     orb.Point
		sigma float64
	}
	var cs []centre
	for range 60 {
		cs = append(cs, centre{orb.Point{-76.712 + r.Float64()*0.183, 39.197 + r.Float64()*0.175}, 0.002 + r.Float64()*0.01})
	}
	kinds := []geo.Kind{geo.KindShootingNonFatal, geo.KindShootingFatal, geo.KindOverdoseNonFatal, geo.KindOverdoseFatal}
	type key struct {
		c geo.Cell
		k geo.Kind
	}
	agg := map[key]int{}
	for range 1_000_000 {
		c := cs[r.IntN(len(cs))]
		p := orb.Point{c.p[0] + r.NormFloat64()*c.sigma, c.p[1] + r.NormFloat64()*c.sigma*0.78}
		cell, err := geo.CellFromPoint(p, 11)
		if err != nil {
			panic(err)
		}
		agg[key{cell, kinds[r.IntN(len(kinds))]}]++
	}
	out := make([]geo.CellCount, 0, len(agg))
	for k, n := range agg {
		out = append(out, geo.CellCount{Cell: k.c, Kind: k.k, Count: n})
	}
	return out
})

func readTiles(tb testing.TB, path string) []maptile.Tile {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []maptile.Tile
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(strings.TrimSpace(sc.Text()), "/")
		if len(parts) != 3 {
			continue
		}
		t, err := ParseTile(parts[0], parts[1], parts[2])
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, t)
	}
	return out
}

// BenchmarkHexTile measures an uncached hex tile (aggregate in memory, tile
// cut, encoded and gzipped) over the same tile lists peer servers were
// measured with (see testdata/zxy-*.txt), in the public view (counts
// suppressed, at most resolution 9: what anonymous callers and the tile
// benchmark get) and the analyst view (resolution by zoom up to 11).
func BenchmarkHexTile(b *testing.B) {
	counts := benchCounts()
	families := []string{"overdose", "shooting"}
	idx := map[int]*HexIndex{}
	for _, res := range []int{7, 8, 9, 10, 11} {
		idx[res] = NewHexIndex(res, families, counts)
	}
	for _, view := range []struct {
		name          string
		below, maxRes int
	}{{"public", 11, PublicMaxRes}, {"analyst", 0, 15}} {
		for _, band := range []string{"low", "mid", "high"} {
			tiles := readTiles(b, "testdata/zxy-"+band+".txt")
			features := 0
			for _, t := range tiles {
				features += len(decodedLayer(b, idx[min(ResForZoom(t.Z), view.maxRes)], t, view.below).Features)
			}
			b.Run(view.name+"/"+band, func(b *testing.B) {
				b.ReportAllocs()
				var bytes int
				i := 0
				for b.Loop() {
					t := tiles[i%len(tiles)]
					i++
					enc, err := gzipped(idx[min(ResForZoom(t.Z), view.maxRes)].Encode(t, view.below, nil))
					if err != nil {
						b.Fatal(err)
					}
					bytes += len(enc.Gzip)
				}
				b.ReportMetric(float64(bytes)/float64(max(i, 1)), "gz_bytes/tile")
				b.ReportMetric(float64(features)/float64(len(tiles)), "features/tile")
			})
		}
	}
}

// BenchmarkHexIndexBuild measures building the res-9 aggregate from the
// counts: the cost paid once per data version and query.
func BenchmarkHexIndexBuild(b *testing.B) {
	counts := benchCounts()
	b.ReportAllocs()
	for b.Loop() {
		NewHexIndex(9, []string{"overdose", "shooting"}, counts)
	}
}

package tiles

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"

	"hotspots/geo"
)

var update = flag.Bool("update", false, "rewrite golden tiles in testdata from their .json sources")

// goldenSource is the .json beside each golden tile: the aggregate the tile
// is cut from, and the view.
type goldenSource struct {
	Tile          [3]uint32 `json:"tile"` // z, x, y
	Res           int       `json:"res"`
	Families      []string  `json:"families"`
	SuppressBelow int       `json:"suppress_below"`
	Counts        []struct {
		Cell  string `json:"cell"`
		Kind  string `json:"kind"`
		Count int    `json:"count"`
	} `json:"counts"`
}

// tileEpsilon is how far (in tile units) a decoded vertex may move before
// a golden tile counts as changed.
const tileEpsilon = 1.0

func TestGoldenHexTiles(t *testing.T) {
	srcs, err := filepath.Glob("testdata/*-*-*.json")
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no golden sources: %v", err)
	}
	for _, src := range srcs {
		name := filepath.Base(src[:len(src)-len(".json")])
		t.Run(name, func(t *testing.T) {
			got := buildGolden(t, src)
			path := src[:len(src)-len(".json")] + ".mvt"
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden (run go test -update): %v", err)
			}
			compareTiles(t, decode(t, want), decode(t, got))
		})
	}
}

func buildGolden(t *testing.T, src string) []byte {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var gs goldenSource
	if err := json.Unmarshal(b, &gs); err != nil {
		t.Fatal(err)
	}
	var counts []geo.CellCount
	for _, c := range gs.Counts {
		cell, err := geo.ParseCell(c.Cell)
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, geo.CellCount{Cell: cell, Kind: geo.Kind(c.Kind), Count: c.Count})
	}
	idx := NewHexIndex(gs.Res, gs.Families, counts)
	tile := maptile.New(gs.Tile[1], gs.Tile[2], maptile.Zoom(gs.Tile[0]))
	return idx.Encode(tile, gs.SuppressBelow, nil)
}

func decode(t *testing.T, b []byte) mvt.Layers {
	t.Helper()
	ls, err := mvt.Unmarshal(b)
	if err != nil {
		t.Fatalf("decode tile: %v", err)
	}
	return ls
}

// featureKey orders features by their cell (or a property dump) so that
// comparisons do not depend on encoding order.
func featureKey(f *geojson.Feature) string {
	if c, ok := f.Properties["cell"].(string); ok {
		return c
	}
	b, _ := json.Marshal(f.Properties)
	return string(b)
}

func compareTiles(t *testing.T, want, got mvt.Layers) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("layers: want %d, got %d", len(want), len(got))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Name != g.Name || len(w.Features) != len(g.Features) {
			t.Fatalf("layer %d: want %s with %d features, got %s with %d", i, w.Name, len(w.Features), g.Name, len(g.Features))
		}
		sort.Slice(w.Features, func(a, b int) bool { return featureKey(w.Features[a]) < featureKey(w.Features[b]) })
		sort.Slice(g.Features, func(a, b int) bool { return featureKey(g.Features[a]) < featureKey(g.Features[b]) })
		for j := range w.Features {
			wf, gf := w.Features[j], g.Features[j]
			if fmt.Sprint(wf.Properties) != fmt.Sprint(gf.Properties) {
				t.Errorf("%s feature %d properties: want %v, got %v", w.Name, j, wf.Properties, gf.Properties)
			}
			if !geomEqual(wf.Geometry, gf.Geometry, tileEpsilon) {
				t.Errorf("%s feature %s geometry: want %v, got %v", w.Name, featureKey(wf), wf.Geometry, gf.Geometry)
			}
		}
	}
}

func geomEqual(a, b orb.Geometry, eps float64) bool {
	pa, pb := points(a), points(b)
	if len(pa) != len(pb) {
		return false
	}
	for i := range pa {
		if math.Abs(pa[i][0]-pb[i][0]) > eps || math.Abs(pa[i][1]-pb[i][1]) > eps {
			return false
		}
	}
	return true
}

// points flattens any geometry to its vertices.
func points(g orb.Geometry) []orb.Point {
	switch g := g.(type) {
	case orb.Point:
		return []orb.Point{g}
	case orb.LineString:
		return g
	case orb.Ring:
		return g
	case orb.Polygon:
		var out []orb.Point
		for _, r := range g {
			out = append(out, r...)
		}
		return out
	case orb.MultiPolygon:
		var out []orb.Point
		for _, p := range g {
			out = append(out, points(p)...)
		}
		return out
	case orb.MultiLineString:
		var out []orb.Point
		for _, l := range g {
			out = append(out, l...)
		}
		return out
	}
	return nil
}

package tiles

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"
)

// referenceLayer is the hex layer built the obvious way, as geojson
// features with property maps for orb's mvt.Marshal: what HexIndex.Encode
// replaced for speed, kept here as the reference it must agree with.
func referenceLayer(h *HexIndex, t maptile.Tile, suppressBelow int) *mvt.Layer {
	if suppressBelow < 2 {
		suppressBelow = 0
	}
	p := newProjector(t)
	w := len(h.Families) + 1
	layer := &mvt.Layer{Name: LayerHex, Version: 2, Extent: Extent}
	for i := range h.cells {
		c := &h.cells[i]
		if !c.bound.Intersects(p.wclip) {
			continue
		}
		r := referenceRing(p, orb.Ring(h.pts[c.off:c.end]), c.bound)
		if r == nil {
			continue
		}
		orient(r, true)
		props := geojson.Properties{"cell": c.id}
		countProps(props, h.keys, h.counts[i*w:(i+1)*w], suppressBelow)
		layer.Features = append(layer.Features, &geojson.Feature{Type: "Feature", Geometry: orb.Polygon{r}, Properties: props})
	}
	return layer
}

// referenceRing is projector.ring as first written, with orb's clip.Ring:
// project every vertex, drop repeats, clip when the cell crosses the
// buffered tile, nil when no area is left.
func referenceRing(p projector, w orb.Ring, wb orb.Bound) orb.Ring {
	var r orb.Ring
	for _, q := range w {
		q = p.point(q)
		if n := len(r); n > 0 && r[n-1] == q {
			continue
		}
		r = append(r, q)
	}
	if !p.wclip.Contains(wb.Min) || !p.wclip.Contains(wb.Max) {
		r = dedupe(clip.Ring(p.clip, r))
	}
	if len(r) < 4 || shoelace(r) == 0 {
		return nil
	}
	return r
}

// TestClipRingMatchesOrb clips rings of every shape against a box, closed
// and open, crossing each side and corner, wholly inside and wholly
// outside, and compares with orb's clip.Ring point for point.
func TestClipRingMatchesOrb(t *testing.T) {
	box := orb.Bound{Min: orb.Point{-64, -64}, Max: orb.Point{4160, 4160}}
	rng := rand.New(rand.NewPCG(1, 2))
	var bufs clipBufs
	check := func(r orb.Ring) {
		t.Helper()
		want := clip.Ring(box, append(orb.Ring(nil), r...))
		got := clipRing(box, r, &bufs)
		if len(want) == 0 && len(got) == 0 {
			return
		}
		if !reflect.DeepEqual([]orb.Point(got), []orb.Point(want)) {
			t.Fatalf("ring %v:\n got %v\nwant %v", r, got, want)
		}
	}
	for i := range 20000 {
		n := 3 + rng.IntN(8)
		c := orb.Point{rng.Float64()*6000 - 1000, rng.Float64()*6000 - 1000}
		rad := rng.Float64() * 3000
		r := make(orb.Ring, 0, n+1)
		for j := range n {
			a := 2 * math.Pi * float64(j) / float64(n)
			r = append(r, orb.Point{math.Round(c[0] + rad*math.Cos(a)), math.Round(c[1] + rad*math.Sin(a))})
		}
		if i%2 == 0 {
			r = append(r, r[0])
		}
		check(r)
	}
	// Vertices on a bound, a unit either side of it, or anywhere: the
	// cases where skipping a side's pass could differ from running it.
	near := []float64{-65, -64, -63, 0, 4159, 4160, 4161}
	coord := func() float64 {
		if rng.IntN(3) == 0 {
			return math.Round(rng.Float64()*6000 - 1000)
		}
		return near[rng.IntN(len(near))]
	}
	for range 200000 {
		n := 3 + rng.IntN(6)
		r := make(orb.Ring, 0, n+1)
		for range n {
			r = append(r, orb.Point{coord(), coord()})
		}
		r = append(r, r[0])
		check(r)
	}
}

// decodedLayer is HexIndex.Encode's tile decoded by orb (nil layer when
// the tile is empty), for tests that look at features.
func decodedLayer(tb testing.TB, h *HexIndex, t maptile.Tile, suppressBelow int) *mvt.Layer {
	tb.Helper()
	raw := h.Encode(t, suppressBelow, nil)
	if len(raw) == 0 {
		return &mvt.Layer{Name: LayerHex}
	}
	ls, err := mvt.Unmarshal(raw)
	if err != nil {
		tb.Fatalf("tile %v does not decode: %v", t, err)
	}
	if len(ls) != 1 || ls[0].Name != LayerHex || ls[0].Extent != Extent || ls[0].Version != 2 {
		tb.Fatalf("tile %v: layers %+v", t, ls)
	}
	return ls[0]
}

// featureSet renders a layer's features comparably: cell -> geometry and
// properties, with numbers as orb decodes them.
func featureSet(tb testing.TB, l *mvt.Layer) map[string]string {
	tb.Helper()
	m := map[string]string{}
	for _, f := range l.Features {
		keys := make([]string, 0, len(f.Properties))
		for k := range f.Properties {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s := fmt.Sprint(f.Geometry)
		for _, k := range keys {
			s += fmt.Sprintf(" %s=%v(%T)", k, f.Properties[k], f.Properties[k])
		}
		cell := f.Properties["cell"].(string)
		if _, dup := m[cell]; dup {
			tb.Fatalf("cell %s twice in one tile", cell)
		}
		m[cell] = s
	}
	return m
}

// TestEncodeMatchesOrb checks the direct writer against orb's encoder on
// every tile of the benchmark lists, at every resolution the zooms use,
// in the analyst view and the public (suppressed) view: the decoded tiles
// must hold the same features with the same geometry and properties.
func TestEncodeMatchesOrb(t *testing.T) {
	if got := NewHexIndex(9, []string{"overdose"}, nil).Encode(maptile.New(0, 0, 0), 0, nil); len(got) != 0 {
		t.Fatalf("an empty aggregate encodes %d bytes", len(got))
	}
	counts := benchCounts()
	idx := map[int]*HexIndex{}
	var mu sync.Mutex
	index := func(res int) *HexIndex {
		mu.Lock()
		defer mu.Unlock()
		if idx[res] == nil {
			idx[res] = NewHexIndex(res, []string{"overdose", "shooting"}, counts)
		}
		return idx[res]
	}
	compared, nonEmpty := 0, 0
	for _, band := range []string{"low", "mid", "high"} {
		list := readTiles(t, "testdata/zxy-"+band+".txt")
		if band == "high" {
			list = list[:300]
		}
		if band == "low" {
			// The whole world, the city's corner tiles at low zoom, and
			// tiles far away: the grid's edges.
			list = append(list, maptile.New(0, 0, 0), maptile.New(0, 0, 1), maptile.New(1, 1, 1),
				maptile.At(orb.Point{-76.712, 39.197}, 8), maptile.At(orb.Point{-76.529, 39.372}, 9),
				maptile.At(orb.Point{0, 0}, 12), maptile.At(orb.Point{-76.62, 45}, 10),
				// Beyond maxGeomZoom, where every cell takes the general path.
				maptile.At(orb.Point{-76.6122, 39.2904}, 17), maptile.At(orb.Point{-76.6122, 39.2904}, 18))
		}
		for _, tile := range list {
			for _, below := range []int{0, 11} {
				res := ResForZoom(tile.Z)
				if below > 1 {
					res = min(res, PublicMaxRes)
				}
				h := index(res)
				ref := referenceLayer(h, tile, below)
				var want map[string]string
				if len(ref.Features) > 0 {
					raw, err := mvt.Marshal(mvt.Layers{ref})
					if err != nil {
						t.Fatal(err)
					}
					ls, err := mvt.Unmarshal(raw)
					if err != nil {
						t.Fatal(err)
					}
					want = featureSet(t, ls[0])
					nonEmpty++
				} else {
					want = map[string]string{}
				}
				got := featureSet(t, decodedLayer(t, h, tile, below))
				if !reflect.DeepEqual(got, want) {
					for c, g := range got {
						if want[c] != g {
							t.Fatalf("tile %v res %d below %d cell %s:\n got %s\nwant %s", tile, res, below, c, g, want[c])
						}
					}
					t.Fatalf("tile %v res %d below %d: %d features, want %d", tile, res, below, len(got), len(want))
				}
				compared++
			}
		}
	}
	if nonEmpty < 100 {
		t.Fatalf("only %d of %d compared tiles hold hexagons", nonEmpty, compared)
	}
}

// TestLayerWriterValues checks the value table: integers shared between
// features, true written once, keys only when used, negative integers
// zigzag-encoded.
func TestLayerWriterValues(t *testing.T) {
	w := getLayerWriter([]string{"a", "b", "unused", "c"})
	defer w.put()
	sq := orb.Ring{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}}
	for i, v := range []int64{5, 5, -3} {
		var px, py int32
		w.Ring(sq, &px, &py)
		w.String(0, fmt.Sprint("f", i))
		w.Int(1, v)
		if i == 2 {
			w.True(3)
		}
		w.EndPolygon()
	}
	var px, py int32
	w.Ring(orb.Ring{{0, 0}, {1, 1}}, &px, &py) // degenerate: no geometry, dropped
	w.EndPolygon()
	ls, err := mvt.Unmarshal(w.Tile("t"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || len(ls[0].Features) != 3 {
		t.Fatalf("layers %+v", ls)
	}
	for i, want := range []float64{5, 5, -3} {
		f := ls[0].Features[i]
		if f.Properties["b"] != want || f.Properties["a"] != fmt.Sprint("f", i) {
			t.Fatalf("feature %d: %v", i, f.Properties)
		}
		if _, ok := f.Properties["unused"]; ok {
			t.Fatalf("feature %d has an unused key", i)
		}
		if got := f.Geometry.(orb.Polygon)[0]; len(got) != 5 || got[2] != (orb.Point{10, 10}) {
			t.Fatalf("feature %d geometry %v", i, got)
		}
	}
	if ls[0].Features[2].Properties["c"] != true {
		t.Fatalf("bool: %v", ls[0].Features[2].Properties)
	}
	// 3 cell strings, 2 distinct integers, one true.
	if w.nvals != 6 || len(w.keyOut) != 3 {
		t.Fatalf("%d values, %d keys", w.nvals, len(w.keyOut))
	}
	e := getLayerWriter([]string{"x"})
	defer e.put()
	if got := e.Tile("empty"); len(got) != 0 {
		t.Fatalf("empty layer encodes to %d bytes", len(got))
	}
}

package ingest

import (
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"hotspots/cities"
	"hotspots/geo"
)

func square(x0, y0, w float64) orb.MultiPolygon {
	return orb.MultiPolygon{{{{x0, y0}, {x0 + w, y0}, {x0 + w, y0 + w}, {x0, y0 + w}, {x0, y0}}}}
}

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestAreaIndexHonoursValidity(t *testing.T) {
	cut := date("2023-07-01")
	idx := &AreaIndex{}
	idx.Add(geo.AreaLayer{ID: "police_pre2023", ValidTo: &cut}, []geo.Area{
		{Code: "WESTERN", Geometry: square(0, 0, 1)}, {Code: "EASTERN", Geometry: square(1, 0, 1)},
	})
	idx.Add(geo.AreaLayer{ID: "police_2023", ValidFrom: &cut}, []geo.Area{
		// The redraw moved the line: x in [0, 1.5) is now Western.
		{Code: "WESTERN", Geometry: orb.MultiPolygon{{{{0, 0}, {1.5, 0}, {1.5, 1}, {0, 1}, {0, 0}}}}},
		{Code: "EASTERN", Geometry: orb.MultiPolygon{{{{1.5, 0}, {2, 0}, {2, 1}, {1.5, 1}, {1.5, 0}}}}},
	})
	idx.Add(geo.AreaLayer{ID: "city"}, []geo.Area{{Code: "all", Geometry: square(0, 0, 2)}})
	cases := map[string]struct {
		p    orb.Point
		day  string
		want map[string]string
	}{
		"before redraw": {orb.Point{1.2, 0.5}, "2023-06-30", map[string]string{"police_pre2023": "EASTERN", "city": "all"}},
		"after redraw":  {orb.Point{1.2, 0.5}, "2023-07-01", map[string]string{"police_2023": "WESTERN", "city": "all"}},
		"outside all":   {orb.Point{5, 5}, "2020-01-01", nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := idx.Assign(tc.p, date(tc.day))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("Assign = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAreaIndexMatchesBruteForce compares the grid lookup with testing
// every polygon, on the real 2010 neighbourhoods when the city folder
// ships them, else on a synthetic tiling.
func TestAreaIndexMatchesBruteForce(t *testing.T) {
	areas := realNeighborhoods(t)
	if areas == nil {
		for i := range 12 {
			for j := range 12 {
				areas = append(areas, geo.Area{Code: fmt.Sprintf("a%02d%02d", i, j),
					Geometry: square(-76.72+float64(i)*0.017, 39.19+float64(j)*0.014, 0.017)})
			}
		}
	}
	idx := &AreaIndex{}
	idx.Add(geo.AreaLayer{ID: "n"}, areas)
	bounds := make([]orb.Bound, len(areas))
	for i, a := range areas {
		bounds[i] = a.Geometry.Bound()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		p := orb.Point{-76.72 + rng.Float64()*0.2, 39.19 + rng.Float64()*0.18}
		want := ""
		for i, a := range areas {
			if bounds[i].Contains(p) && planar.MultiPolygonContains(a.Geometry, p) {
				want = a.Code
				break
			}
		}
		if got := idx.Assign(p, date("2020-01-01"))["n"]; got != want {
			t.Fatalf("point %v: index says %q, brute force %q", p, got, want)
		}
	}
}

// realNeighborhoods reads the neighbourhood polygons bundled with the
// Baltimore city folder, nil when they are not there.
func realNeighborhoods(t *testing.T) []geo.Area { return realNeighborhoodsTB(t) }

// neighborhoodLayer is the layer realNeighborhoods' areas belong to.
var neighborhoodLayer = geo.AreaLayer{ID: "neighborhood_2010", Name: "Neighborhoods (2010)", Kind: "neighborhood"}

func realNeighborhoodsTB(t testing.TB) []geo.Area {
	f, err := cities.Builtin.Open("baltimore/areas/neighborhoods_2010.geojson.gz")
	if err != nil {
		return nil
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		t.Fatal(err)
	}
	var out []geo.Area
	for i, ft := range fc.Features {
		var mp orb.MultiPolygon
		switch g := ft.Geometry.(type) {
		case orb.Polygon:
			mp = orb.MultiPolygon{g}
		case orb.MultiPolygon:
			mp = g
		}
		out = append(out, geo.Area{Code: fmt.Sprintf("%03d", i), Geometry: mp})
	}
	return out
}

// TestAreaIndexWholeCellsMatchExactTest checks the grid's precomputed whole
// cells against the exact point-in-polygon test of every area in code order
// (what every lookup did before cells were precomputed), on the real
// neighbourhoods: random points over the extent, and points a hair off
// every vertex and edge midpoint, where a wrongly decided cell would show.
func TestAreaIndexWholeCellsMatchExactTest(t *testing.T) {
	areas := realNeighborhoods(t)
	if areas == nil {
		t.Skip("the Baltimore city folder ships no neighbourhoods")
	}
	idx := &AreaIndex{}
	idx.Add(geo.AreaLayer{ID: "n"}, areas)
	li := idx.layers[0]
	whole := 0
	for _, v := range li.whole {
		if v != cellEdge {
			whole++
		}
	}
	if whole < len(li.whole)/2 {
		t.Fatalf("%d of %d grid cells decided whole, want most", whole, len(li.whole))
	}
	exact := make([]*pip, len(areas))
	bounds := make([]orb.Bound, len(areas))
	for i, a := range areas {
		exact[i], bounds[i] = newPIP(a.Geometry, 32), a.Geometry.Bound()
	}
	check := func(p orb.Point) {
		t.Helper()
		want := ""
		for i, a := range areas {
			if bounds[i].Contains(p) && exact[i].contains(p) {
				want = a.Code
				break
			}
		}
		if got := idx.Assign(p, date("2020-01-01"))["n"]; got != want {
			t.Fatalf("point %v: index says %q, exact test %q", p, got, want)
		}
	}
	b := li.bound
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		check(orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])})
	}
	for _, a := range areas {
		for _, poly := range a.Geometry {
			for _, ring := range poly {
				for j := 1; j < len(ring); j++ {
					mid := orb.Point{(ring[j-1][0] + ring[j][0]) / 2, (ring[j-1][1] + ring[j][1]) / 2}
					for _, q := range []orb.Point{ring[j], mid} {
						for _, d := range []float64{1e-9, 1e-6, 1e-4} {
							check(orb.Point{q[0] + d, q[1]})
							check(orb.Point{q[0] - d, q[1]})
							check(orb.Point{q[0], q[1] + d})
							check(orb.Point{q[0], q[1] - d})
						}
					}
				}
			}
		}
	}
	// The grid's own lines, where a point's cell changes.
	for k := 0; k <= li.nx; k++ {
		x := b.Min[0] + float64(k)*li.cellW
		for range 200 {
			check(orb.Point{x, b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])})
		}
	}
}

package spatial

import (
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"

	"hotspots/geo"
)

// mustDisk returns the resolution-res disk of radius k around (lon, lat).
func mustDisk(tb testing.TB, lon, lat float64, res, k int) []geo.Cell {
	tb.Helper()
	c, err := geo.CellFromPoint(orb.Point{lon, lat}, res)
	if err != nil {
		tb.Fatal(err)
	}
	return c.Disk(k)
}

// neighbourSets returns each cell's neighbour list as plain ints.
func neighbourSets(g *Graph) [][]int {
	out := make([][]int, g.N())
	for i := range out {
		for _, j := range g.Neighbours(i) {
			out[i] = append(out[i], int(j))
		}
	}
	return out
}

// bruteForce lists, for each cell, the others for which near holds.
func bruteForce(cells []geo.Cell, near func(a, b geo.Cell) bool) [][]int {
	out := make([][]int, len(cells))
	for i, a := range cells {
		for j, b := range cells {
			if i != j && near(a, b) {
				out[i] = append(out[i], j)
			}
		}
	}
	return out
}

func TestNewGraph(t *testing.T) {
	g, err := NewGraph(5, []Edge{{0, 1}, {1, 0}, {1, 2}, {2, 2}, {0, 1}, {3, 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{1}, {0, 2, 3}, {1}, {1}, nil}
	if got := neighbourSets(g); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("neighbours %v, want %v (self-loops dropped, duplicates merged, both directions)", got, want)
	}
	if g.N() != 5 || g.Edges() != 3 || g.Degree(4) != 0 {
		t.Errorf("n %d edges %d isolate degree %d", g.N(), g.Edges(), g.Degree(4))
	}
	if _, err := NewGraph(2, []Edge{{0, 2}}); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("out-of-range edge: err = %v", err)
	}
}

func TestFromEdgeList(t *testing.T) {
	tests := []struct {
		name  string
		nodes []string
		edges [][2]string
		ok    bool
	}{
		{"ok", []string{"a", "b", "c"}, [][2]string{{"a", "b"}, {"c", "b"}}, true},
		{"unknown cell", []string{"a", "b"}, [][2]string{{"a", "z"}}, false},
		{"duplicate node", []string{"a", "a"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := FromEdgeList(tt.nodes, tt.edges)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			if tt.ok && g.Degree(1) != 2 {
				t.Errorf("degree of b = %d, want 2", g.Degree(1))
			}
		})
	}
}

// TestKRing compares the k-ring graph with H3 grid distances on a study area
// with holes: cells outside the study list are never neighbours.
func TestKRing(t *testing.T) {
	all := mustDisk(t, -76.6122, 39.2904, 9, 4) // Baltimore
	var cells []geo.Cell
	for i, c := range all {
		if i%7 != 3 { // holes
			cells = append(cells, c)
		}
	}
	for _, k := range []int{1, 2} {
		g, err := KRing(cells, k)
		if err != nil {
			t.Fatal(err)
		}
		want := bruteForce(cells, func(a, b geo.Cell) bool {
			d := h3.GridDistance(a.H3(), b.H3())
			return d >= 1 && d <= k
		})
		if got := neighbourSets(g); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("k=%d: k-ring graph differs from grid distances", k)
		}
	}
}

func TestKRingInvalid(t *testing.T) {
	cells := mustDisk(t, -76.6122, 39.2904, 9, 1)
	other := mustDisk(t, -76.6122, 39.2904, 8, 0)
	tests := []struct {
		name  string
		cells []geo.Cell
		k     int
	}{
		{"k zero", cells, 0},
		{"mixed resolution", append(slices.Clone(cells), other...), 1},
		{"invalid cell", append(slices.Clone(cells), geo.Cell(12345)), 1},
		{"duplicate", append(slices.Clone(cells), cells[0]), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := KRing(tt.cells, tt.k); geo.ErrorCode(err) != geo.EINVALID {
				t.Errorf("err = %v, want EINVALID", err)
			}
		})
	}
}

// TestDistanceBand compares the hashed search with a brute-force search, in
// Baltimore and across the antimeridian.
func TestDistanceBand(t *testing.T) {
	tests := []struct {
		name     string
		lon, lat float64
		res, k   int
		metres   float64
	}{
		{"baltimore 500 m", -76.6122, 39.2904, 9, 6, 500},
		{"baltimore 1 km", -76.6122, 39.2904, 9, 6, 1000},
		{"antimeridian", 179.99, 0.5, 7, 4, 6000},
		{"near pole", 10, 89.9, 8, 3, 2500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cells := mustDisk(t, tt.lon, tt.lat, tt.res, tt.k)
			g, err := DistanceBand(cells, tt.metres)
			if err != nil {
				t.Fatal(err)
			}
			want := bruteForce(cells, func(a, b geo.Cell) bool {
				pa, pb := a.Center(), b.Center()
				return GreatCircleM(pa.Lat(), pa.Lon(), pb.Lat(), pb.Lon()) <= tt.metres
			})
			if got := neighbourSets(g); !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("distance band differs from brute force (%d edges)", g.Edges())
			}
			if g.Edges() == 0 {
				t.Error("no neighbours found: test case too sparse")
			}
		})
	}
	if _, err := DistanceBand(mustDisk(t, 0, 0, 9, 1), 0); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("zero band: err = %v", err)
	}
}

// TestGreatCircleM checks the distance against H3's own.
func TestGreatCircleM(t *testing.T) {
	pts := [][4]float64{{39.29, -76.61, 39.30, -76.60}, {0, 179.9, 0, -179.9}, {-33.9, 151.2, 51.5, -0.1}, {10, 10, 10, 10}}
	for _, p := range pts {
		got := GreatCircleM(p[0], p[1], p[2], p[3])
		want := h3.GreatCircleDistanceM(h3.NewLatLng(p[0], p[1]), h3.NewLatLng(p[2], p[3]))
		if math.Abs(got-want) > 1e-6*math.Max(1, want) {
			t.Errorf("distance %v = %.9g m, h3 %.9g m", p, got, want)
		}
	}
}

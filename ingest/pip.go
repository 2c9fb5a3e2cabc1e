package ingest

import (
	"math"

	"github.com/paulmach/orb"
)

// pip is a point-in-polygon test prepared once per polygon. Edges are
// bucketed into horizontal bands, so a crossing-number test looks only at
// the edges of the point's band. orb's planar.MultiPolygonContains
// recomputes every ring's bounding box on each call, which dominated a
// million-row load.
type pip struct {
	bound orb.Bound
	bands [][]edge
	h     float64
}

type edge struct{ x1, y1, x2, y2 float64 }

// newPIP prepares mp with about one band per 8 edges, at most maxBands.
func newPIP(mp orb.MultiPolygon, maxBands int) *pip {
	x := &pip{bound: mp.Bound()}
	var edges []edge
	for _, poly := range mp {
		for _, ring := range poly {
			for i := 1; i < len(ring); i++ {
				a, b := ring[i-1], ring[i]
				if a[1] != b[1] {
					edges = append(edges, edge{a[0], a[1], b[0], b[1]})
				}
			}
			// Rings that are not closed are closed implicitly.
			if n := len(ring); n > 1 && ring[0] != ring[n-1] && ring[0][1] != ring[n-1][1] {
				edges = append(edges, edge{ring[n-1][0], ring[n-1][1], ring[0][0], ring[0][1]})
			}
		}
	}
	nb := max(1, min(maxBands, len(edges)/8))
	x.bands = make([][]edge, nb)
	x.h = (x.bound.Max[1] - x.bound.Min[1]) / float64(nb)
	if x.h <= 0 {
		x.h = 1
	}
	for _, e := range edges {
		lo, hi := x.band(math.Min(e.y1, e.y2)), x.band(math.Max(e.y1, e.y2))
		for b := lo; b <= hi; b++ {
			x.bands[b] = append(x.bands[b], e)
		}
	}
	return x
}

func (x *pip) band(y float64) int {
	b := int((y - x.bound.Min[1]) / x.h)
	return max(0, min(len(x.bands)-1, b))
}

// contains reports whether p is inside (even-odd rule, so holes work).
func (x *pip) contains(p orb.Point) bool {
	if !x.bound.Contains(p) {
		return false
	}
	px, py := p[0], p[1]
	in := false
	for _, e := range x.bands[x.band(py)] {
		if (e.y1 > py) != (e.y2 > py) {
			if px < e.x1+(py-e.y1)*(e.x2-e.x1)/(e.y2-e.y1) {
				in = !in
			}
		}
	}
	return in
}

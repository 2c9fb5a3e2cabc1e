package areas

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
)

type segment struct {
	a, b      orb.Point
	ring, idx int
	last      bool // the ring's closing segment, adjacent to segment 0
}

// crossing reports the first place where the polygon's edges cross: a ring
// touching or crossing itself, or two rings crossing or sharing an edge.
// Holes may touch their shell at a single point, as OGC Simple Features
// allow. Segments are bucketed on a grid so the check stays near linear.
func crossing(p orb.Polygon) (string, bool) {
	var segs []segment
	for ri, r := range p {
		for i := 0; i+1 < len(r); i++ {
			segs = append(segs, segment{a: r[i], b: r[i+1], ring: ri, idx: i, last: i == len(r)-2})
		}
	}
	b := p.Bound()
	side := max(1, int(math.Sqrt(float64(len(segs)))))
	dx := math.Max((b.Max[0]-b.Min[0])/float64(side), 1e-12)
	dy := math.Max((b.Max[1]-b.Min[1])/float64(side), 1e-12)
	cell := func(pt orb.Point) (int, int) {
		x := min(side-1, max(0, int((pt[0]-b.Min[0])/dx)))
		y := min(side-1, max(0, int((pt[1]-b.Min[1])/dy)))
		return x, y
	}
	buckets := make([][]int, side*side)
	for si, s := range segs {
		x0, y0 := cell(orb.Point{math.Min(s.a[0], s.b[0]), math.Min(s.a[1], s.b[1])})
		x1, y1 := cell(orb.Point{math.Max(s.a[0], s.b[0]), math.Max(s.a[1], s.b[1])})
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				buckets[y*side+x] = append(buckets[y*side+x], si)
			}
		}
	}
	checked := map[[2]int]bool{}
	for _, bucket := range buckets {
		for i := 0; i < len(bucket); i++ {
			for j := i + 1; j < len(bucket); j++ {
				k := [2]int{bucket[i], bucket[j]}
				if checked[k] {
					continue
				}
				checked[k] = true
				if msg, bad := badPair(segs[k[0]], segs[k[1]]); bad {
					return msg, true
				}
			}
		}
	}
	return "", false
}

func badPair(s, t segment) (string, bool) {
	if s.ring == t.ring {
		if adjacent(s, t) {
			return "", false
		}
		if segmentsTouch(s.a, s.b, t.a, t.b) {
			return fmt.Sprintf("ring %d crosses or touches itself near %v (segments %d and %d)", s.ring, t.a, s.idx, t.idx), true
		}
		return "", false
	}
	if segmentsCross(s.a, s.b, t.a, t.b) {
		return fmt.Sprintf("rings %d and %d cross near %v", s.ring, t.ring, t.a), true
	}
	return "", false
}

// adjacent reports whether two segments of one ring share a vertex by
// construction. Degenerate repeated points make a segment of zero length;
// those are allowed and never flagged.
func adjacent(s, t segment) bool {
	if s.idx > t.idx {
		s, t = t, s
	}
	if t.idx == s.idx+1 || (s.idx == 0 && t.last) {
		return true
	}
	return s.a == s.b || t.a == t.b
}

func orient(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

func sgn(v float64) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

func onSegment(a, b, p orb.Point) bool {
	return math.Min(a[0], b[0]) <= p[0] && p[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= p[1] && p[1] <= math.Max(a[1], b[1])
}

// segmentsTouch reports whether segments a-b and c-d share any point.
func segmentsTouch(a, b, c, d orb.Point) bool {
	o1, o2 := sgn(orient(a, b, c)), sgn(orient(a, b, d))
	o3, o4 := sgn(orient(c, d, a)), sgn(orient(c, d, b))
	if o1*o2 < 0 && o3*o4 < 0 {
		return true
	}
	return o1 == 0 && onSegment(a, b, c) || o2 == 0 && onSegment(a, b, d) ||
		o3 == 0 && onSegment(c, d, a) || o4 == 0 && onSegment(c, d, b)
}

// segmentsCross reports a proper crossing (interiors meet at one point) or a
// shared stretch of collinear edge; touching at a single end point is not a
// crossing.
func segmentsCross(a, b, c, d orb.Point) bool {
	o1, o2 := sgn(orient(a, b, c)), sgn(orient(a, b, d))
	o3, o4 := sgn(orient(c, d, a)), sgn(orient(c, d, b))
	if o1*o2 < 0 && o3*o4 < 0 {
		return true
	}
	if o1 == 0 && o2 == 0 { // collinear: overlap longer than a point?
		return collinearOverlap(a, b, c, d)
	}
	return false
}

func collinearOverlap(a, b, c, d orb.Point) bool {
	// Project on the longer axis of a-b.
	axis := 0
	if math.Abs(b[1]-a[1]) > math.Abs(b[0]-a[0]) {
		axis = 1
	}
	lo1, hi1 := math.Min(a[axis], b[axis]), math.Max(a[axis], b[axis])
	lo2, hi2 := math.Min(c[axis], d[axis]), math.Max(c[axis], d[axis])
	return math.Min(hi1, hi2)-math.Max(lo1, lo2) > 0
}

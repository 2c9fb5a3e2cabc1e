package geocode

import (
	"math"

	"github.com/paulmach/orb"
)

// partStart reports whether point i starts a new part of segment s (no
// length is counted across the gap between MultiLineString parts).
func (n *network) partStart(s, i int32) bool {
	for _, b := range n.breaks[s] {
		if b == i {
			return true
		}
	}
	return false
}

func (n *network) lineLength(s, start, end int32) float64 {
	var l float64
	multi := len(n.breaks[s]) > 0
	for i := start + 1; i < end; i++ {
		if multi && n.partStart(s, i) {
			continue
		}
		l += metres(n.pts[i-1], n.pts[i])
	}
	return l
}

// metres is the equirectangular distance, accurate to well under a metre
// over the few hundred metres of a city block and far cheaper than haversine.
func metres(a, b orb.Point) float64 {
	const r = 6371008.8
	lat := (a[1] + b[1]) / 2 * math.Pi / 180
	dx := (b[0] - a[0]) * math.Pi / 180 * math.Cos(lat)
	dy := (b[1] - a[1]) * math.Pi / 180
	return r * math.Sqrt(dx*dx+dy*dy)
}

// pointAt returns the point at fraction t (0..1) of segment si's length,
// measured from its first vertex (the "from" end of its address ranges).
func (n *network) pointAt(si int32, t float64) orb.Point {
	p, _ := n.pointDir(si, t)
	return p
}

// pointDir is pointAt plus the unit direction of the edge under the point,
// in local metres (east, north), for offsetting to a side of the street.
func (n *network) pointDir(si int32, t float64) (orb.Point, [2]float64) {
	s := &n.segs[si]
	t = math.Max(0, math.Min(1, t))
	target := t * s.length
	multi := len(n.breaks[si]) > 0
	var walked float64
	var dir [2]float64
	for i := s.start + 1; i < s.end; i++ {
		if multi && n.partStart(si, i) {
			continue
		}
		a, b := n.pts[i-1], n.pts[i]
		d := metres(a, b)
		if d == 0 {
			continue
		}
		dir = unitDir(a, b)
		if walked+d >= target-1e-9 {
			f := min(1, (target-walked)/d)
			return orb.Point{a[0] + f*(b[0]-a[0]), a[1] + f*(b[1]-a[1])}, dir
		}
		walked += d
	}
	return n.pts[s.end-1], dir
}

// unitDir is the unit vector from a to b in local metres (east, north).
func unitDir(a, b orb.Point) [2]float64 {
	dx := (b[0] - a[0]) * math.Cos((a[1]+b[1])/2*math.Pi/180)
	dy := b[1] - a[1]
	l := math.Hypot(dx, dy)
	if l == 0 {
		return [2]float64{}
	}
	return [2]float64{dx / l, dy / l}
}

// offsetPoint moves p by m metres to the left (m > 0) or right (m < 0) of
// direction dir.
func offsetPoint(p orb.Point, dir [2]float64, m float64) orb.Point {
	const degPerMetre = 180 / math.Pi / 6371008.8
	nx, ny := -dir[1], dir[0] // left normal
	return orb.Point{
		p[0] + nx*m*degPerMetre/math.Cos(p[1]*math.Pi/180),
		p[1] + ny*m*degPerMetre,
	}
}

// nodeKey identifies a centerline endpoint; the DOT data is noded at
// intersections, so streets that meet share an exact endpoint.
func nodeKey(p orb.Point) uint64 {
	x := uint32(int32(math.Round(p[0] * 1e6)))
	y := uint32(int32(math.Round(p[1] * 1e6)))
	return uint64(x)<<32 | uint64(y)
}

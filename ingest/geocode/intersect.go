package geocode

import (
	"github.com/paulmach/orb"

	"hotspots/geo"
)

// intersection geocodes `A & B` at the centerline node the two streets
// share, falling back to the named intersection list and then to endpoints
// within proximityMetres.
func (o *Offline) intersection(a Address) Result {
	ca, cb := o.candidates(streetOnly(a)), o.candidates(*a.Cross)
	switch {
	case len(ca) == 0:
		return unmatched("street not found: %s", a.Street())
	case len(cb) == 0:
		return unmatched("street not found: %s", a.Cross.Street())
	}
	n := o.net
	penB := map[int32]float64{}
	for _, c := range cb {
		penB[c.v] = c.pen
	}
	var hits []hit
	seen := map[uint64]bool{}
	pair := map[int32]int32{}
	for _, c := range ca {
		for _, si := range n.variants[c.v].all {
			s := &n.segs[si]
			for _, p := range []orb.Point{n.pts[s.start], n.pts[s.end-1]} {
				k := nodeKey(p)
				if seen[k] {
					continue
				}
				for _, vb := range n.nodes[k] {
					if pb, ok := penB[vb]; ok {
						seen[k] = true
						hits = append(hits, hit{variant: c.v, pt: p, prec: geo.PrecisionIntersection, pen: c.pen + pb})
						pair[c.v] = vb
						break
					}
				}
			}
		}
	}
	if len(hits) == 0 {
		for _, p := range n.named[pairKey(nameKey(a.Name), nameKey(a.Cross.Name))] {
			hits = append(hits, hit{variant: ca[0].v, pt: p, prec: geo.PrecisionIntersection, pen: ca[0].pen + cb[0].pen + penNamedList})
		}
	}
	if len(hits) == 0 {
		hits = o.proximity(ca, cb)
	}
	if len(hits) == 0 {
		return unmatched("%s and %s do not meet", a.Street(), a.Cross.Street())
	}
	r := o.resolve(hits)
	va := n.variants[hits[r.best].variant]
	other := a.Cross.Street()
	if vb, ok := pair[hits[r.best].variant]; ok {
		other = n.variants[vb].full
	}
	r.res.Matched = va.full + " & " + other
	return r.res
}

func streetOnly(a Address) Address {
	a.Cross = nil
	a.Number, a.HasNumber, a.Block = 0, false, false
	return a
}

// proximity finds places where an endpoint of A lies within proximityMetres
// of an endpoint of B: streets that meet across a short unnamed link or a
// slip lane, which the node index misses.
func (o *Offline) proximity(ca, cb []cand) []hit {
	n := o.net
	var bEnds []orb.Point
	var bPen []float64
	for _, c := range cb {
		for _, si := range n.variants[c.v].all {
			s := &n.segs[si]
			bEnds = append(bEnds, n.pts[s.start], n.pts[s.end-1])
			bPen = append(bPen, c.pen, c.pen)
		}
	}
	var hits []hit
	for _, c := range ca {
		for _, si := range n.variants[c.v].all {
			s := &n.segs[si]
			for _, p := range []orb.Point{n.pts[s.start], n.pts[s.end-1]} {
				for j, q := range bEnds {
					if metres(p, q) <= proximityMetres {
						mid := orb.Point{(p[0] + q[0]) / 2, (p[1] + q[1]) / 2}
						hits = append(hits, hit{variant: c.v, pt: mid, prec: geo.PrecisionIntersection, pen: c.pen + bPen[j] + penProximity})
					}
				}
			}
		}
	}
	return hits
}

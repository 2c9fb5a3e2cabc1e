package tiles

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/maptile"
)

// world projects lon/lat to Web Mercator world coordinates in [0, 1], y
// down, the space tiles are cut from. Aggregates keep their geometry in it so
// each tile only scales, rounds and clips.
func world(p orb.Point) orb.Point {
	lat := math.Max(-85.05112878, math.Min(85.05112878, p[1]))
	s := math.Sin(lat * math.Pi / 180)
	return orb.Point{
		(p[0] + 180) / 360,
		0.5 - math.Log((1+s)/(1-s))/(4*math.Pi),
	}
}

// unworld is the inverse of world.
func unworld(w orb.Point) orb.Point {
	n := math.Pi - 2*math.Pi*w[1]
	return orb.Point{w[0]*360 - 180, 180 / math.Pi * math.Atan(math.Sinh(n))}
}

// projector maps world coordinates to one tile's integer coordinates.
// Rounding happens in world-scaled units before the tile offset is taken
// off, so two neighbouring tiles round a shared vertex identically and
// polygons meet without seams.
type projector struct {
	scale  float64 // 2^z * Extent
	ox, oy float64 // tile origin in scaled units
	// clip is the tile plus Buffer, in tile units; wclip the same in world
	// units for cheap candidate tests.
	clip, wclip orb.Bound
}

func newProjector(t maptile.Tile) projector {
	scale := float64(uint64(1)<<t.Z) * Extent
	p := projector{scale: scale, ox: float64(t.X) * Extent, oy: float64(t.Y) * Extent}
	p.clip = orb.Bound{Min: orb.Point{-Buffer, -Buffer}, Max: orb.Point{Extent + Buffer, Extent + Buffer}}
	p.wclip = orb.Bound{
		Min: orb.Point{(p.ox - Buffer) / scale, (p.oy - Buffer) / scale},
		Max: orb.Point{(p.ox + Extent + Buffer) / scale, (p.oy + Extent + Buffer) / scale},
	}
	return p
}

// point projects one world point to tile units.
func (p projector) point(w orb.Point) orb.Point {
	return orb.Point{math.Round(w[0]*p.scale) - p.ox, math.Round(w[1]*p.scale) - p.oy}
}

// ring appends the projected ring to the slab (one backing array for all
// of a tile's rings, so a tile costs a few allocations rather than one per
// ring), clips it to the buffered tile when it crosses the edge, drops
// repeated points and returns nil when nothing with area is left. bufs
// (nil: fresh ones) hold the clip's passes; the ring returned may live in
// them, so it is used up before the next call with the same bufs.
func (p projector) ring(slab *[]orb.Point, w orb.Ring, wb orb.Bound, bufs *clipBufs) orb.Ring {
	dst := *slab
	start := len(dst)
	for _, q := range w {
		q = p.point(q)
		if n := len(dst); n > start && dst[n-1] == q {
			continue
		}
		dst = append(dst, q)
	}
	*slab = dst
	return p.cut(orb.Ring(dst[start:len(dst):len(dst)]), wb, bufs)
}

// scaledRing is ring for an outline already scaled and rounded (what
// point computes before it takes off the origin, repeats dropped: see
// zoomGeom), with the tile's origin (ox, oy) in the same units.
func (p projector) scaledRing(slab *[]orb.Point, v [][2]int32, ox, oy int64, wb orb.Bound, bufs *clipBufs) orb.Ring {
	dst := *slab
	start := len(dst)
	for _, q := range v {
		dst = append(dst, orb.Point{float64(int64(q[0]) - ox), float64(int64(q[1]) - oy)})
	}
	*slab = dst
	return p.cut(orb.Ring(dst[start:len(dst):len(dst)]), wb, bufs)
}

// cut is the rest of ring: the clip when the ring's world bound wb is not
// inside the buffered tile, and the test for a ring with area.
func (p projector) cut(r orb.Ring, wb orb.Bound, bufs *clipBufs) orb.Ring {
	if !p.wclip.Contains(wb.Min) || !p.wclip.Contains(wb.Max) {
		r = dedupe(clipRing(p.clip, r, bufs))
	}
	if len(r) < 4 || shoelace(r) == 0 {
		return nil
	}
	return r
}

// line projects, clips and de-duplicates a line string.
func (p projector) line(w orb.LineString, wb orb.Bound) orb.MultiLineString {
	ls := make(orb.LineString, 0, len(w))
	for _, q := range w {
		q = p.point(q)
		if n := len(ls); n > 0 && ls[n-1] == q {
			continue
		}
		ls = append(ls, q)
	}
	if len(ls) < 2 {
		return nil
	}
	if p.wclip.Contains(wb.Min) && p.wclip.Contains(wb.Max) {
		return orb.MultiLineString{ls}
	}
	out := clip.LineString(p.clip, ls)
	kept := out[:0]
	for _, l := range out {
		if l = orb.LineString(dedupe(orb.Ring(l))); len(l) >= 2 {
			kept = append(kept, l)
		}
	}
	return kept
}

// clipBufs are the two slices a ring's clip alternates between, kept by
// the caller so a tile's edge cells allocate nothing once they have grown.
type clipBufs [2][]orb.Point

// clipRing clips ring r to box with Sutherland-Hodgman, one box side at a
// time (left, right, bottom, top), giving the same points as orb's
// clip.Ring (the tests compare them) without its allocations: most
// hexagons of a z15-16 tile cross its edge, and the clip's growing slices
// were a third of such a tile's encoding. An input closed (first point
// repeated last) gives a closed output; nil when nothing is left.
func clipRing(box orb.Bound, r orb.Ring, bufs *clipBufs) orb.Ring {
	if len(r) == 0 {
		return nil
	}
	if bufs == nil {
		bufs = &clipBufs{}
	}
	closed := r[0] == r[len(r)-1]
	// A side every point is strictly inside of leaves the ring as it is:
	// skip its pass. Crossings added by the other passes lie between
	// points of the ring up to a rounding error of an ulp or so, and the
	// points are whole tile units (projector.point rounds them), so
	// strictly inside means a whole unit inside: no crossing can reach
	// the bound either. Points on a bound keep its pass, as orb runs it.
	// A hexagon crossing one tile edge then takes one pass, not four.
	codes := 0
	for _, q := range r {
		if q[0] <= box.Min[0] {
			codes |= 1
		}
		if q[0] >= box.Max[0] {
			codes |= 2
		}
		if q[1] <= box.Min[1] {
			codes |= 4
		}
		if q[1] >= box.Max[1] {
			codes |= 8
		}
	}
	src, k := []orb.Point(r), 0
	for _, side := range [4]int{1, 2, 4, 8} {
		if codes&side == 0 {
			continue
		}
		dst := bufs[k][:0]
		prev := src[len(src)-1]
		if !closed {
			prev = src[0]
		}
		prevIn := outside(box, prev)&side == 0
		for _, q := range src {
			in := outside(box, q)&side == 0
			if in != prevIn {
				dst = append(dst, crossing(box, side, prev, q))
			}
			if in {
				dst = append(dst, q)
			}
			prev, prevIn = q, in
		}
		bufs[k] = dst
		if len(dst) == 0 {
			return nil
		}
		src, k = dst, 1-k
	}
	if closed && src[0] != src[len(src)-1] {
		src = append(src, src[0])
	}
	return orb.Ring(src)
}

// outside is the Cohen-Sutherland code of q against box: 1 left of it, 2
// right, 4 below, 8 above.
func outside(box orb.Bound, q orb.Point) int {
	c := 0
	if q[0] < box.Min[0] {
		c |= 1
	} else if q[0] > box.Max[0] {
		c |= 2
	}
	if q[1] < box.Min[1] {
		c |= 4
	} else if q[1] > box.Max[1] {
		c |= 8
	}
	return c
}

// crossing is where segment a-b crosses the line of one side of box.
func crossing(box orb.Bound, side int, a, b orb.Point) orb.Point {
	switch side {
	case 8:
		return orb.Point{a[0] + (b[0]-a[0])*(box.Max[1]-a[1])/(b[1]-a[1]), box.Max[1]}
	case 4:
		return orb.Point{a[0] + (b[0]-a[0])*(box.Min[1]-a[1])/(b[1]-a[1]), box.Min[1]}
	case 2:
		return orb.Point{box.Max[0], a[1] + (b[1]-a[1])*(box.Max[0]-a[0])/(b[0]-a[0])}
	}
	return orb.Point{box.Min[0], a[1] + (b[1]-a[1])*(box.Min[0]-a[0])/(b[0]-a[0])}
}

// dedupe removes consecutive repeated points in place.
func dedupe(r orb.Ring) orb.Ring {
	if len(r) == 0 {
		return r
	}
	out := r[:1]
	for _, q := range r[1:] {
		if q != out[len(out)-1] {
			out = append(out, q)
		}
	}
	return out
}

// shoelace is twice the signed area in tile units (y down). The MVT
// specification wants exterior rings positive and holes negative.
func shoelace(r orb.Ring) float64 {
	var a float64
	for i := 0; i+1 < len(r); i++ {
		a += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return a
}

// orient reverses r in place unless its area has the wanted sign.
func orient(r orb.Ring, exterior bool) {
	if (shoelace(r) > 0) != exterior {
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
	}
}

// worldRing projects a lon/lat ring to world coordinates.
func worldRing(r orb.Ring) (orb.Ring, orb.Bound) {
	out := make(orb.Ring, len(r))
	for i, q := range r {
		out[i] = world(q)
	}
	return out, out.Bound()
}

// worldPolygons projects lon/lat polygons to world coordinates.
func worldPolygons(mp orb.MultiPolygon) (orb.MultiPolygon, orb.Bound) {
	out := make(orb.MultiPolygon, 0, len(mp))
	var b orb.Bound
	first := true
	for _, poly := range mp {
		wp := make(orb.Polygon, 0, len(poly))
		for _, r := range poly {
			wr, rb := worldRing(r)
			wp = append(wp, wr)
			if first {
				b, first = rb, false
			} else {
				b = b.Union(rb)
			}
		}
		out = append(out, wp)
	}
	return out, b
}

// polygons projects world polygons to one tile, clipping and orienting
// them; polygons whose exterior vanishes are dropped.
func (p projector) polygons(mp orb.MultiPolygon) orb.MultiPolygon {
	var out orb.MultiPolygon
	for _, poly := range mp {
		if len(poly) == 0 {
			continue
		}
		var slab []orb.Point
		ext := p.ring(&slab, poly[0], poly[0].Bound(), nil)
		if ext == nil {
			continue
		}
		orient(ext, true)
		tp := orb.Polygon{ext}
		for _, h := range poly[1:] {
			if hr := p.ring(&slab, h, h.Bound(), nil); hr != nil {
				orient(hr, false)
				tp = append(tp, hr)
			}
		}
		out = append(out, tp)
	}
	return out
}

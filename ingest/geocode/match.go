package geocode

import (
	"fmt"
	"math"
	"sort"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// Score penalties. Each names one way the match departs from an exact name,
// type, directional and range match; they add up and Score is 1 minus the sum.
const (
	penTypeToTypeless = 0.05 // `BROADWAY ST` matched the typeless BROADWAY
	penTypeMissing    = 0.02 // no type written; prefer a typeless street
	penTypeRelaxed    = 0.15 // `MADISON AV` matched only MADISON ST
	penDirToDirless   = 0.1  // `N FOO ST` matched FOO ST
	penDirRelaxed     = 0.35 // `N FOO ST` matched S FOO ST
	penSufDir         = 0.1  // directional suffix differs
	penDirInferred    = 0.05 // no directional written, several variants merged
	penAbbrevName     = 0.05 // name matched by initials or without JR
	penFuzzyName      = 0.2  // name matched with one edit
	penRepairedRange  = 0.05 // the range was typo-repaired on load
	penBlockOnly      = 0.1  // the segment knows its block but no range
	penBlockFallback  = 0.1  // house number absent, its block used instead
	penNearby         = 0.25 // beyond every range: placed at the nearest end
	penNamedList      = 0.1  // intersection found only in the named list
	penProximity      = 0.2  // intersection found only by endpoint proximity
	streetScoreCap    = 0.5  // no number: the point stands for a whole street
	tierWidth         = 0.05 // hits this close to the best compete with it
	proximityMetres   = 30.0 // endpoints this close count as meeting
)

// hit is one place an address could be.
type hit struct {
	variant int32
	pt      orb.Point
	prec    geo.Precision
	pen     float64
}

// cand is a street variant that matched the written name, with the penalty
// for how it matched.
type cand struct {
	v   int32
	pen float64
}

// street geocodes an address without a cross street.
func (o *Offline) street(a Address) Result {
	cands := o.candidates(a)
	if len(cands) == 0 {
		return unmatched("street not found: %s", a.Street())
	}
	var hits []hit
	for _, c := range cands {
		if a.HasNumber {
			hits = append(hits, o.locate(c, a)...)
		} else {
			hits = append(hits, o.streetMiddle(c))
		}
	}
	if len(hits) == 0 {
		return unmatched("no block %d on %s", a.Number, o.net.variants[cands[0].v].full)
	}
	r := o.resolve(hits)
	best := o.net.variants[hits[r.best].variant]
	m := Address{Number: a.Number, HasNumber: a.HasNumber, Block: a.Block,
		Dir: best.dir, Name: best.name, Type: best.typ, SufDir: best.suf}
	r.res.Matched = m.String()
	return r.res
}

// locate places a numbered address on one street variant, falling back from
// the exact range to the block and then to the nearest range end.
func (o *Offline) locate(c cand, a Address) []hit {
	num := int32(a.Number)
	isBlock := a.Block || (o.cfg.HundredsAreBlocks && num%100 == 0)
	var hits []hit
	switch {
	case isBlock && o.cfg.Block == BlockMidpoint:
		hits = o.blockPoint(c, num/100*100, 0)
	case isBlock:
		hits = o.interpolate(c, num, geo.PrecisionBlock, 0)
		if len(hits) == 0 {
			// `0 N ABINGTON AV` when the block's first house is 1 or 2.
			if first, ok := o.firstInBlock(c, num/100*100); ok {
				hits = o.interpolate(c, first, geo.PrecisionBlock, 0)
			}
		}
	default:
		hits = o.interpolate(c, num, geo.PrecisionInterpolated, 0)
		if len(hits) == 0 {
			hits = o.blockPoint(c, num/100*100, penBlockFallback)
		}
	}
	if len(hits) == 0 {
		hits = o.nearby(c, num)
	}
	return hits
}

// searchSegs calls fn for every addressed segment of v whose span may
// contain an address in [lo, hi], using the lo-sorted order and the
// variant's widest span to bound the scan.
func (o *Offline) searchSegs(v *variant, lo, hi int32, fn func(si int32)) {
	segs := o.net.segs
	end := sort.Search(len(v.addressed), func(i int) bool { return segs[v.addressed[i]].lo > hi })
	for i := end - 1; i >= 0; i-- {
		s := &segs[v.addressed[i]]
		if s.lo < lo-v.maxSpan {
			break
		}
		if s.hi >= lo {
			fn(v.addressed[i])
		}
	}
}

// interpolate places house number num along the segments whose range on
// num's side (odd/even) contains it.
func (o *Offline) interpolate(c cand, num int32, prec geo.Precision, pen float64) []hit {
	v := &o.net.variants[c.v]
	var sided, other []hit
	o.searchSegs(v, num, num, func(si int32) {
		s := &o.net.segs[si]
		ri := -1
		for i, r := range s.ranges {
			if !r.contains(num) {
				continue
			}
			if r.parityOK(num) && i < 2 {
				ri = i
				break
			}
			if ri < 0 {
				ri = i
			}
		}
		if ri < 0 {
			return
		}
		r := s.ranges[ri]
		h := hit{variant: c.v, pt: o.sidePoint(si, ri, r, float64(num)), prec: prec, pen: c.pen + pen + segPenalty(s)}
		if s.blockOnly {
			h.prec = geo.PrecisionBlock
		}
		if r.parityOK(num) && ri < 2 {
			sided = append(sided, h)
		} else {
			other = append(other, h)
		}
	})
	if len(sided) > 0 {
		return sided
	}
	return other
}

// sidePoint interpolates num on range ri of segment si and, when it is a
// sided range, moves it SideOffset metres off the centerline toward the
// buildings: reference geocoders place addresses on the parcel, not the road.
func (o *Offline) sidePoint(si int32, ri int, r addrRange, num float64) orb.Point {
	p, dir := o.net.pointDir(si, fraction(r, num))
	if o.cfg.SideOffset == 0 || o.net.segs[si].blockOnly {
		return p
	}
	if ri%2 == 0 { // fraddl/toaddl: left of the digitised direction
		return offsetPoint(p, dir, o.cfg.SideOffset)
	}
	return offsetPoint(p, dir, -o.cfg.SideOffset)
}

func fraction(r addrRange, num float64) float64 {
	if r.to == r.from {
		return 0.5
	}
	return (num - float64(r.from)) / float64(r.to-r.from)
}

func segPenalty(s *segment) float64 {
	p := 0.0
	if s.repaired {
		p += penRepairedRange
	}
	if s.blockOnly {
		p += penBlockOnly
	}
	return p
}

// firstInBlock is the lowest address block b's segments carry.
func (o *Offline) firstInBlock(c cand, b int32) (int32, bool) {
	v := &o.net.variants[c.v]
	first := int32(math.MaxInt32)
	o.searchSegs(v, b, b+99, func(si int32) {
		for _, r := range o.net.segs[si].ranges {
			if !r.empty() && r.hi() >= b && r.lo() <= b+99 {
				first = min(first, max(r.lo(), b))
			}
		}
	})
	return first, first != math.MaxInt32
}

// blockPoint places the middle of block b: the midpoint of the addresses the
// block's segments actually carry, interpolated on the segment holding it.
func (o *Offline) blockPoint(c cand, b int32, pen float64) []hit {
	v := &o.net.variants[c.v]
	lo, hi := int32(math.MaxInt32), int32(-1)
	var segs []int32
	o.searchSegs(v, b, b+99, func(si int32) {
		s := &o.net.segs[si]
		segs = append(segs, si)
		lo, hi = min(lo, s.lo), max(hi, s.hi)
	})
	if len(segs) == 0 {
		return nil
	}
	lo, hi = max(lo, b), min(hi, b+99)
	mid := float64(lo+hi) / 2
	var hits []hit
	for _, si := range segs {
		s := &o.net.segs[si]
		for _, r := range s.ranges {
			if r.empty() || mid < float64(r.lo()) || mid > float64(r.hi()) {
				continue
			}
			hits = append(hits, hit{variant: c.v, pt: o.net.pointAt(si, fraction(r, mid)), prec: geo.PrecisionBlock, pen: c.pen + pen + segPenalty(s)})
			break
		}
	}
	if len(hits) == 0 {
		// The middle falls in a gap between ranges: use the nearest segment end.
		return o.nearestEnd(c, segs, mid, pen)
	}
	return hits
}

// nearby places an address that lies beyond every range of the street at
// the nearest range end, if it is within NearbyNumbers.
func (o *Offline) nearby(c cand, num int32) []hit {
	v := &o.net.variants[c.v]
	var segs []int32
	o.searchSegs(v, num-o.cfg.NearbyNumbers, num+o.cfg.NearbyNumbers, func(si int32) { segs = append(segs, si) })
	if len(segs) == 0 {
		return nil
	}
	return o.nearestEnd(c, segs, float64(num), penNearby)
}

func (o *Offline) nearestEnd(c cand, segs []int32, num float64, pen float64) []hit {
	bestD := math.Inf(1)
	var best hit
	for _, si := range segs {
		s := &o.net.segs[si]
		for _, r := range s.ranges {
			if r.empty() {
				continue
			}
			for _, end := range []int32{r.from, r.to} {
				if d := math.Abs(float64(end) - num); d < bestD {
					bestD = d
					best = hit{variant: c.v, pt: o.net.pointAt(si, fraction(r, float64(end))), prec: geo.PrecisionBlock, pen: c.pen + pen + segPenalty(s)}
				}
			}
		}
	}
	if math.IsInf(bestD, 1) {
		return nil
	}
	return []hit{best}
}

// streetMiddle stands for a whole street: the middle of its middle segment.
func (o *Offline) streetMiddle(c cand) hit {
	v := &o.net.variants[c.v]
	segs := v.addressed
	if len(segs) == 0 {
		segs = v.all
	}
	si := segs[len(segs)/2]
	return hit{variant: c.v, pt: o.net.pointAt(si, 0.5), prec: geo.PrecisionStreet, pen: c.pen + (1 - streetScoreCap)}
}

// resolved is a resolve outcome plus the index of the hit that names it.
type resolved struct {
	res  Result
	best int
}

// resolve turns candidate places into a result: the best-scoring tier of
// hits is clustered by AmbiguityRadius; one cluster is a match at its
// centroid, several are ambiguous.
func (o *Offline) resolve(hits []hit) resolved {
	best := 0
	for i, h := range hits {
		if h.pen < hits[best].pen {
			best = i
		}
	}
	tier := make([]int, 0, len(hits))
	for i, h := range hits {
		if h.pen <= hits[best].pen+tierWidth {
			tier = append(tier, i)
		}
	}
	// Greedy clustering around seeds; the best hit seeds the first cluster.
	var seeds []int
	member := make([]int, len(hits))
	for _, i := range append([]int{best}, tier...) {
		placed := false
		for ci, s := range seeds {
			if metres(hits[s].pt, hits[i].pt) <= o.cfg.AmbiguityRadius {
				member[i], placed = ci, true
				break
			}
		}
		if !placed {
			member[i] = len(seeds)
			seeds = append(seeds, i)
		}
	}
	pen := hits[best].pen
	prec := hits[best].prec
	var sum orb.Point
	var k int
	variants := map[int32]bool{}
	for _, i := range tier {
		if member[i] != 0 {
			continue
		}
		sum[0] += hits[i].pt[0]
		sum[1] += hits[i].pt[1]
		k++
		variants[hits[i].variant] = true
		if precRank[hits[i].prec] > precRank[prec] {
			prec = hits[i].prec
		}
	}
	if len(variants) > 1 {
		pen += penDirInferred
	}
	res := Result{
		Point:      orb.Point{sum[0] / float64(k), sum[1] / float64(k)},
		Score:      clampScore(1 - pen),
		Precision:  prec,
		Candidates: len(seeds),
	}
	if len(seeds) > 1 {
		res.Point = hits[best].pt
		res.Ambiguous = true
		res.Score = clampScore((1 - pen) / float64(len(seeds)))
		res.Reason = geo.ReasonAmbiguousAddr
		res.Detail = fmt.Sprintf("%d places more than %.0f m apart", len(seeds), o.cfg.AmbiguityRadius)
	}
	return resolved{res: res, best: best}
}

// precRank orders precisions from finest to coarsest for merging.
var precRank = map[geo.Precision]int{
	geo.PrecisionInterpolated: 0,
	geo.PrecisionIntersection: 1,
	geo.PrecisionBlock:        2,
	geo.PrecisionStreet:       3,
}

func clampScore(s float64) float64 {
	return math.Max(0.01, math.Min(1, math.Round(s*1000)/1000))
}

package areas

import (
	"math"
	"sort"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// ApportionByArea estimates the population of each target area from source
// areas with known population, sharing each source's people among the
// targets in proportion to the part of its area each covers. Shares are
// measured by sampling both layers on a lon/lat grid of step degrees, which
// avoids polygon clipping; a source too small to hold a sample point gives
// everyone to the target holding its first vertex. It is how a layer
// without census figures (police districts) gets a documented estimate.
//
// The result is rounded by largest remainder, so the targets' total equals
// the allocated sources' total exactly. unallocated counts the people of
// sources that overlap no target.
func ApportionByArea(src, dst []geo.Area, step float64) (pop map[string]int, unallocated int) {
	index := func(areas []geo.Area) *layerIndex {
		return newLayerIndex(geo.AreaLayer{ID: "apportion"}, areas)
	}
	srcIx, dstIx := index(src), index(dst)
	pop = map[string]int{}
	if srcIx == nil {
		return pop, 0
	}
	hits := map[string]map[string]int{} // source code -> target code -> samples
	inside := map[string]int{}          // source code -> samples
	b := srcIx.bound
	for y := math.Floor(b.Min[1]/step)*step + step/2; y <= b.Max[1]; y += step {
		for x := math.Floor(b.Min[0]/step)*step + step/2; x <= b.Max[0]; x += step {
			p := orb.Point{x, y}
			s, ok := srcIx.find(p, 0)
			if !ok {
				continue
			}
			inside[s]++
			if dstIx == nil {
				continue
			}
			if d, ok := dstIx.find(p, 0); ok {
				if hits[s] == nil {
					hits[s] = map[string]int{}
				}
				hits[s][d]++
			}
		}
	}
	share := map[string]float64{}
	for _, a := range src {
		if a.Population == nil || *a.Population == 0 || len(a.Geometry) == 0 {
			continue
		}
		h := hits[a.Code]
		if inside[a.Code] == 0 && dstIx != nil { // smaller than the grid step
			if d, ok := dstIx.find(a.Geometry[0][0][0], 0); ok {
				h = map[string]int{d: 1}
			}
		}
		total := 0
		for _, n := range h {
			total += n
		}
		if total == 0 {
			unallocated += *a.Population
			continue
		}
		for code, n := range h {
			share[code] += float64(*a.Population) * float64(n) / float64(total)
		}
	}
	return largestRemainder(share), unallocated
}

// largestRemainder rounds shares to integers whose sum is the rounded total,
// giving the leftover units to the largest fractional parts (ties by code).
func largestRemainder(share map[string]float64) map[string]int {
	codes := make([]string, 0, len(share))
	sum := 0.0
	for c, v := range share {
		codes = append(codes, c)
		sum += v
	}
	sort.Strings(codes)
	out := make(map[string]int, len(share))
	left := int(math.Round(sum))
	for _, c := range codes {
		out[c] = int(math.Floor(share[c]))
		left -= out[c]
	}
	sort.SliceStable(codes, func(i, j int) bool {
		fi, fj := share[codes[i]]-math.Floor(share[codes[i]]), share[codes[j]]-math.Floor(share[codes[j]])
		return fi > fj
	})
	for i := 0; i < left && i < len(codes); i++ {
		out[codes[i]]++
	}
	return out
}

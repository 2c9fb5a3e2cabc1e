package cluster

import (
	"fmt"
	"math"
	"slices"

	"github.com/uber/h3-go/v4"

	"hotspots/geo"
	"hotspots/geo/spatial"
)

// Graph is the adjacency graph zones grow on. It is the same graph the Gi*
// statistics use (undirected, no self-loops, isolates allowed), so one
// detection run builds it once for both.
type Graph = spatial.Graph

// EdgeListGraph builds a graph over nodes, in that order, from edges given
// by node key. Self-loops are ignored and each edge counts both ways, as in
// the oracle's edge-list convention.
func EdgeListGraph[K comparable](nodes []K, edges [][2]K) (*Graph, error) {
	g, err := spatial.FromEdgeList(nodes, edges)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return g, nil
}

// H3Graph builds the grid adjacency of the study cells: two cells are
// neighbours when one is in the other's Disk(1). Graph distance on it is H3
// grid distance wherever the study area has no holes.
func H3Graph(cells []geo.Cell) (*Graph, error) {
	g, err := spatial.KRing(cells, 1)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return g, nil
}

// ZoneShape says how a radius in metres becomes scan zones on H3 cells.
type ZoneShape int

const (
	// ZoneRings makes k-ring balls k = 0..KForRadius(res, radius) on the
	// grid adjacency, the zones of the oracle scan. Few zones per centre
	// (K+1), so it is the fast default.
	ZoneRings ZoneShape = iota
	// ZoneCircles makes SaTScan-style circles: around each centre, one zone
	// per distinct centroid distance up to the radius. More zones per
	// centre, so slower, but the radius is met more closely.
	ZoneCircles
)

// String names the shape for run parameters.
func (s ZoneShape) String() string {
	if s == ZoneCircles {
		return "circles"
	}
	return "rings"
}

// Zones is the candidate set of a scan, organised in nested families: family
// f is centred on one cell and its levels are growing zones, each containing
// the previous one (k-balls k = 0,1,2..., or circles of growing radius).
// Zones are numbered globally, family by family and level by level; that is
// the (center, k) order in which the oracle breaks ties.
//
// Membership is stored both ways: by zone, for reporting and overlap checks,
// and by cell (the zone at which a cell first enters each family), so a scan
// touches only the zones that contain a cell with cases.
type Zones struct {
	n        int
	center   []int32   // per family
	famZone  []int32   // family f's zones are famZone[f] .. famZone[f+1]-1
	famMem   []int32   // family f's members start at mem[famMem[f]]
	zoneFam  []int32   // per zone
	zoneEnd  []int32   // zone z's members are mem[famMem[zoneFam[z]]:zoneEnd[z]]
	level    []int32   // per zone: its level within the family
	radius   []float64 // per zone: k (rings) or metres (circles)
	mem      []int32
	invOff   []int32 // cell j's entries are invZone[invOff[j]:invOff[j+1]]
	invZone  []int32 // the zone at which cell j enters a family
	isCircle bool
}

// ZoneInfo describes one zone.
type ZoneInfo struct {
	ID     int
	Center int // cell index of the centre
	Level  int // 0 for the centre alone
	// K is the ring size for ring zones (Level == K), -1 for circles.
	K int
	// RadiusM is the circle radius in metres: the farthest member's centroid
	// distance. 0 for ring zones.
	RadiusM float64
	Size    int
}

type zoneBuilder struct{ z *Zones }

func newZoneBuilder(n int, circles bool) *zoneBuilder {
	return &zoneBuilder{z: &Zones{n: n, famZone: []int32{0}, isCircle: circles}}
}

// add appends one family: levels[l] are the cells entering at level l.
func (b *zoneBuilder) add(center int, levels [][]int32, labels []float64) {
	z := b.z
	f := int32(len(z.center))
	z.center = append(z.center, int32(center))
	z.famMem = append(z.famMem, int32(len(z.mem)))
	for l, cells := range levels {
		z.mem = append(z.mem, cells...)
		z.zoneFam = append(z.zoneFam, f)
		z.zoneEnd = append(z.zoneEnd, int32(len(z.mem)))
		z.level = append(z.level, int32(l))
		z.radius = append(z.radius, labels[l])
	}
	z.famZone = append(z.famZone, int32(len(z.zoneFam)))
}

// finish builds the by-cell index.
func (b *zoneBuilder) finish() *Zones {
	z := b.z
	cnt := make([]int32, z.n+1)
	for _, c := range z.mem {
		cnt[c+1]++
	}
	for j := 0; j < z.n; j++ {
		cnt[j+1] += cnt[j]
	}
	z.invOff = slices.Clone(cnt)
	z.invZone = make([]int32, len(z.mem))
	for id := range z.zoneFam {
		for _, c := range z.newMembers(id) {
			z.invZone[cnt[c]] = int32(id)
			cnt[c]++
		}
	}
	return z
}

// newMembers are the cells that enter at zone id (not in the level below).
func (z *Zones) newMembers(id int) []int32 {
	lo := z.famMem[z.zoneFam[id]]
	if z.level[id] > 0 {
		lo = z.zoneEnd[id-1]
	}
	return z.mem[lo:z.zoneEnd[id]]
}

// BallZones makes the oracle's zones: for every cell in order, the balls of
// graph distance k = 0..maxK around it. An isolated cell gets maxK+1
// identical zones, as in the oracle, which lists them all.
func BallZones(g *Graph, maxK int) (*Zones, error) {
	if maxK < 0 || maxK > 64 {
		return nil, geo.Errorf(geo.EINVALID, "zones: max k %d, want 0..64", maxK)
	}
	n := g.N()
	b := newZoneBuilder(n, false)
	seen := make([]int32, n) // stamp: centre+1 when visited from centre
	labels := make([]float64, maxK+1)
	for k := range labels {
		labels[k] = float64(k)
	}
	levels := make([][]int32, maxK+1)
	for c := 0; c < n; c++ {
		stamp := int32(c + 1)
		seen[c] = stamp
		levels[0] = append(levels[0][:0], int32(c))
		for k := 1; k <= maxK; k++ {
			levels[k] = levels[k][:0]
			for _, v := range levels[k-1] {
				for _, w := range g.Neighbours(int(v)) {
					if seen[w] != stamp {
						seen[w] = stamp
						levels[k] = append(levels[k], w)
					}
				}
			}
			slices.Sort(levels[k])
		}
		b.add(c, levels, labels)
	}
	return b.finish(), nil
}

// centreSpacingM is the average distance between the centres of adjacent H3
// cells at res: sqrt(3) times the average hexagon edge.
func centreSpacingM(res int) float64 { return math.Sqrt(3) * h3.HexagonEdgeLengthAvgM(res) }

// KForRadius converts a radius in metres to the largest ring size k whose
// ring-k centres are, on average, no farther than the radius: the ring scan
// never reaches beyond the configured radius. 0.75 mile (1207 m) gives k = 3
// at resolution 9 (centre spacing about 302 m).
func KForRadius(res int, metres float64) (int, error) {
	if res < 0 || res > 15 {
		return 0, geo.Errorf(geo.EINVALID, "zones: resolution %d out of 0..15", res)
	}
	if !(metres >= 0) || math.IsInf(metres, 0) {
		return 0, geo.Errorf(geo.EINVALID, "zones: radius %g m, want a finite distance >= 0", metres)
	}
	return int(metres/centreSpacingM(res) + 1e-9), nil
}

// CircleZones makes circular zones on H3 cells: around each study cell, the
// cells whose centroid lies within r of the centre's centroid, for every
// distinct r up to maxRadiusM. Distances closer than 2% of the centre
// spacing are one step, so H3's small distortions do not split a ring into
// near-identical zones.
func CircleZones(cells []geo.Cell, maxRadiusM float64) (*Zones, error) {
	if len(cells) == 0 {
		return nil, geo.Errorf(geo.EINVALID, "zones: no study cells")
	}
	if _, err := KForRadius(cells[0].Res(), maxRadiusM); err != nil {
		return nil, err
	}
	tol := 0.02 * centreSpacingM(cells[0].Res())
	return distanceZones(cells, maxRadiusM, func(cs []cand) ([][]int32, []float64) {
		var levels [][]int32
		var labels []float64
		start := math.Inf(-1)
		for _, x := range cs {
			if x.d > start+tol {
				start = x.d
				levels = append(levels, nil)
				labels = append(labels, x.d)
			}
			l := len(levels) - 1
			levels[l] = append(levels[l], x.j)
			labels[l] = x.d
		}
		return levels, labels
	})
}

// BandZones makes zones of fixed distance bands on H3 cells: around each
// study cell, level l holds the cells whose centroid lies within radiiM[l]
// metres of the centre's (the centre always, whatever the first radius).
// Radii must ascend. A band that adds no cell repeats the zone below it, so
// every family has len(radiiM) levels and RadiusM is the band's radius.
func BandZones(cells []geo.Cell, radiiM []float64) (*Zones, error) {
	if len(cells) == 0 || len(radiiM) == 0 {
		return nil, geo.Errorf(geo.EINVALID, "zones: %d study cells, %d radii; want at least one of each", len(cells), len(radiiM))
	}
	for i, r := range radiiM {
		if _, err := KForRadius(cells[0].Res(), r); err != nil {
			return nil, err
		}
		if i > 0 && r <= radiiM[i-1] {
			return nil, geo.Errorf(geo.EINVALID, "zones: radii %v do not ascend", radiiM)
		}
	}
	return distanceZones(cells, radiiM[len(radiiM)-1], func(cs []cand) ([][]int32, []float64) {
		levels := make([][]int32, len(radiiM))
		for _, x := range cs {
			l, _ := slices.BinarySearch(radiiM, x.d) // first radius >= d
			levels[min(l, len(radiiM)-1)] = append(levels[min(l, len(radiiM)-1)], x.j)
		}
		return levels, slices.Clone(radiiM)
	})
}

// cand is a study cell j at centroid distance d from a zone centre.
type cand struct {
	j int32
	d float64
}

// distanceZones builds one family per study cell from the cells within
// maxRadiusM of it, sorted by distance (the centre first), which group
// splits into levels.
func distanceZones(cells []geo.Cell, maxRadiusM float64, group func([]cand) ([][]int32, []float64)) (*Zones, error) {
	res := cells[0].Res()
	idx := make(map[geo.Cell]int32, len(cells))
	ll := make([]h3.LatLng, len(cells))
	for i, c := range cells {
		if !c.Valid() || c.Res() != res {
			return nil, geo.Errorf(geo.EINVALID, "zones: cell %d (%s) is not a valid H3 cell of resolution %d", i, c, res)
		}
		if _, dup := idx[c]; dup {
			return nil, geo.Errorf(geo.EINVALID, "zones: cell %s listed twice", c)
		}
		idx[c] = int32(i)
		ll[i] = c.H3().LatLng()
	}
	// H3 hexagons vary in size by a factor of about 2 within one
	// resolution, so search twice as many rings as the average suggests.
	kmax := int(maxRadiusM/(centreSpacingM(res)*0.5)) + 1
	b := newZoneBuilder(len(cells), true)
	var cs []cand
	for i, c := range cells {
		cs = cs[:0]
		for _, d := range c.Disk(kmax) {
			j, ok := idx[d]
			if !ok {
				continue
			}
			dist := 0.0
			if int(j) != i {
				dist = h3.GreatCircleDistanceM(ll[i], ll[j])
			}
			if dist <= maxRadiusM {
				cs = append(cs, cand{j, dist})
			}
		}
		slices.SortFunc(cs, func(a, b cand) int {
			if a.d != b.d {
				if a.d < b.d {
					return -1
				}
				return 1
			}
			return int(a.j - b.j)
		})
		levels, labels := group(cs)
		for _, lv := range levels {
			slices.Sort(lv)
		}
		b.add(i, levels, labels)
	}
	return b.finish(), nil
}

// H3Zones builds the zones of a scan on H3 study cells with the radius and
// shape of cfg: k-ring balls up to KForRadius (ZoneRings) or circles up to
// the radius (ZoneCircles).
func H3Zones(cells []geo.Cell, shape ZoneShape, maxRadiusM float64) (*Zones, error) {
	if len(cells) == 0 {
		return nil, geo.Errorf(geo.EINVALID, "zones: no study cells")
	}
	if shape == ZoneCircles {
		return CircleZones(cells, maxRadiusM)
	}
	k, err := KForRadius(cells[0].Res(), maxRadiusM)
	if err != nil {
		return nil, err
	}
	g, err := H3Graph(cells)
	if err != nil {
		return nil, err
	}
	return BallZones(g, k)
}

// Cells is the number of study cells the zones are over.
func (z *Zones) Cells() int { return z.n }

// Count is the number of zones.
func (z *Zones) Count() int { return len(z.zoneFam) }

// Info describes zone id.
func (z *Zones) Info(id int) ZoneInfo {
	f := z.zoneFam[id]
	info := ZoneInfo{
		ID: id, Center: int(z.center[f]), Level: int(z.level[id]),
		Size: int(z.zoneEnd[id] - z.famMem[f]),
	}
	if z.isCircle {
		info.K, info.RadiusM = -1, z.radius[id]
	} else {
		info.K = int(z.radius[id])
	}
	return info
}

// Members returns the cells of zone id, centre first, then by level and
// index. The slice belongs to the zones and must not be modified.
func (z *Zones) Members(id int) []int32 {
	return z.mem[z.famMem[z.zoneFam[id]]:z.zoneEnd[id]]
}

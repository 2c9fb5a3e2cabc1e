package areas

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/paulmach/orb"

	"hotspots/cities"
	"hotspots/geo"
)

// DefaultToleranceM is how far outside every polygon of a layer a point may
// lie and still be given the nearest area. Layer edges do not quite meet the
// city line or each other (a homicide at 900 Hull St lands on the water
// edge, 11 of Najera's points fall in no CSA), and the city keeps points
// within its boundary tolerance, so without this they would be counted in
// the city but in no area.
const DefaultToleranceM = 150

// gridSize is the number of index cells along each side of a layer's
// bounding box: about 100 m cells for Baltimore, small enough that most
// cells lie inside a single area and need no point-in-polygon test.
const gridSize = 256

// Option configures an Assigner.
type Option func(*Assigner)

// WithToleranceM sets the distance in metres within which a point outside
// every polygon of a layer still gets the nearest area; 0 disables it.
func WithToleranceM(m float64) Option { return func(a *Assigner) { a.tolM = m } }

// Assigner finds the area of each layer that contains a point, honouring the
// layers' ValidFrom/ValidTo, so an incident of 2022 gets a pre-2023 police
// district and one of 2024 a 2023 district. It is immutable once built and
// safe for concurrent use.
type Assigner struct {
	layers []*layerIndex
	names  map[string]*NameIndex
	tolM   float64
}

// NewAssigner indexes the areas of the given layers (areas by layer ID).
// Areas without geometry are skipped; a layer without areas assigns nothing.
func NewAssigner(layers []geo.AreaLayer, areas map[string][]geo.Area, opts ...Option) *Assigner {
	a := &Assigner{names: map[string]*NameIndex{}, tolM: DefaultToleranceM}
	for _, o := range opts {
		o(a)
	}
	for _, l := range layers {
		a.names[l.ID] = NewNameIndex(areas[l.ID])
		if ix := newLayerIndex(l, areas[l.ID]); ix != nil {
			a.layers = append(a.layers, ix)
		}
	}
	return a
}

// NewCityAssigner builds an Assigner from a city's configured layers,
// without a store.
func NewCityAssigner(city *cities.City, opts ...Option) (*Assigner, error) {
	layers, err := ReadCity(city)
	if err != nil {
		return nil, err
	}
	ls := make([]geo.AreaLayer, len(layers))
	byID := make(map[string][]geo.Area, len(layers))
	for i, l := range layers {
		ls[i] = l.AreaLayer
		byID[l.ID] = l.Areas
	}
	return NewAssigner(ls, byID, opts...), nil
}

// NewStoreAssigner builds an Assigner from every layer in the store,
// including custom layers.
func NewStoreAssigner(ctx context.Context, store geo.AreaService, opts ...Option) (*Assigner, error) {
	layers, err := store.Layers(ctx)
	if err != nil {
		return nil, fmt.Errorf("areas: list layers: %w", err)
	}
	byID := make(map[string][]geo.Area, len(layers))
	for _, l := range layers {
		if byID[l.ID], err = store.Areas(ctx, l.ID); err != nil {
			return nil, fmt.Errorf("areas: layer %s: %w", l.ID, err)
		}
	}
	return NewAssigner(layers, byID, opts...), nil
}

// Assign returns, for every layer valid on day, the code of the area holding
// p (lon, lat). Layers with no area there (within the tolerance) are left
// out of the map. day is compared as a calendar date: ValidFrom inclusive,
// ValidTo exclusive.
func (a *Assigner) Assign(p orb.Point, day time.Time) map[string]string {
	out := make(map[string]string, len(a.layers))
	for _, ix := range a.layers {
		if !ix.validOn(day) {
			continue
		}
		if code, ok := ix.find(p, a.tolM); ok {
			out[ix.layer.ID] = code
		}
	}
	return out
}

// Resolve returns the code of the area of layer called name, matching
// alternative spellings (see NameIndex). Feeds that name their own area use
// it instead of, or to check, the point-in-polygon result.
func (a *Assigner) Resolve(layer, name string) (string, bool) {
	idx, ok := a.names[layer]
	if !ok {
		return "", false
	}
	return idx.Resolve(name)
}

// layerIndex is a uniform grid over one layer. A cell that no polygon edge
// crosses lies wholly inside one area (or none), decided once at build
// time; only points in cells that edges cross are tested polygon by polygon.
type layerIndex struct {
	layer      geo.AreaLayer
	areas      []indexedArea
	bound      orb.Bound
	dx, dy     float64
	whole      []int32   // per cell: area index, cellNone or cellEdge
	candidates [][]int32 // per edge cell: areas whose bounds overlap it
}

type indexedArea struct {
	code   string
	geom   orb.MultiPolygon
	bound  orb.Bound
	bounds [][]orb.Bound // per polygon, per ring
}

// contains is an even-odd point-in-polygon test with precomputed ring
// bounds. A point on an edge two areas share falls in exactly one of them
// (the half-open crossing rule), so nothing is counted twice.
func (a *indexedArea) contains(p orb.Point) bool {
	if !a.bound.Contains(p) {
		return false
	}
	for pi, poly := range a.geom {
		if !a.bounds[pi][0].Contains(p) || !ringContains(poly[0], p) {
			continue
		}
		hole := false
		for ri := 1; ri < len(poly) && !hole; ri++ {
			hole = a.bounds[pi][ri].Contains(p) && ringContains(poly[ri], p)
		}
		if !hole {
			return true
		}
	}
	return false
}

func ringContains(r orb.Ring, p orb.Point) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a, b := r[i], r[j]
		if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

func newIndexedArea(a geo.Area) indexedArea {
	ia := indexedArea{code: a.Code, geom: a.Geometry, bound: a.Geometry.Bound()}
	for _, poly := range a.Geometry {
		bs := make([]orb.Bound, len(poly))
		for ri, r := range poly {
			bs[ri] = r.Bound()
		}
		ia.bounds = append(ia.bounds, bs)
	}
	return ia
}

const (
	cellNone    = -1
	cellEdge    = -2
	cellUnknown = -3
)

func newLayerIndex(l geo.AreaLayer, areas []geo.Area) *layerIndex {
	ix := &layerIndex{layer: l}
	for _, a := range areas {
		if len(a.Geometry) == 0 {
			continue
		}
		ia := newIndexedArea(a)
		if len(ix.areas) == 0 {
			ix.bound = ia.bound
		} else {
			ix.bound = ix.bound.Union(ia.bound)
		}
		ix.areas = append(ix.areas, ia)
	}
	if len(ix.areas) == 0 {
		return nil
	}
	ix.dx = math.Max((ix.bound.Max[0]-ix.bound.Min[0])/gridSize, 1e-9)
	ix.dy = math.Max((ix.bound.Max[1]-ix.bound.Min[1])/gridSize, 1e-9)
	ix.build()
	return ix
}

func (ix *layerIndex) build() {
	n := gridSize * gridSize
	edge := make([]bool, n)
	ix.candidates = make([][]int32, n)
	for ai, a := range ix.areas {
		x0, y0 := ix.cellOf(a.bound.Min)
		x1, y1 := ix.cellOf(a.bound.Max)
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				c := y*gridSize + x
				ix.candidates[c] = append(ix.candidates[c], int32(ai))
			}
		}
		for _, p := range a.geom {
			for _, r := range p {
				for i := 0; i+1 < len(r); i++ {
					ix.markSegment(edge, r[i], r[i+1])
				}
			}
		}
	}
	ix.whole = make([]int32, n)
	for c := range ix.whole {
		if edge[c] {
			ix.whole[c] = cellEdge
		} else {
			ix.whole[c] = cellUnknown
		}
	}
	// Cells no edge touches form regions that no boundary crosses, so one
	// point-in-polygon test decides a whole region: flood-fill each.
	for c := range ix.whole {
		if ix.whole[c] == cellUnknown {
			ix.fill(c, ix.containing(ix.candidates[c], ix.center(c)))
		}
	}
	for c := range ix.candidates {
		if ix.whole[c] != cellEdge {
			ix.candidates[c] = nil // decided cells need no candidates
		}
	}
}

func (ix *layerIndex) center(c int) orb.Point {
	return orb.Point{
		ix.bound.Min[0] + (float64(c%gridSize)+0.5)*ix.dx,
		ix.bound.Min[1] + (float64(c/gridSize)+0.5)*ix.dy,
	}
}

// fill gives value v to the 4-connected region of undecided cells around c.
func (ix *layerIndex) fill(c int, v int32) {
	stack := []int{c}
	ix.whole[c] = v
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y := c%gridSize, c/gridSize
		for _, nb := range [4][2]int{{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}} {
			if nb[0] < 0 || nb[1] < 0 || nb[0] >= gridSize || nb[1] >= gridSize {
				continue
			}
			if n := nb[1]*gridSize + nb[0]; ix.whole[n] == cellUnknown {
				ix.whole[n] = v
				stack = append(stack, n)
			}
		}
	}
}

// markSegment flags every cell the segment's bounding box touches: a
// superset of the cells it crosses, which is all correctness needs.
func (ix *layerIndex) markSegment(edge []bool, a, b orb.Point) {
	x0, y0 := ix.cellOf(orb.Point{math.Min(a[0], b[0]), math.Min(a[1], b[1])})
	x1, y1 := ix.cellOf(orb.Point{math.Max(a[0], b[0]), math.Max(a[1], b[1])})
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			edge[y*gridSize+x] = true
		}
	}
}

func (ix *layerIndex) cellOf(p orb.Point) (int, int) {
	x := int((p[0] - ix.bound.Min[0]) / ix.dx)
	y := int((p[1] - ix.bound.Min[1]) / ix.dy)
	return min(max(x, 0), gridSize-1), min(max(y, 0), gridSize-1)
}

// containing returns the first candidate area (in code order) holding p, or
// cellNone. Overlapping polygons are a data fault; taking the first keeps
// the answer deterministic.
func (ix *layerIndex) containing(cands []int32, p orb.Point) int32 {
	for _, ai := range cands {
		if ix.areas[ai].contains(p) {
			return ai
		}
	}
	return cellNone
}

func (ix *layerIndex) validOn(day time.Time) bool {
	y, m, d := day.Date()
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if f := ix.layer.ValidFrom; f != nil && date.Before(dateOf(*f)) {
		return false
	}
	if t := ix.layer.ValidTo; t != nil && !date.Before(dateOf(*t)) {
		return false
	}
	return true
}

func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (ix *layerIndex) find(p orb.Point, tolM float64) (string, bool) {
	if ix.bound.Contains(p) {
		c := func() int { x, y := ix.cellOf(p); return y*gridSize + x }()
		ai := ix.whole[c]
		if ai == cellEdge {
			ai = ix.containing(ix.candidates[c], p)
		}
		if ai >= 0 {
			return ix.areas[ai].code, true
		}
	}
	if tolM <= 0 {
		return "", false
	}
	return ix.nearest(p, tolM)
}

// nearest returns the area whose boundary is closest to p, if within tolM
// metres. Only areas whose edges cross the grid cells within tolM of p can
// be that close, so most points far from every area are answered from the
// grid alone.
func (ix *layerIndex) nearest(p orb.Point, tolM float64) (string, bool) {
	degLat := tolM / metresPerDegree
	degLon := degLat / math.Max(math.Cos(p[1]*math.Pi/180), 0.01)
	if p[0] < ix.bound.Min[0]-degLon || p[0] > ix.bound.Max[0]+degLon ||
		p[1] < ix.bound.Min[1]-degLat || p[1] > ix.bound.Max[1]+degLat {
		return "", false
	}
	x0, y0 := ix.cellOf(orb.Point{p[0] - degLon, p[1] - degLat})
	x1, y1 := ix.cellOf(orb.Point{p[0] + degLon, p[1] + degLat})
	near := map[int32]bool{}
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			for _, ai := range ix.candidates[y*gridSize+x] {
				near[ai] = true
			}
		}
	}
	best, bestD := int32(-1), tolM
	for ai := range near {
		d := ix.areas[ai].distanceM(p, bestD)
		if d < bestD || d == bestD && (best < 0 || ai < best) {
			best, bestD = ai, d
		}
	}
	if best < 0 {
		return "", false
	}
	return ix.areas[best].code, true
}

// metresPerDegree is the length of a degree of latitude (and of longitude at
// the equator) on the WGS84 mean sphere.
const metresPerDegree = 6371008.8 * math.Pi / 180

// distanceToMultiPolygonM is the distance in metres from p to the nearest
// edge of mp, on a local equirectangular projection: exact enough for the
// tens of metres the tolerance is about.
func distanceToMultiPolygonM(mp orb.MultiPolygon, p orb.Point) float64 {
	best := math.Inf(1)
	for _, poly := range mp {
		for _, r := range poly {
			best = math.Min(best, ringDistanceM(r, p, best))
		}
	}
	return best
}

// distanceM is distanceToMultiPolygonM skipping rings whose bounding box is
// already farther than cutoff metres.
func (a *indexedArea) distanceM(p orb.Point, cutoff float64) float64 {
	best := math.Inf(1)
	kx := metresPerDegree * math.Cos(p[1]*math.Pi/180)
	for pi, poly := range a.geom {
		for ri, r := range poly {
			b := a.bounds[pi][ri]
			dx := math.Max(0, math.Max(b.Min[0]-p[0], p[0]-b.Max[0])) * kx
			dy := math.Max(0, math.Max(b.Min[1]-p[1], p[1]-b.Max[1])) * metresPerDegree
			if math.Hypot(dx, dy) > math.Min(cutoff, best) {
				continue
			}
			best = math.Min(best, ringDistanceM(r, p, best))
		}
	}
	return best
}

// ringDistanceM is the distance from p to ring r in metres, or a value no
// smaller than cutoff when r is farther.
func ringDistanceM(r orb.Ring, p orb.Point, cutoff float64) float64 {
	kx := metresPerDegree * math.Cos(p[1]*math.Pi/180)
	ky := metresPerDegree
	best2 := cutoff * cutoff
	for i := 0; i+1 < len(r); i++ {
		ax, ay := (r[i][0]-p[0])*kx, (r[i][1]-p[1])*ky
		bx, by := (r[i+1][0]-p[0])*kx, (r[i+1][1]-p[1])*ky
		if d2 := segmentDistance2(ax, ay, bx, by); d2 < best2 {
			best2 = d2
		}
	}
	return math.Sqrt(best2)
}

// segmentDistance2 is the squared distance from the origin to segment a-b.
func segmentDistance2(ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = -(ax*dx + ay*dy) / l2
		if t < 0 {
			t = 0
		} else if t > 1 {
			t = 1
		}
	}
	x, y := ax+t*dx, ay+t*dy
	return x*x + y*y
}

package ingest

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// AreaIndex assigns points to the areas of every layer. Each layer keeps a
// uniform grid over its extent. A grid cell that no polygon edge touches
// lies wholly inside one area or none, decided once when the layer is
// added, so most lookups are an array read; the cells edges cross list the
// polygons whose bounding boxes touch them, and only those are tested. A
// million-row load does seven million lookups (one per layer), and the
// polygon tests were a fifth of its Go time.
type AreaIndex struct {
	layers []*layerIndex
}

type layerIndex struct {
	layer     geo.AreaLayer
	bound     orb.Bound
	nx, ny    int
	cellW     float64
	cellH     float64
	cells     [][]int32 // per cell that edges cross: candidate areas
	whole     []int32   // per cell: area index, cellNone or cellEdge
	areas     []indexedArea
	validFrom time.Time
	validTo   time.Time
	hasFrom   bool
	hasTo     bool
}

type indexedArea struct {
	code  string
	bound orb.Bound
	geom  orb.MultiPolygon
	pip   *pip
}

// gridSide is the number of grid cells along each side of a layer index:
// about 100 m cells for Baltimore's layers, small enough that three in four
// lie inside a single area.
const gridSide = 256

// Values of layerIndex.whole besides an area index.
const (
	cellNone    = -1 // no area holds any point of the cell
	cellEdge    = -2 // an area boundary may cross the cell: test candidates
	cellUnknown = -3 // during build only
)

// LoadAreaIndex reads every layer and its areas from the store. A store
// without layers gives an empty index: incidents then get no areas until
// layers are loaded and the source is re-ingested.
func LoadAreaIndex(ctx context.Context, st geo.AreaService) (*AreaIndex, error) {
	layers, err := st.Layers(ctx)
	if err != nil {
		return nil, fmt.Errorf("area layers: %w", err)
	}
	idx := &AreaIndex{}
	for _, l := range layers {
		areas, err := st.Areas(ctx, l.ID)
		if err != nil {
			return nil, fmt.Errorf("areas of layer %s: %w", l.ID, err)
		}
		idx.Add(l, areas)
	}
	return idx, nil
}

// Add indexes one layer's areas.
func (x *AreaIndex) Add(l geo.AreaLayer, areas []geo.Area) {
	li := &layerIndex{layer: l}
	if l.ValidFrom != nil {
		li.validFrom, li.hasFrom = *l.ValidFrom, true
	}
	if l.ValidTo != nil {
		li.validTo, li.hasTo = *l.ValidTo, true
	}
	first := true
	for _, a := range areas {
		if len(a.Geometry) == 0 {
			continue
		}
		b := a.Geometry.Bound()
		li.areas = append(li.areas, indexedArea{code: a.Code, bound: b, geom: a.Geometry, pip: newPIP(a.Geometry, 32)})
		if first {
			li.bound, first = b, false
		} else {
			li.bound = li.bound.Union(b)
		}
	}
	if len(li.areas) > 0 {
		li.build()
	}
	x.layers = append(x.layers, li)
}

func (li *layerIndex) build() {
	li.nx, li.ny = gridSide, gridSide
	li.cellW = (li.bound.Max[0] - li.bound.Min[0]) / float64(li.nx)
	li.cellH = (li.bound.Max[1] - li.bound.Min[1]) / float64(li.ny)
	if li.cellW <= 0 {
		li.cellW = 1e-9
	}
	if li.cellH <= 0 {
		li.cellH = 1e-9
	}
	li.cells = make([][]int32, li.nx*li.ny)
	edge := make([]bool, li.nx*li.ny)
	for i, a := range li.areas {
		x0, y0 := li.cellOf(a.bound.Min)
		x1, y1 := li.cellOf(a.bound.Max)
		for gx := x0; gx <= x1; gx++ {
			for gy := y0; gy <= y1; gy++ {
				k := gy*li.nx + gx
				li.cells[k] = append(li.cells[k], int32(i))
			}
		}
		for _, poly := range a.geom {
			for _, ring := range poly {
				for j := 1; j < len(ring); j++ {
					li.markSegment(edge, ring[j-1], ring[j])
				}
				if n := len(ring); n > 1 {
					li.markSegment(edge, ring[n-1], ring[0]) // closed implicitly when it is not
				}
			}
		}
	}
	li.whole = make([]int32, len(edge))
	for k := range li.whole {
		li.whole[k] = cellUnknown
		if edge[k] {
			li.whole[k] = cellEdge
		}
	}
	// Cells no edge touches form regions no boundary crosses, so the test
	// at one point (the first cell's centre) decides a whole region.
	for k := range li.whole {
		if li.whole[k] == cellUnknown {
			li.fill(k, li.test(li.cells[k], li.center(k)))
		}
	}
	for k := range li.cells {
		if li.whole[k] != cellEdge {
			li.cells[k] = nil
		}
	}
}

// markSegment flags every cell that the segment's bounding box touches: a
// superset of the cells it crosses. cellOf is monotonic in each coordinate,
// so any point of the segment falls in a flagged cell, and an unflagged
// cell holds no boundary point.
func (li *layerIndex) markSegment(edge []bool, a, b orb.Point) {
	x0, y0 := li.cellOf(orb.Point{math.Min(a[0], b[0]), math.Min(a[1], b[1])})
	x1, y1 := li.cellOf(orb.Point{math.Max(a[0], b[0]), math.Max(a[1], b[1])})
	for gy := y0; gy <= y1; gy++ {
		for gx := x0; gx <= x1; gx++ {
			edge[gy*li.nx+gx] = true
		}
	}
}

func (li *layerIndex) center(k int) orb.Point {
	return orb.Point{
		li.bound.Min[0] + (float64(k%li.nx)+0.5)*li.cellW,
		li.bound.Min[1] + (float64(k/li.nx)+0.5)*li.cellH,
	}
}

// fill gives v to the 4-connected region of undecided cells around k.
func (li *layerIndex) fill(k int, v int32) {
	li.whole[k] = v
	stack := []int{k}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		gx, gy := k%li.nx, k/li.nx
		for _, nb := range [4][2]int{{gx - 1, gy}, {gx + 1, gy}, {gx, gy - 1}, {gx, gy + 1}} {
			if nb[0] < 0 || nb[1] < 0 || nb[0] >= li.nx || nb[1] >= li.ny {
				continue
			}
			if n := nb[1]*li.nx + nb[0]; li.whole[n] == cellUnknown {
				li.whole[n] = v
				stack = append(stack, n)
			}
		}
	}
}

// test returns the first of the candidate areas (in code order) that
// contains p, or cellNone.
func (li *layerIndex) test(cands []int32, p orb.Point) int32 {
	for _, i := range cands {
		if li.areas[i].pip.contains(p) {
			return i
		}
	}
	return cellNone
}

func (li *layerIndex) cellOf(p orb.Point) (int, int) {
	gx := int(math.Floor((p[0] - li.bound.Min[0]) / li.cellW))
	gy := int(math.Floor((p[1] - li.bound.Min[1]) / li.cellH))
	return clamp(gx, 0, li.nx-1), clamp(gy, 0, li.ny-1)
}

func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// applies reports whether the layer is valid for an incident on day: the
// 2023 police district redraw gives two layers with disjoint date ranges.
// ValidTo is exclusive.
func (li *layerIndex) applies(day time.Time) bool {
	if li.hasFrom && day.Before(li.validFrom) {
		return false
	}
	if li.hasTo && !day.Before(li.validTo) {
		return false
	}
	return true
}

// lookup returns the code of the area containing p, "" when none does.
// Polygons are tested in code order, so overlapping slivers resolve the
// same way on every run.
func (li *layerIndex) lookup(p orb.Point) string {
	if len(li.areas) == 0 || !li.bound.Contains(p) {
		return ""
	}
	gx, gy := li.cellOf(p)
	k := gy*li.nx + gx
	i := li.whole[k]
	if i == cellEdge {
		i = li.test(li.cells[k], p)
	}
	if i < 0 {
		return ""
	}
	return li.areas[i].code
}

// Assign returns layer id -> area code for a point on day (the incident's
// local date), nil when the point is in no area of any applicable layer.
func (x *AreaIndex) Assign(p orb.Point, day time.Time) map[string]string {
	if x == nil {
		return nil
	}
	var out map[string]string
	for _, li := range x.layers {
		if !li.applies(day) {
			continue
		}
		if code := li.lookup(p); code != "" {
			if out == nil {
				out = make(map[string]string, len(x.layers))
			}
			out[li.layer.ID] = code
		}
	}
	return out
}

// Layers returns the number of indexed layers.
func (x *AreaIndex) Layers() int {
	if x == nil {
		return 0
	}
	return len(x.layers)
}

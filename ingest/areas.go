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
// uniform grid over its extent whose cells list the polygons whose bounding
// boxes touch them, so a lookup tests a handful of polygons instead of all
// 278 neighbourhoods; a million-row load does a few million lookups.
type AreaIndex struct {
	layers []*layerIndex
}

type layerIndex struct {
	layer     geo.AreaLayer
	bound     orb.Bound
	nx, ny    int
	cellW     float64
	cellH     float64
	cells     [][]int32
	areas     []indexedArea
	validFrom time.Time
	validTo   time.Time
	hasFrom   bool
	hasTo     bool
}

type indexedArea struct {
	code  string
	bound orb.Bound
	pip   *pip
}

// gridSide is the number of grid cells along each side of a layer index.
const gridSide = 64

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
		li.areas = append(li.areas, indexedArea{code: a.Code, bound: b, pip: newPIP(a.Geometry, 32)})
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
	for i, a := range li.areas {
		x0, y0 := li.cellOf(a.bound.Min)
		x1, y1 := li.cellOf(a.bound.Max)
		for gx := x0; gx <= x1; gx++ {
			for gy := y0; gy <= y1; gy++ {
				k := gy*li.nx + gx
				li.cells[k] = append(li.cells[k], int32(i))
			}
		}
	}
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
	for _, i := range li.cells[gy*li.nx+gx] {
		a := &li.areas[i]
		if a.pip.contains(p) {
			return a.code
		}
	}
	return ""
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

package tiles

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"hotspots/geo"
)

// HexIndex is the in-memory aggregate behind the hex layer for one
// (resolution, kinds, days) query at one data version: every occupied cell
// with its counts per kind family and its outline already in world
// coordinates, bucketed in a grid for a tile's candidates. Building it
// costs one CellCounts query; after that a tile is pure CPU, which is what
// lets uncached tiles outrun a database that builds each tile with
// ST_AsMVT.
type HexIndex struct {
	// Res is the H3 resolution of the cells.
	Res int
	// Families are the count columns, in order: one per kind family.
	Families []string

	cells  []hexCell
	counts []int32 // len(cells) * (len(Families)+1); the last column is the total
	pts    []orb.Point

	// A grid over the cells for a tile's candidates: cells are ordered by
	// the square holding their bound's min corner, squares at least as
	// large as any cell, so a tile's candidates lie in the squares from one
	// before its min corner to its max corner. (A strip sorted by x, the
	// first version, tested every cell in the strip's whole height: a
	// quarter of a z16 tile's CPU.)
	g0     orb.Point // grid origin
	gs     float64   // square size, world units
	gw, gh int       // squares across and down
	start  []int32   // cells of square k: cells[start[k]:start[k+1]]

	keys []string // n_<family>, in Families order

	// propKeys are the layer's property keys by slot (hexKey*).
	propKeys []string

	// grants caches, per granted area list, which cells lie inside it
	// (see Service.grantMask): computed once per aggregate, that is per
	// data version.
	grants sync.Map // string -> *grantEntry

	// zooms holds each cell's outline encoded at one zoom, built on the
	// first tile of that zoom (see zoomGeom).
	zooms [maxGeomZoom + 1]zoomGeom
}

// maxGeomZoom is the deepest zoom whose outlines are kept encoded: the
// zooms the map uses most. Deeper tiles are cut as edge cells are.
const maxGeomZoom = 16

// zoomGeom is the hex layer's geometry at one zoom, for cells that lie
// wholly inside a tile's buffered box. Coordinates are world units scaled
// to the zoom and rounded, which is what projector.point computes before
// it takes off the tile's origin; so, within a tile, the ring's encoding
// after its first point (relative moves) is the same in every tile, and
// such a cell costs a copy instead of a projection, a clip test and an
// encoding per vertex. Cells crossing a tile's edge take the general path.
type zoomGeom struct {
	once  sync.Once
	first [][2]int64 // per cell: the ring's first vertex, scaled
	bound [][4]int64 // per cell: min x, min y, max x, max y, scaled
	tails []byte     // per cell: the ring from its LineTo on (ringTail)
	off   []int32    // cell i's tail is tails[off[i]:off[i+1]]; empty: no area
	// ring holds every cell's outline scaled and rounded, repeats dropped,
	// as projector.ring makes it before the tile's origin comes off (in
	// int32: 2^maxGeomZoom * Extent is 2^28): a cell crossing the tile's
	// edge starts its clip from there. Cell i's is ring[roff[i]:roff[i+1]].
	ring [][2]int32
	roff []int32
}

type grantEntry struct {
	once sync.Once
	open []bool
	err  error
}

type hexCell struct {
	cell     geo.Cell
	id       string // hex form, precomputed: ids go out as strings (see geo.Cell)
	bound    orb.Bound
	off, end int32 // outline in pts
}

// NewHexIndex aggregates counts (at any resolution >= res) to cells at res,
// with one column per family. Kinds whose family is not listed are left out.
func NewHexIndex(res int, families []string, counts []geo.CellCount) *HexIndex {
	col := make(map[string]int, len(families))
	for i, f := range families {
		col[f] = i
	}
	w := len(families) + 1
	byCell := map[geo.Cell]int{}
	h := &HexIndex{Res: res, Families: families}
	var raw []int32
	var order []geo.Cell
	for _, c := range counts {
		j, ok := col[c.Kind.Family()]
		if !ok || c.Count <= 0 {
			continue
		}
		cell := c.Cell.Parent(res)
		i, seen := byCell[cell]
		if !seen {
			i = len(order)
			byCell[cell] = i
			order = append(order, cell)
			raw = append(raw, make([]int32, w)...)
		}
		raw[i*w+j] += int32(c.Count)
		raw[i*w+w-1] += int32(c.Count)
	}
	h.cells = make([]hexCell, len(order))
	h.pts = make([]orb.Point, 0, len(order)*7)
	for i, cell := range order {
		start := len(h.pts)
		for _, p := range cell.Boundary() {
			h.pts = append(h.pts, world(p))
		}
		r := orb.Ring(h.pts[start:])
		b := r.Bound()
		h.cells[i] = hexCell{cell: cell, id: cell.String(), bound: b, off: int32(start), end: int32(len(h.pts))}
	}
	h.grid()
	// Order the cells by square, carrying the counts along.
	sq := make([]int32, len(order))
	for i := range order {
		sq[i] = int32(h.square(h.cells[i].bound.Min))
	}
	idx := make([]int, len(order))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return sq[idx[a]] < sq[idx[b]] })
	h.start = make([]int32, h.gw*h.gh+1)
	for _, k := range sq {
		h.start[k+1]++
	}
	for k := 1; k < len(h.start); k++ {
		h.start[k] += h.start[k-1]
	}
	cells := make([]hexCell, len(idx))
	h.counts = make([]int32, len(raw))
	for k, i := range idx {
		cells[k] = h.cells[i]
		copy(h.counts[k*w:(k+1)*w], raw[i*w:(i+1)*w])
	}
	h.cells = cells
	h.keys = make([]string, len(families))
	for i, f := range families {
		h.keys[i] = "n_" + f
	}
	h.propKeys = append([]string{"cell", "n_total", "suppressed"}, h.keys...)
	return h
}

// grid sizes the squares: as large as the largest cell, and larger when
// that would make more than about a million squares (a fine resolution
// over a large region).
func (h *HexIndex) grid() {
	if len(h.cells) == 0 {
		h.gw, h.gh, h.gs = 1, 1, 1
		return
	}
	all := h.cells[0].bound
	for i := range h.cells {
		b := h.cells[i].bound
		all = all.Union(b)
		h.gs = max(h.gs, b.Max[0]-b.Min[0], b.Max[1]-b.Min[1])
	}
	const maxSquares = 1 << 20
	if n := ((all.Max[0] - all.Min[0]) / h.gs) * ((all.Max[1] - all.Min[1]) / h.gs); n > maxSquares {
		h.gs *= math.Sqrt(n / maxSquares)
	}
	h.g0 = all.Min
	h.gw = int((all.Max[0]-all.Min[0])/h.gs) + 1
	h.gh = int((all.Max[1]-all.Min[1])/h.gs) + 1
}

// square is the grid square holding world point p (p within the grid).
func (h *HexIndex) square(p orb.Point) int {
	gx := min(int((p[0]-h.g0[0])/h.gs), h.gw-1)
	gy := min(int((p[1]-h.g0[1])/h.gs), h.gh-1)
	return gy*h.gw + gx
}

// squares returns the range of squares [x0, x1] x [y0, y1] that may hold
// cells touching world box b; ok is false when none can.
func (h *HexIndex) squares(b orb.Bound) (x0, x1, y0, y1 int, ok bool) {
	fx0 := math.Floor((b.Min[0] - h.gs - h.g0[0]) / h.gs)
	fx1 := math.Floor((b.Max[0] - h.g0[0]) / h.gs)
	fy0 := math.Floor((b.Min[1] - h.gs - h.g0[1]) / h.gs)
	fy1 := math.Floor((b.Max[1] - h.g0[1]) / h.gs)
	if fx1 < 0 || fy1 < 0 || fx0 > float64(h.gw-1) || fy0 > float64(h.gh-1) {
		return 0, 0, 0, 0, false
	}
	return int(max(fx0, 0)), int(min(fx1, float64(h.gw-1))), int(max(fy0, 0)), int(min(fy1, float64(h.gh-1))), true
}

// Len is the number of occupied cells.
func (h *HexIndex) Len() int { return len(h.cells) }

// Counts returns the per-family counts and the total of a cell (nil if the
// cell has none), for checks against the tiles. It scans the index.
func (h *HexIndex) Counts(c geo.Cell) (map[string]int, int) {
	w := len(h.Families) + 1
	for i := range h.cells {
		if h.cells[i].cell == c {
			m := map[string]int{}
			for j, f := range h.Families {
				m[f] = int(h.counts[i*w+j])
			}
			return m, int(h.counts[i*w+w-1])
		}
	}
	return nil, 0
}

// Encode builds the hex layer of tile t as an encoded tile (empty when no
// cell touches it). suppressBelow > 1 hides counts from 1 to
// suppressBelow-1 (the public view): a hidden family count also hides the
// total, since total minus the shown families would reveal it. Cells i
// with open[i] (open may be nil) are shown unsuppressed.
func (h *HexIndex) Encode(t maptile.Tile, suppressBelow int, open []bool) []byte {
	if suppressBelow < 2 {
		suppressBelow = 0 // every level below 2 suppresses nothing
	}
	p := newProjector(t)
	x0, x1, y0, y1, ok := h.squares(p.wclip)
	if !ok || len(h.cells) == 0 {
		return []byte{}
	}
	w := getLayerWriter(h.propKeys)
	defer w.put()
	nf := len(h.Families)
	slab := w.slab[:0]
	var zg *zoomGeom
	var ox, oy int64
	if t.Z <= maxGeomZoom {
		zg = h.zoomGeom(t.Z)
		ox, oy = int64(t.X)*Extent, int64(t.Y)*Extent
	}
	show := func(j, n int) { w.Int(hexKeyFamily+j, int64(n)) }
	for gy := y0; gy <= y1; gy++ {
		for i := h.start[gy*h.gw+x0]; i < h.start[gy*h.gw+x1+1]; i++ {
			c := &h.cells[i]
			if !c.bound.Intersects(p.wclip) {
				continue
			}
			if b := zg.inside(i, ox, oy); b {
				tail := zg.tails[zg.off[i]:zg.off[i+1]]
				if len(tail) == 0 {
					continue
				}
				w.EncodedRing(int32(zg.first[i][0]-ox), int32(zg.first[i][1]-oy), tail)
			} else {
				slab = slab[:0]
				var r orb.Ring
				if zg != nil {
					r = p.scaledRing(&slab, zg.ring[zg.roff[i]:zg.roff[i+1]], ox, oy, c.bound, &w.clip)
				} else {
					r = p.ring(&slab, orb.Ring(h.pts[c.off:c.end]), c.bound, &w.clip)
				}
				if r == nil {
					continue
				}
				orient(r, true)
				var px, py int32
				w.Ring(r, &px, &py)
			}
			w.String(hexKeyCell, c.id)
			row := h.counts[int(i)*(nf+1) : (int(i)+1)*(nf+1)]
			below := suppressBelow
			if open != nil && open[i] {
				below = 0
			}
			if visibleCounts(row, below, show) {
				w.True(hexKeySuppressed)
			} else {
				w.Int(hexKeyTotal, int64(row[nf]))
			}
			w.EndPolygon()
		}
	}
	w.slab = slab
	return w.Tile(LayerHex)
}

// The hex layer's property keys, as slots of HexIndex.propKeys.
const (
	hexKeyCell = iota
	hexKeyTotal
	hexKeySuppressed
	hexKeyFamily // the first n_<family>; the others follow in Families order
)

// zoomGeom returns the cells' outlines encoded at zoom z (<= maxGeomZoom),
// building them on first use: the same steps as projector.ring and
// orient, done once per zoom in integers.
func (h *HexIndex) zoomGeom(z maptile.Zoom) *zoomGeom {
	zg := &h.zooms[z]
	zg.once.Do(func() {
		scale := float64(uint64(1)<<z) * Extent
		zg.first = make([][2]int64, len(h.cells))
		zg.bound = make([][4]int64, len(h.cells))
		zg.off = make([]int32, len(h.cells)+1)
		zg.roff = make([]int32, len(h.cells)+1)
		zg.ring = make([][2]int32, 0, len(h.pts))
		var r [][2]int64
		for i := range h.cells {
			c := &h.cells[i]
			r = r[:0]
			for _, q := range h.pts[c.off:c.end] {
				v := [2]int64{int64(math.Round(q[0] * scale)), int64(math.Round(q[1] * scale))}
				if n := len(r); n > 0 && r[n-1] == v {
					continue
				}
				r = append(r, v)
			}
			for _, v := range r {
				zg.ring = append(zg.ring, [2]int32{int32(v[0]), int32(v[1])})
			}
			zg.roff[i+1] = int32(len(zg.ring))
			b := [4]int64{r[0][0], r[0][1], r[0][0], r[0][1]}
			for _, v := range r {
				b = [4]int64{min(b[0], v[0]), min(b[1], v[1]), max(b[2], v[0]), max(b[3], v[1])}
			}
			zg.bound[i] = b
			// Twice the signed area (y down: exterior positive), relative
			// to the first vertex so the products stay small.
			var a int64
			for j := 0; j+1 < len(r); j++ {
				x0, y0 := r[j][0]-r[0][0], r[j][1]-r[0][1]
				x1, y1 := r[j+1][0]-r[0][0], r[j+1][1]-r[0][1]
				a += x0*y1 - x1*y0
			}
			if len(r) >= 4 && a != 0 {
				if a < 0 {
					slices.Reverse(r)
				}
				n := len(r)
				if r[0] == r[n-1] {
					n-- // the closing vertex, which Ring leaves out too
				}
				if n >= 3 {
					zg.first[i] = r[0]
					zg.tails = ringTail(zg.tails, r[:n])
				}
			}
			zg.off[i+1] = int32(len(zg.tails))
		}
	})
	return zg
}

// inside reports whether cell i lies wholly inside the buffered box of
// the tile with origin (ox, oy) in scaled units, so its encoded outline
// applies; false for a nil zoomGeom.
func (zg *zoomGeom) inside(i int32, ox, oy int64) bool {
	if zg == nil {
		return false
	}
	b := &zg.bound[i]
	return b[0]-ox >= -Buffer && b[1]-oy >= -Buffer && b[2]-ox <= Extent+Buffer && b[3]-oy <= Extent+Buffer
}

// grantMask returns which cells of idx lie inside the granted areas
// ("layer:code"), by their centre, decided as the API's cell scope check
// decides it (geo.GrantedAreas, geo.ContainsPoint).
func (s *Service) grantMask(ctx context.Context, idx *HexIndex, grant []string) ([]bool, error) {
	key := strings.Join(grant, ",")
	v, _ := idx.grants.LoadOrStore(key, &grantEntry{})
	e := v.(*grantEntry)
	e.once.Do(func() {
		areas, err := geo.GrantedAreas(ctx, s.cfg.Store.Areas, grant)
		if err != nil {
			e.err = fmt.Errorf("tiles: %w", err)
			return
		}
		e.open = make([]bool, len(idx.cells))
		for i := range idx.cells {
			e.open[i] = geo.ContainsPoint(areas, idx.cells[i].cell.Center())
		}
	})
	if e.err != nil {
		idx.grants.CompareAndDelete(key, e) // let the next request retry
		return nil, e.err
	}
	return e.open, nil
}

package tiles

import (
	"sort"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"hotspots/geo"
)

// HexIndex is the in-memory aggregate behind the hex layer for one
// (resolution, kinds, days) query at one data version: every occupied cell
// with its counts per kind family and its outline already in world
// coordinates, sorted for a range search. Building it costs one CellCounts
// query; after that a tile is pure CPU, which is what lets uncached tiles
// outrun a database that builds each tile with ST_AsMVT.
type HexIndex struct {
	// Res is the H3 resolution of the cells.
	Res int
	// Families are the count columns, in order: one per kind family.
	Families []string

	cells  []hexCell
	counts []int32 // len(cells) * (len(Families)+1); the last column is the total
	pts    []orb.Point
	maxW   float64  // widest cell in world units, to widen the range search
	keys   []string // n_<family>, in Families order

	// propKeys are the layer's property keys by slot (hexKey*).
	propKeys []string
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
		h.maxW = max(h.maxW, b.Max[0]-b.Min[0])
	}
	// Sort by west edge, carrying the counts along.
	idx := make([]int, len(order))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return h.cells[idx[a]].bound.Min[0] < h.cells[idx[b]].bound.Min[0] })
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
// total, since total minus the shown families would reveal it.
func (h *HexIndex) Encode(t maptile.Tile, suppressBelow int) []byte {
	if suppressBelow < 2 {
		suppressBelow = 0 // every level below 2 suppresses nothing
	}
	p := newProjector(t)
	lo := sort.Search(len(h.cells), func(i int) bool { return h.cells[i].bound.Min[0] >= p.wclip.Min[0]-h.maxW })
	w := getLayerWriter(h.propKeys)
	defer w.put()
	nf := len(h.Families)
	slab := w.slab[:0]
	for i := lo; i < len(h.cells); i++ {
		c := &h.cells[i]
		if c.bound.Min[0] > p.wclip.Max[0] {
			break
		}
		if !c.bound.Intersects(p.wclip) {
			continue
		}
		slab = slab[:0]
		r := p.ring(&slab, orb.Ring(h.pts[c.off:c.end]), c.bound)
		if r == nil {
			continue
		}
		orient(r, true)
		var px, py int32
		w.Ring(r, &px, &py)
		w.String(hexKeyCell, c.id)
		row := h.counts[i*(nf+1) : (i+1)*(nf+1)]
		if visibleCounts(row, suppressBelow, func(j, n int) { w.Int(hexKeyFamily+j, int64(n)) }) {
			w.True(hexKeySuppressed)
		} else {
			w.Int(hexKeyTotal, int64(row[nf]))
		}
		w.EndPolygon()
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

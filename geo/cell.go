package geo

import (
	"fmt"
	"strconv"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"
)

// Cell is an H3 cell index. It is stored as a signed 64-bit integer (the top
// bit of a valid H3 index is always 0) and shown to people and JavaScript as
// the 15-character hex string, because JSON numbers above 2^53 lose precision
// in browsers.
type Cell uint64

// FinestRes is the H3 resolution stored with every incident (about 9 m edge).
// Coarser cells are derived with Parent, in Go or with the stores' h3_parent
// SQL function, so no resolution has to be chosen at ingest time.
const FinestRes = 12

// DefaultDetectRes is the resolution the detectors use unless configured:
// resolution 9 cells (about 0.1 km²) match the block scale outreach works at.
const DefaultDetectRes = 9

// CellFromPoint returns the cell containing p (lon, lat) at resolution res.
// Note the argument order: orb points are {lon, lat}; H3 takes lat first.
func CellFromPoint(p orb.Point, res int) (Cell, error) {
	if res < 0 || res > 15 {
		return 0, fmt.Errorf("h3 cell of %v: resolution %d out of 0..15", p, res)
	}
	c := h3.LatLngToCell(h3.NewLatLng(p.Lat(), p.Lon()), res)
	if c == 0 {
		return 0, fmt.Errorf("h3 cell of %v: no cell", p)
	}
	return Cell(c), nil
}

// ParseCell parses the hex form of a cell and checks that it is valid.
func ParseCell(s string) (Cell, error) {
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil || !h3.Cell(v).IsValid() {
		return 0, Errorf(EINVALID, "invalid H3 cell %q", s)
	}
	return Cell(v), nil
}

// String returns the hex form.
func (c Cell) String() string { return strconv.FormatUint(uint64(c), 16) }

// H3 returns the h3-go value.
func (c Cell) H3() h3.Cell { return h3.Cell(c) }

// Res returns the cell's resolution.
func (c Cell) Res() int { return h3.Cell(c).Resolution() }

// Valid reports whether c is a valid H3 cell.
func (c Cell) Valid() bool { return h3.Cell(c).IsValid() }

// Parent returns the ancestor at resolution res (res <= c.Res()). It works on
// the bits directly, exactly like the stores' h3_parent SQL function, so Go and
// SQL aggregate to the same cells.
func (c Cell) Parent(res int) Cell {
	v := uint64(c)
	cur := int((v >> 52) & 0xF)
	if res >= cur {
		return c
	}
	v &^= uint64(0xF) << 52
	v |= uint64(res) << 52
	v |= (uint64(1) << (uint(15-res) * 3)) - 1
	return Cell(v)
}

// Center returns the cell centre as an orb point (lon, lat).
func (c Cell) Center() orb.Point {
	ll := h3.Cell(c).LatLng()
	return orb.Point{ll.Lng, ll.Lat}
}

// Boundary returns the cell outline as a closed orb ring (lon, lat).
func (c Cell) Boundary() orb.Ring {
	b := h3.Cell(c).Boundary()
	if len(b) == 0 {
		return nil
	}
	r := make(orb.Ring, 0, len(b)+1)
	for _, ll := range b {
		r = append(r, orb.Point{ll.Lng, ll.Lat})
	}
	return append(r, r[0])
}

// Disk returns the cells within grid distance k of c, c included.
func (c Cell) Disk(k int) []Cell {
	ds := h3.Cell(c).GridDisk(k)
	out := make([]Cell, len(ds))
	for i, d := range ds {
		out[i] = Cell(d)
	}
	return out
}

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

// Res returns the cell's resolution: bits 52-55 of the index, read in Go
// (h3-go's Resolution is a cgo call, which the store's check of every
// incident's cell paid).
func (c Cell) Res() int { return int(c>>52) & 0xF }

// h3PentagonBase marks the twelve pentagon base cells of H3.
var h3PentagonBase = [122]bool{4: true, 14: true, 24: true, 38: true, 49: true, 58: true, 63: true, 72: true, 83: true, 97: true, 107: true, 117: true}

// Valid reports whether c is a valid H3 cell. It is H3's isValidCell done
// in Go, to spare a cgo call per incident stored; a test holds it to
// h3-go's IsValid. The index is: a zero high bit, mode 1 (cell), zero
// reserved bits, a base cell below 122, the resolution, then one 3-bit
// digit per resolution (0-6 up to the cell's resolution, 7 below it; a
// pentagon's first non-zero digit is never 1, the deleted subsequence).
func (c Cell) Valid() bool {
	if c>>63 != 0 || (c>>59)&0xF != 1 || (c>>56)&7 != 0 {
		return false
	}
	bc := int(c>>45) & 0x7F
	if bc >= len(h3PentagonBase) {
		return false
	}
	res := c.Res()
	leading := true // only zero digits so far
	for r := 1; r <= 15; r++ {
		d := (c >> ((15 - r) * 3)) & 7
		if r > res {
			if d != 7 {
				return false
			}
			continue
		}
		if d == 7 {
			return false
		}
		if leading && d != 0 {
			leading = false
			if d == 1 && h3PentagonBase[bc] {
				return false
			}
		}
	}
	return true
}

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

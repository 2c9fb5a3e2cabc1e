package cluster

import (
	"hotspots/geo"
)

// Cube holds daily incident counts per study cell: the input of both scans.
// Cells are indices 0..Cells()-1 in the order of the graph and zones they
// are scanned with (the caller keeps the matching []geo.Cell or node ids);
// days are indices 0..Days()-1, oldest first, so the last day is the day a
// prospective run looks at. A cell-day without incidents counts as 0.
type Cube struct {
	cells, days int
	v           []int32 // day-major: day d is v[d*cells:(d+1)*cells]
}

// NewCube returns an all-zero cube.
func NewCube(cells, days int) (*Cube, error) {
	if cells < 1 || days < 1 {
		return nil, geo.Errorf(geo.EINVALID, "cube: %d cells x %d days, want at least 1 x 1", cells, days)
	}
	if cells > 1<<30/days {
		return nil, geo.Errorf(geo.ETOOLARGE, "cube: %d cells x %d days is too large", cells, days)
	}
	return &Cube{cells: cells, days: days, v: make([]int32, cells*days)}, nil
}

// Cells is the number of study cells.
func (c *Cube) Cells() int { return c.cells }

// Days is the number of days.
func (c *Cube) Days() int { return c.days }

// At returns the count of cell i on day d.
func (c *Cube) At(i, d int) int { return int(c.v[d*c.cells+i]) }

// Set sets the count of cell i on day d. Counts must be non-negative.
func (c *Cube) Set(i, d, n int) error {
	if err := c.check(i, d, n); err != nil {
		return err
	}
	c.v[d*c.cells+i] = int32(n)
	return nil
}

// Add adds n incidents to cell i on day d, for binning incidents one by one
// or summing several kinds.
func (c *Cube) Add(i, d, n int) error {
	if err := c.check(i, d, n); err != nil {
		return err
	}
	if int64(c.v[d*c.cells+i])+int64(n) > 1<<31-1 {
		return geo.Errorf(geo.ETOOLARGE, "cube: count of cell %d day %d overflows", i, d)
	}
	c.v[d*c.cells+i] += int32(n)
	return nil
}

func (c *Cube) check(i, d, n int) error {
	if i < 0 || i >= c.cells || d < 0 || d >= c.days {
		return geo.Errorf(geo.EINVALID, "cube: cell %d day %d outside %d x %d", i, d, c.cells, c.days)
	}
	if n < 0 || n > 1<<31-1 {
		return geo.Errorf(geo.EINVALID, "cube: count %d of cell %d day %d out of range", n, i, d)
	}
	return nil
}

// Day returns the counts of day d in cell order. The slice shares the
// cube's storage and must not be modified.
func (c *Cube) Day(d int) []int32 { return c.v[d*c.cells : (d+1)*c.cells] }

// Total is the number of incidents in the cube.
func (c *Cube) Total() int64 {
	var t int64
	for _, v := range c.v {
		t += int64(v)
	}
	return t
}

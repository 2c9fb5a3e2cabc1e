package spatial

import (
	"runtime"
	"sync"

	"hotspots/geo"
)

// Cube is a space-time cube: one value (usually an incident count) per time
// step and study cell. It is stored step-major, so one time step is a
// contiguous slice in graph order and a window of consecutive steps is too.
type Cube struct {
	cells, steps int
	v            []float64
}

// NewCube returns a zero cube. Zeros are real values here: a cell-step
// without incidents counts as 0, not as missing.
func NewCube(cells, steps int) (*Cube, error) {
	if cells < 1 || steps < 1 {
		return nil, geo.Errorf(geo.EINVALID, "cube: %d cells x %d steps, want at least 1 x 1", cells, steps)
	}
	return &Cube{cells: cells, steps: steps, v: make([]float64, cells*steps)}, nil
}

// Cells is the number of study cells.
func (c *Cube) Cells() int { return c.cells }

// Steps is the number of time steps.
func (c *Cube) Steps() int { return c.steps }

// At returns the value of cell i at step t.
func (c *Cube) At(t, i int) float64 { return c.v[t*c.cells+i] }

// Set sets the value of cell i at step t.
func (c *Cube) Set(t, i int, v float64) { c.v[t*c.cells+i] = v }

// Add adds v to cell i at step t, for binning incidents one by one.
func (c *Cube) Add(t, i int, v float64) { c.v[t*c.cells+i] += v }

// Step returns the values of time step t in graph order. The slice shares the
// cube's storage.
func (c *Cube) Step(t int) []float64 { return c.v[t*c.cells : (t+1)*c.cells] }

// Series copies cell i's values over all steps into dst (grown as needed).
func (c *Cube) Series(i int, dst []float64) []float64 {
	dst = dst[:0]
	for t := 0; t < c.steps; t++ {
		dst = append(dst, c.v[t*c.cells+i])
	}
	return dst
}

// parallel runs fn over [0, n) split into one contiguous chunk per CPU. Each
// chunk writes only its own indices, so results do not depend on scheduling.
func parallel(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

package spatial

import (
	"math"

	"hotspots/geo"
)

// GlobalWindow selects the bins a space-time Gi* compares each neighbourhood
// with (ArcGIS's "Define Global Window"): their mean and standard deviation
// are the xbar and s of the Gi* formula, and their count is its n.
type GlobalWindow int

const (
	// EntireCube compares every neighbourhood with all bins of the cube,
	// ArcGIS's default. A step with few incidents overall then shows as a
	// cold step everywhere, which is what a trend over time should see.
	EntireCube GlobalWindow = iota
	// NeighbourhoodTimeStep compares a neighbourhood at step t with the bins
	// of steps t-Lags..t, the steps its own neighbourhood spans.
	NeighbourhoodTimeStep
	// IndividualTimeStep compares a neighbourhood at step t with the bins of
	// step t alone (R sfdep's choice). With Lags = 0 each step is an
	// ordinary Gi* map, spdep::localG on that step's values.
	IndividualTimeStep
)

// SpaceTimeOptions defines a bin's space-time neighbourhood and global
// window.
type SpaceTimeOptions struct {
	// Lags is ArcGIS's Neighbourhood Time Step: bins of this many previous
	// steps join the neighbourhood of a bin at step t (fewer near the start
	// of the cube, where those steps do not exist). 0 makes each step a
	// purely spatial neighbourhood.
	Lags int
	// LagCellOnly restricts the previous steps to the cell itself. By
	// default they contribute the cell and its whole ring, the cylinder
	// ArcGIS and sfdep use.
	LagCellOnly bool
	// Window is the global window; see GlobalWindow.
	Window GlobalWindow
}

func (o SpaceTimeOptions) validate() error {
	if o.Lags < 0 {
		return geo.Errorf(geo.EINVALID, "space-time gi*: %d time lags, want >= 0", o.Lags)
	}
	if o.Window < EntireCube || o.Window > IndividualTimeStep {
		return geo.Errorf(geo.EINVALID, "space-time gi*: unknown global window %d", o.Window)
	}
	return nil
}

// GiCube holds a space-time Gi* z-score and two-sided p-value per bin,
// step-major like Cube.
type GiCube struct {
	cells, steps int
	Z, P         []float64
}

// Cells is the number of study cells.
func (c *GiCube) Cells() int { return c.cells }

// Steps is the number of time steps.
func (c *GiCube) Steps() int { return c.steps }

// At returns the z-score and p-value of cell i at step t.
func (c *GiCube) At(t, i int) (z, p float64) {
	k := t*c.cells + i
	return c.Z[k], c.P[k]
}

// SpaceTimeGiStar computes Gi* for every bin of the cube with binary
// space-time weights: a bin's neighbourhood is the cell and its ring at the
// same step plus, for each of the Lags previous steps, the same cylinder (or
// only the cell, with LagCellOnly). With W the neighbourhood size and xbar,
// s and n the mean, population SD and size of the global window,
//
//	z = (lag - xbar W) / (s sqrt((n W - W^2)/(n-1)))
//
// which is the snapshot Gi* formula with S1 = W. A window of equal values
// gives NaN z-scores.
func SpaceTimeGiStar(g *Graph, c *Cube, opt SpaceTimeOptions) (*GiCube, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	n, steps := c.cells, c.steps
	if g.N() != n {
		return nil, geo.Errorf(geo.EINVALID, "space-time gi*: graph has %d cells, cube %d", g.N(), n)
	}
	if n < 3 {
		return nil, geo.Errorf(geo.EINVALID, "space-time gi*: %d study cells, need at least 3", n)
	}
	for k, v := range c.v {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, geo.Errorf(geo.EINVALID, "space-time gi*: cell %d step %d is %v", k%n, k/n, v)
		}
	}
	// the cell plus its ring, per bin
	star := make([]float64, len(c.v))
	parallel(steps, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			x := c.Step(t)
			for i := range n {
				ring := 0.0
				for _, j := range g.Neighbours(i) {
					ring += x[j]
				}
				star[t*n+i] = x[i] + ring
			}
		}
	})
	var whole moments
	if opt.Window == EntireCube {
		whole = describe(c.v)
	}
	out := &GiCube{cells: n, steps: steps, Z: make([]float64, len(c.v)), P: make([]float64, len(c.v))}
	parallel(steps, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			s0 := max(0, t-opt.Lags)
			st := whole
			switch opt.Window {
			case NeighbourhoodTimeStep:
				st = describe(c.v[s0*n : (t+1)*n])
			case IndividualTimeStep:
				st = describe(c.Step(t))
			}
			nf := float64(st.n)
			span := float64(t - s0 + 1)
			for i := range n {
				var lag, w float64
				if opt.LagCellOnly {
					lag = star[t*n+i]
					for s := s0; s < t; s++ {
						lag += c.v[s*n+i]
					}
					w = float64(g.Degree(i)+1) + span - 1
				} else {
					for s := s0; s <= t; s++ {
						lag += star[s*n+i]
					}
					w = float64(g.Degree(i)+1) * span
				}
				z := gstarZ(lag, w*st.mean, st.pvar*((nf*w-w*w)/(nf-1)), st.constant)
				out.Z[t*n+i], out.P[t*n+i] = z, twoSidedP(z)
			}
		}
	})
	return out, nil
}

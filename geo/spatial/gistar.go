package spatial

import (
	"math"

	"hotspots/geo"
)

// LocalG is the Getis-Ord local statistics of one cell with binary weights:
// Gi* (the cell counts as its own neighbour with weight 1, the ArcGIS Hot Spot
// Analysis statistic) and the classic Gi (the cell left out).
type LocalG struct {
	Value      float64 // x_i
	Neighbours int     // ring size, the cell itself excluded
	// Lag is the Gi* lag, the sum of x over the cell and its ring.
	Lag float64
	// W and S1 are the Gi* weight sums, self included (equal for binary weights).
	W, S1 float64
	// ExpectedLag is W*xbar, the Gi* lag expected without clustering.
	ExpectedLag float64
	// G, EG and VG are spdep::localG's internals on the ratio scale
	// G = Lag/sum(x), with EG = ExpectedLag/sum(x) and VG its variance.
	G, EG, VG float64
	// Z is the Gi* z-score
	//   (Lag - xbar W) / (s sqrt((n S1 - W^2)/(n-1))),
	// with xbar and the population SD s (divide by n) over all n study cells,
	// and P its two-sided normal p-value. An isolate's Z is (x_i - xbar)/s.
	Z, P float64
	// ZGi and PGi are the classic Gi z-score and p-value, with the mean and
	// variance of the other n-1 cells and an (n-2) denominator. NaN for an
	// isolate, whose Gi has no neighbours to test.
	ZGi, PGi float64
}

// GetisOrd computes Gi* and Gi for every study cell of g, as
// spdep::localG(x, nb2listw(include.self(nb), style = "B")) and
// spdep::localG(x, nb2listw(nb, style = "B")) do.
//
// x holds one value per study cell in graph order; it needs n >= 3 finite
// values. When every value is equal the standard deviation is zero and all
// z-scores are NaN: there is no clustering to measure.
func GetisOrd(g *Graph, x []float64) ([]LocalG, error) {
	n := g.N()
	if err := checkValues(n, x); err != nil {
		return nil, err
	}
	st := describe(x)
	nf := float64(n)
	out := make([]LocalG, n)
	for i := range out {
		k := g.Degree(i)
		ring := 0.0
		for _, j := range g.Neighbours(i) {
			ring += x[j]
		}
		w := float64(k + 1)
		r := &out[i]
		r.Value, r.Neighbours, r.W, r.S1 = x[i], k, w, w
		r.Lag = x[i] + ring
		r.ExpectedLag = w * st.mean
		vg := st.pvar * ((nf*w - w*w) / (nf - 1))
		r.Z = gstarZ(r.Lag, r.ExpectedLag, vg, st.constant)
		r.P = twoSidedP(r.Z)
		r.G, r.EG, r.VG = r.Lag/st.sum, r.ExpectedLag/st.sum, vg/(st.sum*st.sum)

		// classic Gi: mean and variance of the other n-1 values, from the
		// centred value d_i so no large sums are subtracted
		d := x[i] - st.mean
		meanI := st.mean - d/(nf-1)
		varI := (st.ss - d*d*nf/(nf-1)) / (nf - 1)
		kf := float64(k)
		vgi := varI * (((nf-1)*kf - kf*kf) / (nf - 2))
		r.ZGi = gstarZ(ring, kf*meanI, vgi, st.constant)
		r.PGi = twoSidedP(r.ZGi)
	}
	return out, nil
}

// gstarZ is (lag - expected)/sqrt(variance) in spdep's order of operations.
// A constant field has no defined z (s = 0), which floating point would
// otherwise turn into +-Inf from rounding residue.
func gstarZ(lag, expected, variance float64, constant bool) float64 {
	if constant {
		return math.NaN()
	}
	return (lag - expected) / math.Sqrt(variance)
}

// twoSidedP is 2(1 - Phi(|z|)) via Erfc, accurate in the far tail.
func twoSidedP(z float64) float64 { return math.Erfc(math.Abs(z) / math.Sqrt2) }

// moments are the population moments of one set of values.
type moments struct {
	n        int
	sum      float64 // sum of x
	mean     float64
	ss       float64 // sum of squared deviations from the mean
	pvar     float64 // ss/n, the population variance
	constant bool    // all values equal
}

// describe computes the moments in two compensated passes, so that integer
// counts give exact sums and the variance carries no one-pass cancellation.
func describe(x []float64) moments {
	m := moments{n: len(x)}
	var s sum
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range x {
		s.add(v)
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	m.sum = s.value()
	m.mean = m.sum / float64(m.n)
	m.constant = lo == hi
	var q sum
	for _, v := range x {
		d := v - m.mean
		q.add(d * d)
	}
	m.ss = q.value()
	if m.constant {
		m.ss = 0
	}
	m.pvar = m.ss / float64(m.n)
	return m
}

// sum is a Neumaier compensated sum.
type sum struct{ s, c float64 }

func (a *sum) add(v float64) {
	t := a.s + v
	if math.Abs(a.s) >= math.Abs(v) {
		a.c += (a.s - t) + v
	} else {
		a.c += (v - t) + a.s
	}
	a.s = t
}

func (a *sum) value() float64 { return a.s + a.c }

// checkValues validates one value per study cell.
func checkValues(n int, x []float64) error {
	if len(x) != n {
		return geo.Errorf(geo.EINVALID, "spatial: %d values for %d study cells", len(x), n)
	}
	if n < 3 {
		return geo.Errorf(geo.EINVALID, "spatial: %d study cells, need at least 3", n)
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return geo.Errorf(geo.EINVALID, "spatial: value %d is %v", i, v)
		}
	}
	return nil
}

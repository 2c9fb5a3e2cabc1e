package spatial

import (
	"math"

	"hotspots/geo"
)

// Style is how local Moran's I weights a cell's neighbours.
type Style int

const (
	// Binary gives every neighbour weight 1 (spdep style "B").
	Binary Style = iota
	// RowStandardised gives each of a cell's k neighbours weight 1/k (spdep
	// style "W", spdep's default). Z-scores are the same as with Binary
	// weights, because each cell's scale cancels; I itself differs.
	RowStandardised
)

// Moments selects the null moments of local Moran's I.
type Moments int

const (
	// Conditional is conditional randomisation (Sokal, Oden and Thomson
	// 1998), spdep::localmoran's default: x_i is held fixed, so
	//   E = -z_i^2 W_i / ((n-1) m2)
	//   V = (z_i/m2)^2 n/(n-2) (S1_i - W_i^2/(n-1)) (m2 - z_i^2/(n-1)).
	// With binary weights its Z is sign(x_i - xbar) times the classic Gi z.
	Conditional Moments = iota
	// TotalRandomisation is Anselin (1995) and PySAL esda's EI/VI:
	//   E = -W_i/(n-1)
	//   V = (n-b2)/(n-1) S1_i + (2b2-n)/((n-1)(n-2)) (W_i^2-S1_i) - E^2,
	// b2 = (sum z^4/n)/m2^2.
	TotalRandomisation
)

// MoranOptions selects the weights style and the null moments. The zero
// value is binary weights with spdep's default conditional moments.
type MoranOptions struct {
	Style   Style
	Moments Moments
}

// Quadrant is the Moran scatterplot quadrant of a cell: its own value against
// its neighbours' (spdep's "pysal" quadrant, from the signs of z_i and of
// the spatial lag of z; zero counts as low).
type Quadrant string

// Quadrants. HH and LL are clusters of alike values; HL and LH are spatial
// outliers, a high cell among low neighbours and the reverse.
const (
	HH Quadrant = "HH"
	LL Quadrant = "LL"
	HL Quadrant = "HL"
	LH Quadrant = "LH"
)

// quadrantOf classifies by z_i and lag_z, zero counting as low as in
// spdep's cut(c(-Inf, 0, Inf)).
func quadrantOf(z, lag float64) Quadrant {
	switch {
	case z > 0 && lag > 0:
		return HH
	case z > 0:
		return HL
	case lag > 0:
		return LH
	}
	return LL
}

// LocalMoranI is local Moran's I of one cell, with z = x - xbar and
// m2 = sum(z^2)/n (divided by n, spdep's mlvar = TRUE).
type LocalMoranI struct {
	Value      float64
	Neighbours int
	LagZ       float64 // sum_j w_ij z_j
	I          float64 // z_i/m2 * LagZ
	E, V       float64 // null mean and variance (see Moments)
	Z, P       float64 // (I-E)/sqrt(V) and its two-sided p-value
	Quadrant   Quadrant
}

// LocalMoran computes local Moran's I for every study cell, as
// spdep::localmoran(x, nb2listw(nb, style), zero.policy = TRUE,
// conditional = ..., mlvar = TRUE). A cell is never its own neighbour. An
// isolate gets I = E = V = 0 and Z = P = NaN. x needs n >= 3 finite values;
// a constant x has m2 = 0 and NaN statistics.
func LocalMoran(g *Graph, x []float64, opt MoranOptions) ([]LocalMoranI, error) {
	n := g.N()
	if err := checkValues(n, x); err != nil {
		return nil, err
	}
	if opt.Style != Binary && opt.Style != RowStandardised {
		return nil, geo.Errorf(geo.EINVALID, "local moran: unknown weights style %d", opt.Style)
	}
	if opt.Moments != Conditional && opt.Moments != TotalRandomisation {
		return nil, geo.Errorf(geo.EINVALID, "local moran: unknown moments %d", opt.Moments)
	}
	st := describe(x)
	nf := float64(n)
	m2 := st.pvar
	var q4 sum
	for _, v := range x {
		d := (v - st.mean) * (v - st.mean)
		q4.add(d * d)
	}
	b2 := q4.value() / nf / (m2 * m2)
	out := make([]LocalMoranI, n)
	for i := range out {
		k := g.Degree(i)
		w, wi, s1 := rowWeights(opt.Style, k)
		zi := x[i] - st.mean
		lag := 0.0
		for _, j := range g.Neighbours(i) {
			lag += w * (x[j] - st.mean)
		}
		r := &out[i]
		r.Value, r.Neighbours, r.LagZ = x[i], k, lag
		r.I = zi / m2 * lag
		if opt.Moments == Conditional {
			r.E = -(zi * zi * wi) / ((nf - 1) * m2)
			r.V = (zi / m2) * (zi / m2) * (nf / (nf - 2)) * (s1 - wi*wi/(nf-1)) * (m2 - zi*zi/(nf-1))
		} else {
			r.E = -wi / (nf - 1)
			r.V = (nf-b2)/(nf-1)*s1 + (2*b2-nf)/((nf-1)*(nf-2))*(wi*wi-s1) - r.E*r.E
		}
		r.Z = (r.I - r.E) / math.Sqrt(r.V)
		r.P = twoSidedP(r.Z)
		r.Quadrant = quadrantOf(zi, lag)
	}
	return out, nil
}

// rowWeights returns the weight of each of k neighbours and the row sums W_i
// and S1_i = sum w^2. An isolate has an empty row.
func rowWeights(s Style, k int) (w, wi, s1 float64) {
	if k == 0 {
		return 0, 0, 0
	}
	if s == RowStandardised {
		w = 1 / float64(k)
		return w, float64(k) * w, float64(k) * w * w
	}
	return 1, float64(k), float64(k)
}

// MoranPerm is the conditional permutation test of one cell's local Moran's
// I (esda's Moran_Local): z_i is fixed and the neighbours' values are a
// sample without replacement of the other n-1 values. Its exact mean and
// variance are the Conditional moments. Cells without neighbours are not
// tested: NaN fields and NGE 0.
type MoranPerm struct {
	I                    float64
	SimMean, SimSD, ZSim float64
	NGE                  int     // permutations with I >= the observed I
	PFolded              float64 // (min(NGE, nsim-NGE)+1)/(nsim+1), esda's p_sim
}

// LocalMoranPermutation runs the conditional permutation test of local
// Moran's I for every study cell. Permuted and observed statistics are
// compared through the neighbours' sum of x, so integer counts compare
// exactly.
func LocalMoranPermutation(g *Graph, x []float64, opt MoranOptions, perm PermOptions) ([]MoranPerm, error) {
	if _, err := LocalMoran(g, x, opt); err != nil { // validates everything
		return nil, err
	}
	if err := perm.validate(); err != nil {
		return nil, err
	}
	st := describe(x)
	m2 := st.pvar
	out := make([]MoranPerm, g.N())
	permuteCells(g, perm, func(i int, s *sampler) {
		k := g.Degree(i)
		r := &out[i]
		if k == 0 {
			nan := math.NaN()
			*r = MoranPerm{I: 0, SimMean: nan, SimSD: nan, ZSim: nan, PFolded: nan}
			return
		}
		w, _, _ := rowWeights(opt.Style, k)
		zi := x[i] - st.mean
		scale := zi / m2 * w
		kf := float64(k)
		ring := 0.0
		for _, j := range g.Neighbours(i) {
			ring += x[j]
		}
		r.I = scale * (ring - kf*st.mean)
		var acc welford
		for range perm.NSim {
			sim := s.sample(x, i, k)
			if zi*(sim-ring) >= 0 || zi == 0 { // I_sim >= I_obs
				r.NGE++
			}
			acc.add(scale * (sim - kf*st.mean))
		}
		r.SimMean, r.SimSD = acc.mean, acc.sd()
		r.ZSim = (r.I - r.SimMean) / r.SimSD
		r.PFolded = foldedP(r.NGE, perm.NSim)
	})
	return out, nil
}

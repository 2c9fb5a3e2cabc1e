package spatial

import (
	"math"
	"math/rand/v2"

	"hotspots/geo"
)

// PermOptions configures a conditional permutation test.
type PermOptions struct {
	// NSim is the number of permutations per cell (999 or 9999 are usual).
	NSim int
	// Seed makes the test reproducible: cell i draws from the PCG stream
	// (Seed, i), so results do not depend on how cells are spread over CPUs.
	Seed uint64
}

func (o PermOptions) validate() error {
	if o.NSim < 1 {
		return geo.Errorf(geo.EINVALID, "permutation: nsim %d, want >= 1", o.NSim)
	}
	return nil
}

// GiPerm is the conditional permutation test of one cell's Gi* lag (PySAL
// esda's scheme, spdep's no_repeat_in_row = TRUE): x_i stays in its own slot
// and the k_i neighbour slots are filled by a sample without replacement
// from the other n-1 values.
//
// Under this scheme the z-score ZCond equals the analytic classic-Gi z, not
// the analytic Gi* z, which assumes total randomisation: the permutation test
// of Gi* is a test of Gi. Cells without neighbours are not tested; their
// fields are NaN and NGE is 0.
type GiPerm struct {
	Lag float64 // observed Gi* lag, x_i plus the ring sum
	// CondMean and CondSD are the exact moments of the lag under the
	// permutation: x_i + k mean(o) and sqrt(k pvar(o) (N-k)/(N-1)), o the
	// other N = n-1 values and pvar their population variance.
	CondMean, CondSD float64
	ZCond            float64 // (Lag - CondMean)/CondSD
	// SimMean, SimSD (sample SD) and ZSim are the Monte Carlo counterparts.
	SimMean, SimSD, ZSim float64
	// NGE counts permutations whose lag is >= the observed lag.
	NGE int
	// PFolded is (min(NGE, nsim-NGE)+1)/(nsim+1), spdep's "Pr(folded) Sim"
	// and esda's p_sim; PGreater is (NGE+1)/(nsim+1), the one-sided test
	// for a hot spot.
	PFolded, PGreater float64
}

// GiStarPermutation runs the conditional permutation test of Gi* for every
// study cell. Values are compared as ring sums, so integer counts compare
// exactly.
func GiStarPermutation(g *Graph, x []float64, opt PermOptions) ([]GiPerm, error) {
	n := g.N()
	if err := checkValues(n, x); err != nil {
		return nil, err
	}
	if err := opt.validate(); err != nil {
		return nil, err
	}
	st := describe(x)
	nf := float64(n)
	out := make([]GiPerm, n)
	permuteCells(g, opt, func(i int, s *sampler) {
		k := g.Degree(i)
		ring := 0.0
		for _, j := range g.Neighbours(i) {
			ring += x[j]
		}
		r := &out[i]
		r.Lag = x[i] + ring
		if k == 0 {
			nan := math.NaN()
			*r = GiPerm{Lag: r.Lag, CondMean: nan, CondSD: nan, ZCond: nan, SimMean: nan, SimSD: nan, ZSim: nan, PFolded: nan, PGreater: nan}
			return
		}
		d := x[i] - st.mean
		others := nf - 1
		meanO := st.mean - d/others
		pvarO := (st.ss - d*d*nf/others) / others
		kf := float64(k)
		r.CondMean = x[i] + kf*meanO
		r.CondSD = math.Sqrt(kf * pvarO * (others - kf) / (others - 1))
		r.ZCond = (r.Lag - r.CondMean) / r.CondSD

		var w welford
		for range opt.NSim {
			sim := s.sample(x, i, k)
			if sim >= ring {
				r.NGE++
			}
			w.add(x[i] + sim)
		}
		r.SimMean, r.SimSD = w.mean, w.sd()
		r.ZSim = (r.Lag - r.SimMean) / r.SimSD
		r.PFolded, r.PGreater = foldedP(r.NGE, opt.NSim), float64(r.NGE+1)/float64(opt.NSim+1)
	})
	return out, nil
}

// foldedP is (min(nge, nsim-nge)+1)/(nsim+1).
func foldedP(nge, nsim int) float64 {
	return float64(min(nge, nsim-nge)+1) / float64(nsim+1)
}

// permuteCells calls cell(i, s) for every study cell, in parallel chunks,
// with s seeded for cell i.
func permuteCells(g *Graph, opt PermOptions, cell func(i int, s *sampler)) {
	parallel(g.N(), func(lo, hi int) {
		s := newSampler(g.N())
		for i := lo; i < hi; i++ {
			s.seed(opt.Seed, uint64(i))
			cell(i, s)
		}
	})
}

// sampler draws k of the n-1 values other than v[i] without replacement by
// Floyd's algorithm, which needs k random numbers and no shuffle of n values.
// Membership is tracked with stamps so nothing is cleared between draws.
type sampler struct {
	pcg   *rand.PCG
	rng   *rand.Rand
	mark  []uint32
	stamp uint32
}

func newSampler(n int) *sampler {
	p := rand.NewPCG(0, 0)
	return &sampler{pcg: p, rng: rand.New(p), mark: make([]uint32, n)}
}

func (s *sampler) seed(seed, stream uint64) { s.pcg.Seed(seed, stream) }

// sample returns the sum of k values drawn without replacement from v with
// v[i] left out.
func (s *sampler) sample(v []float64, i, k int) float64 {
	s.stamp++
	if s.stamp == 0 {
		clear(s.mark)
		s.stamp = 1
	}
	n := len(v) - 1 // positions 0..n-1 map to v with i skipped
	total := 0.0
	for j := n - k; j < n; j++ {
		t := s.rng.IntN(j + 1)
		if s.mark[t] == s.stamp {
			t = j // Floyd: j itself cannot have been chosen yet
		}
		s.mark[t] = s.stamp
		if t >= i {
			t++
		}
		total += v[t]
	}
	return total
}

// welford accumulates a mean and sample variance in one stable pass.
type welford struct {
	n       int
	mean, m float64
}

func (w *welford) add(v float64) {
	w.n++
	d := v - w.mean
	w.mean += d / float64(w.n)
	w.m += d * (v - w.mean)
}

// sd is the sample standard deviation (n-1), as R's sd().
func (w *welford) sd() float64 {
	if w.n < 2 {
		return math.NaN()
	}
	return math.Sqrt(w.m / float64(w.n-1))
}

package spatial

import (
	"math"
	"testing"

	"hotspots/geo/internal/oracle"
)

// testNSim keeps the test fast; the README's Monte Carlo bounds account for
// the differing replicate counts.
const testNSim = 4999

func TestGiStarPermutationOracle(t *testing.T) {
	for _, dir := range oracle.Dirs(t) {
		t.Run(oracle.Name(dir), func(t *testing.T) {
			f := loadFixture(t, dir)
			g := f.graph(t, "edges_k1.csv")
			got, err := GiStarPermutation(g, f.values, PermOptions{NSim: testNSim, Seed: 42})
			if err != nil {
				t.Fatal(err)
			}
			analytic, err := GetisOrd(g, f.values)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range oracle.Read(t, dir, "gistar_perm_k1.csv").Rows {
				i := f.pos(t, r["cell_id"])
				p := got[i]
				want(t, r, "lag_star", p.Lag)
				wantNA(t, r, "cond_mean_lag", p.CondMean)
				wantNA(t, r, "cond_sd_lag", p.CondSD)
				wantNA(t, r, "z_cond", p.ZCond)
				if r.NA("n_ge") {
					for _, v := range []float64{p.SimMean, p.SimSD, p.ZSim, p.PFolded, p.PGreater} {
						if !math.IsNaN(v) {
							t.Errorf("%s: untested cell has Monte Carlo value %g", r["cell_id"], v)
						}
					}
					continue
				}
				// the README identity: z_cond is the analytic classic-Gi z
				if !oracle.Close(p.ZCond, analytic[i].ZGi, 1e-9) {
					t.Errorf("%s: z_cond %g != z_gi %g", r["cell_id"], p.ZCond, analytic[i].ZGi)
				}
				bRef := r.Int(t, "nsim")
				for _, c := range []struct {
					col string
					got float64
				}{{"p_folded", p.PFolded}, {"p_greater", p.PGreater}} {
					if w := r.Float(t, c.col); !oracle.MonteCarloClose(c.got, w, testNSim, bRef) {
						t.Errorf("%s %s = %g, want %g (Monte Carlo bound)", r["cell_id"], c.col, c.got, w)
					}
				}
				// Monte Carlo mean within 4 standard errors of both the R
				// simulation and the exact conditional mean
				sdRef := r.Float(t, "sim_sd_lag")
				if d := math.Abs(p.SimMean - r.Float(t, "sim_mean_lag")); d > 4*sdRef*math.Sqrt(1.0/testNSim+1.0/float64(bRef)) {
					t.Errorf("%s sim_mean_lag = %g, R %s", r["cell_id"], p.SimMean, r["sim_mean_lag"])
				}
				if d := math.Abs(p.SimMean - p.CondMean); d > 4*p.CondSD/math.Sqrt(testNSim) {
					t.Errorf("%s sim mean %g, exact %g", r["cell_id"], p.SimMean, p.CondMean)
				}
				if math.Abs(p.SimSD/p.CondSD-1) > 0.1 {
					t.Errorf("%s sim sd %g, exact %g", r["cell_id"], p.SimSD, p.CondSD)
				}
			}
		})
	}
}

// TestSamplerUniform checks that Floyd's draw is uniform over the k-subsets
// of the other values and never includes the fixed cell: with n = 6 and
// k = 2 each of the 10 pairs of the 5 other values must come up equally
// often (chi-square over 10 cells, 9 df; 30 is far beyond its 99.9% point).
func TestSamplerUniform(t *testing.T) {
	v := []float64{1, 2, 4, 8, 16, 32} // sums identify the subset
	const fixed, k, draws = 2, 2, 100000
	s := newSampler(len(v))
	s.seed(7, 0)
	counts := map[float64]int{}
	for range draws {
		sum := s.sample(v, fixed, k)
		if int(sum)&int(v[fixed]) != 0 {
			t.Fatalf("draw %g includes the fixed value", sum)
		}
		counts[sum]++
	}
	if len(counts) != 10 {
		t.Fatalf("%d distinct subsets, want 10", len(counts))
	}
	exp := float64(draws) / 10
	chi := 0.0
	for _, c := range counts {
		chi += (float64(c) - exp) * (float64(c) - exp) / exp
	}
	if chi > 30 {
		t.Errorf("chi-square %g over 10 subsets: not uniform (%v)", chi, counts)
	}
}

// TestGiStarPermutationDeterministic checks that a seed reproduces results.
func TestGiStarPermutationDeterministic(t *testing.T) {
	f := loadFixture(t, oracle.Dirs(t)[0])
	g := f.graph(t, "edges_k1.csv")
	a, err := GiStarPermutation(g, f.values, PermOptions{NSim: 99, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GiStarPermutation(g, f.values, PermOptions{NSim: 99, Seed: 1})
	c, _ := GiStarPermutation(g, f.values, PermOptions{NSim: 99, Seed: 2})
	same, differ := true, false
	for i := range a {
		same = same && a[i].NGE == b[i].NGE
		differ = differ || a[i].NGE != c[i].NGE
	}
	if !same || !differ {
		t.Errorf("same seed reproduces: %v, other seed differs: %v", same, differ)
	}
	if _, err := GiStarPermutation(g, f.values, PermOptions{}); err == nil {
		t.Error("nsim 0 accepted")
	}
}

package spatial

import (
	"math"
	"testing"

	"hotspots/geo/internal/oracle"
)

// spdepQuadrant maps spdep's "pysal" quadrant labels to ours.
var spdepQuadrant = map[string]Quadrant{"High-High": HH, "Low-Low": LL, "High-Low": HL, "Low-High": LH}

func TestLocalMoranOracle(t *testing.T) {
	styles := map[string]Style{"B": Binary, "W": RowStandardised}
	moments := map[string]Moments{"1": Conditional, "0": TotalRandomisation}
	for _, dir := range oracle.Dirs(t) {
		f := loadFixture(t, dir)
		for _, k := range []string{"k1", "k2"} {
			t.Run(oracle.Name(dir)+"/"+k, func(t *testing.T) {
				g := f.graph(t, "edges_"+k+".csv")
				gi, err := GetisOrd(g, f.values)
				if err != nil {
					t.Fatal(err)
				}
				cache := map[MoranOptions][]LocalMoranI{}
				rows := oracle.Read(t, dir, "localmoran_"+k+".csv").Rows
				if len(rows) != 4*len(f.ids) {
					t.Fatalf("%d rows, want 4 variants x %d cells", len(rows), len(f.ids))
				}
				for _, r := range rows {
					opt := MoranOptions{Style: styles[r["style"]], Moments: moments[r["conditional"]]}
					got, ok := cache[opt]
					if !ok {
						if got, err = LocalMoran(g, f.values, opt); err != nil {
							t.Fatal(err)
						}
						cache[opt] = got
					}
					i := f.pos(t, r["cell_id"])
					m := got[i]
					if m.Neighbours != r.Int(t, "n_neighbours") {
						t.Errorf("%s n_neighbours = %d, want %s", r["cell_id"], m.Neighbours, r["n_neighbours"])
					}
					want(t, r, "value", m.Value)
					want(t, r, "lag_z", m.LagZ)
					want(t, r, "Ii", m.I)
					want(t, r, "E_Ii", m.E)
					want(t, r, "Var_Ii", m.V)
					want(t, r, "Z_Ii", m.Z)
					wantP(t, r, "p_two_sided", m.P)
					if q := spdepQuadrant[r["quadrant"]]; m.Quadrant != q {
						t.Errorf("%s quadrant %s, want %s (%s)", r["cell_id"], m.Quadrant, q, r["quadrant"])
					}
					// README identity: conditional binary Z = sign(x-xbar) * z_gi
					if opt == (MoranOptions{}) && !math.IsNaN(m.Z) {
						sgn := math.Copysign(1, f.values[i]-gi[i].ExpectedLag/gi[i].W)
						if !oracle.Close(m.Z, sgn*gi[i].ZGi, 1e-9) {
							t.Errorf("%s: Z %g != sign * z_gi %g", r["cell_id"], m.Z, sgn*gi[i].ZGi)
						}
					}
				}
				// README identity: Z is the same under B and W weights
				for _, mo := range []Moments{Conditional, TotalRandomisation} {
					b, w := cache[MoranOptions{Binary, mo}], cache[MoranOptions{RowStandardised, mo}]
					for i := range b {
						if !oracle.Close(b[i].Z, w[i].Z, 1e-12) {
							t.Errorf("%s: Z binary %g, row-standardised %g", f.ids[i], b[i].Z, w[i].Z)
						}
					}
				}
			})
		}
	}
}

// TestLocalMoranPermutationMoments checks the Monte Carlo against the exact
// conditional moments, which the permutation scheme must reproduce in
// expectation, for both weight styles.
func TestLocalMoranPermutationMoments(t *testing.T) {
	const nsim = 2999
	for _, dir := range oracle.Dirs(t) {
		f := loadFixture(t, dir)
		g := f.graph(t, "edges_k1.csv")
		for _, style := range []Style{Binary, RowStandardised} {
			opt := MoranOptions{Style: style}
			exact, err := LocalMoran(g, f.values, opt)
			if err != nil {
				t.Fatal(err)
			}
			perm, err := LocalMoranPermutation(g, f.values, opt, PermOptions{NSim: nsim, Seed: 9})
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range perm {
				e := exact[i]
				if e.Neighbours == 0 {
					if !math.IsNaN(p.PFolded) {
						t.Errorf("%s: isolate tested, p = %g", f.ids[i], p.PFolded)
					}
					continue
				}
				if !oracle.Close(p.I, e.I, 1e-9) {
					t.Errorf("%s: I = %g, want %g", f.ids[i], p.I, e.I)
				}
				sd := math.Sqrt(e.V)
				if math.Abs(p.SimMean-e.E) > 4*sd/math.Sqrt(nsim) {
					t.Errorf("%s style %d: sim mean %g, exact %g (sd %g)", f.ids[i], style, p.SimMean, e.E, sd)
				}
				if sd > 0 && math.Abs(p.SimSD/sd-1) > 0.1 {
					t.Errorf("%s style %d: sim sd %g, exact %g", f.ids[i], style, p.SimSD, sd)
				}
				// the folded p agrees with the normal approximation's
				// two-sided p only roughly; it must at least be a valid
				// pseudo p-value on the 1/(nsim+1) grid
				if p.PFolded <= 0 || p.PFolded > 0.5+1.0/(nsim+1) {
					t.Errorf("%s: folded p %g out of range", f.ids[i], p.PFolded)
				}
			}
		}
	}
}

func TestQuadrant(t *testing.T) {
	tests := []struct {
		z, lag float64
		want   Quadrant
	}{
		{1, 1, HH}, {-1, -1, LL}, {1, -1, HL}, {-1, 1, LH},
		{0, 1, LH}, {1, 0, HL}, {0, 0, LL},
	}
	for _, tt := range tests {
		if got := quadrantOf(tt.z, tt.lag); got != tt.want {
			t.Errorf("quadrant(%g, %g) = %s, want %s", tt.z, tt.lag, got, tt.want)
		}
	}
}

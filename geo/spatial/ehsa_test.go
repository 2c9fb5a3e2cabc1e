package spatial

import (
	"math"
	"testing"

	"hotspots/geo"
	"hotspots/geo/internal/oracle"
	"hotspots/geo/trend"
)

// perDayOptions makes the space-time Gi* an ordinary Gi* map per step, the
// configuration the oracle's gistar_cube_k1.csv and mk_gistar.csv describe.
func perDayOptions() EHSAOptions {
	o := DefaultEHSAOptions()
	o.SpaceTime = SpaceTimeOptions{Lags: 0, Window: IndividualTimeStep}
	return o
}

func TestSpaceTimeGiStarOracle(t *testing.T) {
	for _, dir := range oracle.Dirs(t) {
		t.Run(oracle.Name(dir), func(t *testing.T) {
			f := loadFixture(t, dir)
			gc, err := SpaceTimeGiStar(f.graph(t, "edges_k1.csv"), f.cube(t), perDayOptions().SpaceTime)
			if err != nil {
				t.Fatal(err)
			}
			rows := oracle.Read(t, dir, "gistar_cube_k1.csv").Rows
			if len(rows) != gc.Cells()*gc.Steps() {
				t.Fatalf("%d oracle rows for %d bins", len(rows), gc.Cells()*gc.Steps())
			}
			for _, r := range rows {
				z, p := gc.At(r.Int(t, "day")-1, f.pos(t, r["cell_id"]))
				want(t, r, "z_gstar", z)
				wantP(t, r, "p_gstar", p)
			}
		})
	}
}

// TestEHSATrendOracle checks the trend part end to end: Go's own per-day Gi*
// z-scores, rounded and tested, against mk_gistar.csv.
func TestEHSATrendOracle(t *testing.T) {
	for _, dir := range oracle.Dirs(t) {
		t.Run(oracle.Name(dir), func(t *testing.T) {
			f := loadFixture(t, dir)
			res, err := EmergingHotSpots(f.graph(t, "edges_k1.csv"), f.cube(t), perDayOptions())
			if err != nil {
				t.Fatal(err)
			}
			rows := oracle.Read(t, dir, "mk_gistar.csv").Rows
			if len(rows) != len(res.Locations) {
				t.Fatalf("%d oracle rows for %d cells", len(rows), len(res.Locations))
			}
			for _, r := range rows {
				tr := res.Locations[f.pos(t, r["series_id"])].Trend
				if tr.N != r.Int(t, "n") || tr.S != int64(r.Int(t, "S")) || tr.TieGroups != r.Int(t, "n_tie_groups") {
					t.Errorf("%s: n, S, ties = %d, %d, %d, want %s, %s, %s", r["series_id"],
						tr.N, tr.S, tr.TieGroups, r["n"], r["S"], r["n_tie_groups"])
				}
				for _, c := range []struct {
					col string
					got float64
				}{{"varS", tr.VarS}, {"D", tr.D}, {"tau_b", tr.TauB}, {"z_cc", tr.ZCC}, {"z", tr.Z}} {
					if w := r.Float(t, c.col); !oracle.Close(c.got, w, 1e-9) {
						t.Errorf("%s %s = %.17g, want %.17g", r["series_id"], c.col, c.got, w)
					}
				}
				if w := r.Float(t, "p_cc"); !oracle.RelClose(tr.PCC, w, 1e-7) {
					t.Errorf("%s p_cc = %g, want %g", r["series_id"], tr.PCC, w)
				}
			}
		})
	}
}

// TestEHSAPlantedSignals runs the ArcGIS-default analysis on the fixture cube
// and checks the signals gen_fixtures.R planted: the outbreak centre is hot
// at the final step, and the trend centre is hot now with a significant
// upward trend.
func TestEHSAPlantedSignals(t *testing.T) {
	for _, dir := range oracle.Dirs(t) {
		t.Run(oracle.Name(dir), func(t *testing.T) {
			f := loadFixture(t, dir)
			truth := map[string]string{}
			for _, r := range oracle.Read(t, dir, "truth.csv").Rows {
				truth[r["key"]] = r["value"]
			}
			res, err := EmergingHotSpots(f.graph(t, "edges_k1.csv"), f.cube(t), DefaultEHSAOptions())
			if err != nil {
				t.Fatal(err)
			}
			ob := res.Locations[f.pos(t, truth["outbreak_center"])]
			if ob.Final != Hot {
				t.Errorf("outbreak centre %s: final state %d, pattern %s", truth["outbreak_center"], ob.Final, ob.Pattern)
			}
			tr := res.Locations[f.pos(t, truth["trend_center"])]
			if tr.Final != Hot || tr.TrendDir != 1 {
				t.Errorf("trend centre %s: final %d, trend %d, pattern %s", truth["trend_center"], tr.Final, tr.TrendDir, tr.Pattern)
			}
			// the states honour the FDR threshold
			for k, s := range res.States {
				sig := res.Gi.P[k] <= res.Threshold
				if (s != NotSignificant) != sig {
					t.Fatalf("bin %d: state %d, p %g, threshold %g", k, s, res.Gi.P[k], res.Threshold)
				}
			}
		})
	}
}

// zSeries builds a z series from a compact pattern: 'H' hot (z = hi), 'C' cold
// (z = -hi), '.' not significant (z = 0.3); hi may vary per step.
func zSeries(pattern string, hi func(t int) float64) []float64 {
	z := make([]float64, len(pattern))
	for t, c := range pattern {
		switch c {
		case 'H':
			z[t] = hi(t)
		case 'C':
			z[t] = -hi(t)
		default:
			z[t] = 0.3
		}
	}
	return z
}

// steady is a hot-spot intensity without trend: 3 and 3.01 alternating.
func steady(t int) float64 { return 3 + 0.01*float64(t%2) }

// TestClassifySeries hits each of the 17 categories with a constructed z/p
// series (p = the two-sided normal p of z, significance at 0.10, trend at
// 0.05) over 20 steps.
func TestClassifySeries(t *testing.T) {
	rising := func(t int) float64 { return 2 + 0.2*float64(t) }
	falling := func(t int) float64 { return 6 - 0.2*float64(t) }
	tests := []struct {
		name    string
		pattern string
		hi      func(int) float64
		want    Pattern
	}{
		{"none", "....................", steady, NoPattern},
		{"new hot", "...................H", steady, NewHotSpot},
		{"new hot after cold", "..C................H", steady, NewHotSpot},
		{"consecutive hot", "................HHHH", steady, ConsecutiveHotSpot},
		{"intensifying hot", "HHHHHHHHHHHHHHHHHHHH", rising, IntensifyingHotSpot},
		{"persistent hot", "HHHHHHHHHHHHHHHHHHHH", steady, PersistentHotSpot},
		{"persistent hot with gaps", "HH.HHHHHHHHHH.HHHHHH", steady, PersistentHotSpot},
		{"diminishing hot", "HHHHHHHHHHHHHHHHHHHH", falling, DiminishingHotSpot},
		{"sporadic hot", "..H....H..H.......HH", steady, SporadicHotSpot},
		{"oscillating hot", "..C....H..C........H", steady, OscillatingHotSpot},
		{"historical hot", "HHHHHHHHHHHHHHHHHH..", steady, HistoricalHotSpot},
		{"new cold", "...................C", steady, NewColdSpot},
		{"consecutive cold", "...H............CCCC", steady, ConsecutiveColdSpot},
		{"intensifying cold", "CCCCCCCCCCCCCCCCCCCC", rising, IntensifyingColdSpot},
		{"persistent cold", "CCCCCCCCCCCCCCCCCCCC", steady, PersistentColdSpot},
		{"diminishing cold", "CCCCCCCCCCCCCCCCCCCC", falling, DiminishingColdSpot},
		{"sporadic cold", "C...C.....C........C", steady, SporadicColdSpot},
		{"oscillating cold", "..H....C..H........C", steady, OscillatingColdSpot},
		{"historical cold", "CCCCCCCCCCCCCCCCCCC.", steady, HistoricalColdSpot},
		{"below 90 percent not historical", "HHHHHHHHHHHHHHHHH...", steady, NoPattern},
	}
	seen := map[Pattern]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := zSeries(tt.pattern, tt.hi)
			p := make([]float64, len(z))
			for i := range z {
				p[i] = trend.TwoSidedP(z[i])
			}
			loc, err := ClassifySeries(z, p, DefaultEHSAOptions())
			if err != nil {
				t.Fatal(err)
			}
			if loc.Pattern != tt.want {
				t.Errorf("pattern %s, want %s (trend dir %d, p_cc %g)", loc.Pattern, tt.want, loc.TrendDir, loc.Trend.PCC)
			}
			seen[loc.Pattern] = true
		})
	}
	for _, p := range Patterns {
		if !seen[p] {
			t.Errorf("category %s not exercised", p)
		}
	}
}

// TestClassifyRules pins the exact boundaries of the rules on state
// sequences: the 90 percent count, run lengths and precedence.
func TestClassifyRules(t *testing.T) {
	parse := func(s string) []State {
		out := make([]State, len(s))
		for i, c := range s {
			out[i] = map[rune]State{'H': Hot, 'C': Cold, '.': NotSignificant}[c]
		}
		return out
	}
	tests := []struct {
		states string
		trend  int
		want   Pattern
	}{
		{"H", 0, NewHotSpot},
		{"HHHHHHHHH.", 0, HistoricalHotSpot},    // 9 of 10: exactly 90 %
		{"HHHHHHHH..", 0, NoPattern},            // 8 of 10
		{"HHHHHHHHH.H", 0, PersistentHotSpot},   // 10 of 11 >= 90 %, final hot
		{"HHHHHHHH..H", 0, SporadicHotSpot},     // 9 of 11 < 90 %
		{".HHHHHHHHHH", 1, IntensifyingHotSpot}, // a final run of 10 of 11 is 90 %+
		{"........HH", 1, ConsecutiveHotSpot},   // trend irrelevant below 90 %
		{"C.......HH", 0, ConsecutiveHotSpot},   // consecutive before oscillating
		{"H.......HH", 0, SporadicHotSpot},      // hot before the run
		{"H...C...HH", 0, OscillatingHotSpot},   // and cold before
		{"HHHHHHHHHC", 0, NewColdSpot},          // the final step decides
		{"CCCCCCCCCC", 1, DiminishingColdSpot},  // upward trend weakens a cold spot
		{"CCCCCCCCCC", -1, IntensifyingColdSpot},
		{"", 0, NoPattern},
	}
	for _, tt := range tests {
		if got := Classify(parse(tt.states), tt.trend); got != tt.want {
			t.Errorf("Classify(%q, %d) = %s, want %s", tt.states, tt.trend, got, tt.want)
		}
	}
}

// TestSpaceTimeNeighbourhood checks the lag and weight bookkeeping on a
// 3-cell path over 3 steps against sums written out by hand, for the
// cylinder, the cell-only lags and each global window.
func TestSpaceTimeNeighbourhood(t *testing.T) {
	g, _ := NewGraph(3, []Edge{{0, 1}, {1, 2}})
	c, _ := NewCube(3, 3)
	vals := [3][3]float64{{1, 2, 3}, {4, 0, 1}, {2, 5, 7}} // [step][cell]
	for s := range 3 {
		for i := range 3 {
			c.Set(s, i, vals[s][i])
		}
	}
	// bin (step 2, cell 0): ring {0,1}; with one lag the cylinder covers
	// steps 1-2: 4+0 + 2+5 = 11, W = 4; cell-only lag: 2+5 + 4 = 11, W = 3
	all := []float64{1, 2, 3, 4, 0, 1, 2, 5, 7}
	last2 := []float64{4, 0, 1, 2, 5, 7}
	step2 := []float64{2, 5, 7}
	tests := []struct {
		name   string
		opt    SpaceTimeOptions
		lag, w float64
		pop    []float64
	}{
		{"cylinder cube", SpaceTimeOptions{Lags: 1, Window: EntireCube}, 11, 4, all},
		{"cylinder neighbourhood", SpaceTimeOptions{Lags: 1, Window: NeighbourhoodTimeStep}, 11, 4, last2},
		{"cylinder step", SpaceTimeOptions{Lags: 1, Window: IndividualTimeStep}, 11, 4, step2},
		{"cell only", SpaceTimeOptions{Lags: 1, LagCellOnly: true, Window: EntireCube}, 11, 3, all},
		{"two lags", SpaceTimeOptions{Lags: 2, Window: EntireCube}, 14, 6, all},
		{"no lag", SpaceTimeOptions{Lags: 0, Window: EntireCube}, 7, 2, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gc, err := SpaceTimeGiStar(g, c, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			st := describe(tt.pop)
			n := float64(len(tt.pop))
			wantZ := (tt.lag - tt.w*st.mean) / math.Sqrt(st.pvar*((n*tt.w-tt.w*tt.w)/(n-1)))
			if z, _ := gc.At(2, 0); math.Abs(z-wantZ) > 1e-12 {
				t.Errorf("z = %.15g, want %.15g", z, wantZ)
			}
		})
	}
}

func TestEHSAInvalid(t *testing.T) {
	g, _ := NewGraph(3, nil)
	c, _ := NewCube(3, 1)
	c2, _ := NewCube(3, 4)
	bad := DefaultEHSAOptions()
	bad.Alpha = 0
	lags := DefaultEHSAOptions()
	lags.SpaceTime.Lags = -1
	other, _ := NewGraph(4, nil)
	tests := []struct {
		name string
		g    *Graph
		c    *Cube
		opt  EHSAOptions
	}{
		{"one step", g, c, DefaultEHSAOptions()},
		{"alpha", g, c2, bad},
		{"lags", g, c2, lags},
		{"graph size", other, c2, DefaultEHSAOptions()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := EmergingHotSpots(tt.g, tt.c, tt.opt); geo.ErrorCode(err) != geo.EINVALID {
				t.Errorf("err = %v, want EINVALID", err)
			}
		})
	}
}

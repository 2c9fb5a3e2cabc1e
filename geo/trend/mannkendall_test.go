package trend

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"testing"

	"hotspots/geo"
	"hotspots/geo/internal/oracle"
)

// series groups an oracle table's rows into per-id series ordered by the
// time column, keeping the ids in first-seen order.
func series(tb testing.TB, t oracle.Table, idCol, timeCol, valCol string) ([]string, map[string][]float64) {
	tb.Helper()
	type tv struct{ t, v float64 }
	var ids []string
	m := map[string][]tv{}
	for _, r := range t.Rows {
		id := r[idCol]
		if _, ok := m[id]; !ok {
			ids = append(ids, id)
		}
		m[id] = append(m[id], tv{r.Float(tb, timeCol), r.Float(tb, valCol)})
	}
	out := make(map[string][]float64, len(m))
	for id, s := range m {
		sort.Slice(s, func(i, j int) bool { return s[i].t < s[j].t })
		x := make([]float64, len(s))
		for i, p := range s {
			x[i] = p.v
		}
		out[id] = x
	}
	return ids, out
}

// checkMK compares one Go result with one row of mk_series.csv/mk_gistar.csv
// using the README tolerances.
func checkMK(t *testing.T, got Result, want oracle.Row) {
	t.Helper()
	if got.N != want.Int(t, "n") {
		t.Errorf("n = %d, want %s", got.N, want["n"])
	}
	if got.S != int64(want.Int(t, "S")) {
		t.Errorf("S = %d, want %s", got.S, want["S"])
	}
	if got.TieGroups != want.Int(t, "n_tie_groups") {
		t.Errorf("n_tie_groups = %d, want %s", got.TieGroups, want["n_tie_groups"])
	}
	for _, c := range []struct {
		col string
		got float64
	}{{"varS", got.VarS}, {"D", got.D}, {"tau_b", got.TauB}, {"z_cc", got.ZCC}, {"z", got.Z}} {
		if w := want.Float(t, c.col); !oracle.Close(c.got, w, 1e-9) {
			t.Errorf("%s = %.17g, want %.17g", c.col, c.got, w)
		}
	}
	for _, c := range []struct {
		col string
		got float64
	}{{"p_cc", got.PCC}, {"p", got.P}} {
		if w := want.Float(t, c.col); !oracle.RelClose(c.got, w, 1e-7) {
			t.Errorf("%s = %.17g, want %.17g", c.col, c.got, w)
		}
	}
	wantExact := want.Float(t, "p_exact")
	switch {
	case want.NA("p_exact"):
		if !math.IsNaN(got.PExact) {
			t.Errorf("p_exact = %g, want NA", got.PExact)
		}
	case wantExact < 1e-12:
		// R's 1 - P(T <= q-1) cancels to a few multiples of 2^-53 here; Go
		// computes the tail directly, so it must be at or below R's floor.
		if !(got.PExact >= 0 && got.PExact <= wantExact+1e-14) {
			t.Errorf("p_exact = %g, want at most R's floor %g", got.PExact, wantExact)
		}
	default:
		if !oracle.RelClose(got.PExact, wantExact, 1e-7) {
			t.Errorf("p_exact = %.17g, want %.17g", got.PExact, wantExact)
		}
	}
}

func TestMannKendallOracleSeries(t *testing.T) {
	for _, dir := range oracle.Dirs(t) {
		ids, xs := series(t, oracle.Read(t, dir, "trend_series.csv"), "series_id", "t", "value")
		want := map[string]oracle.Row{}
		for _, r := range oracle.Read(t, dir, "mk_series.csv").Rows {
			want[r["series_id"]] = r
		}
		if len(ids) != len(want) {
			t.Fatalf("%s: %d series, %d oracle rows", dir, len(ids), len(want))
		}
		for _, id := range ids {
			t.Run(oracle.Name(dir)+"/"+id, func(t *testing.T) {
				got, err := MannKendall(xs[id])
				if err != nil {
					t.Fatal(err)
				}
				checkMK(t, got, want[id])
			})
		}
	}
}

// TestMannKendallOracleGiStar runs the EHSA-style trend test of each cell's
// daily Gi* z-scores (taken from the oracle's own Gi* output, rounded to 9
// significant digits first, as mannkendall.R does with SIGNIF=9), both by
// rounding every value and by TestRounded.
func TestMannKendallOracleGiStar(t *testing.T) {
	for _, dir := range oracle.Dirs(t) {
		ids, zs := series(t, oracle.Read(t, dir, "gistar_cube_k1.csv"), "cell_id", "day", "z_gstar")
		want := map[string]oracle.Row{}
		for _, r := range oracle.Read(t, dir, "mk_gistar.csv").Rows {
			want[r["series_id"]] = r
		}
		if len(ids) != len(want) {
			t.Fatalf("%s: %d cells, %d oracle rows", dir, len(ids), len(want))
		}
		for _, id := range ids {
			x := zs[id]
			var tr Tester
			got, err := tr.TestRounded(x, TieDigits)
			if err != nil {
				t.Fatal(err)
			}
			full := make([]float64, len(x))
			for i, v := range x {
				full[i] = RoundSignif(v, TieDigits)
			}
			ref, _ := MannKendall(full)
			t.Run(oracle.Name(dir)+"/"+id, func(t *testing.T) {
				checkMK(t, got, want[id])
				checkMK(t, ref, want[id])
			})
		}
	}
}

// TestExactPBruteForce checks the exact distribution against a full
// enumeration of all permutations for small n, including both tails.
func TestExactPBruteForce(t *testing.T) {
	for n := 2; n <= 7; n++ {
		counts := map[int64]int{}
		perm := make([]float64, n)
		for i := range perm {
			perm[i] = float64(i)
		}
		total := 0
		permute(perm, 0, func(p []float64) {
			counts[kendallS(p)]++
			total++
		})
		for s := range counts {
			// two-sided exact p: 2 * P(S' on the same side at least as extreme)
			tail := 0
			for s2, c := range counts {
				if (s >= 0 && s2 >= s) || (s < 0 && s2 <= s) {
					tail += c
				}
			}
			want := math.Min(1, 2*float64(tail)/float64(total))
			if got := exactP(n, s); math.Abs(got-want) > 1e-12 {
				t.Errorf("n=%d S=%d: p = %.15g, want %.15g", n, s, got, want)
			}
		}
	}
}

// kendallS is the direct definition sum_{i<j} sign(x_j - x_i), the reference
// for the O(n log n) count.
func kendallS(x []float64) int64 {
	var s int64
	for i, xi := range x {
		for _, xj := range x[i+1:] {
			switch {
			case xj > xi:
				s++
			case xj < xi:
				s--
			}
		}
	}
	return s
}

// TestMergeCountMatchesPairs checks S from inversions against the pairwise
// definition on random series with many ties, and that the sort is correct.
func TestMergeCountMatchesPairs(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var tr Tester
	for trial := range 500 {
		n := 2 + r.IntN(80)
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(r.IntN(1 + n/3)) // plenty of ties
			if trial%2 == 0 {
				x[i] = r.NormFloat64()
			}
		}
		got, err := tr.Test(x)
		if err != nil {
			t.Fatal(err)
		}
		if want := kendallS(x); got.S != want {
			t.Fatalf("trial %d: S = %d, pairwise %d (%v)", trial, got.S, want, x)
		}
		if !slices.IsSorted(tr.buf) {
			t.Fatalf("trial %d: merge sort left %v", trial, tr.buf)
		}
	}
}

// TestTestRoundedMatchesFullRounding checks the selective rounding against
// rounding every value, on series full of near-ties: values a few ulps
// apart, values straddling a 9th-digit rounding boundary, exact ties, zeros
// and signs.
func TestTestRoundedMatchesFullRounding(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	var tr, ref Tester
	for trial := range 2000 {
		n := 2 + r.IntN(60)
		base := []float64{r.NormFloat64(), 1.0000000005, 9.999999995e-3, -2.5, 0}
		x := make([]float64, n)
		for i := range x {
			b := base[r.IntN(len(base))]
			switch r.IntN(4) {
			case 0:
				x[i] = b
			case 1:
				x[i] = b + float64(r.IntN(7)-3)*math.Abs(b)*1e-16 // ulps apart
			case 2:
				x[i] = b * (1 + float64(r.IntN(5)-2)*1e-9) // around the 9th digit
			default:
				x[i] = r.NormFloat64() * 3
			}
		}
		full := make([]float64, n)
		for i, v := range x {
			full[i] = RoundSignif(v, TieDigits)
		}
		want, _ := ref.Test(full)
		got, err := tr.TestRounded(x, TieDigits)
		if err != nil {
			t.Fatal(err)
		}
		if got.S != want.S || got.TieGroups != want.TieGroups || got.VarS != want.VarS {
			t.Fatalf("trial %d: S, ties, varS = %d, %d, %g; full rounding %d, %d, %g (%v)",
				trial, got.S, got.TieGroups, got.VarS, want.S, want.TieGroups, want.VarS, x)
		}
	}
}

func permute(a []float64, k int, f func([]float64)) {
	if k == len(a) {
		f(a)
		return
	}
	for i := k; i < len(a); i++ {
		a[k], a[i] = a[i], a[k]
		permute(a, k+1, f)
		a[k], a[i] = a[i], a[k]
	}
}

func TestMannKendallCases(t *testing.T) {
	tests := []struct {
		name      string
		x         []float64
		wantS     int64
		wantTies  int
		wantNaN   bool
		wantExact bool
		wantErr   bool
	}{
		{name: "rising", x: []float64{1, 2, 3, 4, 5}, wantS: 10, wantExact: true},
		{name: "falling", x: []float64{5, 4, 3, 2, 1}, wantS: -10, wantExact: true},
		{name: "constant", x: []float64{2, 2, 2, 2}, wantS: 0, wantTies: 1, wantNaN: true},
		{name: "ties", x: []float64{1, 1, 2, 3, 3, 3}, wantS: 11, wantTies: 2},
		{name: "two values", x: []float64{1, 2}, wantS: 1, wantExact: true},
		{name: "one value", x: []float64{1}, wantErr: true},
		{name: "NaN", x: []float64{1, math.NaN(), 3}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MannKendall(tt.x)
			if tt.wantErr {
				if geo.ErrorCode(err) != geo.EINVALID {
					t.Fatalf("err = %v, want EINVALID", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.S != tt.wantS || got.TieGroups != tt.wantTies {
				t.Errorf("S, ties = %d, %d, want %d, %d", got.S, got.TieGroups, tt.wantS, tt.wantTies)
			}
			if math.IsNaN(got.Z) != tt.wantNaN || math.IsNaN(got.PCC) != tt.wantNaN {
				t.Errorf("z = %g, p_cc = %g, want NaN %v", got.Z, got.PCC, tt.wantNaN)
			}
			if math.IsNaN(got.PExact) == tt.wantExact {
				t.Errorf("p_exact = %g, want present %v", got.PExact, tt.wantExact)
			}
		})
	}
}

func TestRoundSignif(t *testing.T) {
	tests := []struct {
		x    float64
		want string
	}{
		{1.23456789012, "1.23456789"},
		{-0.000123456789555, "-0.000123456790"},
		{2.5e-300, "2.5e-300"},
		{0, "0"},
	}
	for _, tt := range tests {
		want, _ := strconv.ParseFloat(tt.want, 64)
		if got := RoundSignif(tt.x, TieDigits); got != want {
			t.Errorf("RoundSignif(%g) = %.17g, want %.17g", tt.x, got, want)
		}
	}
	// values one ulp apart tie after rounding (the README's h0402 case)
	a := math.Sqrt(48841.0 / 20956.0)
	b := math.Nextafter(a, 2)
	if RoundSignif(a, TieDigits) != RoundSignif(b, TieDigits) {
		t.Errorf("adjacent floats %v and %v do not tie after rounding", a, b)
	}
	if !math.IsNaN(RoundSignif(math.NaN(), TieDigits)) {
		t.Error("NaN not preserved")
	}
}

func BenchmarkMannKendall156(b *testing.B) {
	x := make([]float64, 156)
	for i := range x {
		x[i] = math.Sin(float64(i)*0.7) + float64(i)/100
	}
	var tr Tester
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.Test(x); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRoundSignif(b *testing.B) {
	x := 1.2345678912345
	for b.Loop() {
		x = RoundSignif(x+1e-7, TieDigits)
	}
}

package spatial

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBenjaminiHochberg checks a hand-worked case: p sorted ascending
// 0.001 0.008 0.039 0.041 0.042 0.06 0.074 0.205 with m = 8 (plus one NaN,
// which does not count) gives m p/j = 0.008 0.032 0.104 0.082 0.0672 0.08
// 0.08457 0.205 and, after the running minimum from the top, the q-values
// below.
func TestBenjaminiHochberg(t *testing.T) {
	p := []float64{0.039, 0.001, math.NaN(), 0.205, 0.008, 0.041, 0.06, 0.042, 0.074}
	want := []float64{0.0672, 0.008, math.NaN(), 0.205, 0.032, 0.0672, 0.08, 0.0672, 0.08457142857142857}
	got := BenjaminiHochberg(p)
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || math.Abs(got[i]-want[i]) > 1e-15 {
			t.Errorf("q[%d] = %.17g, want %.17g", i, got[i], want[i])
		}
	}
	if q := BenjaminiHochberg([]float64{0.9, 0.95}); q[0] != 0.95 || q[1] != 0.95 {
		t.Errorf("q = %v, want [0.95 0.95]", q)
	}
}

// TestFDRThresholdMatchesAdjusted checks p <= threshold exactly when q <=
// alpha, on random p-values with ties, NaNs and a mass of small values.
func TestFDRThresholdMatchesAdjusted(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		n := 1 + r.IntN(300)
		p := make([]float64, n)
		for i := range p {
			switch r.IntN(6) {
			case 0:
				p[i] = math.Round(r.Float64()*50) / 1000 // ties
			case 1:
				p[i] = r.Float64() * 1e-4
			case 2:
				p[i] = math.NaN()
			default:
				p[i] = r.Float64()
			}
		}
		q := BenjaminiHochberg(p)
		for _, alpha := range []float64{0.01, 0.05, 0.1} {
			thr := FDRThreshold(p, alpha)
			for i := range p {
				if sig := !math.IsNaN(p[i]) && p[i] <= thr; sig != (q[i] <= alpha) {
					t.Fatalf("trial %d alpha %g: p %g q %g threshold %g disagree", trial, alpha, p[i], q[i], thr)
				}
			}
		}
	}
}

func TestBinOf(t *testing.T) {
	tests := []struct {
		z, p float64
		want Bin
		cat  string
	}{
		{3, 0.0027, 3, "hot_99"},
		{2.2, 0.028, 2, "hot_95"},
		{1.7, 0.089, 1, "hot_90"},
		{1.2, 0.23, 0, "not_significant"},
		{-1.7, 0.089, -1, "cold_90"},
		{-2.2, 0.028, -2, "cold_95"},
		{-3, 0.0027, -3, "cold_99"},
		{2, 0.05, 2, "hot_95"}, // boundary: p = alpha is significant
		{math.NaN(), math.NaN(), 0, "not_significant"},
	}
	for _, tt := range tests {
		b := BinOf(tt.z, tt.p)
		if b != tt.want || b.Category() != tt.cat {
			t.Errorf("BinOf(%g, %g) = %d %s, want %d %s", tt.z, tt.p, b, b.Category(), tt.want, tt.cat)
		}
	}
}

// TestBinsFDR checks that FDR correction demotes bins: with m = 11 tests,
// five at p = 0.04, five at 0.5 and one at 0.001, the 0.04s get
// q = 11*0.04/6 = 0.073 and the 0.001 gets q = 0.011, so the 0.04s drop from
// 95 to 90 percent and the 0.001 from 99 to 95.
func TestBinsFDR(t *testing.T) {
	z := make([]float64, 11)
	p := make([]float64, 11)
	for i := range z {
		z[i], p[i] = 2.05, 0.04
		if i >= 5 {
			z[i], p[i] = 0.67, 0.5
		}
	}
	z[10], p[10] = -3.3, 0.001
	raw, err := Bins(z, p, false)
	if err != nil {
		t.Fatal(err)
	}
	adj, _ := Bins(z, p, true)
	if raw[0] != 2 || raw[10] != -3 || adj[0] != 1 || adj[10] != -2 {
		t.Errorf("raw bins %v, FDR bins %v", raw, adj)
	}
	if _, err := Bins(z, p[:3], false); err == nil {
		t.Error("length mismatch accepted")
	}
}

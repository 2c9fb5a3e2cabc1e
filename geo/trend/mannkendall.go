package trend

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"

	"hotspots/geo"
)

// Result is the Mann-Kendall test of one series against the time order
// 1..N. Every figure is defined as in the oracle's R/mannkendall.R, which is
// checked against stats::cor.test(method = "kendall").
type Result struct {
	N int
	// S is sum over i<j of sign(x_j - x_i); positive for a rising series.
	S int64
	// VarS is the tie-corrected null variance
	// [n(n-1)(2n+5) - sum_g t_g(t_g-1)(2t_g+5)] / 18, t_g the tie-group sizes.
	VarS float64
	// D is the tau-b denominator sqrt(n0 (n0 - sum_g t_g(t_g-1)/2)),
	// n0 = n(n-1)/2 (time has no ties).
	D float64
	// TauB is Kendall's tau-b, S/D; NaN when D = 0 (a constant series).
	TauB float64
	// TieGroups is the number of groups of exactly equal values.
	TieGroups int
	// ZCC and PCC are the continuity-corrected normal score
	// (S - sign(S))/sqrt(VarS) and its two-sided p-value. This is the p-value
	// Kendall::MannKendall reports (and so R's sfdep Emerging Hot Spot
	// Analysis uses). NaN when VarS = 0.
	ZCC, PCC float64
	// Z and P are the uncorrected S/sqrt(VarS) and its two-sided p-value.
	Z, P float64
	// PExact is the two-sided p-value of the exact permutation distribution
	// of S, as cor.test(exact = TRUE) gives it. It exists only for N <
	// ExactMaxN without ties, and is NaN otherwise: with ties or longer
	// series the normal approximation is the reference.
	PExact float64
}

// ExactMaxN is the series length from which the exact p-value is no longer
// computed, R's cutoff for cor.test's default exact test.
const ExactMaxN = 50

// TieDigits is the number of significant digits computed inputs (Gi*
// z-scores) are rounded to before ties are counted. Mathematically equal
// z-scores of different time steps can differ in their last bits; without
// rounding a true tie silently becomes a +-1 in S.
const TieDigits = 9

// RoundSignif rounds x to digits significant decimal digits with correctly
// rounded decimal formatting, exactly as R's as.numeric(sprintf("%.8e", x))
// does for digits = 9. NaN and infinities are returned unchanged.
func RoundSignif(x float64, digits int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 || digits < 1 {
		return x
	}
	var buf [40]byte
	b := strconv.AppendFloat(buf[:0], x, 'e', digits-1, 64)
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil { // cannot happen: AppendFloat output always parses
		return x
	}
	return v
}

// MannKendall tests x (in time order) for a monotonic trend. It returns an
// EINVALID error for fewer than two values or a NaN value; a constant series
// is not an error and gives NaN scores, because it has no trend to test.
func MannKendall(x []float64) (Result, error) {
	var t Tester
	return t.Test(x)
}

// Tester runs Mann-Kendall tests reusing one scratch buffer, for callers that
// test thousands of series (one per cell in Emerging Hot Spot Analysis). A
// Tester is not safe for concurrent use; give each goroutine its own.
type Tester struct {
	buf, tmp, rounded []float64
	near              []bool
}

// Test is MannKendall with the Tester's scratch buffer.
func (t *Tester) Test(x []float64) (Result, error) {
	n := len(x)
	if n < 2 {
		return Result{}, geo.Errorf(geo.EINVALID, "mann-kendall: need at least 2 values, got %d", n)
	}
	for i, v := range x {
		if math.IsNaN(v) {
			return Result{}, geo.Errorf(geo.EINVALID, "mann-kendall: value %d is NaN", i)
		}
	}
	return t.result(t.sortCount(x)), nil
}

// sortCount copies x into t.buf sorted ascending and returns its inversions.
func (t *Tester) sortCount(x []float64) int64 {
	t.buf = append(t.buf[:0], x...)
	t.tmp = append(t.tmp[:0], x...)
	return mergeCount(t.buf, t.tmp)
}

// result finishes the test from the sorted values in t.buf and the number of
// inversions of the series.
func (t *Tester) result(inv int64) Result {
	n := len(t.buf)
	r := Result{N: n}
	var tieVar, tiePairs int64 // sum t(t-1)(2t+5) and sum t(t-1)/2
	for i := 0; i < n; {
		j := i + 1
		for j < n && t.buf[j] == t.buf[i] {
			j++
		}
		if g := int64(j - i); g > 1 {
			r.TieGroups++
			tieVar += g * (g - 1) * (2*g + 5)
			tiePairs += g * (g - 1) / 2
		}
		i = j
	}
	// every pair is rising, falling (an inversion) or tied
	r.S = int64(n)*int64(n-1)/2 - tiePairs - 2*inv
	nn := int64(n)
	r.VarS = float64(nn*(nn-1)*(2*nn+5)-tieVar) / 18
	n0 := nn * (nn - 1) / 2
	r.D = math.Sqrt(float64(n0) * float64(n0-tiePairs))
	r.TauB = math.NaN()
	if r.D > 0 {
		r.TauB = float64(r.S) / r.D
	}
	r.ZCC, r.PCC, r.Z, r.P = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	if r.VarS > 0 {
		sd := math.Sqrt(r.VarS)
		s := float64(r.S)
		r.ZCC = (s - sign(s)) / sd
		r.Z = s / sd
		r.PCC = TwoSidedP(r.ZCC)
		r.P = TwoSidedP(r.Z)
	}
	r.PExact = math.NaN()
	if n < ExactMaxN && r.TieGroups == 0 {
		r.PExact = exactP(n, r.S)
	}
	return r
}

// TestRounded returns exactly what Test returns for x with every value first
// rounded by RoundSignif(v, digits), the tie rule for computed inputs such as
// Gi* z-scores. Decimal rounding costs about as much as the whole test, so
// only values that lie within two units of the digits-th significant digit
// of another value are rounded: rounding is monotone, so it can change the
// order of no other pair, and it turns two values into a tie only when they
// are that close.
func (t *Tester) TestRounded(x []float64, digits int) (Result, error) {
	if digits < 1 || len(x) < 2 {
		return t.Test(x)
	}
	for i, v := range x {
		if math.IsNaN(v) {
			return Result{}, geo.Errorf(geo.EINVALID, "mann-kendall: value %d is NaN", i)
		}
	}
	n := len(x)
	inv := t.sortCount(x)
	rel := 2 * math.Pow(10, float64(1-digits))
	t.near = slices.Grow(t.near[:0], n)[:n]
	clear(t.near)
	found := false
	for k := 1; k < n; k++ {
		a, b := t.buf[k-1], t.buf[k]
		if a != b && b-a <= rel*math.Max(math.Abs(a), math.Abs(b)) {
			t.near[k-1], t.near[k] = true, true
			found = true
		}
	}
	if !found { // rounding changes no comparison
		return t.result(inv), nil
	}
	// a run of equal values is near as a whole; mark its first element,
	// the one a binary search finds
	for k := n - 2; k >= 0; k-- {
		if t.buf[k] == t.buf[k+1] && t.near[k+1] {
			t.near[k] = true
		}
	}
	t.rounded = append(t.rounded[:0], x...)
	for i, v := range x {
		if k, _ := slices.BinarySearch(t.buf, v); t.near[k] {
			t.rounded[i] = RoundSignif(v, digits)
		}
	}
	return t.Test(t.rounded)
}

// TwoSidedP is the two-sided normal tail probability 2(1 - Phi(|z|)),
// computed with Erfc so that it stays accurate far in the tail where
// 1 - Phi(|z|) would cancel to zero. NaN stays NaN.
func TwoSidedP(z float64) float64 {
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}

// mergeCount sorts a ascending by a bottom-up merge sort (scratch has a's
// length) and returns the number of inversions, pairs i<j with a_i > a_j
// strictly. Ties are not inversions, so S follows from the inversions and
// the tie groups in O(n log n) instead of comparing all n(n-1)/2 pairs.
func mergeCount(a, scratch []float64) int64 {
	n := len(a)
	var inv int64
	src, dst := a, scratch[:n]
	for width := 1; width < n; width *= 2 {
		for lo := 0; lo < n; lo += 2 * width {
			mid, hi := min(lo+width, n), min(lo+2*width, n)
			i, j, k := lo, mid, lo
			for i < mid && j < hi {
				if src[i] <= src[j] {
					dst[k] = src[i]
					i++
				} else {
					dst[k] = src[j]
					inv += int64(mid - i) // src[i:mid] all exceed src[j]
					j++
				}
				k++
			}
			k += copy(dst[k:], src[i:mid])
			copy(dst[k:], src[j:hi])
		}
		src, dst = dst, src
	}
	if &src[0] != &a[0] {
		copy(a, src)
	}
	return inv
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// exactP is the two-sided exact p-value of S for n values without ties, as R's
// cor.test(exact = TRUE) defines it: with T = (S + n0)/2 concordant pairs,
// p = 2 P(T >= q) when q > n0/2 and 2 P(T <= q) otherwise, capped at 1.
//
// R evaluates the upper tail as 1 - P(T <= q-1), which cancels to a multiple
// of 2^-53 in the far tail (it reports 1.1e-15 for 30 steadily rising
// values). The upper tail is computed here from the lower one by the symmetry
// of the distribution, so it stays accurate; the two agree wherever R's value
// is above its rounding floor.
func exactP(n int, s int64) float64 {
	cdf := kendallCDF(n)
	n0 := int64(n) * int64(n-1) / 2
	q := (s + n0) / 2
	var p float64
	if 2*q > n0 {
		p = cdf[n0-q]
	} else {
		p = cdf[q]
	}
	return math.Min(2*p, 1)
}

var exactCDFs [ExactMaxN]struct {
	once sync.Once
	cdf  []float64
}

// kendallCDF returns P(T <= k), k = 0..n(n-1)/2, for the number T of
// concordant pairs (equivalently, inversions) of a random permutation of n.
// Tables are built once per n and shared.
func kendallCDF(n int) []float64 {
	if n < 1 || n >= ExactMaxN {
		panic(fmt.Sprintf("trend: exact Kendall distribution for n=%d out of range", n))
	}
	e := &exactCDFs[n]
	e.once.Do(func() { e.cdf = buildKendallCDF(n) })
	return e.cdf
}

// buildKendallCDF builds the inversion-count distribution by the recursion
// P_m(k) = (1/m) sum_{i=0}^{m-1} P_{m-1}(k-i): inserting the m-th element
// adds 0..m-1 inversions with equal probability. Working with probabilities
// of positive terms (rather than counts up to n!) keeps tiny tails accurate.
func buildKendallCDF(n int) []float64 {
	p := []float64{1}
	for m := 2; m <= n; m++ {
		u := m * (m - 1) / 2
		next := make([]float64, u+1)
		for k := range next {
			var s float64
			for i := 0; i < m && i <= k; i++ {
				if k-i < len(p) {
					s += p[k-i]
				}
			}
			next[k] = s / float64(m)
		}
		p = next
	}
	cdf := make([]float64, len(p))
	var acc float64
	for k, v := range p {
		acc += v
		cdf[k] = acc
	}
	return cdf
}

package spatial

import (
	"cmp"
	"math"
	"slices"
)

// BenjaminiHochberg returns Benjamini-Hochberg adjusted p-values (q-values),
// exactly as R's p.adjust(p, "BH"): q_(i) = min_{j >= i} min(1, m p_(j)/j)
// over the m non-NaN p-values in ascending order. NaN p-values stay NaN and
// do not count in m. A test is significant at false discovery rate alpha when
// q <= alpha.
func BenjaminiHochberg(p []float64) []float64 {
	idx := make([]int, 0, len(p))
	for i, v := range p {
		if !math.IsNaN(v) {
			idx = append(idx, i)
		}
	}
	// descending p; ties keep input order, as R's order() does
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p[b], p[a]) })
	q := make([]float64, len(p))
	for i := range q {
		q[i] = math.NaN()
	}
	m := float64(len(idx))
	run := math.Inf(1)
	for r, i := range idx {
		rank := float64(len(idx) - r) // ascending rank of p[i]
		run = math.Min(run, m/rank*p[i])
		q[i] = math.Min(1, run)
	}
	return q
}

// FDRThreshold returns the largest p-value that is significant at false
// discovery rate alpha under Benjamini-Hochberg, or -1 when none is:
// p <= FDRThreshold(ps, alpha) exactly when BenjaminiHochberg(ps) <= alpha.
//
// It sorts only the p-values at or below alpha (m p/j <= alpha needs
// p <= alpha), so it stays cheap on a space-time cube of millions of bins
// where few are significant.
func FDRThreshold(p []float64, alpha float64) float64 {
	var small []float64
	m := 0
	for _, v := range p {
		if math.IsNaN(v) {
			continue
		}
		m++
		if v <= alpha {
			small = append(small, v)
		}
	}
	slices.Sort(small)
	thr := -1.0
	for j, v := range small {
		if float64(m)/float64(j+1)*v <= alpha {
			thr = v
		}
	}
	return thr
}

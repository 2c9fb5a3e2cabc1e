package spatial

import (
	"math"

	"hotspots/geo"
)

// Bin is ArcGIS's Gi_Bin confidence bin for a Gi* result: +3, +2, +1 for a
// hot spot at 99, 95 and 90 percent confidence, -3, -2, -1 for a cold spot,
// 0 for not significant. Analysts read hot-spot maps in these bins, so the
// service reports them rather than raw p-values.
type Bin int8

// Confidence levels of the bins, as significance levels.
var binLevels = [3]float64{0.10, 0.05, 0.01}

// Category is the bin's finding category: "hot_99", "hot_95", "hot_90",
// "cold_99", "cold_95", "cold_90" or "not_significant".
func (b Bin) Category() string {
	switch b {
	case 3:
		return "hot_99"
	case 2:
		return "hot_95"
	case 1:
		return "hot_90"
	case -1:
		return "cold_90"
	case -2:
		return "cold_95"
	case -3:
		return "cold_99"
	}
	return "not_significant"
}

// Confidence is the bin's confidence level in percent (99, 95, 90), 0 when
// not significant.
func (b Bin) Confidence() int {
	return [4]int{0, 90, 95, 99}[min(3, max(int(b), -int(b)))]
}

// BinOf bins one z-score by its p-value: the highest confidence level whose
// significance level p reaches (p <= 0.01, 0.05, 0.10), signed by z. NaN z or
// p is not significant.
func BinOf(z, p float64) Bin {
	if math.IsNaN(z) || math.IsNaN(p) || z == 0 {
		return 0
	}
	b := Bin(0)
	for lvl, a := range binLevels {
		if p <= a {
			b = Bin(lvl + 1)
		}
	}
	if z < 0 {
		b = -b
	}
	return b
}

// Bins bins every cell's z-score. With fdr the p-values are first adjusted by
// Benjamini-Hochberg over all cells (ArcGIS's "Apply False Discovery Rate
// Correction"), which controls the share of false hot spots among those
// reported when many cells are tested at once.
func Bins(z, p []float64, fdr bool) ([]Bin, error) {
	if len(z) != len(p) {
		return nil, geo.Errorf(geo.EINVALID, "bins: %d z-scores, %d p-values", len(z), len(p))
	}
	if fdr {
		p = BenjaminiHochberg(p)
	}
	out := make([]Bin, len(z))
	for i := range z {
		out[i] = BinOf(z[i], p[i])
	}
	return out, nil
}

// GiStarBins bins Gi* results; see Bins.
func GiStarBins(res []LocalG, fdr bool) []Bin {
	z, p := make([]float64, len(res)), make([]float64, len(res))
	for i, r := range res {
		z[i], p[i] = r.Z, r.P
	}
	b, _ := Bins(z, p, fdr) // lengths match by construction
	return b
}

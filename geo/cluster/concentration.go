package cluster

import (
	"math"
	"slices"

	"hotspots/geo"
)

// Concentration describes how unevenly incidents fall over the cells of a
// study area: the "law of crime concentration" figures (Weisburd 2015),
// such as "5% of blocks hold half the shootings".
//
// Every study cell counts, including cells with no incidents: the shares
// are of the study area's cells, not of the cells that happened to have an
// incident, and leaving empty cells out would make any map look even.
// That is why the study cells are an explicit input.
type Concentration struct {
	Cells     int   // study cells
	Incidents int64 // incidents in the study cells
	// Top1Cells and Top5Cells are the number of cells in the top 1% and 5%:
	// ceil(1% and 5% of Cells), at least one.
	Top1Cells, Top5Cells int
	// Top1Share and Top5Share are the shares of incidents in those cells,
	// the busiest first. NaN without incidents.
	Top1Share, Top5Share float64
	// Gini is the Gini coefficient of the per-cell counts: 0 when every cell
	// has the same count, (n-1)/n when one cell has them all. NaN without
	// incidents.
	Gini float64
}

// ConcentrationOf computes the concentration of counts over the study
// cells; cells missing from counts have none. Counts for cells outside the
// study area are an error rather than silently dropped, since they mean the
// area and the counts disagree.
func ConcentrationOf(study []geo.Cell, counts map[geo.Cell]int) (Concentration, error) {
	idx := make(map[geo.Cell]int, len(study))
	for i, c := range study {
		if _, dup := idx[c]; dup {
			return Concentration{}, geo.Errorf(geo.EINVALID, "concentration: cell %s listed twice", c)
		}
		idx[c] = i
	}
	v := make([]int64, len(study))
	for c, n := range counts {
		i, ok := idx[c]
		if !ok {
			return Concentration{}, geo.Errorf(geo.EINVALID, "concentration: %d incidents in cell %s outside the study area", n, c)
		}
		v[i] = int64(n)
	}
	return ConcentrationOfCounts(v)
}

// ConcentrationOfCounts computes the concentration of one count per study
// cell, zeros included.
func ConcentrationOfCounts(counts []int64) (Concentration, error) {
	n := len(counts)
	if n == 0 {
		return Concentration{}, geo.Errorf(geo.EINVALID, "concentration: no study cells")
	}
	v := slices.Clone(counts)
	var total int64
	for _, x := range v {
		if x < 0 {
			return Concentration{}, geo.Errorf(geo.EINVALID, "concentration: negative count %d", x)
		}
		total += x
	}
	slices.Sort(v) // ascending
	c := Concentration{Cells: n, Incidents: total, Top1Cells: topCells(n, 1), Top5Cells: topCells(n, 5)}
	if total == 0 {
		c.Top1Share, c.Top5Share, c.Gini = math.NaN(), math.NaN(), math.NaN()
		return c, nil
	}
	c.Top1Share = float64(sumTop(v, c.Top1Cells)) / float64(total)
	c.Top5Share = float64(sumTop(v, c.Top5Cells)) / float64(total)
	// G = sum_i (2i - n - 1) x_(i) / (n sum x), x ascending, i = 1..n
	var num float64
	for i, x := range v {
		num += float64(2*(i+1)-n-1) * float64(x)
	}
	c.Gini = num / (float64(n) * float64(total))
	return c, nil
}

// topCells is ceil(pct% of n), at least 1, computed in integers.
func topCells(n, pct int) int { return max(1, (n*pct+99)/100) }

func sumTop(asc []int64, k int) int64 {
	var s int64
	for _, x := range asc[len(asc)-k:] {
		s += x
	}
	return s
}

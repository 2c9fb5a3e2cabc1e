// Package indicator computes the Neighborhood Stat indicators of an area
// layer: counts and victims per period, rates per 1,000 and 10,000
// residents, change against the previous period, the same period a year
// before and a 3-year baseline, Mann-Kendall trends, ranks, shares of the
// city total and progress toward the city's reduction target, with
// small-number flags and public suppression.
//
// It is a pure package: area day counts and populations in, tables out. The
// API fetches the counts (geo.IncidentService.AreaDayCounts) and renders
// the tables; the methods page prints Definitions.
package indicator

import (
	"math"
	"time"

	"hotspots/geo"
	"hotspots/geo/trend"
)

// DefaultUnstableBelow is the event count under which a rate is flagged
// unstable: with fewer than 20 events the relative standard error of a
// Poisson count exceeds 22%, the threshold NCHS and most health departments
// use.
const DefaultUnstableBelow = 20

// BaselineYears is how many prior years the baseline averages.
const BaselineYears = 3

// MinTrendPeriods is the fewest whole periods a trend is tested on.
const MinTrendPeriods = 4

// TrendAlpha is the significance level of a reported trend direction.
const TrendAlpha = 0.05

// Input is one layer's areas and day counts, and how to tabulate them.
type Input struct {
	Areas  []geo.Area
	Counts []geo.AreaDayCount
	// Kinds are the kinds counted together; empty counts every kind given.
	Kinds   []geo.Kind
	Period  PeriodKind
	Periods []Period
	// DataStart is the first day the data cover; comparison windows that
	// start earlier are unknown rather than zero. Zero means no limit.
	DataStart time.Time
	// SuppressBelow above 1 applies public suppression (see Suppress).
	SuppressBelow int
	// UnstableBelow is the count under which rates are flagged; 0 means
	// DefaultUnstableBelow.
	UnstableBelow int
}

// Table is the result: one row per area, a row for incidents in no area of
// the layer, and the city row (every incident, whatever its area).
type Table struct {
	Periods    []Period `json:"-"`
	Areas      []Row    `json:"areas"`
	Unassigned Row      `json:"unassigned"`
	City       Row      `json:"city"`
	// SuppressBelow is the public threshold applied, 0 when none was.
	SuppressBelow int `json:"suppress_below"`
}

// Row is one area's indicators over the periods.
type Row struct {
	Code           string `json:"code"`
	Name           string `json:"name"`
	Population     *int   `json:"population"`
	PopulationYear int    `json:"population_year,omitempty"`
	Excluded       bool   `json:"excluded,omitempty"`
	Cells          []Cell `json:"periods"`
	// Total covers all periods together.
	Total Cell   `json:"total"`
	Trend *Trend `json:"trend"`
}

// Cell is one area in one period. Pointers are nil when a value is
// undefined (no population, a zero denominator, data not reaching back far
// enough) or withheld from public callers.
type Cell struct {
	Count   *int `json:"count"`
	Victims *int `json:"victims"`
	// Suppressed: the count is withheld from public callers (see Suppress).
	Suppressed bool     `json:"suppressed,omitempty"`
	RatePer1k  *float64 `json:"rate_per_1k"`
	RatePer10k *float64 `json:"rate_per_10k"`
	// Unstable: the rate rests on fewer than UnstableBelow events.
	Unstable bool `json:"unstable,omitempty"`

	Prev             *int     `json:"prev"`
	ChangePrev       *int     `json:"change_prev"`
	ChangePrevPct    *float64 `json:"change_prev_pct"`
	YearAgo          *int     `json:"year_ago"`
	ChangeYearAgo    *int     `json:"change_year_ago"`
	ChangeYearAgoPct *float64 `json:"change_year_ago_pct"`
	// Baseline is the mean count of the same period in the 3 prior years.
	Baseline          *float64 `json:"baseline_3y"`
	ChangeBaselinePct *float64 `json:"change_baseline_pct"`

	// Rank is 1 for the highest count among ranked areas (ties share a
	// rank); RankRate likewise by rate. Excluded areas are not ranked.
	Rank     *int `json:"rank"`
	RankRate *int `json:"rank_rate"`
	// Share is the area's fraction of the city total.
	Share *float64 `json:"share"`
}

// Trend is the Mann-Kendall test of a row's counts over its whole periods.
type Trend struct {
	N    int      `json:"n"`
	S    int64    `json:"s"`
	TauB *float64 `json:"tau_b"`
	// P is the exact p-value for short series without ties, otherwise the
	// continuity-corrected normal one.
	P *float64 `json:"p"`
	// Direction is "increasing" or "decreasing" when P < TrendAlpha, else
	// "no trend".
	Direction string `json:"direction"`
}

// Compute tabulates the indicators.
func Compute(in Input) (*Table, error) {
	if len(in.Periods) == 0 {
		return nil, geo.FieldErrorf("from", "no periods to compute")
	}
	c := newCounter(in)
	t := &Table{Periods: in.Periods}
	if in.SuppressBelow > 1 {
		t.SuppressBelow = in.SuppressBelow
	}
	nr, np := len(in.Areas)+1, len(in.Periods)
	raw := make([][]int, nr)
	for i := range raw {
		raw[i] = make([]int, np)
		for j, p := range in.Periods {
			raw[i][j], _ = c.sum(i, p.Span)
		}
	}
	mask := Suppress(raw, t.SuppressBelow)
	b := &builder{in: in, c: c, raw: raw, mask: mask, unstable: in.UnstableBelow}
	if b.unstable <= 0 {
		b.unstable = DefaultUnstableBelow
	}
	b.cityTotals()
	for i, a := range in.Areas {
		t.Areas = append(t.Areas, b.row(i, a))
	}
	t.Unassigned = b.row(len(in.Areas), geo.Area{Code: "", Name: "In no area"})
	t.City = b.cityRow()
	b.rank(t)
	return t, nil
}

// counter holds per-row prefix sums of counts and victims over the days the
// table and its comparisons need, so every window sum is O(1).
type counter struct {
	start     time.Time
	days      int
	dataStart time.Time
	count     [][]int32 // [row][day+1]; the last row is the city
	victims   [][]int32
}

func newCounter(in Input) *counter {
	need := Needed(in.Period, in.Periods)
	lo, hi := need.Start, need.End
	c := &counter{start: lo, days: Span{lo, hi}.Days(), dataStart: Date(in.DataStart)}
	if in.DataStart.IsZero() {
		c.dataStart = time.Time{}
	}
	rows := len(in.Areas) + 2
	c.count, c.victims = make([][]int32, rows), make([][]int32, rows)
	for i := range rows {
		c.count[i], c.victims[i] = make([]int32, c.days+1), make([]int32, c.days+1)
	}
	rowOf := make(map[string]int, len(in.Areas))
	for i, a := range in.Areas {
		rowOf[a.Code] = i
	}
	kinds := map[geo.Kind]bool{}
	for _, k := range in.Kinds {
		kinds[k] = true
	}
	city := rows - 1
	for _, dc := range in.Counts {
		if len(kinds) > 0 && !kinds[dc.Kind] {
			continue
		}
		d := int(Date(dc.Day).Sub(lo).Hours() / 24)
		if d < 0 || d >= c.days {
			continue
		}
		i, ok := rowOf[dc.Area]
		if !ok {
			i = len(in.Areas) // "" and codes no longer in the layer
		}
		c.count[i][d+1] += int32(dc.Count)
		c.victims[i][d+1] += int32(dc.Victims)
		c.count[city][d+1] += int32(dc.Count)
		c.victims[city][d+1] += int32(dc.Victims)
	}
	for i := range rows {
		for d := 1; d <= c.days; d++ {
			c.count[i][d] += c.count[i][d-1]
			c.victims[i][d] += c.victims[i][d-1]
		}
	}
	return c
}

func (c *counter) index(t time.Time) int {
	d := int(t.Sub(c.start).Hours()/24 + 0.5)
	return min(max(d, 0), c.days)
}

// sum returns the count in row i over s and whether the data cover s.
func (c *counter) sum(i int, s Span) (int, bool) {
	known := c.dataStart.IsZero() || !s.Start.Before(c.dataStart)
	return int(c.count[i][c.index(s.End)] - c.count[i][c.index(s.Start)]), known
}

func (c *counter) victimSum(i int, s Span) int {
	return int(c.victims[i][c.index(s.End)] - c.victims[i][c.index(s.Start)])
}

type builder struct {
	in       Input
	c        *counter
	raw      [][]int
	mask     Mask
	unstable int
	city     []int // city total per period
	grand    int
}

func (b *builder) cityTotals() {
	b.city = make([]int, len(b.in.Periods))
	for j, p := range b.in.Periods {
		b.city[j], _ = b.c.sum(len(b.in.Areas)+1, p.Span)
		b.grand += b.city[j]
	}
}

// shown reports whether a public caller may see value, a count of row i
// over window w: as the table decided when w is one of its periods,
// otherwise by the primary rule alone.
func (b *builder) shown(i int, w Span, value int) bool {
	k := b.in.SuppressBelow
	if k <= 1 {
		return true
	}
	for j, p := range b.in.Periods {
		if p.Start.Equal(w.Start) && p.End.Equal(w.End) {
			if i > len(b.in.Areas) {
				return !b.mask.Cols[j]
			}
			return !b.mask.Cells[i][j]
		}
	}
	return value == 0 || value >= k
}

func (b *builder) row(i int, a geo.Area) Row {
	r := Row{Code: a.Code, Name: a.Name, Population: a.Population, PopulationYear: a.PopulationYear, Excluded: a.Excluded}
	for j, p := range b.in.Periods {
		r.Cells = append(r.Cells, b.cell(i, j, p, a.Population, b.mask.Cells[i][j]))
	}
	total := 0
	for _, v := range b.raw[i] {
		total += v
	}
	r.Total = b.totalCell(i, total, a.Population, b.mask.Rows[i])
	if !a.Excluded && b.grand > 0 && r.Total.Count != nil {
		r.Total.Share = ptr(float64(total) / float64(b.grand))
	}
	r.Trend = b.trend(b.raw[i], b.mask.Cells[i])
	return r
}

func (b *builder) cityRow() Row {
	n := len(b.in.Areas) + 1
	var pop *int
	year := 0
	for _, a := range b.in.Areas {
		if a.Population != nil {
			if pop == nil {
				pop = new(int)
			}
			*pop += *a.Population
			year = max(year, a.PopulationYear)
		}
	}
	r := Row{Code: "", Name: "City", Population: pop, PopulationYear: year}
	for j, p := range b.in.Periods {
		r.Cells = append(r.Cells, b.cell(n, j, p, pop, b.mask.Cols[j]))
	}
	r.Total = b.totalCell(n, b.grand, pop, b.mask.Grand)
	r.Trend = b.trend(b.city, b.mask.Cols)
	return r
}

func (b *builder) totalCell(i, total int, pop *int, hidden bool) Cell {
	if hidden {
		return Cell{Suppressed: true}
	}
	victims := 0
	for _, p := range b.in.Periods {
		victims += b.c.victimSum(i, p.Span)
	}
	c := Cell{Count: ptr(total), Victims: ptr(victims)}
	b.rates(&c, total, pop)
	return c
}

func (b *builder) rates(c *Cell, n int, pop *int) {
	if pop == nil || *pop <= 0 {
		return // unknown or zero population: a rate is undefined, never infinite
	}
	c.RatePer1k = ptr(float64(n) * 1e3 / float64(*pop))
	c.RatePer10k = ptr(float64(n) * 1e4 / float64(*pop))
	c.Unstable = n < b.unstable
}

// cell computes row i in period j; i == len(Areas)+1 is the city.
func (b *builder) cell(i, j int, p Period, pop *int, hidden bool) Cell {
	if hidden {
		return Cell{Suppressed: true}
	}
	n, _ := b.c.sum(i, p.Span)
	c := Cell{Count: ptr(n), Victims: ptr(b.c.victimSum(i, p.Span))}
	b.rates(&c, n, pop)
	if v, ok := b.compare(i, like(p, b.in.Period.before(p, 1))); ok {
		c.Prev, c.ChangePrev, c.ChangePrevPct = ptr(v), ptr(n-v), pct(float64(n), float64(v))
	}
	if v, ok := b.compare(i, like(p, b.in.Period.yearsBefore(p, 1))); ok {
		c.YearAgo, c.ChangeYearAgo, c.ChangeYearAgoPct = ptr(v), ptr(n-v), pct(float64(n), float64(v))
	}
	sum, ok := 0, true
	for y := 1; y <= BaselineYears && ok; y++ {
		var v int
		v, ok = b.compare(i, like(p, b.in.Period.yearsBefore(p, y)))
		sum += v
	}
	if ok {
		mean := float64(sum) / BaselineYears
		c.Baseline, c.ChangeBaselinePct = ptr(mean), pct(float64(n), mean)
	}
	if i < len(b.in.Areas) && !b.in.Areas[i].Excluded || i == len(b.in.Areas) {
		if b.city[j] > 0 {
			c.Share = ptr(float64(n) / float64(b.city[j]))
		}
	}
	return c
}

// compare returns the count of row i over w if the data cover it and the
// caller may see it.
func (b *builder) compare(i int, w Span) (int, bool) {
	v, known := b.c.sum(i, w)
	if !known || !b.shown(i, w, v) {
		return 0, false
	}
	return v, true
}

func (b *builder) trend(series []int, hidden []bool) *Trend {
	var x []float64
	for j, p := range b.in.Periods {
		if p.Partial {
			continue
		}
		if hidden[j] {
			return nil // a trend over hidden values would hint at them
		}
		x = append(x, float64(series[j]))
	}
	if len(x) < MinTrendPeriods {
		return nil
	}
	res, err := trend.MannKendall(x)
	if err != nil {
		return nil
	}
	t := &Trend{N: res.N, S: res.S, TauB: finite(res.TauB), Direction: "no trend"}
	p := res.PExact
	if math.IsNaN(p) {
		p = res.PCC
	}
	if t.P = finite(p); t.P != nil && p < TrendAlpha {
		t.Direction = "increasing"
		if res.S < 0 {
			t.Direction = "decreasing"
		}
	}
	return t
}

// rank sets Rank and RankRate of every shown cell and total among the
// areas that are not excluded, on the true counts (ties share a rank).
func (b *builder) rank(t *Table) {
	var ranked []int
	for i, a := range b.in.Areas {
		if !a.Excluded {
			ranked = append(ranked, i)
		}
	}
	for j := range b.in.Periods {
		counts, rates := make([]float64, len(ranked)), make([]float64, len(ranked))
		for k, i := range ranked {
			counts[k], rates[k] = float64(b.raw[i][j]), rate(b.raw[i][j], b.in.Areas[i].Population)
		}
		for k, i := range ranked {
			setRanks(&t.Areas[i].Cells[j], counts, rates, k)
		}
	}
	counts, rates := make([]float64, len(ranked)), make([]float64, len(ranked))
	for k, i := range ranked {
		total := 0
		for _, v := range b.raw[i] {
			total += v
		}
		counts[k], rates[k] = float64(total), rate(total, b.in.Areas[i].Population)
	}
	for k, i := range ranked {
		setRanks(&t.Areas[i].Total, counts, rates, k)
	}
}

func setRanks(c *Cell, counts, rates []float64, k int) {
	if c.Count == nil {
		return
	}
	c.Rank = ptr(rankOf(counts, k))
	if !math.IsNaN(rates[k]) {
		c.RankRate = ptr(rankOf(rates, k))
	}
}

// rankOf is 1 + the number of values above values[k]; NaN never counts.
func rankOf(values []float64, k int) int {
	r := 1
	for _, v := range values {
		if v > values[k] {
			r++
		}
	}
	return r
}

func rate(n int, pop *int) float64 {
	if pop == nil || *pop <= 0 {
		return math.NaN()
	}
	return float64(n) / float64(*pop)
}

// pct is the change from old to cur in percent, nil when old is 0.
func pct(cur, old float64) *float64 {
	if old == 0 {
		return nil
	}
	return ptr((cur - old) / old * 100)
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func ptr[T any](v T) *T { return &v }

package indicator

import (
	"math"
	"time"

	"hotspots/geo"
)

// Goal is a reduction target: the count of Kinds should fall by
// AnnualReduction (0.15 = 15%) every year after BaselineYear. Baltimore's
// plan sets 15% a year in fatal and non-fatal shootings.
type Goal struct {
	Kinds           []geo.Kind `json:"kinds"`
	BaselineYear    int        `json:"baseline_year"`
	AnnualReduction float64    `json:"annual_reduction"`
}

// Validate checks the goal is usable.
func (g Goal) Validate() error {
	switch {
	case len(g.Kinds) == 0:
		return geo.FieldErrorf("target_kinds", "a target needs at least one kind")
	case g.BaselineYear < 1900 || g.BaselineYear > 2200:
		return geo.FieldErrorf("target_baseline", "baseline year %d out of range", g.BaselineYear)
	case !(g.AnnualReduction >= 0 && g.AnnualReduction < 1):
		return geo.FieldErrorf("target_reduction", "annual reduction %v must be at least 0 and below 1", g.AnnualReduction)
	}
	return nil
}

// TargetFor is the goal's count for year: baseline*(1-r)^(year-baselineYear).
func (g Goal) TargetFor(baseline float64, year int) float64 {
	return baseline * math.Pow(1-g.AnnualReduction, float64(year-g.BaselineYear))
}

// TargetInput is what Targets needs.
type TargetInput struct {
	Areas  []geo.Area
	Counts []geo.AreaDayCount // daily counts covering the baseline year and Year
	Goal   Goal
	Year   int
	// AsOf is the first day not counted yet (the day after the last day of
	// data); a year in progress is pro-rated to it.
	AsOf          time.Time
	SuppressBelow int
}

// TargetTable is the progress of every area toward the goal in one year.
type TargetTable struct {
	Goal Goal `json:"goal"`
	Year int  `json:"year"`
	// Through is the last day counted; Fraction the share of the year up to
	// it, by which annual figures are pro-rated.
	Through    time.Time   `json:"through"`
	Fraction   float64     `json:"fraction_of_year"`
	Areas      []TargetRow `json:"areas"`
	Unassigned TargetRow   `json:"unassigned"`
	City       TargetRow   `json:"city"`
}

// TargetRow is one area's progress. Pointers are nil when withheld from the
// public or undefined.
type TargetRow struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Excluded bool   `json:"excluded,omitempty"`
	// Baseline is the count in the baseline year; Target the year's goal.
	Baseline *int     `json:"baseline"`
	Target   *float64 `json:"target"`
	// TargetToDate is Target pro-rated to Through; Actual the count from
	// 1 January to Through.
	TargetToDate *float64 `json:"target_to_date"`
	Actual       *int     `json:"actual"`
	// OnTrack: Actual is at or below TargetToDate.
	OnTrack *bool `json:"on_track"`
	// ChangePct is Actual against the baseline pro-rated the same way.
	ChangePct  *float64 `json:"change_vs_baseline_pct"`
	Suppressed bool     `json:"suppressed,omitempty"`
}

// Targets tracks every area's progress toward the goal in in.Year. The
// year-to-date comparison is pro-rated by days: by the end of March a 12
// month target is a quarter used. The public rule of Suppress applies to
// the table of baseline and actual counts.
func Targets(in TargetInput) (*TargetTable, error) {
	if err := in.Goal.Validate(); err != nil {
		return nil, err
	}
	if in.Year < in.Goal.BaselineYear {
		return nil, geo.FieldErrorf("year", "year %d is before the target's baseline year %d", in.Year, in.Goal.BaselineYear)
	}
	yearStart := time.Date(in.Year, 1, 1, 0, 0, 0, 0, time.UTC)
	yearEnd := yearStart.AddDate(1, 0, 0)
	asOf := Date(in.AsOf)
	if !asOf.After(yearStart) {
		return nil, geo.FieldErrorf("to", "no data yet in %d", in.Year)
	}
	if asOf.After(yearEnd) {
		asOf = yearEnd
	}
	base := Span{time.Date(in.Goal.BaselineYear, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(in.Goal.BaselineYear+1, 1, 1, 0, 0, 0, 0, time.UTC)}
	actual := Span{yearStart, asOf}
	c := newCounter(Input{Areas: in.Areas, Counts: in.Counts, Kinds: in.Goal.Kinds, Period: Custom,
		Periods: []Period{{Span: Span{base.Start, asOf}, Full: Span{base.Start, asOf}}}})
	tt := &TargetTable{Goal: in.Goal, Year: in.Year, Through: asOf.AddDate(0, 0, -1),
		Fraction: float64(actual.Days()) / float64(Span{yearStart, yearEnd}.Days())}
	n := len(in.Areas) + 1
	raw := make([][]int, n)
	for i := range raw {
		b, _ := c.sum(i, base)
		a, _ := c.sum(i, actual)
		raw[i] = []int{b, a}
	}
	k := in.SuppressBelow
	if k <= 1 {
		k = 0
	}
	m := Suppress(raw, k)
	row := func(i int, a geo.Area, hidden []bool) TargetRow {
		r := TargetRow{Code: a.Code, Name: a.Name, Excluded: a.Excluded}
		b, _ := c.sum(i, base)
		x, _ := c.sum(i, actual)
		tt.fill(&r, b, x, hidden[0], hidden[1])
		return r
	}
	for i, a := range in.Areas {
		tt.Areas = append(tt.Areas, row(i, a, m.Cells[i]))
	}
	tt.Unassigned = row(n-1, geo.Area{Name: "In no area"}, m.Cells[n-1])
	tt.City = row(n, geo.Area{Name: "City"}, m.Cols)
	return tt, nil
}

func (tt *TargetTable) fill(r *TargetRow, baseline, actual int, hideBase, hideActual bool) {
	r.Suppressed = hideBase || hideActual
	if !hideBase {
		r.Baseline = ptr(baseline)
		r.Target = ptr(tt.Goal.TargetFor(float64(baseline), tt.Year))
		r.TargetToDate = ptr(*r.Target * tt.Fraction)
	}
	if !hideActual {
		r.Actual = ptr(actual)
	}
	if r.Suppressed {
		return
	}
	r.OnTrack = ptr(float64(actual) <= *r.TargetToDate+1e-9)
	r.ChangePct = pct(float64(actual), float64(baseline)*tt.Fraction)
}

package indicator

import (
	"slices"
	"time"

	"hotspots/geo"
)

// PeriodKind is how a date range is cut into periods.
type PeriodKind string

// Period kinds. Weeks are ISO weeks (Monday to Sunday); the others are
// calendar months, quarters and years; custom is the requested range as a
// single period.
const (
	Week    PeriodKind = "week"
	Month   PeriodKind = "month"
	Quarter PeriodKind = "quarter"
	Year    PeriodKind = "year"
	Custom  PeriodKind = "custom"
)

// MaxPeriods bounds how many periods one computation may have, so a request
// for ten years of weeks per neighborhood stays cheap.
const MaxPeriods = 600

// ParsePeriodKind parses a period name.
func ParsePeriodKind(s string) (PeriodKind, error) {
	switch k := PeriodKind(s); k {
	case Week, Month, Quarter, Year, Custom:
		return k, nil
	}
	return "", geo.FieldErrorf("period", "unknown period %q (week, month, quarter, year, custom)", s)
}

// Span is a half-open range of days [Start, End), each at 00:00 UTC of a
// calendar date, like geo.Incident.Day.
type Span struct {
	Start, End time.Time
}

// Days is the number of days in the span.
func (s Span) Days() int { return int(s.End.Sub(s.Start).Hours()/24 + 0.5) }

// Period is one column of an indicator table.
type Period struct {
	Span
	// Full is the whole calendar period; it differs from Span only for the
	// last period when the range ends inside it.
	Full Span
	// Partial marks a period cut short by the end of the range (the month so
	// far). Its comparisons use windows of the same length, and trends leave
	// it out.
	Partial bool
}

// Date truncates t to its calendar date at 00:00 UTC.
func Date(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Periods cuts [from, to) into periods of kind k. from is moved back to the
// start of its period, so every period but the last is whole; the last is
// partial when to falls inside it.
func Periods(k PeriodKind, from, to time.Time) ([]Period, error) {
	from, to = Date(from), Date(to)
	if !from.Before(to) {
		return nil, geo.FieldErrorf("to", "to (%s) must be after from (%s)", to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	if k == Custom {
		s := Span{from, to}
		return []Period{{Span: s, Full: s}}, nil
	}
	var out []Period
	for start := k.floor(from); start.Before(to); start = k.next(start) {
		if len(out) == MaxPeriods {
			return nil, geo.FieldErrorf("from", "more than %d %s periods from %s to %s", MaxPeriods, k,
				from.Format(time.DateOnly), to.Format(time.DateOnly))
		}
		full := Span{start, k.next(start)}
		p := Period{Span: full, Full: full}
		if to.Before(full.End) {
			p.End, p.Partial = to, true
		}
		out = append(out, p)
	}
	return out, nil
}

// floor returns the start of the period holding d.
func (k PeriodKind) floor(d time.Time) time.Time {
	y, m, _ := d.Date()
	switch k {
	case Week:
		wd := (int(d.Weekday()) + 6) % 7 // Monday = 0
		return d.AddDate(0, 0, -wd)
	case Month:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	case Quarter:
		return time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, time.UTC)
	case Year:
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return d
}

// next returns the start of the period after the one starting at start.
func (k PeriodKind) next(start time.Time) time.Time {
	switch k {
	case Week:
		return start.AddDate(0, 0, 7)
	case Month:
		return start.AddDate(0, 1, 0)
	case Quarter:
		return start.AddDate(0, 3, 0)
	case Year:
		return start.AddDate(1, 0, 0)
	}
	return start
}

// before returns the whole period n periods before p (for custom periods:
// the range of the same length ending where p starts).
func (k PeriodKind) before(p Period, n int) Span {
	if k == Custom {
		d := p.Full.Days() * n
		return Span{p.Full.Start.AddDate(0, 0, -d), p.Full.End.AddDate(0, 0, -d)}
	}
	start := p.Full.Start
	for range n {
		start = k.floor(start.AddDate(0, 0, -1))
	}
	return Span{start, k.next(start)}
}

// yearsBefore returns the same period n years earlier: the same calendar
// month, quarter or year, the week 52n weeks earlier (so weekdays line up),
// or the custom range moved by n years.
func (k PeriodKind) yearsBefore(p Period, n int) Span {
	switch k {
	case Week:
		return Span{p.Full.Start.AddDate(0, 0, -364*n), p.Full.End.AddDate(0, 0, -364*n)}
	case Custom:
		return Span{p.Full.Start.AddDate(-n, 0, 0), p.Full.End.AddDate(-n, 0, 0)}
	}
	start := p.Full.Start.AddDate(-n, 0, 0)
	return Span{start, k.next(start)}
}

// like returns the window of full comparable to p: all of it for a whole
// period, and for a partial one the same number of days from its start, so
// "this month so far" is compared with the same days of other months.
func like(p Period, full Span) Span {
	if !p.Partial {
		return full
	}
	end := full.Start.AddDate(0, 0, p.Days())
	if end.After(full.End) {
		end = full.End
	}
	return Span{full.Start, end}
}

// Back returns the start of the period n-1 periods before the one holding
// the day before to, so that Periods(k, Back(k, to, n), to) gives n
// periods. A custom period reaches back n*365 days.
func Back(k PeriodKind, to time.Time, n int) time.Time {
	to = Date(to)
	if k == Custom {
		return to.AddDate(0, 0, -365*n)
	}
	start := k.floor(to.AddDate(0, 0, -1))
	for range n - 1 {
		start = k.floor(start.AddDate(0, 0, -1))
	}
	return start
}

// Needed returns the days Compute reads for these periods: the periods
// themselves, the period before each and the same periods BaselineYears
// back. Callers fetch counts for this span.
func Needed(k PeriodKind, ps []Period) Span {
	if len(ps) == 0 {
		return Span{}
	}
	s := Span{ps[0].Full.Start, ps[len(ps)-1].End}
	for _, p := range ps {
		for _, w := range []Span{k.before(p, 1), k.yearsBefore(p, BaselineYears)} {
			if w.Start.Before(s.Start) {
				s.Start = w.Start
			}
		}
	}
	return s
}

// Edges returns every day on which a window Compute reads for these
// periods starts or ends, sorted and distinct: counts binned between
// consecutive edges (see geo.AreaBinCounter) give Compute exactly the sums
// daily counts would.
func Edges(k PeriodKind, ps []Period) []time.Time {
	var out []time.Time
	add := func(s Span) { out = append(out, s.Start, s.End) }
	for _, p := range ps {
		add(p.Span)
		add(like(p, k.before(p, 1)))
		for y := 1; y <= BaselineYears; y++ {
			add(like(p, k.yearsBefore(p, y)))
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return slices.CompactFunc(out, time.Time.Equal)
}

// Bin sums daily counts into the bins between consecutive edges, each
// reported at its bin's first day; days outside [edges[0], last edge) are
// dropped. It is what a geo.AreaBinCounter returns, for stores that bin in
// Go and for tests.
func Bin(counts []geo.AreaDayCount, edges []time.Time) []geo.AreaDayCount {
	type key struct {
		area string
		bin  int
		kind geo.Kind
	}
	sums := map[key]*geo.AreaDayCount{}
	var order []key
	for _, c := range counts {
		d := Date(c.Day)
		i, found := slices.BinarySearchFunc(edges, d, time.Time.Compare)
		if !found {
			i-- // the bin starting at the edge before d
		}
		if i < 0 || i >= len(edges)-1 {
			continue
		}
		k := key{c.Area, i, c.Kind}
		s, ok := sums[k]
		if !ok {
			s = &geo.AreaDayCount{Area: c.Area, Day: edges[i], Kind: c.Kind}
			sums[k] = s
			order = append(order, k)
		}
		s.Count += c.Count
		s.Victims += c.Victims
	}
	out := make([]geo.AreaDayCount, 0, len(order))
	for _, k := range order {
		out = append(out, *sums[k])
	}
	return out
}

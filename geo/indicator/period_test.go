package indicator

import (
	"errors"
	"testing"
	"time"

	"hotspots/geo"
)

func d(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func spans(ps []Period) []string {
	var out []string
	for _, p := range ps {
		s := p.Start.Format(time.DateOnly) + ".." + p.End.Format(time.DateOnly)
		if p.Partial {
			s += "*"
		}
		out = append(out, s)
	}
	return out
}

func TestPeriods(t *testing.T) {
	tests := []struct {
		name     string
		k        PeriodKind
		from, to string
		want     []string
	}{
		{"months", Month, "2024-01-01", "2024-04-01", []string{"2024-01-01..2024-02-01", "2024-02-01..2024-03-01", "2024-03-01..2024-04-01"}},
		{"from snapped to month start, last partial", Month, "2024-01-15", "2024-03-10", []string{"2024-01-01..2024-02-01", "2024-02-01..2024-03-01", "2024-03-01..2024-03-10*"}},
		{"ISO weeks start on Monday", Week, "2024-01-03", "2024-01-15", []string{"2024-01-01..2024-01-08", "2024-01-08..2024-01-15"}},
		{"week across the new year", Week, "2020-12-30", "2021-01-04", []string{"2020-12-28..2021-01-04"}},
		{"quarters", Quarter, "2023-05-05", "2024-01-01", []string{"2023-04-01..2023-07-01", "2023-07-01..2023-10-01", "2023-10-01..2024-01-01"}},
		{"year in progress", Year, "2016-01-01", "2017-07-02", []string{"2016-01-01..2017-01-01", "2017-01-01..2017-07-02*"}},
		{"custom is one period", Custom, "2024-02-10", "2024-03-20", []string{"2024-02-10..2024-03-20"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := Periods(tt.k, d(tt.from), d(tt.to))
			if err != nil {
				t.Fatal(err)
			}
			got := spans(ps)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("period %d = %s, want %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestPeriodsErrors(t *testing.T) {
	tests := []struct {
		name     string
		k        PeriodKind
		from, to string
		field    string
	}{
		{"empty range", Month, "2024-01-01", "2024-01-01", "to"},
		{"reversed", Month, "2024-02-01", "2024-01-01", "to"},
		{"too many", Week, "2000-01-01", "2024-01-01", "from"},
	}
	for _, tt := range tests {
		_, err := Periods(tt.k, d(tt.from), d(tt.to))
		var e *geo.Error
		if geo.ErrorCode(err) != geo.EINVALID || !asError(err, &e) || e.Field != tt.field {
			t.Errorf("%s: error %v, want invalid %s", tt.name, err, tt.field)
		}
	}
	if _, err := ParsePeriodKind("fortnight"); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("ParsePeriodKind: %v", err)
	}
}

func asError(err error, e **geo.Error) bool { return errors.As(err, e) }

func TestComparisonWindows(t *testing.T) {
	ps, _ := Periods(Month, d("2024-03-01"), d("2024-03-11"))
	p := ps[0] // March 1-10, partial
	tests := []struct {
		name string
		got  Span
		want string
	}{
		{"previous month, same 10 days", like(p, Month.before(p, 1)), "2024-02-01..2024-02-11"},
		{"a year before", like(p, Month.yearsBefore(p, 1)), "2023-03-01..2023-03-11"},
		{"three years before", like(p, Month.yearsBefore(p, 3)), "2021-03-01..2021-03-11"},
	}
	for _, tt := range tests {
		if s := tt.got.Start.Format(time.DateOnly) + ".." + tt.got.End.Format(time.DateOnly); s != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, s, tt.want)
		}
	}
	// A partial 30-day window compared with February is cut at its end.
	ps, _ = Periods(Month, d("2024-03-01"), d("2024-03-31"))
	if w := like(ps[0], Month.before(ps[0], 1)); !w.End.Equal(d("2024-03-01")) {
		t.Errorf("February window ends %v", w.End)
	}
	wk, _ := Periods(Week, d("2024-01-08"), d("2024-01-15"))
	if w := Week.yearsBefore(wk[0], 1); w.Start.Weekday() != time.Monday || !w.Start.Equal(d("2023-01-09")) {
		t.Errorf("week a year before starts %v", w.Start)
	}
	q, _ := Periods(Quarter, d("2024-01-01"), d("2024-04-01"))
	if w := Quarter.before(q[0], 1); !w.Start.Equal(d("2023-10-01")) || !w.End.Equal(d("2024-01-01")) {
		t.Errorf("previous quarter %v", w)
	}
	c, _ := Periods(Custom, d("2024-01-11"), d("2024-01-21"))
	if w := Custom.before(c[0], 1); !w.Start.Equal(d("2024-01-01")) || !w.End.Equal(d("2024-01-11")) {
		t.Errorf("previous custom range %v", w)
	}
}

func TestBackAndNeeded(t *testing.T) {
	tests := []struct {
		k            PeriodKind
		to           string
		n            int
		from, needed string
	}{
		{Month, "2025-01-01", 12, "2024-01-01", "2021-01-01"},
		{Month, "2024-03-11", 3, "2024-01-01", "2021-01-01"},
		{Week, "2024-01-15", 2, "2024-01-01", "2021-01-04"},
		{Year, "2017-01-01", 1, "2016-01-01", "2013-01-01"},
		{Quarter, "2024-04-01", 4, "2023-04-01", "2020-04-01"},
	}
	for _, tt := range tests {
		from := Back(tt.k, d(tt.to), tt.n)
		ps, err := Periods(tt.k, from, d(tt.to))
		if err != nil {
			t.Fatal(err)
		}
		need := Needed(tt.k, ps)
		if from.Format(time.DateOnly) != tt.from || len(ps) != tt.n || need.Start.Format(time.DateOnly) != tt.needed || !need.End.Equal(d(tt.to)) {
			t.Errorf("%s back %d from %s: from %s, %d periods, needed from %s", tt.k, tt.n, tt.to, from.Format(time.DateOnly), len(ps), need.Start.Format(time.DateOnly))
		}
	}
}

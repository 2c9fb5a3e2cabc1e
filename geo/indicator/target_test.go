package indicator

import (
	"math"
	"testing"

	"hotspots/geo"
)

func TestTargets(t *testing.T) {
	areas := []geo.Area{{Code: "a", Name: "A"}, {Code: "b", Name: "B"}, {Code: "z", Name: "Zero"}}
	f, nf := geo.KindShootingFatal, geo.KindShootingNonFatal
	counts := []geo.AreaDayCount{
		{Area: "a", Day: d("2016-03-01"), Kind: f, Count: 40},
		{Area: "a", Day: d("2016-09-01"), Kind: nf, Count: 60},
		{Area: "a", Day: d("2016-09-01"), Kind: geo.KindHomicide, Count: 500}, // not a target kind
		{Area: "a", Day: d("2018-02-01"), Kind: nf, Count: 30},
		{Area: "a", Day: d("2018-07-02"), Kind: nf, Count: 50}, // after AsOf
		{Area: "b", Day: d("2016-05-01"), Kind: f, Count: 20},
		{Area: "b", Day: d("2018-03-01"), Kind: f, Count: 15},
		{Area: "", Day: d("2018-03-01"), Kind: f, Count: 2},
	}
	goal := Goal{Kinds: []geo.Kind{f, nf}, BaselineYear: 2016, AnnualReduction: 0.15}
	tt, err := Targets(TargetInput{Areas: areas, Counts: counts, Goal: goal, Year: 2018, AsOf: d("2018-07-02")})
	if err != nil {
		t.Fatal(err)
	}
	frac := 182.0 / 365 // 1 January to 1 July 2018
	a, b, z := tt.Areas[0], tt.Areas[1], tt.Areas[2]
	checks := []struct {
		name string
		ok   bool
	}{
		{"fraction", math.Abs(tt.Fraction-frac) < 1e-12 && tt.Through.Equal(d("2018-07-01"))},
		{"a baseline", eqi(a.Baseline, 100)},
		{"a target 100*0.85^2", eqf(a.Target, 72.25)},
		{"a target to date", eqf(a.TargetToDate, 72.25*frac)},
		{"a actual to date", eqi(a.Actual, 30)},
		{"a on track (30 <= 36.0)", a.OnTrack != nil && *a.OnTrack},
		{"a change vs pro-rated baseline", eqf(a.ChangePct, (30/(100*frac)-1)*100)},
		{"b off track (15 > 7.2)", b.OnTrack != nil && !*b.OnTrack && eqf(b.Target, 20*0.85*0.85)},
		{"zero baseline: target 0, on track only at 0", eqi(z.Baseline, 0) && eqf(z.Target, 0) && *z.OnTrack && z.ChangePct == nil},
		{"unassigned", eqi(tt.Unassigned.Actual, 2)},
		{"city", eqi(tt.City.Baseline, 120) && eqi(tt.City.Actual, 47)},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: a=%+v b=%+v", c.name, a, b)
		}
	}
	if got := goal.TargetFor(100, 2016); got != 100 {
		t.Errorf("target in baseline year %v", got)
	}
}

func TestTargetsFullYearAndPublic(t *testing.T) {
	areas := []geo.Area{{Code: "a"}, {Code: "b"}, {Code: "c"}}
	k := geo.KindShootingFatal
	counts := []geo.AreaDayCount{
		{Area: "a", Day: d("2016-03-01"), Kind: k, Count: 50},
		{Area: "a", Day: d("2017-03-01"), Kind: k, Count: 45},
		{Area: "b", Day: d("2016-03-01"), Kind: k, Count: 3},
		{Area: "b", Day: d("2017-03-01"), Kind: k, Count: 30},
		{Area: "c", Day: d("2016-03-01"), Kind: k, Count: 25},
		{Area: "c", Day: d("2017-03-01"), Kind: k, Count: 20},
	}
	goal := Goal{Kinds: []geo.Kind{k}, BaselineYear: 2016, AnnualReduction: 0.15}
	tt, err := Targets(TargetInput{Areas: areas, Counts: counts, Goal: goal, Year: 2017, AsOf: d("2020-01-01"), SuppressBelow: 11})
	if err != nil {
		t.Fatal(err)
	}
	if tt.Fraction != 1 || !tt.Through.Equal(d("2017-12-31")) {
		t.Errorf("past year: fraction %v through %v", tt.Fraction, tt.Through)
	}
	if b := tt.Areas[1]; !b.Suppressed || b.Baseline != nil || b.Target != nil || b.OnTrack != nil {
		t.Errorf("b with a baseline of 3 shown: %+v", b)
	}
	hidden := 0
	for _, r := range tt.Areas {
		if r.Baseline == nil {
			hidden++
		}
	}
	if hidden < 2 {
		t.Errorf("only %d baselines hidden: b's could be derived from the city total", hidden)
	}
}

func TestTargetsErrors(t *testing.T) {
	good := Goal{Kinds: []geo.Kind{geo.KindShootingFatal}, BaselineYear: 2016, AnnualReduction: 0.15}
	tests := []struct {
		name  string
		goal  Goal
		year  int
		asOf  string
		field string
	}{
		{"no kinds", Goal{BaselineYear: 2016, AnnualReduction: 0.1}, 2017, "2017-06-01", "target_kinds"},
		{"reduction 1", Goal{Kinds: good.Kinds, BaselineYear: 2016, AnnualReduction: 1}, 2017, "2017-06-01", "target_reduction"},
		{"negative reduction", Goal{Kinds: good.Kinds, BaselineYear: 2016, AnnualReduction: -0.1}, 2017, "2017-06-01", "target_reduction"},
		{"year before baseline", good, 2015, "2017-06-01", "year"},
		{"year not started", good, 2018, "2018-01-01", "to"},
	}
	for _, tt := range tests {
		_, err := Targets(TargetInput{Goal: tt.goal, Year: tt.year, AsOf: d(tt.asOf)})
		var e *geo.Error
		if !asError(err, &e) || e.Field != tt.field {
			t.Errorf("%s: %v, want field %s", tt.name, err, tt.field)
		}
	}
}

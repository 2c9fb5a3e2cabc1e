package indicator

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"hotspots/geo"
)

func ip(v int) *int { return &v }

// fixture: four areas (a: 1,000 residents, b: none, c: unknown, j: excluded)
// and incidents placed on single days, so every expected figure below can
// be worked out by hand.
func fixture() ([]geo.Area, []geo.AreaDayCount) {
	areas := []geo.Area{
		{Code: "a", Name: "A", Population: ip(1000), PopulationYear: 2020},
		{Code: "b", Name: "B", Population: ip(0), PopulationYear: 2020},
		{Code: "c", Name: "C"},
		{Code: "j", Name: "Jail", Excluded: true},
	}
	k := geo.KindShootingFatal
	counts := []geo.AreaDayCount{
		{Area: "a", Day: d("2021-01-20"), Kind: k, Count: 15, Victims: 15},
		{Area: "a", Day: d("2022-01-20"), Kind: k, Count: 10, Victims: 10},
		{Area: "a", Day: d("2023-01-20"), Kind: k, Count: 5, Victims: 5},
		{Area: "a", Day: d("2023-12-01"), Kind: k, Count: 20, Victims: 20},
		{Area: "a", Day: d("2024-01-05"), Kind: k, Count: 25, Victims: 30},
		{Area: "a", Day: d("2024-01-05"), Kind: geo.KindDrugArrest, Count: 100, Victims: 0},
		{Area: "a", Day: d("2024-02-03"), Kind: k, Count: 10, Victims: 10},
		{Area: "a", Day: d("2024-03-10"), Kind: k, Count: 40, Victims: 41},
		{Area: "b", Day: d("2024-01-31"), Kind: k, Count: 3, Victims: 3},
		{Area: "b", Day: d("2024-03-01"), Kind: k, Count: 12, Victims: 12},
		{Area: "c", Day: d("2024-01-10"), Kind: k, Count: 12, Victims: 12},
		{Area: "c", Day: d("2024-02-10"), Kind: k, Count: 12, Victims: 12},
		{Area: "c", Day: d("2024-03-31"), Kind: k, Count: 12, Victims: 12},
		{Area: "j", Day: d("2024-01-02"), Kind: k, Count: 2, Victims: 2},
		{Area: "", Day: d("2024-01-02"), Kind: k, Count: 1, Victims: 1},
		{Area: "gone", Day: d("2024-04-01"), Kind: k, Count: 99, Victims: 99}, // after the range
	}
	return areas, counts
}

func mustCompute(t *testing.T, in Input) *Table {
	t.Helper()
	tb, err := Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func q1(t *testing.T) Input {
	areas, counts := fixture()
	ps, err := Periods(Month, d("2024-01-01"), d("2024-04-01"))
	if err != nil {
		t.Fatal(err)
	}
	return Input{Areas: areas, Counts: counts, Kinds: []geo.Kind{geo.KindShootingFatal}, Period: Month, Periods: ps}
}

func eqi(p *int, v int) bool         { return p != nil && *p == v }
func eqf(p *float64, v float64) bool { return p != nil && math.Abs(*p-v) < 1e-9 }

func TestCompute(t *testing.T) {
	tb := mustCompute(t, q1(t))
	a, b, c, j := tb.Areas[0], tb.Areas[1], tb.Areas[2], tb.Areas[3]
	aJan, aFeb := a.Cells[0], a.Cells[1]
	tests := []struct {
		name string
		ok   bool
	}{
		{"a Jan count (drug arrests left out)", eqi(aJan.Count, 25)},
		{"a Jan victims", eqi(aJan.Victims, 30)},
		{"a Jan rate per 1k", eqf(aJan.RatePer1k, 25)},
		{"a Jan rate per 10k", eqf(aJan.RatePer10k, 250)},
		{"a Jan stable (25 >= 20)", !aJan.Unstable},
		{"a Feb unstable (10 < 20)", aFeb.Unstable},
		{"a Jan prev = Dec 2023", eqi(aJan.Prev, 20) && eqi(aJan.ChangePrev, 5) && eqf(aJan.ChangePrevPct, 25)},
		{"a Feb change", eqi(aFeb.Prev, 25) && eqi(aFeb.ChangePrev, -15) && eqf(aFeb.ChangePrevPct, -60)},
		{"a Jan year ago", eqi(aJan.YearAgo, 5) && eqi(aJan.ChangeYearAgo, 20) && eqf(aJan.ChangeYearAgoPct, 400)},
		{"a Jan 3-year baseline", eqf(aJan.Baseline, 10) && eqf(aJan.ChangeBaselinePct, 150)},
		{"a Feb baseline 0: no percent", eqf(aFeb.Baseline, 0) && aFeb.ChangeBaselinePct == nil},
		{"a Jan rank", eqi(aJan.Rank, 1) && eqi(aJan.RankRate, 1)},
		{"c Jan rank 2, no rate rank", eqi(c.Cells[0].Rank, 2) && c.Cells[0].RankRate == nil},
		{"b Jan rank 3", eqi(b.Cells[0].Rank, 3)},
		{"b Feb and c tie? no: b 0 rank 3, c 12 rank 1 after a's 10", eqi(b.Cells[1].Rank, 3) && eqi(c.Cells[1].Rank, 1) && eqi(a.Cells[1].Rank, 2)},
		{"a Jan share of 43", eqf(aJan.Share, 25.0/43)},
		{"zero population: no rate", b.Cells[0].RatePer1k == nil && b.Cells[0].RatePer10k == nil && !b.Cells[0].Unstable},
		{"unknown population: no rate", c.Cells[0].RatePer1k == nil},
		{"excluded: counted, not ranked, no share", eqi(j.Cells[0].Count, 2) && j.Cells[0].Rank == nil && j.Cells[0].Share == nil && j.Total.Rank == nil},
		{"unassigned row", eqi(tb.Unassigned.Cells[0].Count, 1) && eqf(tb.Unassigned.Cells[0].Share, 1.0/43)},
		{"city Jan total includes excluded and unassigned", eqi(tb.City.Cells[0].Count, 43)},
		{"city population = known populations", eqi(tb.City.Population, 1000) && eqf(tb.City.Cells[0].RatePer1k, 43)},
		{"city Mar", eqi(tb.City.Cells[2].Count, 64)},
		{"a total", eqi(a.Total.Count, 75) && eqi(a.Total.Victims, 81) && eqi(a.Total.Rank, 1) && eqf(a.Total.Share, 75.0/129)},
		{"city grand total", eqi(tb.City.Total.Count, 129)},
		{"no trend on 3 periods", a.Trend == nil},
		{"no suppression asked", tb.SuppressBelow == 0 && !b.Cells[0].Suppressed},
	}
	for _, tt := range tests {
		if !tt.ok {
			t.Errorf("%s: a=%+v", tt.name, a.Cells)
		}
	}
}

func TestComputeDataStart(t *testing.T) {
	in := q1(t)
	in.DataStart = d("2022-01-01")
	aJan := mustCompute(t, in).Areas[0].Cells[0]
	if aJan.Baseline != nil || !eqi(aJan.YearAgo, 5) {
		t.Errorf("baseline %v (want none: 2021 not covered), year ago %v", aJan.Baseline, aJan.YearAgo)
	}
}

func TestComputePartialPeriod(t *testing.T) {
	in := q1(t)
	in.Periods, _ = Periods(Month, d("2024-03-01"), d("2024-03-11"))
	tb := mustCompute(t, in)
	aMar := tb.Areas[0].Cells[0]
	// March 1-10 against February 1-10 (a: 10 on Feb 3) and March 1-10 2023.
	if !eqi(aMar.Count, 40) || !eqi(aMar.Prev, 10) || !eqi(aMar.YearAgo, 0) {
		t.Errorf("partial March: %+v", aMar)
	}
	if !eqi(tb.Areas[2].Cells[0].Count, 0) { // c's March incident is on the 31st
		t.Errorf("c partial March %v", tb.Areas[2].Cells[0].Count)
	}
}

func TestComputeTrend(t *testing.T) {
	areas := []geo.Area{{Code: "up", Population: ip(5000)}, {Code: "flat", Population: ip(5000)}, {Code: "down", Population: ip(5000)}}
	var counts []geo.AreaDayCount
	for m := range 12 {
		day := d("2023-01-15").AddDate(0, m, 0)
		counts = append(counts,
			geo.AreaDayCount{Area: "up", Day: day, Kind: geo.KindHomicide, Count: 20 + m},
			geo.AreaDayCount{Area: "flat", Day: day, Kind: geo.KindHomicide, Count: 30 + m%2},
			geo.AreaDayCount{Area: "down", Day: day, Kind: geo.KindHomicide, Count: 40 - 2*m})
	}
	ps, _ := Periods(Month, d("2023-01-01"), d("2024-01-10")) // 12 whole months + partial January
	tb := mustCompute(t, Input{Areas: areas, Counts: counts, Period: Month, Periods: ps})
	up, flat, down := tb.Areas[0].Trend, tb.Areas[1].Trend, tb.Areas[2].Trend
	// 12 strictly rising values: S = 66, tau = 1; the partial period (0 so
	// far) is left out, or it would break the run.
	if up == nil || up.N != 12 || up.S != 66 || !eqf(up.TauB, 1) || up.Direction != "increasing" || *up.P > 1e-6 {
		t.Errorf("up trend %+v", up)
	}
	if down == nil || down.S != -66 || down.Direction != "decreasing" {
		t.Errorf("down trend %+v", down)
	}
	if flat == nil || flat.Direction != "no trend" || *flat.P < 0.05 {
		t.Errorf("flat trend %+v", flat)
	}
}

// TestComputePublic checks what a public caller gets: small counts and
// everything built on them withheld, the complementary cells too, and no
// withheld value derivable from what is published.
func TestComputePublic(t *testing.T) {
	in := q1(t)
	in.SuppressBelow = 11
	tb := mustCompute(t, in)
	if tb.SuppressBelow != 11 {
		t.Errorf("SuppressBelow %d", tb.SuppressBelow)
	}
	rows := append(append([]Row{}, tb.Areas...), tb.Unassigned)
	var hid [][2]int
	for i, r := range rows {
		for j, c := range r.Cells {
			if c.Suppressed {
				hid = append(hid, [2]int{i, j})
				if c.Count != nil || c.Victims != nil || c.RatePer1k != nil || c.Rank != nil || c.Share != nil || c.Prev != nil || c.Baseline != nil {
					t.Errorf("row %s period %d hidden but leaks %+v", r.Code, j, c)
				}
			} else if c.Count == nil {
				t.Errorf("row %s period %d: no count and not suppressed", r.Code, j)
			} else if *c.Count >= 1 && *c.Count < 11 {
				t.Errorf("row %s period %d: small count %d shown", r.Code, j, *c.Count)
			}
		}
		if r.Total.Suppressed {
			hid = append(hid, [2]int{i, len(tb.Periods)})
		}
		if r.Trend != nil {
			for _, c := range r.Cells {
				if c.Suppressed {
					t.Errorf("row %s has a trend over hidden cells", r.Code)
				}
			}
		}
	}
	for j, c := range tb.City.Cells {
		if c.Suppressed {
			hid = append(hid, [2]int{len(rows), j})
		}
	}
	if tb.City.Total.Suppressed {
		hid = append(hid, [2]int{len(rows), len(tb.Periods)})
	}
	for k, dv := range derivable(len(rows), len(tb.Periods), hid) {
		if dv {
			t.Errorf("hidden entry %v derivable", hid[k])
		}
	}
	a := tb.Areas[0]
	if !a.Cells[1].Suppressed {
		t.Fatal("a Feb (10) shown")
	}
	if a.Cells[2].Count == nil || a.Cells[2].Prev != nil || a.Cells[2].ChangePrev != nil {
		t.Errorf("a Mar must show its count but not the change from hidden Feb: %+v", a.Cells[2])
	}
	if !a.Cells[0].Suppressed {
		t.Error("a Jan (25) must be hidden as the complement of a Feb in row a")
	}
	for _, r := range rows {
		for j, c := range r.Cells {
			for name, v := range map[string]*int{"prev": c.Prev, "year_ago": c.YearAgo} {
				if v != nil && *v >= 1 && *v < 11 {
					t.Errorf("row %s period %d: small %s %d shown", r.Code, j, name, *v)
				}
			}
			if j > 0 && c.Prev != nil && r.Cells[j-1].Suppressed {
				t.Errorf("row %s period %d: prev of a hidden cell shown", r.Code, j)
			}
		}
	}
}

// TestComputePublicComparisons: a shown count compared with a small count
// outside the table (a year before) shows no comparison to the public, but
// does to analysts.
func TestComputePublicComparisons(t *testing.T) {
	areas := []geo.Area{{Code: "x", Population: ip(100)}, {Code: "y", Population: ip(100)}}
	counts := []geo.AreaDayCount{
		{Area: "x", Day: d("2023-01-10"), Kind: geo.KindHomicide, Count: 4},
		{Area: "x", Day: d("2024-01-10"), Kind: geo.KindHomicide, Count: 30},
		{Area: "y", Day: d("2023-01-10"), Kind: geo.KindHomicide, Count: 12},
		{Area: "y", Day: d("2024-01-10"), Kind: geo.KindHomicide, Count: 30},
	}
	ps, _ := Periods(Month, d("2024-01-01"), d("2024-02-01"))
	in := Input{Areas: areas, Counts: counts, Period: Month, Periods: ps, SuppressBelow: 11}
	pub := mustCompute(t, in)
	x, y := pub.Areas[0].Cells[0], pub.Areas[1].Cells[0]
	if !eqi(x.Count, 30) || x.YearAgo != nil || x.ChangeYearAgoPct != nil || x.Baseline != nil {
		t.Errorf("public x: %+v", x)
	}
	if !eqi(y.YearAgo, 12) || !eqi(y.ChangeYearAgo, 18) {
		t.Errorf("public y: %+v", y)
	}
	in.SuppressBelow = 0
	if x := mustCompute(t, in).Areas[0].Cells[0]; !eqi(x.YearAgo, 4) {
		t.Errorf("analyst x: %+v", x)
	}
}

func TestComputeErrors(t *testing.T) {
	if _, err := Compute(Input{}); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("no periods: %v", err)
	}
}

// TestBinnedCountsGiveSameTable: counts binned at Edges (what a store
// implementing geo.AreaBinCounter sends) give exactly the table daily
// counts give, for every kind of period, partial last periods included.
func TestBinnedCountsGiveSameTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	areas := []geo.Area{{Code: "a", Population: ip(900)}, {Code: "b", Population: ip(40)}, {Code: "c"}}
	var counts []geo.AreaDayCount
	for day := d("2019-01-01"); day.Before(d("2024-07-01")); day = day.AddDate(0, 0, 1) {
		for _, code := range []string{"a", "b", "c", ""} {
			if n := rng.IntN(4) - 1; n > 0 {
				counts = append(counts, geo.AreaDayCount{Area: code, Day: day, Kind: geo.KindShootingFatal, Count: n, Victims: n + rng.IntN(2)})
			}
		}
	}
	tests := []struct {
		k        PeriodKind
		from, to string
	}{
		{Month, "2023-01-01", "2024-06-17"},
		{Week, "2024-01-01", "2024-06-30"},
		{Quarter, "2023-01-01", "2024-07-01"},
		{Year, "2022-01-01", "2024-05-01"},
		{Custom, "2024-02-10", "2024-05-20"},
	}
	for _, tt := range tests {
		t.Run(string(tt.k), func(t *testing.T) {
			ps, err := Periods(tt.k, d(tt.from), d(tt.to))
			if err != nil {
				t.Fatal(err)
			}
			for _, suppress := range []int{0, 11} {
				in := Input{Areas: areas, Counts: counts, Period: tt.k, Periods: ps, SuppressBelow: suppress, DataStart: d("2019-01-01")}
				daily := mustCompute(t, in)
				in.Counts = Bin(counts, Edges(tt.k, ps))
				if len(in.Counts) >= len(counts) {
					t.Errorf("binning did not reduce %d rows (%d)", len(counts), len(in.Counts))
				}
				binned := mustCompute(t, in)
				a, _ := json.Marshal(daily)
				b, _ := json.Marshal(binned)
				if string(a) != string(b) {
					t.Errorf("suppress %d: binned table differs", suppress)
				}
			}
		})
	}
}

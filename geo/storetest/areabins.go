package storetest

import (
	"slices"
	"testing"
	"time"

	"hotspots/geo"
)

// testAreaBinCounts checks geo.AreaBinCounter, for stores that have it,
// against daily counts binned by hand: whole months (which a store may read
// from an aggregate), weeks and an edge in mid-month (which cut months), a
// kind filter, a layer nobody has, and the same after revisions moved
// incidents between areas, months and kinds.
func testAreaBinCounts(t *testing.T, open Opener) {
	s := open(t)
	bc, ok := s.(geo.AreaBinCounter)
	if !ok {
		t.Skip("store does not bin server-side")
	}
	in := Incidents(400, 11)
	mustUpsert(t, s, 0, in)
	months := []time.Time{}
	for m := time.Date(WindowStart.Year(), WindowStart.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(WindowEnd); m = m.AddDate(0, 1, 0) {
		months = append(months, m)
	}
	months = append(months, months[len(months)-1].AddDate(0, 1, 0))
	weeks := []time.Time{}
	for d := dayOf(WindowStart).AddDate(0, 0, 3); d.Before(WindowEnd); d = d.AddDate(0, 0, 7) {
		weeks = append(weeks, d)
	}
	mixed := slices.Clone(months)
	mixed = append(mixed, months[0].AddDate(0, 0, 17), months[1].AddDate(0, 0, 9))
	slices.SortFunc(mixed, time.Time.Compare)
	check := func(t *testing.T, incs []geo.Incident) {
		tests := []struct {
			name  string
			f     geo.AreaCountFilter
			edges []time.Time
		}{
			{"months", geo.AreaCountFilter{Layer: LayerNbhd}, months},
			{"months district kind", geo.AreaCountFilter{Layer: LayerDistrict, Kinds: []geo.Kind{geo.KindOverdoseFatal}}, months},
			{"weeks", geo.AreaCountFilter{Layer: LayerDistrict}, weeks},
			{"months cut mid-month", geo.AreaCountFilter{Layer: LayerNbhd}, mixed},
			{"unknown layer counts under empty area", geo.AreaCountFilter{Layer: "tract_2020"}, months},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := bc.AreaBinCounts(ctxT(t), tc.f, tc.edges)
				if err != nil {
					t.Fatal(err)
				}
				f := tc.f
				want := binAreaDayCounts(expectAreaDayCounts(incs, f), tc.edges)
				if len(want) == 0 {
					t.Fatal("fixture gives no counts")
				}
				assertAreaDayCounts(t, got, want)
			})
		}
	}
	t.Run("loaded", func(t *testing.T) { check(t, normalized(in)) })

	// Revisions: move every fifth incident to another area, month and kind.
	changed := slices.Clone(in)
	for i := 0; i < len(changed); i += 5 {
		c := changed[i]
		c.Areas = map[string]string{LayerNbhd: "n99"}
		c.OccurredAt = c.OccurredAt.Add(-40 * 24 * time.Hour)
		c.Day = c.Day.AddDate(0, 0, -40)
		c.Kind = geo.KindOverdoseFatal
		c.Victims++
		changed[i] = c
	}
	res := mustUpsert(t, s, 0, changed)
	if res.Changed == 0 {
		t.Fatalf("no revisions: %+v", res)
	}
	t.Run("revised", func(t *testing.T) { check(t, normalized(changed)) })
}

// binAreaDayCounts sums daily counts into the bins between consecutive
// edges, each reported at its first day, as geo.AreaBinCounter specifies.
func binAreaDayCounts(counts []geo.AreaDayCount, edges []time.Time) []geo.AreaDayCount {
	type key struct {
		area string
		bin  int
		kind geo.Kind
	}
	m := map[key]*geo.AreaDayCount{}
	for _, c := range counts {
		i, found := slices.BinarySearchFunc(edges, c.Day, time.Time.Compare)
		if !found {
			i--
		}
		if i < 0 || i >= len(edges)-1 {
			continue
		}
		k := key{c.Area, i, c.Kind}
		s := m[k]
		if s == nil {
			s = &geo.AreaDayCount{Area: c.Area, Day: edges[i], Kind: c.Kind}
			m[k] = s
		}
		s.Count += c.Count
		s.Victims += c.Victims
	}
	out := make([]geo.AreaDayCount, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	sortAreaDayCounts(out)
	return out
}

// dayOf returns t's calendar day at 00:00 UTC.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

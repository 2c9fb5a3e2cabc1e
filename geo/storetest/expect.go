package storetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"hotspots/geo"
)

// The expect* functions are the oracle: they compute in Go, from the
// normalized inputs, what a store must answer.

func byTime(incs []geo.Incident) []geo.Incident {
	out := append([]geo.Incident(nil), incs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].OccurredAt.Before(out[j].OccurredAt) })
	return out
}

func page(incs []geo.Incident, limit, offset int) []geo.Incident {
	if offset > len(incs) {
		return nil
	}
	incs = incs[offset:]
	if limit > 0 && limit < len(incs) {
		incs = incs[:limit]
	}
	return incs
}

func inCells(c geo.Cell, cells []geo.Cell) bool {
	for _, f := range cells {
		if c.Parent(f.Res()) == f {
			return true
		}
	}
	return false
}

func expectFind(incs []geo.Incident, f geo.IncidentFilter) []geo.Incident {
	var out []geo.Incident
	for _, inc := range incs {
		switch {
		case len(f.Kinds) > 0 && !slices.Contains(f.Kinds, inc.Kind),
			f.From != nil && inc.OccurredAt.Before(*f.From),
			f.To != nil && !inc.OccurredAt.Before(*f.To),
			f.Bounds != nil && !f.Bounds.Contains(inc.Location),
			len(f.Cells) > 0 && !inCells(inc.Cell, f.Cells),
			f.Source != "" && inc.Source != f.Source:
			continue
		}
		out = append(out, inc)
	}
	return byTime(out)
}

// dayIn applies a day filter the way the stores must: on Incident.Day,
// From inclusive, To exclusive, both as calendar dates.
func dayIn(day time.Time, from, to *time.Time) bool {
	date := func(t time.Time) time.Time {
		y, m, d := t.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	if from != nil && day.Before(date(*from)) {
		return false
	}
	if to != nil && !day.Before(date(*to)) {
		return false
	}
	return true
}

func countFiltered(incs []geo.Incident, f geo.CellCountFilter) []geo.Incident {
	var out []geo.Incident
	for _, inc := range incs {
		if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, inc.Kind) || !dayIn(inc.Day, f.From, f.To) ||
			len(f.Cells) > 0 && !slices.Contains(f.Cells, inc.Cell.Parent(f.Res)) {
			continue
		}
		out = append(out, inc)
	}
	return out
}

func expectCellCounts(incs []geo.Incident, f geo.CellCountFilter) []geo.CellCount {
	m := map[geo.CellCount]int{}
	for _, inc := range countFiltered(incs, f) {
		m[geo.CellCount{Cell: inc.Cell.Parent(f.Res), Kind: inc.Kind}]++
	}
	out := make([]geo.CellCount, 0, len(m))
	for k, n := range m {
		k.Count = n
		out = append(out, k)
	}
	sortCellCounts(out)
	return out
}

func expectCellDayCounts(incs []geo.Incident, f geo.CellCountFilter) []geo.CellDayCount {
	m := map[geo.CellDayCount]int{}
	for _, inc := range countFiltered(incs, f) {
		m[geo.CellDayCount{Cell: inc.Cell.Parent(f.Res), Day: inc.Day, Kind: inc.Kind}]++
	}
	out := make([]geo.CellDayCount, 0, len(m))
	for k, n := range m {
		k.Count = n
		out = append(out, k)
	}
	sortCellDayCounts(out)
	return out
}

func expectAreaDayCounts(incs []geo.Incident, f geo.AreaCountFilter) []geo.AreaDayCount {
	type key struct {
		area string
		day  time.Time
		kind geo.Kind
	}
	m := map[key]*geo.AreaDayCount{}
	for _, inc := range incs {
		if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, inc.Kind) || !dayIn(inc.Day, f.From, f.To) {
			continue
		}
		k := key{inc.Areas[f.Layer], inc.Day, inc.Kind}
		c := m[k]
		if c == nil {
			c = &geo.AreaDayCount{Area: k.area, Day: k.day, Kind: k.kind}
			m[k] = c
		}
		c.Count++
		c.Victims += inc.Victims
	}
	out := make([]geo.AreaDayCount, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	sortAreaDayCounts(out)
	return out
}

func sortCellCounts(c []geo.CellCount) {
	sort.Slice(c, func(i, j int) bool {
		if c[i].Cell != c[j].Cell {
			return c[i].Cell < c[j].Cell
		}
		return c[i].Kind < c[j].Kind
	})
}

func sortCellDayCounts(c []geo.CellDayCount) {
	sort.Slice(c, func(i, j int) bool {
		if c[i].Cell != c[j].Cell {
			return c[i].Cell < c[j].Cell
		}
		if !c[i].Day.Equal(c[j].Day) {
			return c[i].Day.Before(c[j].Day)
		}
		return c[i].Kind < c[j].Kind
	})
}

func sortAreaDayCounts(c []geo.AreaDayCount) {
	sort.Slice(c, func(i, j int) bool {
		if c[i].Area != c[j].Area {
			return c[i].Area < c[j].Area
		}
		if !c[i].Day.Equal(c[j].Day) {
			return c[i].Day.Before(c[j].Day)
		}
		return c[i].Kind < c[j].Kind
	})
}

// The assert* functions compare as sets: stores may order ties and strings
// by their own collation.

func assertCellCounts(t *testing.T, what string, got, want []geo.CellCount) {
	t.Helper()
	got = append([]geo.CellCount(nil), got...)
	sortCellCounts(got)
	if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("%s: got %d counts, want %d\n got %v\nwant %v", what, len(got), len(want), head(got), head(want))
	}
}

func assertCellDayCounts(t *testing.T, what string, got, want []geo.CellDayCount) {
	t.Helper()
	got = append([]geo.CellDayCount(nil), got...)
	sortCellDayCounts(got)
	if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("%s: got %d counts, want %d\n got %v\nwant %v", what, len(got), len(want), head(got), head(want))
	}
}

func assertAreaDayCounts(t *testing.T, got, want []geo.AreaDayCount) {
	t.Helper()
	got = append([]geo.AreaDayCount(nil), got...)
	sortAreaDayCounts(got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("AreaDayCounts: got %d, want %d\n got %v\nwant %v", len(got), len(want), head(got), head(want))
	}
}

func assertSummary(t *testing.T, got, want []geo.ReasonCount) {
	t.Helper()
	got = append([]geo.ReasonCount(nil), got...)
	sort.Slice(got, func(i, j int) bool {
		if got[i].Source != got[j].Source {
			return got[i].Source < got[j].Source
		}
		return got[i].Reason < got[j].Reason
	})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("QuarantineSummary = %v, want %v", got, want)
	}
}

func head[T any](s []T) []T {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// assertIncidents compares stored incidents with normalized inputs in
// order, ignoring the store-assigned ID and UpdatedAt and comparing Raw as
// JSON values.
func assertIncidents(t *testing.T, got, want []geo.Incident) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d incidents, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID == 0 || g.UpdatedAt.IsZero() {
			t.Fatalf("incident %d: ID %d, UpdatedAt %v not set", i, g.ID, g.UpdatedAt)
		}
		if !jsonEqual(g.Raw, w.Raw) {
			t.Fatalf("incident %d (%s): raw %s, want %s", i, w.SourceID, g.Raw, w.Raw)
		}
		g.ID, g.UpdatedAt, g.Raw = 0, time.Time{}, nil
		w.ID, w.UpdatedAt, w.Raw = 0, time.Time{}, nil
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("incident %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// jsonEqual reports whether a and b hold the same JSON value (nil equals
// nil only).
func jsonEqual(a, b []byte) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		panic(fmt.Sprintf("stored raw is not JSON: %s", a))
	}
	if err := json.Unmarshal(b, &y); err != nil {
		panic(fmt.Sprintf("expected raw is not JSON: %s", b))
	}
	return reflect.DeepEqual(x, y)
}

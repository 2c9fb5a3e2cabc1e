package tiles

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// memStore is an in-memory Store for the tiles tests: it aggregates a slice
// of incidents the way the real stores do and counts the queries it gets.
type memStore struct {
	mu       sync.Mutex
	incs     []geo.Incident
	areas    map[string][]geo.Area
	findings []geo.Finding
	version  int64
	calls    map[string]int
}

func (m *memStore) call(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls == nil {
		m.calls = map[string]int{}
	}
	m.calls[name]++
}

func (m *memStore) Calls(name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[name]
}

func inDays(d time.Time, from, to *time.Time) bool {
	return (from == nil || !d.Before(*from)) && (to == nil || d.Before(*to))
}

func hasKind(kinds []geo.Kind, k geo.Kind) bool {
	if len(kinds) == 0 {
		return true
	}
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

func (m *memStore) CellCounts(_ context.Context, f geo.CellCountFilter) ([]geo.CellCount, error) {
	m.call("CellCounts")
	m.mu.Lock()
	defer m.mu.Unlock()
	type key struct {
		c geo.Cell
		k geo.Kind
	}
	agg := map[key]int{}
	for _, in := range m.incs {
		if hasKind(f.Kinds, in.Kind) && inDays(in.Day, f.From, f.To) {
			agg[key{in.Cell.Parent(f.Res), in.Kind}]++
		}
	}
	var out []geo.CellCount
	for k, n := range agg {
		out = append(out, geo.CellCount{Cell: k.c, Kind: k.k, Count: n})
	}
	return out, nil
}

func (m *memStore) CellDayCounts(_ context.Context, f geo.CellCountFilter) ([]geo.CellDayCount, error) {
	m.call("CellDayCounts")
	m.mu.Lock()
	defer m.mu.Unlock()
	type key struct {
		c geo.Cell
		d time.Time
		k geo.Kind
	}
	agg := map[key]int{}
	for _, in := range m.incs {
		if hasKind(f.Kinds, in.Kind) && inDays(in.Day, f.From, f.To) {
			agg[key{in.Cell.Parent(f.Res), in.Day, in.Kind}]++
		}
	}
	var out []geo.CellDayCount
	for k, n := range agg {
		out = append(out, geo.CellDayCount{Cell: k.c, Day: k.d, Kind: k.k, Count: n})
	}
	return out, nil
}

func (m *memStore) AreaDayCounts(_ context.Context, f geo.AreaCountFilter) ([]geo.AreaDayCount, error) {
	m.call("AreaDayCounts")
	m.mu.Lock()
	defer m.mu.Unlock()
	type key struct {
		a string
		d time.Time
		k geo.Kind
	}
	agg := map[key]int{}
	for _, in := range m.incs {
		if hasKind(f.Kinds, in.Kind) && inDays(in.Day, f.From, f.To) {
			agg[key{in.Areas[f.Layer], in.Day, in.Kind}]++
		}
	}
	var out []geo.AreaDayCount
	for k, n := range agg {
		out = append(out, geo.AreaDayCount{Area: k.a, Day: k.d, Kind: k.k, Count: n, Victims: n})
	}
	return out, nil
}

func (m *memStore) Areas(_ context.Context, layer string) ([]geo.Area, error) {
	m.call("Areas")
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.areas[layer]
	if !ok {
		return nil, geo.Errorf(geo.ENOTFOUND, "no area layer %q", layer)
	}
	return a, nil
}

func (m *memStore) FindIncidents(_ context.Context, f geo.IncidentFilter) ([]geo.Incident, error) {
	m.call("FindIncidents")
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []geo.Incident
	for _, in := range m.incs {
		if !hasKind(f.Kinds, in.Kind) || (f.From != nil && in.OccurredAt.Before(*f.From)) ||
			(f.To != nil && !in.OccurredAt.Before(*f.To)) || (f.Bounds != nil && !f.Bounds.Contains(in.Location)) {
			continue
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func (m *memStore) ListFindings(_ context.Context, f geo.FindingFilter) ([]geo.Finding, error) {
	m.call("ListFindings")
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []geo.Finding
	for _, x := range m.findings {
		if f.Detector == "" || x.Detector == f.Detector {
			out = append(out, x)
		}
	}
	return out, nil
}

func (m *memStore) DataVersion(context.Context) (int64, error) {
	m.call("DataVersion")
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.version, nil
}

// add appends incidents (and bumps the version, as a store does on write).
func (m *memStore) add(incs ...geo.Incident) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, in := range incs {
		in.ID = int64(len(m.incs) + 1)
		c, err := geo.CellFromPoint(in.Location, geo.FinestRes)
		if err != nil {
			panic(err)
		}
		in.Cell = c
		if in.OccurredAt.IsZero() {
			in.OccurredAt = in.Day.Add(12 * time.Hour)
		}
		m.incs = append(m.incs, in)
	}
	m.version++
}

// inc is a shorthand for an incident on a day.
func inc(lon, lat float64, kind geo.Kind, day string) geo.Incident {
	d, err := time.Parse(dayFormat, day)
	if err != nil {
		panic(err)
	}
	return geo.Incident{Kind: kind, Location: orb.Point{lon, lat}, Day: d, Precision: geo.PrecisionExact}
}

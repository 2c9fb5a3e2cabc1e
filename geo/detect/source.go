package detect

import (
	"context"
	"slices"
	"time"

	"hotspots/geo"
)

// Source is what a run reads: the aggregate counts of the count cube and
// the area series, the incidents of the near-repeat analysis, and the area
// layers. geo.Store satisfies it; MemSource serves incidents held in
// memory, for the evaluation harness and benchmarks.
type Source interface {
	CellDayCounts(ctx context.Context, f geo.CellCountFilter) ([]geo.CellDayCount, error)
	AreaDayCounts(ctx context.Context, f geo.AreaCountFilter) ([]geo.AreaDayCount, error)
	FindIncidents(ctx context.Context, f geo.IncidentFilter) ([]geo.Incident, error)
	Layers(ctx context.Context) ([]geo.AreaLayer, error)
}

// Sink receives each finished run with its findings. Wire it to
// alerting.Engine.Detected so alerts are raised in the transaction that
// stores the run, or to Store.SaveRun when no engine runs.
type Sink func(ctx context.Context, run geo.DetectionRun, findings []geo.Finding) error

// MemSource answers the Source queries from incidents in memory, exactly as
// the stores do: counts by Incident.Day, cells by Cell.Parent, incidents by
// OccurredAt. Incidents must have Day and Cell set (ingest sets both).
type MemSource struct {
	Incidents []geo.Incident
	// AreaLayers is what Layers returns.
	AreaLayers []geo.AreaLayer
}

func inDays(day time.Time, from, to *time.Time) bool {
	return (from == nil || !day.Before(*from)) && (to == nil || day.Before(*to))
}

// CellDayCounts aggregates the incidents per cell at f.Res, day and kind.
func (m *MemSource) CellDayCounts(_ context.Context, f geo.CellCountFilter) ([]geo.CellDayCount, error) {
	type key struct {
		c geo.Cell
		d int64
		k geo.Kind
	}
	agg := map[key]int{}
	var want map[geo.Cell]bool
	if f.Cells != nil {
		want = map[geo.Cell]bool{}
		for _, c := range f.Cells {
			want[c] = true
		}
	}
	for _, inc := range m.Incidents {
		if (len(f.Kinds) > 0 && !slices.Contains(f.Kinds, inc.Kind)) || !inDays(inc.Day, f.From, f.To) {
			continue
		}
		c := inc.Cell.Parent(f.Res)
		if want != nil && !want[c] {
			continue
		}
		agg[key{c, inc.Day.Unix(), inc.Kind}]++
	}
	out := make([]geo.CellDayCount, 0, len(agg))
	for k, n := range agg {
		out = append(out, geo.CellDayCount{Cell: k.c, Day: time.Unix(k.d, 0).UTC(), Kind: k.k, Count: n})
	}
	slices.SortFunc(out, func(a, b geo.CellDayCount) int {
		if c := a.Day.Compare(b.Day); c != 0 {
			return c
		}
		if a.Cell != b.Cell {
			if a.Cell < b.Cell {
				return -1
			}
			return 1
		}
		return compareStr(string(a.Kind), string(b.Kind))
	})
	return out, nil
}

// AreaDayCounts aggregates incidents and victims per area of f.Layer.
func (m *MemSource) AreaDayCounts(_ context.Context, f geo.AreaCountFilter) ([]geo.AreaDayCount, error) {
	type key struct {
		a string
		d int64
		k geo.Kind
	}
	agg := map[key]*geo.AreaDayCount{}
	for _, inc := range m.Incidents {
		if (len(f.Kinds) > 0 && !slices.Contains(f.Kinds, inc.Kind)) || !inDays(inc.Day, f.From, f.To) {
			continue
		}
		k := key{inc.Areas[f.Layer], inc.Day.Unix(), inc.Kind}
		c := agg[k]
		if c == nil {
			c = &geo.AreaDayCount{Area: k.a, Day: inc.Day, Kind: inc.Kind}
			agg[k] = c
		}
		c.Count++
		c.Victims += max(1, inc.Victims)
	}
	out := make([]geo.AreaDayCount, 0, len(agg))
	for _, c := range agg {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b geo.AreaDayCount) int {
		if c := a.Day.Compare(b.Day); c != 0 {
			return c
		}
		if c := compareStr(a.Area, b.Area); c != 0 {
			return c
		}
		return compareStr(string(a.Kind), string(b.Kind))
	})
	return out, nil
}

// FindIncidents returns the matching incidents ordered by OccurredAt. Only
// Kinds, From and To filter.
func (m *MemSource) FindIncidents(_ context.Context, f geo.IncidentFilter) ([]geo.Incident, error) {
	var out []geo.Incident
	for _, inc := range m.Incidents {
		if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, inc.Kind) {
			continue
		}
		if (f.From != nil && inc.OccurredAt.Before(*f.From)) || (f.To != nil && !inc.OccurredAt.Before(*f.To)) {
			continue
		}
		out = append(out, inc)
	}
	slices.SortStableFunc(out, func(a, b geo.Incident) int { return a.OccurredAt.Compare(b.OccurredAt) })
	return out, nil
}

// Layers returns AreaLayers.
func (m *MemSource) Layers(context.Context) ([]geo.AreaLayer, error) { return m.AreaLayers, nil }

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// AlertEngine is the part of alerting.Engine a sink needs: it stores a run
// with its findings and raises their alerts in one transaction.
type AlertEngine interface {
	Detected(ctx context.Context, run geo.DetectionRun, findings []geo.Finding) (geo.AlertBatchResult, error)
}

// EngineSink hands every run to an alerting engine, so alerts are raised in
// the transaction that stores the run; onResult, when not nil, sees each
// batch result (alerts raised or updated, deliveries queued).
func EngineSink(e AlertEngine, onResult func(geo.AlertBatchResult)) Sink {
	return func(ctx context.Context, run geo.DetectionRun, fs []geo.Finding) error {
		res, err := e.Detected(ctx, run, fs)
		if err == nil && onResult != nil {
			onResult(res)
		}
		return err
	}
}

// StoreSink stores every run and its findings without alerting, for
// backfills and processes that run no alerting engine.
func StoreSink(st geo.FindingService) Sink {
	return func(ctx context.Context, run geo.DetectionRun, fs []geo.Finding) error {
		_, err := st.SaveRun(ctx, run, fs)
		return err
	}
}

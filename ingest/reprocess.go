package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"hotspots/cities"
	"hotspots/geo"
)

// Reprocess reruns the unresolved quarantined rows of m's source through
// the current mapping, after a fix (a time format added, a kind rule, a
// geocoder that now knows the street). Rows that pass become incidents, or
// add their victims to the incident of their key, and are marked resolved;
// rows that still fail keep their key and get the new reason. Rows whose
// content retention purged are skipped and counted (Summary.Purged). It is
// recorded as a load of the source.
func Reprocess(ctx context.Context, st geo.Store, city *cities.City, m *Mapping, opts Options) (Summary, error) {
	opts.defaults()
	started := opts.Now()
	sum := newSummary(m.ID)
	rows, err := allQuarantined(ctx, st, m.ID)
	if err != nil {
		return sum, err
	}
	if opts.Areas == nil {
		if opts.Areas, err = LoadAreaIndex(ctx, st); err != nil {
			return sum, err
		}
	}
	l, err := st.StartLoad(ctx, m.ID)
	if err != nil {
		return sum, fmt.Errorf("reprocess %s: start load: %w", m.ID, err)
	}
	sum.LoadID = l.ID
	runErr := reprocessRows(ctx, st, newTransformer(m, city, opts.Areas, opts.Geocoder, opts.Kinds, opts.Now()), rows, l.ID, &sum, opts.AfterUpsert)
	sum.Duration = opts.Now().Sub(started)
	l.RowsRead, l.Added, l.Changed, l.Unchanged, l.Quarantined = sum.RowsRead, sum.Added, sum.Changed, sum.Unchanged, sum.Quarantined
	l.Status = geo.LoadDone
	if runErr != nil {
		l.Status, l.Error = geo.LoadFailed, runErr.Error()
	}
	fin := opts.Now()
	l.FinishedAt = &fin
	if err := st.FinishLoad(context.WithoutCancel(ctx), l); err != nil && runErr == nil {
		runErr = fmt.Errorf("finish load: %w", err)
	}
	if runErr != nil {
		return sum, fmt.Errorf("reprocess %s: %w", m.ID, runErr)
	}
	opts.Logger.Info("reprocess_done", slog.String("source", m.ID), slog.Int("rows", sum.RowsRead),
		slog.Int("resolved", sum.Resolved), slog.Int("still_quarantined", sum.Quarantined))
	return sum, nil
}

// allQuarantined lists every unresolved row of a source.
func allQuarantined(ctx context.Context, st geo.Store, source string) ([]geo.QuarantinedRow, error) {
	var out []geo.QuarantinedRow
	const page = 1000
	for off := 0; ; off += page {
		rows, err := st.ListQuarantine(ctx, geo.QuarantineFilter{Source: source, Limit: page, Offset: off})
		if err != nil {
			return nil, fmt.Errorf("reprocess %s: list quarantine: %w", source, err)
		}
		out = append(out, rows...)
		if len(rows) < page {
			return out, nil
		}
	}
}

func reprocessRows(ctx context.Context, st geo.Store, t *transformer, rows []geo.QuarantinedRow, loadID int64, sum *Summary, after func(context.Context, []geo.Incident)) error {
	var (
		existing map[string]geo.Incident
		incs     []geo.Incident
		index    = map[string]int{}
		resolved []int64
		still    []geo.QuarantinedRow
	)
	if t.m.Key.Merge {
		var err error
		if existing, err = incidentsByKey(ctx, st, t.m.ID); err != nil {
			return err
		}
	}
	for _, q := range rows {
		sum.RowsRead++
		if q.Purged() || len(q.Raw) == 0 {
			// Retention removed the row's content: nothing left to
			// re-process. It stays quarantined, counted, not an error.
			sum.Purged++
			sum.Quarantined++
			sum.ByReason[q.Reason]++
			continue
		}
		if bytes.Contains(q.Raw, []byte(`"_error"`)) {
			// A row the reader could not split: no mapping fix helps.
			sum.Quarantined++
			sum.ByReason[q.Reason]++
			continue
		}
		rec, err := RecordFromRaw(q.Raw)
		if err != nil {
			return fmt.Errorf("quarantined row %d: %w", q.ID, err)
		}
		o := t.apply(ctx, &rec)
		switch {
		case o.filtered != "":
			sum.Filtered[o.filtered]++
			continue
		case o.reason != "":
			q.Reason, q.Detail, q.LoadID = o.reason, o.detail, loadID
			still = append(still, q)
			sum.Quarantined++
			sum.ByReason[o.reason]++
			continue
		}
		resolved = append(resolved, q.ID)
		if i, ok := index[o.key]; ok && t.m.Key.Merge {
			mergeInto(&incs[i], &o.inc, t.m.Key.KindPrecedence)
			sum.Merged++
			continue
		}
		if prev, ok := existing[o.key]; ok {
			mergeInto(&prev, &o.inc, t.m.Key.KindPrecedence)
			prev.Raw = appendRaw(prev.Raw, o.raw)
			o.inc = prev
		}
		index[o.key] = len(incs)
		incs = append(incs, o.inc)
	}
	for i := range incs {
		sum.countIncident(&incs[i])
	}
	for start := 0; start < len(incs); start += DefaultBatchSize {
		res, err := st.UpsertIncidents(ctx, loadID, incs[start:min(start+DefaultBatchSize, len(incs))])
		if err != nil {
			return fmt.Errorf("upsert: %w", err)
		}
		sum.Added += res.Added
		sum.Changed += res.Changed
		sum.Unchanged += res.Unchanged
		if after != nil {
			after(ctx, incs[start:min(start+DefaultBatchSize, len(incs))])
		}
	}
	if len(still) > 0 {
		if err := st.QuarantineRows(ctx, still); err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
	}
	if len(resolved) > 0 {
		if err := st.ResolveQuarantine(ctx, resolved); err != nil {
			return fmt.Errorf("resolve: %w", err)
		}
	}
	sum.Resolved = len(resolved)
	return nil
}

// appendRaw adds a victim row to an incident's raw rows: a single row
// becomes a two-element array, an array grows by one.
func appendRaw(prev, row json.RawMessage) json.RawMessage {
	p := bytes.TrimSpace(prev)
	if len(p) == 0 {
		return row
	}
	if p[0] == '[' {
		out := append([]byte(nil), p[:len(p)-1]...)
		out = append(out, ',')
		out = append(out, row...)
		return append(out, ']')
	}
	return joinRaw([]json.RawMessage{p, row})
}

// incidentsByKey returns a source's stored incidents by key.
func incidentsByKey(ctx context.Context, st geo.Store, source string) (map[string]geo.Incident, error) {
	out := map[string]geo.Incident{}
	const page = 5000
	for off := 0; ; off += page {
		incs, err := st.FindIncidents(ctx, geo.IncidentFilter{Source: source, Limit: page, Offset: off})
		if err != nil {
			return nil, fmt.Errorf("incidents of %s: %w", source, err)
		}
		for _, i := range incs {
			out[i.SourceID] = i
		}
		if len(incs) < page {
			return out, nil
		}
	}
}

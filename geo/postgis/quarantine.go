package postgis

import (
	"context"

	"hotspots/geo"
)

// QuarantineRows stores rows; an unresolved row with the same (Source,
// RowKey) is replaced in place (same ID), so re-running a load does not
// duplicate. Within one call the last row of a key wins.
func (db *DB) QuarantineRows(ctx context.Context, rows []geo.QuarantinedRow) error {
	rows, err := geo.PrepareQuarantine(rows)
	if err != nil {
		return wrap("quarantine rows", err)
	}
	if len(rows) == 0 {
		return wrap("quarantine rows", ctx.Err())
	}
	n := len(rows)
	sources, keys, reasons, details := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	loads := make([]int64, n)
	raws := make([]*string, n)
	for i, r := range rows {
		sources[i], keys[i], reasons[i], details[i], loads[i] = r.Source, r.RowKey, string(r.Reason), r.Detail, r.LoadID
		if r.Raw != nil {
			s := string(r.Raw)
			raws[i] = &s
		}
	}
	// The conflict target names the partial index's predicate, so only the
	// unresolved row of a key is replaced; resolved rows are history.
	_, err = db.pool.Exec(ctx, `
INSERT INTO quarantine AS q (source, row_key, load, reason, detail, raw, created)
SELECT s, k, NULLIF(l, 0), r, d, x::jsonb, $7
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])
    WITH ORDINALITY AS t(s, k, l, r, d, x, o)
ORDER BY o
ON CONFLICT (source, row_key) WHERE resolved IS NULL DO UPDATE SET
    load = EXCLUDED.load, reason = EXCLUDED.reason, detail = EXCLUDED.detail,
    raw = EXCLUDED.raw, created = EXCLUDED.created`,
		sources, keys, loads, reasons, details, raws, db.nowUTC())
	return wrap("quarantine rows", err)
}

// ListQuarantine returns quarantined rows in ID order.
func (db *DB) ListQuarantine(ctx context.Context, f geo.QuarantineFilter) ([]geo.QuarantinedRow, error) {
	w := &where{}
	if f.Source != "" {
		w.add("source = %s", f.Source)
	}
	if f.Reason != "" {
		w.add("reason = %s", string(f.Reason))
	}
	if !f.IncludeResolved {
		w.conds = append(w.conds, "resolved IS NULL")
	}
	q := `SELECT id, source, row_key, coalesce(load, 0), reason, detail, raw, created, resolved
FROM quarantine` + w.String() + ` ORDER BY id`
	if f.Limit > 0 {
		q += " LIMIT " + w.arg(f.Limit)
	}
	if f.Offset > 0 {
		q += " OFFSET " + w.arg(f.Offset)
	}
	rows, err := db.pool.Query(ctx, q, w.args...)
	if err != nil {
		return nil, wrap("list quarantine", err)
	}
	defer rows.Close()
	var out []geo.QuarantinedRow
	for rows.Next() {
		var r geo.QuarantinedRow
		var reason string
		var raw []byte
		if err := rows.Scan(&r.ID, &r.Source, &r.RowKey, &r.LoadID, &reason, &r.Detail, &raw, &r.Created, &r.Resolved); err != nil {
			return nil, wrap("list quarantine", err)
		}
		r.Reason = geo.Reason(reason)
		if len(raw) > 0 {
			r.Raw = raw
		}
		r.Created = r.Created.UTC()
		if r.Resolved != nil {
			t := r.Resolved.UTC()
			r.Resolved = &t
		}
		out = append(out, r)
	}
	return out, wrap("list quarantine", rows.Err())
}

// QuarantineSummary counts unresolved rows per source and reason, of one
// source or all (""), ordered by source and reason.
func (db *DB) QuarantineSummary(ctx context.Context, source string) ([]geo.ReasonCount, error) {
	w := &where{conds: []string{"resolved IS NULL"}}
	if source != "" {
		w.add("source = %s", source)
	}
	rows, err := db.pool.Query(ctx, `SELECT source, reason, count(*) FROM quarantine`+w.String()+
		` GROUP BY 1, 2 ORDER BY 1, 2`, w.args...)
	if err != nil {
		return nil, wrap("quarantine summary", err)
	}
	defer rows.Close()
	var out []geo.ReasonCount
	for rows.Next() {
		var c geo.ReasonCount
		var reason string
		if err := rows.Scan(&c.Source, &reason, &c.Count); err != nil {
			return nil, wrap("quarantine summary", err)
		}
		c.Reason = geo.Reason(reason)
		out = append(out, c)
	}
	return out, wrap("quarantine summary", rows.Err())
}

// ResolveQuarantine marks the unresolved rows among ids as resolved now.
// Unknown and already resolved ids are left alone.
func (db *DB) ResolveQuarantine(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return wrap("resolve quarantine", ctx.Err())
	}
	_, err := db.pool.Exec(ctx, `UPDATE quarantine SET resolved = $2 WHERE id = ANY($1) AND resolved IS NULL`,
		ids, db.nowUTC())
	return wrap("resolve quarantine", err)
}

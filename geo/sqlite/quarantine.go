package sqlite

import (
	"context"
	"database/sql"

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
	now := us(db.nowUTC())
	return db.inTx(ctx, "quarantine rows", func(tx *sql.Tx) error {
		// The conflict target repeats the partial index's predicate, as
		// SQLite requires to use it for the upsert.
		st, err := tx.PrepareContext(ctx, `
INSERT INTO quarantine (source, row_key, load, reason, detail, raw, created)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source, row_key) WHERE resolved IS NULL DO UPDATE SET
    load = excluded.load, reason = excluded.reason, detail = excluded.detail,
    raw = excluded.raw, created = excluded.created`)
		if err != nil {
			return err
		}
		for _, r := range rows {
			var raw any
			if r.Raw != nil {
				raw = string(r.Raw)
			}
			if _, err := st.ExecContext(ctx, r.Source, r.RowKey, nullID(r.LoadID), string(r.Reason), r.Detail, raw, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListQuarantine returns quarantined rows in ID order.
func (db *DB) ListQuarantine(ctx context.Context, f geo.QuarantineFilter) ([]geo.QuarantinedRow, error) {
	w := &where{}
	if f.Source != "" {
		w.add("source = ?", f.Source)
	}
	if f.Reason != "" {
		w.add("reason = ?", string(f.Reason))
	}
	if !f.IncludeResolved {
		w.add("resolved IS NULL")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := db.read.QueryContext(ctx, `
SELECT id, source, row_key, coalesce(load, 0), reason, detail, raw, created, resolved
FROM quarantine`+w.String()+` ORDER BY id LIMIT ? OFFSET ?`, append(w.args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, wrap("list quarantine", err)
	}
	defer rows.Close()
	var out []geo.QuarantinedRow
	for rows.Next() {
		var r geo.QuarantinedRow
		var reason string
		var raw sql.NullString
		var created int64
		var resolved sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Source, &r.RowKey, &r.LoadID, &reason, &r.Detail, &raw, &created, &resolved); err != nil {
			return nil, wrap("list quarantine", err)
		}
		r.Reason, r.Created, r.Resolved = geo.Reason(reason), fromUS(created), fromUSPtr(resolved)
		if raw.Valid {
			r.Raw = []byte(raw.String)
		}
		out = append(out, r)
	}
	return out, wrap("list quarantine", rows.Err())
}

// QuarantineSummary counts unresolved rows per source and reason, of one
// source or all (""), ordered by source and reason.
func (db *DB) QuarantineSummary(ctx context.Context, source string) ([]geo.ReasonCount, error) {
	w := &where{}
	w.add("resolved IS NULL")
	if source != "" {
		w.add("source = ?", source)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT source, reason, count(*) FROM quarantine`+w.String()+
		` GROUP BY source, reason ORDER BY source, reason`, w.args...)
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
	_, err := db.write.ExecContext(ctx, `
UPDATE quarantine SET resolved = ? WHERE id IN (SELECT value FROM json_each(?)) AND resolved IS NULL`,
		us(db.nowUTC()), jsonList(ids))
	return wrap("resolve quarantine", err)
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"hotspots/geo"
)

// StartLoad records the start of a load of source and returns it running,
// marking the source's long-dead running loads failed in the same
// transaction (failInterrupted).
func (db *DB) StartLoad(ctx context.Context, source string) (geo.Load, error) {
	if source == "" {
		return geo.Load{}, wrap("start load", geo.FieldErrorf("source", "load without source"))
	}
	l := geo.Load{Source: source, StartedAt: db.nowUTC(), Status: geo.LoadRunning}
	err := db.inTx(ctx, "start load", func(tx *sql.Tx) error {
		if err := failInterrupted(ctx, tx, source, l.StartedAt); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO loads (source, started_at, status) VALUES (?, ?, ?) RETURNING id`,
			l.Source, us(l.StartedAt), l.Status).Scan(&l.ID)
	})
	if err != nil {
		return geo.Load{}, err
	}
	return l, nil
}

// FinishLoad stores the outcome of a load: its status (done when empty),
// counts, error and finish time (now when nil).
func (db *DB) FinishLoad(ctx context.Context, l geo.Load) error {
	status := l.Status
	switch status {
	case "":
		status = geo.LoadDone
	case geo.LoadDone, geo.LoadFailed, geo.LoadRunning:
	default:
		return wrap("finish load", geo.FieldErrorf("status", "unknown load status %q", status))
	}
	finished := db.nowUTC()
	if l.FinishedAt != nil {
		finished = *l.FinishedAt
	}
	r, err := db.write.ExecContext(ctx, `
UPDATE loads SET finished_at = ?, status = ?, rows_read = ?, added = ?, changed = ?,
    unchanged = ?, quarantined = ?, error = ?
WHERE id = ?`, us(finished), status, l.RowsRead, l.Added, l.Changed, l.Unchanged, l.Quarantined, l.Error, l.ID)
	if err != nil {
		return wrap("finish load", err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return wrap("finish load", err)
	} else if n == 0 {
		return wrap("finish load", geo.Errorf(geo.ENOTFOUND, "load %d not found", l.ID))
	}
	return nil
}

// ListLoads returns the newest loads first, of one source or all ("");
// limit <= 0 means all.
func (db *DB) ListLoads(ctx context.Context, source string, limit int) ([]geo.Load, error) {
	w := &where{}
	if source != "" {
		w.add("source = ?", source)
	}
	if limit <= 0 {
		limit = -1
	}
	rows, err := db.read.QueryContext(ctx, `
SELECT id, source, started_at, finished_at, status, rows_read, added, changed, unchanged, quarantined, error
FROM loads`+w.String()+` ORDER BY id DESC LIMIT ?`, append(w.args, limit)...)
	if err != nil {
		return nil, wrap("list loads", err)
	}
	defer rows.Close()
	var out []geo.Load
	for rows.Next() {
		var l geo.Load
		var started int64
		var finished sql.NullInt64
		if err := rows.Scan(&l.ID, &l.Source, &started, &finished, &l.Status, &l.RowsRead,
			&l.Added, &l.Changed, &l.Unchanged, &l.Quarantined, &l.Error); err != nil {
			return nil, wrap("list loads", err)
		}
		l.StartedAt, l.FinishedAt = fromUS(started), fromUSPtr(finished)
		out = append(out, l)
	}
	return out, wrap("list loads", rows.Err())
}

// Watermark returns the source's last committed position, "" if none.
func (db *DB) Watermark(ctx context.Context, source string) (string, error) {
	var v string
	err := db.read.QueryRowContext(ctx, `SELECT value FROM source_watermarks WHERE source = ?`, source).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, wrap("watermark", err)
}

// SetWatermark stores the source's position.
func (db *DB) SetWatermark(ctx context.Context, source, value string) error {
	if source == "" {
		return wrap("set watermark", geo.FieldErrorf("source", "watermark without source"))
	}
	_, err := db.write.ExecContext(ctx, `
INSERT INTO source_watermarks (source, value, updated_at) VALUES (?, ?, ?)
ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		source, value, us(db.nowUTC()))
	return wrap("set watermark", err)
}

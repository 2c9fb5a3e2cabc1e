package postgis

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"hotspots/geo"
)

// StartLoad records the start of a load of source and returns it running,
// after marking the source's long-dead running loads failed
// (failInterrupted).
func (db *DB) StartLoad(ctx context.Context, source string) (geo.Load, error) {
	if source == "" {
		return geo.Load{}, wrap("start load", geo.FieldErrorf("source", "load without source"))
	}
	if err := db.failInterrupted(ctx, source); err != nil {
		return geo.Load{}, wrap("start load", err)
	}
	// A bulk load that never finished (a crash) may have left the
	// secondary indexes dropped: they come back before any new load.
	if err := db.ensureIndexesUnlessBulk(ctx); err != nil {
		return geo.Load{}, wrap("start load", err)
	}
	l := geo.Load{Source: source, StartedAt: db.nowUTC(), Status: geo.LoadRunning}
	err := db.pool.QueryRow(ctx, `INSERT INTO loads (source, started_at, status) VALUES ($1, $2, $3) RETURNING id`,
		l.Source, l.StartedAt, l.Status).Scan(&l.ID)
	if err != nil {
		return geo.Load{}, wrap("start load", err)
	}
	return l, nil
}

// FinishLoad stores the outcome of a load: its status (done when empty),
// counts, error and finish time (now when nil).
func (db *DB) FinishLoad(ctx context.Context, l geo.Load) error {
	status, err := finishStatus(l.Status)
	if err != nil {
		return wrap("finish load", err)
	}
	finished := db.nowUTC()
	if l.FinishedAt != nil {
		finished = *l.FinishedAt
	}
	tag, err := db.pool.Exec(ctx, `
UPDATE loads SET finished_at = $2, status = $3, rows_read = $4, added = $5, changed = $6,
    unchanged = $7, quarantined = $8, error = $9
WHERE id = $1`, l.ID, finished, status, l.RowsRead, l.Added, l.Changed, l.Unchanged, l.Quarantined, l.Error)
	// Indexes a bulk load dropped are rebuilt whatever happened above, and
	// the load's own area month sums go in whatever its outcome (its
	// committed rows are in the table either way); the aggregates are
	// refreshed when the load's record was written.
	idxErr := db.endLoad(ctx, l.ID, err == nil && tag.RowsAffected() > 0)
	if err != nil {
		return wrap("finish load", err)
	}
	if tag.RowsAffected() == 0 {
		return wrap("finish load", geo.Errorf(geo.ENOTFOUND, "load %d not found", l.ID))
	}
	if idxErr != nil {
		return wrap("finish load: rebuild indexes", idxErr)
	}
	return nil
}

// finishStatus checks the status a finished load may have.
func finishStatus(s string) (string, error) {
	switch s {
	case "":
		return geo.LoadDone, nil
	case geo.LoadDone, geo.LoadFailed, geo.LoadRunning:
		return s, nil
	}
	return "", geo.FieldErrorf("status", "unknown load status %q", s)
}

// ListLoads returns the newest loads first, of one source or all ("");
// limit <= 0 means all.
func (db *DB) ListLoads(ctx context.Context, source string, limit int) ([]geo.Load, error) {
	w := &where{}
	if source != "" {
		w.add("source = %s", source)
	}
	q := `SELECT id, source, started_at, finished_at, status, rows_read, added, changed, unchanged,
    quarantined, error FROM loads` + w.String() + ` ORDER BY id DESC`
	if limit > 0 {
		q += " LIMIT " + w.arg(limit)
	}
	rows, err := db.pool.Query(ctx, q, w.args...)
	if err != nil {
		return nil, wrap("list loads", err)
	}
	defer rows.Close()
	var out []geo.Load
	for rows.Next() {
		var l geo.Load
		if err := rows.Scan(&l.ID, &l.Source, &l.StartedAt, &l.FinishedAt, &l.Status, &l.RowsRead,
			&l.Added, &l.Changed, &l.Unchanged, &l.Quarantined, &l.Error); err != nil {
			return nil, wrap("list loads", err)
		}
		l.StartedAt = l.StartedAt.UTC()
		if l.FinishedAt != nil {
			t := l.FinishedAt.UTC()
			l.FinishedAt = &t
		}
		out = append(out, l)
	}
	return out, wrap("list loads", rows.Err())
}

// Watermark returns the source's last committed position, "" if none.
func (db *DB) Watermark(ctx context.Context, source string) (string, error) {
	var v string
	err := db.pool.QueryRow(ctx, `SELECT value FROM source_watermarks WHERE source = $1`, source).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return v, wrap("watermark", err)
}

// SetWatermark stores the source's position.
func (db *DB) SetWatermark(ctx context.Context, source, value string) error {
	if source == "" {
		return wrap("set watermark", geo.FieldErrorf("source", "watermark without source"))
	}
	_, err := db.pool.Exec(ctx, `
INSERT INTO source_watermarks (source, value, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (source) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
		source, value, db.nowUTC())
	return wrap("set watermark", err)
}

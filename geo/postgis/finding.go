package postgis

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"hotspots/geo"
)

// SaveRun stores a run and its findings in one transaction and returns the
// run with its ID (and StartedAt, when it was zero) set.
func (db *DB) SaveRun(ctx context.Context, run geo.DetectionRun, findings []geo.Finding) (geo.DetectionRun, error) {
	run, findings, err := geo.PrepareRun(run, findings, db.nowUTC())
	if err != nil {
		return geo.DetectionRun{}, wrap("save run", err)
	}
	stats := make([][]byte, len(findings))
	for i, f := range findings {
		if f.Stats == nil {
			stats[i] = []byte("{}")
			continue
		}
		if stats[i], err = json.Marshal(f.Stats); err != nil {
			return geo.DetectionRun{}, wrap("save run", geo.FieldErrorf("stats", "finding %d: %v", i, err))
		}
	}
	err = db.inTx(ctx, "save run", func(tx pgx.Tx) error {
		var params any
		if run.Params != nil {
			params = []byte(run.Params)
		}
		err := tx.QueryRow(ctx, `
INSERT INTO detection_runs (detector, kinds, window_from, window_to, params, seed, started_at, duration)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8 * interval '1 microsecond') RETURNING id`,
			run.Detector, kindStrings(run.Kinds), run.WindowFrom, run.WindowTo, params, run.Seed,
			run.StartedAt, run.Duration.Microseconds()).Scan(&run.ID)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		for i, f := range findings {
			cells := make([]int64, len(f.Cells))
			for j, c := range f.Cells {
				cells[j] = int64(c)
			}
			b.Queue(`
INSERT INTO findings (run, detector, kind, cells, layer, area, start_at, end_at, observed,
    expected, p, score, category, stats)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
				run.ID, f.Detector, f.Kind, cells, f.Layer, f.Area, f.Start, f.End, f.Observed,
				f.Expected, f.PValue, f.Score, f.Category, stats[i])
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return geo.DetectionRun{}, err
	}
	return run, nil
}

// ListRuns returns the newest runs first, of one detector or all ("");
// limit <= 0 means all.
func (db *DB) ListRuns(ctx context.Context, detector string, limit int) ([]geo.DetectionRun, error) {
	w := &where{}
	if detector != "" {
		w.add("detector = %s", detector)
	}
	q := `SELECT id, detector, kinds, window_from, window_to, params, seed, started_at,
    (extract(epoch FROM duration) * 1000000)::bigint
FROM detection_runs` + w.String() + ` ORDER BY id DESC`
	if limit > 0 {
		q += " LIMIT " + w.arg(limit)
	}
	rows, err := db.pool.Query(ctx, q, w.args...)
	if err != nil {
		return nil, wrap("list runs", err)
	}
	defer rows.Close()
	var out []geo.DetectionRun
	for rows.Next() {
		var r geo.DetectionRun
		var kinds []string
		var params []byte
		var us int64
		if err := rows.Scan(&r.ID, &r.Detector, &kinds, &r.WindowFrom, &r.WindowTo, &params, &r.Seed, &r.StartedAt, &us); err != nil {
			return nil, wrap("list runs", err)
		}
		for _, k := range kinds {
			r.Kinds = append(r.Kinds, geo.Kind(k))
		}
		if len(params) > 0 {
			r.Params = params
		}
		r.WindowFrom, r.WindowTo, r.StartedAt = r.WindowFrom.UTC(), r.WindowTo.UTC(), r.StartedAt.UTC()
		r.Duration = time.Duration(us) * time.Microsecond
		out = append(out, r)
	}
	return out, wrap("list runs", rows.Err())
}

// ListFindings returns findings ordered by run and ID. With RunID 0 only
// the latest run of each matching detector and kind group counts; Since keeps findings
// whose End is at or after it.
func (db *DB) ListFindings(ctx context.Context, f geo.FindingFilter) ([]geo.Finding, error) {
	w := &where{}
	if f.Detector != "" {
		w.add("f.detector = %s", f.Detector)
	}
	if f.Kind != "" {
		w.add("f.kind = %s", f.Kind)
	}
	if f.RunID != 0 {
		w.add("f.run = %s", f.RunID)
	} else {
		w.conds = append(w.conds, "f.run IN (SELECT max(id) FROM detection_runs GROUP BY detector, kinds)")
	}
	if f.Since != nil {
		w.add("f.end_at >= %s", *f.Since)
	}
	q := `SELECT f.id, f.run, f.detector, f.kind, f.cells, f.layer, f.area, f.start_at, f.end_at,
    f.observed, f.expected, f.p, f.score, f.category, f.stats
FROM findings f` + w.String() + ` ORDER BY f.run, f.id`
	if f.Limit > 0 {
		q += " LIMIT " + w.arg(f.Limit)
	}
	rows, err := db.pool.Query(ctx, q, w.args...)
	if err != nil {
		return nil, wrap("list findings", err)
	}
	defer rows.Close()
	var out []geo.Finding
	for rows.Next() {
		var x geo.Finding
		var cells []int64
		if err := rows.Scan(&x.ID, &x.RunID, &x.Detector, &x.Kind, &cells, &x.Layer, &x.Area, &x.Start,
			&x.End, &x.Observed, &x.Expected, &x.PValue, &x.Score, &x.Category, &x.Stats); err != nil {
			return nil, wrap("list findings", fmt.Errorf("scan: %w", err))
		}
		for _, c := range cells {
			x.Cells = append(x.Cells, geo.Cell(c))
		}
		if len(x.Stats) == 0 {
			x.Stats = nil
		}
		x.Start, x.End = x.Start.UTC(), x.End.UTC()
		out = append(out, x)
	}
	return out, wrap("list findings", rows.Err())
}

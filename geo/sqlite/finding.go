package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"hotspots/geo"
)

// SaveRun stores a run and its findings in one transaction and returns the
// run with its ID (and StartedAt, when it was zero) set.
func (db *DB) SaveRun(ctx context.Context, run geo.DetectionRun, findings []geo.Finding) (geo.DetectionRun, error) {
	run, findings, err := geo.PrepareRun(run, findings, db.nowUTC())
	if err != nil {
		return geo.DetectionRun{}, wrap("save run", err)
	}
	kinds := run.Kinds
	if kinds == nil {
		kinds = []geo.Kind{}
	}
	err = db.inTx(ctx, "save run", func(tx *sql.Tx) error {
		var params any
		if run.Params != nil {
			params = string(run.Params)
		}
		err := tx.QueryRowContext(ctx, `
INSERT INTO detection_runs (detector, kinds, window_from, window_to, params, seed, started_at, duration_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			run.Detector, jsonList(kinds), us(run.WindowFrom), us(run.WindowTo), params, run.Seed,
			us(run.StartedAt), run.Duration.Microseconds()).Scan(&run.ID)
		if err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `
INSERT INTO findings (run, detector, kind, cells, layer, area, start_at, end_at, observed,
    expected, p, score, category, stats)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		for _, f := range findings {
			cells := make([]int64, len(f.Cells))
			for j, c := range f.Cells {
				cells[j] = int64(c)
			}
			stats := "{}"
			if f.Stats != nil {
				b, err := json.Marshal(f.Stats)
				if err != nil {
					return geo.FieldErrorf("stats", "finding of %s: %v", f.Detector, err)
				}
				stats = string(b)
			}
			var p any
			if f.PValue != nil {
				p = *f.PValue
			}
			if _, err := st.ExecContext(ctx, run.ID, f.Detector, f.Kind, jsonList(cells), f.Layer, f.Area,
				us(f.Start), us(f.End), f.Observed, f.Expected, p, f.Score, f.Category, stats); err != nil {
				return err
			}
		}
		return nil
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
		w.add("detector = ?", detector)
	}
	if limit <= 0 {
		limit = -1
	}
	rows, err := db.read.QueryContext(ctx, `
SELECT id, detector, kinds, window_from, window_to, params, seed, started_at, duration_us
FROM detection_runs`+w.String()+` ORDER BY id DESC LIMIT ?`, append(w.args, limit)...)
	if err != nil {
		return nil, wrap("list runs", err)
	}
	defer rows.Close()
	var out []geo.DetectionRun
	for rows.Next() {
		var r geo.DetectionRun
		var kinds string
		var params sql.NullString
		var from, to, started, dur int64
		if err := rows.Scan(&r.ID, &r.Detector, &kinds, &from, &to, &params, &r.Seed, &started, &dur); err != nil {
			return nil, wrap("list runs", err)
		}
		if err := json.Unmarshal([]byte(kinds), &r.Kinds); err != nil {
			return nil, wrap("list runs", err)
		}
		if len(r.Kinds) == 0 {
			r.Kinds = nil
		}
		if params.Valid {
			r.Params = json.RawMessage(params.String)
		}
		r.WindowFrom, r.WindowTo, r.StartedAt = fromUS(from), fromUS(to), fromUS(started)
		r.Duration = time.Duration(dur) * time.Microsecond
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
		w.add("detector = ?", f.Detector)
	}
	if f.Kind != "" {
		w.add("kind = ?", f.Kind)
	}
	if f.RunID != 0 {
		w.add("run = ?", f.RunID)
	} else {
		w.add("run IN (SELECT max(id) FROM detection_runs GROUP BY detector, kinds)")
	}
	if f.Since != nil {
		w.add("end_at >= ?", us(*f.Since))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := db.read.QueryContext(ctx, `
SELECT id, run, detector, kind, cells, layer, area, start_at, end_at, observed, expected, p, score,
    category, stats
FROM findings`+w.String()+` ORDER BY run, id LIMIT ?`, append(w.args, limit)...)
	if err != nil {
		return nil, wrap("list findings", err)
	}
	defer rows.Close()
	var out []geo.Finding
	for rows.Next() {
		var x geo.Finding
		var cells, stats string
		var start, end int64
		var p sql.NullFloat64
		if err := rows.Scan(&x.ID, &x.RunID, &x.Detector, &x.Kind, &cells, &x.Layer, &x.Area, &start, &end,
			&x.Observed, &x.Expected, &p, &x.Score, &x.Category, &stats); err != nil {
			return nil, wrap("list findings", err)
		}
		var ids []int64
		if err := json.Unmarshal([]byte(cells), &ids); err != nil {
			return nil, wrap("list findings", err)
		}
		for _, c := range ids {
			x.Cells = append(x.Cells, geo.Cell(c))
		}
		if err := json.Unmarshal([]byte(stats), &x.Stats); err != nil {
			return nil, wrap("list findings", err)
		}
		if len(x.Stats) == 0 {
			x.Stats = nil
		}
		if p.Valid {
			v := p.Float64
			x.PValue = &v
		}
		x.Start, x.End = fromUS(start), fromUS(end)
		out = append(out, x)
	}
	return out, wrap("list findings", rows.Err())
}

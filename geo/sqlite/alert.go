package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"hotspots/geo"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

const alertColumns = `id, key, coalesce(finding, 0), status, coalesce(acked_by, ''), acked_at,
    coalesce(resolved_by, ''), resolved_at, revision, created_at, updated_at, payload`

func scanAlert(row scanner) (geo.Alert, error) {
	var a geo.Alert
	var payload, key, status, ackedBy, resolvedBy string
	var id, finding, created, updated int64
	var ackedAt, resolvedAt sql.NullInt64
	var rev int
	if err := row.Scan(&id, &key, &finding, &status, &ackedBy, &ackedAt, &resolvedBy, &resolvedAt, &rev,
		&created, &updated, &payload); err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(payload), &a); err != nil {
		return a, fmt.Errorf("decode alert %d: %w", id, err)
	}
	a.ID, a.Key, a.FindingID, a.Status = id, key, finding, geo.AlertStatus(status)
	a.AckedBy, a.AckedAt, a.ResolvedBy, a.ResolvedAt = ackedBy, fromUSPtr(ackedAt), resolvedBy, fromUSPtr(resolvedAt)
	a.Revision, a.CreatedAt, a.UpdatedAt = rev, fromUS(created), fromUS(updated)
	return geo.PrepareAlert(a), nil
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func cellInts(cells []geo.Cell) []int64 {
	out := make([]int64, len(cells))
	for i, c := range cells {
		out[i] = int64(c)
	}
	return out
}

// writeAlert inserts (ID 0) or updates a and returns its ID.
func writeAlert(ctx context.Context, tx *sql.Tx, a geo.Alert) (int64, error) {
	payload, err := json.Marshal(a)
	if err != nil {
		return 0, geo.Errorf(geo.EINVALID, "alert %s: %v", a.Key, err)
	}
	counts, _ := json.Marshal(map[string]any{"count": a.Count, "expected": a.Expected, "threshold": a.Threshold})
	kind := ""
	if len(a.Kinds) > 0 {
		kind = string(a.Kinds[0])
	}
	args := []any{a.Key, nullID(a.FindingID), kind, string(a.Severity), string(a.Status), nullText(a.AckedBy),
		usPtr(a.AckedAt), jsonList(a.Areas), jsonList(cellInts(a.Cells)), us(a.WindowFrom), us(a.WindowTo),
		string(counts), string(payload), us(a.CreatedAt), us(a.UpdatedAt), string(a.Rule), a.Detector,
		jsonList(a.Kinds), a.Revision, nullText(a.ResolvedBy), usPtr(a.ResolvedAt), us(a.ExpiresAt)}
	if a.ID == 0 {
		var id int64
		err := tx.QueryRowContext(ctx, `
INSERT INTO alerts (key, finding, kind, severity, status, acked_by, acked_at, areas, cells, window_from,
    window_to, counts, payload, created_at, updated_at, rule, detector, kinds, revision, resolved_by,
    resolved_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, args...).Scan(&id)
		return id, err
	}
	_, err = tx.ExecContext(ctx, `
UPDATE alerts SET key = ?, finding = ?, kind = ?, severity = ?, status = ?, acked_by = ?, acked_at = ?,
    areas = ?, cells = ?, window_from = ?, window_to = ?, counts = ?, payload = ?, created_at = ?,
    updated_at = ?, rule = ?, detector = ?, kinds = ?, revision = ?, resolved_by = ?, resolved_at = ?,
    expires_at = ?
WHERE id = ?`, append(args, a.ID)...)
	return a.ID, err
}

// addEvent appends an event with a snapshot of a.
func addEvent(ctx context.Context, tx *sql.Tx, a geo.Alert, t geo.AlertEventType, actor string, at time.Time) (geo.AlertEvent, error) {
	snap, err := json.Marshal(a)
	if err != nil {
		return geo.AlertEvent{}, err
	}
	ev := geo.AlertEvent{AlertID: a.ID, Revision: a.Revision, Type: t, Actor: actor, At: at, Alert: a}
	err = tx.QueryRowContext(ctx, `
INSERT INTO alert_events (alert, revision, type, actor, at, snapshot) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		a.ID, a.Revision, string(t), actor, us(at), string(snap)).Scan(&ev.ID)
	return ev, err
}

// previousAlert returns the unresolved alert of key, else the most recent
// resolved one, else nil. The write transaction is the lock.
func previousAlert(ctx context.Context, tx *sql.Tx, key string) (*geo.Alert, error) {
	a, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts
WHERE key = ? ORDER BY (status <> 'resolved') DESC, id DESC LIMIT 1`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// RaiseAlerts writes a batch in one transaction: the run and its findings,
// the alerts as the merge decides, their events, and their deliveries.
func (db *DB) RaiseAlerts(ctx context.Context, b geo.AlertBatch, merge geo.AlertMerge) (geo.AlertBatchResult, error) {
	now := db.nowUTC()
	var res geo.AlertBatchResult
	var findings []geo.Finding
	if b.Run != nil {
		run, fs, err := geo.PrepareRun(*b.Run, b.Findings, now)
		if err != nil {
			return res, wrap("raise alerts", err)
		}
		res.Run, findings = run, fs
	}
	for i, d := range b.Drafts {
		if d.Alert.Key == "" || d.Finding >= len(findings) {
			return res, wrap("raise alerts", geo.Errorf(geo.EINVALID, "draft %d: no key, or finding %d of %d", i, d.Finding, len(findings)))
		}
	}
	err := db.inTx(ctx, "raise alerts", func(tx *sql.Tx) error {
		if b.Run != nil {
			if err := insertRun(ctx, tx, &res.Run, findings); err != nil {
				return err
			}
		}
		for _, d := range b.Drafts {
			prev, err := previousAlert(ctx, tx, d.Alert.Key)
			if err != nil {
				return err
			}
			dec := merge(prev, d, now)
			if !dec.Store {
				continue
			}
			a := geo.PrepareAlert(dec.Alert)
			a.Key = d.Alert.Key
			if d.Finding >= 0 {
				a.FindingID = findings[d.Finding].ID
			} else if prev != nil && a.ID == prev.ID {
				a.FindingID = prev.FindingID
			}
			if a.ID, err = writeAlert(ctx, tx, a); err != nil {
				return err
			}
			res.Alerts = append(res.Alerts, a)
			if dec.Event == "" {
				continue
			}
			ev, err := addEvent(ctx, tx, a, dec.Event, "", now)
			if err != nil {
				return err
			}
			res.Events = append(res.Events, ev)
			if !dec.Notify {
				continue
			}
			for _, t := range dec.Targets {
				n, err := enqueue(ctx, tx, a, ev.ID, t, b.Cooldown, now)
				if err != nil {
					return err
				}
				res.Enqueued += n
			}
		}
		return nil
	})
	if err != nil {
		return geo.AlertBatchResult{}, err
	}
	res.Findings = findings
	return res, nil
}

// insertRun inserts a prepared run and its findings, setting their IDs.
func insertRun(ctx context.Context, tx *sql.Tx, run *geo.DetectionRun, findings []geo.Finding) error {
	var params any
	if run.Params != nil {
		params = string(run.Params)
	}
	kinds := run.Kinds
	if kinds == nil {
		kinds = []geo.Kind{}
	}
	err := tx.QueryRowContext(ctx, `
INSERT INTO detection_runs (detector, kinds, window_from, window_to, params, seed, started_at, duration_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		run.Detector, jsonList(kinds), us(run.WindowFrom), us(run.WindowTo), params, run.Seed,
		us(run.StartedAt), run.Duration.Microseconds()).Scan(&run.ID)
	if err != nil {
		return err
	}
	for i := range findings {
		f := &findings[i]
		f.RunID = run.ID
		stats := "{}"
		if f.Stats != nil {
			b, err := json.Marshal(f.Stats)
			if err != nil {
				return geo.FieldErrorf("stats", "finding %d: %v", i, err)
			}
			stats = string(b)
		}
		var p any
		if f.PValue != nil {
			p = *f.PValue
		}
		if err := tx.QueryRowContext(ctx, `
INSERT INTO findings (run, detector, kind, cells, layer, area, start_at, end_at, observed,
    expected, p, score, category, stats)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			run.ID, f.Detector, f.Kind, jsonList(cellInts(f.Cells)), f.Layer, f.Area, us(f.Start), us(f.End),
			f.Observed, f.Expected, p, f.Score, f.Category, stats).Scan(&f.ID); err != nil {
			return err
		}
	}
	return nil
}

// enqueue adds the delivery of event ev of a to target t: it brings a
// never-attempted pending delivery of the same alert and target up to date,
// or schedules a new one no sooner than the cool-down after the last send.
func enqueue(ctx context.Context, tx *sql.Tx, a geo.Alert, ev int64, t geo.DeliveryTarget, cooldown time.Duration, now time.Time) (int, error) {
	key := geo.IdempotencyKey(a.ID, a.Revision, t.SubscriptionID, t.Channel)
	res, err := tx.ExecContext(ctx, `
UPDATE deliveries SET event = ?, revision = ?, idempotency_key = ?, updated_at = ?
WHERE id = (SELECT id FROM deliveries WHERE alert = ? AND subscription = ? AND channel = ?
    AND status = 'pending' AND attempts = 0 ORDER BY id DESC LIMIT 1)`,
		ev, a.Revision, key, us(now), a.ID, t.SubscriptionID, string(t.Channel))
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return int(n), nil
	}
	res, err = tx.ExecContext(ctx, `
INSERT INTO deliveries (alert, subscription, channel, idempotency_key, status, attempts, next_attempt_at,
    event, revision, created_at, updated_at)
SELECT ?1, s.id, ?2, ?3, 'pending', 0,
    max(?4, coalesce((SELECT max(sent_at) FROM deliveries
        WHERE alert = ?1 AND subscription = s.id AND channel = ?2 AND status = 'sent') + ?5, ?4)),
    ?6, ?7, ?4, ?4
FROM subscriptions s WHERE s.id = ?8 AND s.active`,
		a.ID, string(t.Channel), key, us(now), cooldown.Microseconds(), ev, a.Revision, t.SubscriptionID)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// FindAlertByID returns one alert; ENOTFOUND if none.
func (db *DB) FindAlertByID(ctx context.Context, id int64) (geo.Alert, error) {
	a, err := scanAlert(db.read.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, wrap("find alert", geo.Errorf(geo.ENOTFOUND, "no alert %d", id))
	}
	return a, wrap("find alert", err)
}

// FindAlerts returns alerts, most recently updated first.
func (db *DB) FindAlerts(ctx context.Context, f geo.AlertFilter) ([]geo.Alert, error) {
	w := &where{}
	if len(f.Status) > 0 {
		w.add("status IN (SELECT value FROM json_each(?))", jsonList(f.Status))
	}
	if f.Rule != "" {
		w.add("rule = ?", string(f.Rule))
	}
	if f.Detector != "" {
		w.add("detector = ?", f.Detector)
	}
	if f.Key != "" {
		w.add("key = ?", f.Key)
	}
	if len(f.Kinds) > 0 {
		w.add("EXISTS (SELECT 1 FROM json_each(kinds) k WHERE k.value IN (SELECT value FROM json_each(?)))", jsonList(f.Kinds))
	}
	if f.Since != nil {
		w.add("updated_at >= ?", us(*f.Since))
	}
	if f.CreatedSince != nil {
		w.add("created_at >= ?", us(*f.CreatedSince))
	}
	q := `SELECT ` + alertColumns + ` FROM alerts` + w.String() + ` ORDER BY updated_at DESC, id DESC`
	args := w.args
	if f.Limit > 0 || f.Offset > 0 {
		limit := f.Limit
		if limit <= 0 {
			limit = -1
		}
		q += " LIMIT ? OFFSET ?"
		args = append(args, limit, f.Offset)
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("find alerts", err)
	}
	defer rows.Close()
	var out []geo.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, wrap("find alerts", err)
		}
		out = append(out, a)
	}
	return out, wrap("find alerts", rows.Err())
}

// changeAlert lets fn change alert id and stores the change with an event
// when fn reports one.
func (db *DB) changeAlert(ctx context.Context, op string, id int64, actor string,
	fn func(a *geo.Alert, now time.Time) (geo.AlertEventType, error)) (geo.Alert, error) {
	var out geo.Alert
	err := db.inTx(ctx, op, func(tx *sql.Tx) error {
		a, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return geo.Errorf(geo.ENOTFOUND, "no alert %d", id)
		}
		if err != nil {
			return err
		}
		now := db.nowUTC()
		t, err := fn(&a, now)
		if err != nil || t == "" {
			out = a
			return err
		}
		a.UpdatedAt = now
		if _, err := writeAlert(ctx, tx, a); err != nil {
			return err
		}
		out = a
		_, err = addEvent(ctx, tx, a, t, actor, now)
		return err
	})
	return out, err
}

// AckAlert marks an open alert acknowledged.
func (db *DB) AckAlert(ctx context.Context, id int64, by string) (geo.Alert, error) {
	return db.changeAlert(ctx, "ack alert", id, by, func(a *geo.Alert, now time.Time) (geo.AlertEventType, error) {
		switch a.Status {
		case geo.AlertResolved:
			return "", geo.Errorf(geo.ECONFLICT, "alert %d is resolved", a.ID)
		case geo.AlertAcknowledged:
			return "", nil
		}
		a.Status, a.AckedBy, a.AckedAt = geo.AlertAcknowledged, by, &now
		return geo.EventAcknowledged, nil
	})
}

// ResolveAlert resolves a live alert.
func (db *DB) ResolveAlert(ctx context.Context, id int64, by string) (geo.Alert, error) {
	return db.changeAlert(ctx, "resolve alert", id, by, func(a *geo.Alert, now time.Time) (geo.AlertEventType, error) {
		return resolve(a, by, now), nil
	})
}

func resolve(a *geo.Alert, by string, now time.Time) geo.AlertEventType {
	if a.Status == geo.AlertResolved {
		return ""
	}
	a.Status, a.ResolvedBy, a.ResolvedAt = geo.AlertResolved, by, &now
	return geo.EventResolved
}

// expireActor resolves expired alerts in the history.
const expireActor = "system"

// ExpireAlerts resolves live alerts whose time is up.
func (db *DB) ExpireAlerts(ctx context.Context, now time.Time) ([]geo.Alert, error) {
	var out []geo.Alert
	err := db.inTx(ctx, "expire alerts", func(tx *sql.Tx) error {
		out = nil
		due, err := queryAlerts(ctx, tx, `SELECT `+alertColumns+` FROM alerts
WHERE status <> 'resolved' AND expires_at <= ? ORDER BY id`, us(now))
		if err != nil {
			return err
		}
		at := db.nowUTC()
		for _, a := range due {
			resolve(&a, expireActor, at)
			a.UpdatedAt = at
			if _, err := writeAlert(ctx, tx, a); err != nil {
				return err
			}
			if _, err := addEvent(ctx, tx, a, geo.EventResolved, expireActor, at); err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

func queryAlerts(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]geo.Alert, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []geo.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

const eventColumns = `id, alert, revision, type, actor, at, snapshot`

func scanEvent(row scanner) (geo.AlertEvent, error) {
	var ev geo.AlertEvent
	var t, snap string
	var at int64
	if err := row.Scan(&ev.ID, &ev.AlertID, &ev.Revision, &t, &ev.Actor, &at, &snap); err != nil {
		return ev, err
	}
	ev.Type, ev.At = geo.AlertEventType(t), fromUS(at)
	if err := json.Unmarshal([]byte(snap), &ev.Alert); err != nil {
		return ev, fmt.Errorf("decode event %d: %w", ev.ID, err)
	}
	ev.Alert = geo.PrepareAlert(ev.Alert)
	return ev, nil
}

func queryEvents(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]geo.AlertEvent, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []geo.AlertEvent
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// AlertEvents returns events after afterID, oldest first.
func (db *DB) AlertEvents(ctx context.Context, afterID int64, limit int) ([]geo.AlertEvent, error) {
	if limit <= 0 {
		limit = 100
	}
	evs, err := queryEvents(ctx, db.read, `SELECT `+eventColumns+` FROM alert_events WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
	return evs, wrap("alert events", err)
}

// LastAlertEventID returns the newest event's ID, 0 if none.
func (db *DB) LastAlertEventID(ctx context.Context) (int64, error) {
	var id int64
	err := db.read.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM alert_events`).Scan(&id)
	return id, wrap("last alert event", err)
}

// PurgeAlertPoints strips points from alerts whose window ended before
// cutoff, and from their event snapshots.
func (db *DB) PurgeAlertPoints(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	err := db.inTx(ctx, "purge alert points", func(tx *sql.Tx) error {
		n = 0
		due, err := queryAlerts(ctx, tx, `SELECT `+alertColumns+` FROM alerts
WHERE window_to < ? AND (json_extract(payload, '$.origin') IS NOT NULL
    OR EXISTS (SELECT 1 FROM json_each(payload, '$.cases') c WHERE json_extract(c.value, '$.point') IS NOT NULL))
ORDER BY id`, us(cutoff))
		if err != nil {
			return err
		}
		for _, a := range due {
			if _, err := writeAlert(ctx, tx, a.WithoutPoints()); err != nil {
				return err
			}
			evs, err := queryEvents(ctx, tx, `SELECT `+eventColumns+` FROM alert_events WHERE alert = ? ORDER BY id`, a.ID)
			if err != nil {
				return err
			}
			for _, ev := range evs {
				if !ev.Alert.HasPoints() {
					continue
				}
				snap, err := json.Marshal(ev.Alert.WithoutPoints())
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE alert_events SET snapshot = ? WHERE id = ?`, string(snap), ev.ID); err != nil {
					return err
				}
			}
			n++
		}
		return nil
	})
	return n, err
}

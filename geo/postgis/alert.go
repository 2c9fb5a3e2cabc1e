package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"hotspots/geo"
)

// lockAlertEvents serialises transactions that append alert events, so event
// IDs become visible in commit order and a stream reading "events after N"
// never skips one committed late. It is per schema, so tests in separate
// schemas do not wait for each other.
func lockAlertEvents(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('hotspots.alert_events.' || current_schema(), 0))`)
	return err
}

const alertColumns = `id, key, coalesce(finding, 0), status, coalesce(acked_by, ''), acked_at,
    coalesce(resolved_by, ''), resolved_at, revision, created_at, updated_at, payload`

func scanAlert(row pgx.Row) (geo.Alert, error) {
	var a geo.Alert
	var payload []byte
	var key, status string
	var id, finding int64
	var ackedBy, resolvedBy string
	var ackedAt, resolvedAt *time.Time
	var rev int
	var created, updated time.Time
	if err := row.Scan(&id, &key, &finding, &status, &ackedBy, &ackedAt, &resolvedBy, &resolvedAt, &rev,
		&created, &updated, &payload); err != nil {
		return a, err
	}
	if err := json.Unmarshal(payload, &a); err != nil {
		return a, fmt.Errorf("decode alert %d: %w", id, err)
	}
	a.ID, a.Key, a.FindingID, a.Status = id, key, finding, geo.AlertStatus(status)
	a.AckedBy, a.AckedAt, a.ResolvedBy, a.ResolvedAt = ackedBy, ackedAt, resolvedBy, resolvedAt
	a.Revision, a.CreatedAt, a.UpdatedAt = rev, created.UTC(), updated.UTC()
	return geo.PrepareAlert(a), nil
}

func cellInts(cells []geo.Cell) []int64 {
	out := make([]int64, len(cells))
	for i, c := range cells {
		out[i] = int64(c)
	}
	return out
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// writeAlert inserts (ID 0) or updates a and returns its ID.
func writeAlert(ctx context.Context, tx pgx.Tx, a geo.Alert) (int64, error) {
	payload, err := json.Marshal(a)
	if err != nil {
		return 0, geo.Errorf(geo.EINVALID, "alert %s: %v", a.Key, err)
	}
	counts, _ := json.Marshal(map[string]any{"count": a.Count, "expected": a.Expected, "threshold": a.Threshold})
	kind := ""
	if len(a.Kinds) > 0 {
		kind = string(a.Kinds[0])
	}
	args := []any{a.Key, nullID(a.FindingID), kind, string(a.Severity), string(a.Status), nullText(a.AckedBy), a.AckedAt,
		a.Areas, cellInts(a.Cells), a.WindowFrom, a.WindowTo, counts, payload, a.CreatedAt, a.UpdatedAt,
		string(a.Rule), a.Detector, kindStrings(a.Kinds), a.Revision, nullText(a.ResolvedBy), a.ResolvedAt, a.ExpiresAt}
	if a.ID == 0 {
		var id int64
		err := tx.QueryRow(ctx, `
INSERT INTO alerts (key, finding, kind, severity, status, acked_by, acked_at, areas, cells, window_from,
    window_to, counts, payload, created_at, updated_at, rule, detector, kinds, revision, resolved_by,
    resolved_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
RETURNING id`, args...).Scan(&id)
		return id, err
	}
	_, err = tx.Exec(ctx, `
UPDATE alerts SET key = $1, finding = $2, kind = $3, severity = $4, status = $5, acked_by = $6,
    acked_at = $7, areas = $8, cells = $9, window_from = $10, window_to = $11, counts = $12,
    payload = $13, created_at = $14, updated_at = $15, rule = $16, detector = $17, kinds = $18,
    revision = $19, resolved_by = $20, resolved_at = $21, expires_at = $22
WHERE id = $23`, append(args, a.ID)...)
	return a.ID, err
}

// addEvent appends an event with a snapshot of a.
func addEvent(ctx context.Context, tx pgx.Tx, a geo.Alert, t geo.AlertEventType, actor string, at time.Time) (geo.AlertEvent, error) {
	snap, err := json.Marshal(a)
	if err != nil {
		return geo.AlertEvent{}, err
	}
	ev := geo.AlertEvent{AlertID: a.ID, Revision: a.Revision, Type: t, Actor: actor, At: at, Alert: a}
	err = tx.QueryRow(ctx, `
INSERT INTO alert_events (alert, revision, type, actor, at, snapshot) VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id`, a.ID, a.Revision, string(t), actor, at, snap).Scan(&ev.ID)
	return ev, err
}

// previousAlert locks and returns the unresolved alert of key, else the
// most recent resolved one, else nil.
func previousAlert(ctx context.Context, tx pgx.Tx, key string) (*geo.Alert, error) {
	a, err := scanAlert(tx.QueryRow(ctx, `SELECT `+alertColumns+` FROM alerts
WHERE key = $1 ORDER BY (status <> 'resolved') DESC, id DESC LIMIT 1 FOR UPDATE`, key))
	if errors.Is(err, pgx.ErrNoRows) {
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
	err := db.inTx(ctx, "raise alerts", func(tx pgx.Tx) error {
		res.Alerts, res.Events, res.Enqueued = nil, nil, 0
		if err := lockAlertEvents(ctx, tx); err != nil {
			return err
		}
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
func insertRun(ctx context.Context, tx pgx.Tx, run *geo.DetectionRun, findings []geo.Finding) error {
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
	for i := range findings {
		f := &findings[i]
		f.RunID = run.ID
		stats := []byte("{}")
		if f.Stats != nil {
			if stats, err = json.Marshal(f.Stats); err != nil {
				return geo.FieldErrorf("stats", "finding %d: %v", i, err)
			}
		}
		if err := tx.QueryRow(ctx, `
INSERT INTO findings (run, detector, kind, cells, layer, area, start_at, end_at, observed,
    expected, p, score, category, stats)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
			run.ID, f.Detector, f.Kind, cellInts(f.Cells), f.Layer, f.Area, f.Start, f.End, f.Observed,
			f.Expected, f.PValue, f.Score, f.Category, stats).Scan(&f.ID); err != nil {
			return err
		}
	}
	return nil
}

// enqueue adds the delivery of event ev of a to target t: it brings a
// never-attempted pending delivery of the same alert and target up to date
// (one send carries the latest revision), or schedules a new one no sooner
// than the cool-down after the last send. It reports 1 when it wrote.
func enqueue(ctx context.Context, tx pgx.Tx, a geo.Alert, ev int64, t geo.DeliveryTarget, cooldown time.Duration, now time.Time) (int, error) {
	key := geo.IdempotencyKey(a.ID, a.Revision, t.SubscriptionID, t.Channel)
	tag, err := tx.Exec(ctx, `
UPDATE deliveries SET event = $1, revision = $2, idempotency_key = $3, updated_at = $4
WHERE id = (SELECT id FROM deliveries WHERE alert = $5 AND subscription = $6 AND channel = $7
    AND status = 'pending' AND attempts = 0 ORDER BY id DESC LIMIT 1 FOR UPDATE)`,
		ev, a.Revision, key, now, a.ID, t.SubscriptionID, string(t.Channel))
	if err != nil || tag.RowsAffected() > 0 {
		return int(tag.RowsAffected()), err
	}
	tag, err = tx.Exec(ctx, `
INSERT INTO deliveries (alert, subscription, channel, idempotency_key, status, attempts, next_attempt_at,
    event, revision, created_at, updated_at)
SELECT $1, s.id, $2, $3, 'pending', 0,
    greatest($4, coalesce((SELECT max(sent_at) FROM deliveries
        WHERE alert = $1 AND subscription = s.id AND channel = $2 AND status = 'sent') + $5 * interval '1 microsecond', $4)),
    $6, $7, $4, $4
FROM subscriptions s WHERE s.id = $8 AND s.active`,
		a.ID, string(t.Channel), key, now, cooldown.Microseconds(), ev, a.Revision, t.SubscriptionID)
	return int(tag.RowsAffected()), err
}

// FindAlertByID returns one alert; ENOTFOUND if none.
func (db *DB) FindAlertByID(ctx context.Context, id int64) (geo.Alert, error) {
	a, err := scanAlert(db.pool.QueryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, wrap("find alert", geo.Errorf(geo.ENOTFOUND, "no alert %d", id))
	}
	return a, wrap("find alert", err)
}

// FindAlerts returns alerts, most recently updated first.
func (db *DB) FindAlerts(ctx context.Context, f geo.AlertFilter) ([]geo.Alert, error) {
	w := &where{}
	if len(f.Status) > 0 {
		st := make([]string, len(f.Status))
		for i, s := range f.Status {
			st[i] = string(s)
		}
		w.add("status = ANY(%s)", st)
	}
	if f.Rule != "" {
		w.add("rule = %s", string(f.Rule))
	}
	if f.Detector != "" {
		w.add("detector = %s", f.Detector)
	}
	if f.Key != "" {
		w.add("key = %s", f.Key)
	}
	if len(f.Kinds) > 0 {
		w.add("kinds && %s", kindStrings(f.Kinds))
	}
	if f.Since != nil {
		w.add("updated_at >= %s", *f.Since)
	}
	if f.CreatedSince != nil {
		w.add("created_at >= %s", *f.CreatedSince)
	}
	q := `SELECT ` + alertColumns + ` FROM alerts` + w.String() + ` ORDER BY updated_at DESC, id DESC`
	if f.Limit > 0 {
		q += " LIMIT " + w.arg(f.Limit)
	}
	if f.Offset > 0 {
		q += " OFFSET " + w.arg(f.Offset)
	}
	rows, err := db.pool.Query(ctx, q, w.args...)
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

// changeAlert locks alert id, lets fn change it, and stores the change with
// an event when fn reports one.
func (db *DB) changeAlert(ctx context.Context, op string, id int64, actor string,
	fn func(a *geo.Alert, now time.Time) (geo.AlertEventType, error)) (geo.Alert, error) {
	var out geo.Alert
	err := db.inTx(ctx, op, func(tx pgx.Tx) error {
		if err := lockAlertEvents(ctx, tx); err != nil {
			return err
		}
		a, err := scanAlert(tx.QueryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
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
		return ack(a, by, now)
	})
}

// ResolveAlert resolves a live alert.
func (db *DB) ResolveAlert(ctx context.Context, id int64, by string) (geo.Alert, error) {
	return db.changeAlert(ctx, "resolve alert", id, by, func(a *geo.Alert, now time.Time) (geo.AlertEventType, error) {
		return resolve(a, by, now), nil
	})
}

func ack(a *geo.Alert, by string, now time.Time) (geo.AlertEventType, error) {
	switch a.Status {
	case geo.AlertResolved:
		return "", geo.Errorf(geo.ECONFLICT, "alert %d is resolved", a.ID)
	case geo.AlertAcknowledged:
		return "", nil
	}
	a.Status, a.AckedBy, a.AckedAt = geo.AlertAcknowledged, by, &now
	return geo.EventAcknowledged, nil
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
	err := db.inTx(ctx, "expire alerts", func(tx pgx.Tx) error {
		out = nil
		if err := lockAlertEvents(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+alertColumns+` FROM alerts
WHERE status <> 'resolved' AND expires_at <= $1 ORDER BY id FOR UPDATE SKIP LOCKED`, now)
		if err != nil {
			return err
		}
		var due []geo.Alert
		for rows.Next() {
			a, err := scanAlert(rows)
			if err != nil {
				rows.Close()
				return err
			}
			due = append(due, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
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

// AlertEvents returns events after afterID, oldest first.
func (db *DB) AlertEvents(ctx context.Context, afterID int64, limit int) ([]geo.AlertEvent, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.pool.Query(ctx, `SELECT id, alert, revision, type, actor, at, snapshot FROM alert_events
WHERE id > $1 ORDER BY id LIMIT $2`, afterID, limit)
	if err != nil {
		return nil, wrap("alert events", err)
	}
	defer rows.Close()
	var out []geo.AlertEvent
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, wrap("alert events", err)
		}
		out = append(out, ev)
	}
	return out, wrap("alert events", rows.Err())
}

func scanEvent(row pgx.Row) (geo.AlertEvent, error) {
	var ev geo.AlertEvent
	var t string
	var snap []byte
	if err := row.Scan(&ev.ID, &ev.AlertID, &ev.Revision, &t, &ev.Actor, &ev.At, &snap); err != nil {
		return ev, err
	}
	ev.Type, ev.At = geo.AlertEventType(t), ev.At.UTC()
	if err := json.Unmarshal(snap, &ev.Alert); err != nil {
		return ev, fmt.Errorf("decode event %d: %w", ev.ID, err)
	}
	ev.Alert = geo.PrepareAlert(ev.Alert)
	return ev, nil
}

// LastAlertEventID returns the newest event's ID, 0 if none.
func (db *DB) LastAlertEventID(ctx context.Context) (int64, error) {
	var id int64
	err := db.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM alert_events`).Scan(&id)
	return id, wrap("last alert event", err)
}

// PurgeAlertPoints strips points from alerts whose window ended before
// cutoff, and from their event snapshots.
func (db *DB) PurgeAlertPoints(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	err := db.inTx(ctx, "purge alert points", func(tx pgx.Tx) error {
		n = 0
		rows, err := tx.Query(ctx, `SELECT `+alertColumns+` FROM alerts
WHERE window_to < $1 AND (payload ? 'origin' OR jsonb_path_exists(payload, '$.cases[*].point'))
ORDER BY id FOR UPDATE`, cutoff)
		if err != nil {
			return err
		}
		var due []geo.Alert
		for rows.Next() {
			a, err := scanAlert(rows)
			if err != nil {
				rows.Close()
				return err
			}
			due = append(due, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, a := range due {
			if _, err := writeAlert(ctx, tx, a.WithoutPoints()); err != nil {
				return err
			}
			if err := purgeEventPoints(ctx, tx, a.ID); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

func purgeEventPoints(ctx context.Context, tx pgx.Tx, alertID int64) error {
	rows, err := tx.Query(ctx, `SELECT id, alert, revision, type, actor, at, snapshot FROM alert_events
WHERE alert = $1 ORDER BY id`, alertID)
	if err != nil {
		return err
	}
	var evs []geo.AlertEvent
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			rows.Close()
			return err
		}
		evs = append(evs, ev)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
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
		if _, err := tx.Exec(ctx, `UPDATE alert_events SET snapshot = $1 WHERE id = $2`, snap, ev.ID); err != nil {
			return err
		}
	}
	return nil
}

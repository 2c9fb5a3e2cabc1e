package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"time"

	"hotspots/geo"
)

const deliveryColumns = `id, alert, coalesce(event, 0), revision, subscription, channel, idempotency_key, status,
    attempts, next_attempt_at, last_error, coalesce(claimed_by, ''), claimed_until, created_at, updated_at, sent_at`

func scanDelivery(row scanner) (geo.Delivery, error) {
	var d geo.Delivery
	var ch, st string
	var next, created, updated int64
	var until, sent sql.NullInt64
	err := row.Scan(&d.ID, &d.AlertID, &d.EventID, &d.Revision, &d.SubscriptionID, &ch, &d.IdempotencyKey, &st,
		&d.Attempts, &next, &d.LastError, &d.ClaimedBy, &until, &created, &updated, &sent)
	d.Channel, d.Status = geo.ChannelType(ch), geo.DeliveryStatus(st)
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = fromUS(next), fromUS(created), fromUS(updated)
	d.ClaimedUntil, d.SentAt = fromUSPtr(until), fromUSPtr(sent)
	return d, err
}

// deliveryLease names the single-writer lease of the delivery outbox.
const deliveryLease = "deliveries"

// ClaimDeliveries leases due deliveries. SQLite has no SKIP LOCKED: one
// claimer at a time holds the single-writer lease (renewed by every claim
// it makes) and claims inside a write transaction; other claimers get
// nothing until the holder stops claiming for longer than its lease.
func (db *DB) ClaimDeliveries(ctx context.Context, c geo.DeliveryClaim) ([]geo.DeliveryJob, error) {
	if c.Worker == "" || c.Limit <= 0 || c.Lease <= 0 || c.MaxAttempts <= 0 {
		return nil, wrap("claim deliveries", geo.Errorf(geo.EINVALID, "claim needs a worker, a limit, a lease and max attempts"))
	}
	now := db.nowUTC()
	var ds []geo.Delivery
	err := db.inTx(ctx, "claim deliveries", func(tx *sql.Tx) error {
		ds = nil
		res, err := tx.ExecContext(ctx, `
INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
WHERE leases.holder = excluded.holder OR leases.until < ?4`, deliveryLease, c.Worker, us(now.Add(c.Lease)), us(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // another claimer holds the lease
		}
		if _, err := tx.ExecContext(ctx, `
UPDATE deliveries SET status = 'dead', updated_at = ?1, claimed_by = NULL, claimed_until = NULL,
    last_error = CASE WHEN last_error = '' THEN 'lease expired' ELSE last_error END
WHERE status = 'sending' AND claimed_until < ?1 AND attempts >= ?2`, us(now), c.MaxAttempts); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `
UPDATE deliveries SET status = 'sending', claimed_by = ?1, claimed_until = ?2, attempts = attempts + 1,
    updated_at = ?3
WHERE id IN (SELECT id FROM deliveries
    WHERE status IN ('pending', 'sending')
      AND ((status = 'pending' AND next_attempt_at <= ?3) OR (status = 'sending' AND claimed_until < ?3))
    ORDER BY next_attempt_at, id LIMIT ?4)
RETURNING `+deliveryColumns, c.Worker, us(now.Add(c.Lease)), us(now), c.Limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
		return rows.Err()
	})
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	return db.jobs(ctx, ds)
}

// jobs loads the events and subscriptions of claimed deliveries.
func (db *DB) jobs(ctx context.Context, ds []geo.Delivery) ([]geo.DeliveryJob, error) {
	sort.Slice(ds, func(i, j int) bool {
		if !ds[i].NextAttemptAt.Equal(ds[j].NextAttemptAt) {
			return ds[i].NextAttemptAt.Before(ds[j].NextAttemptAt)
		}
		return ds[i].ID < ds[j].ID
	})
	evIDs := make([]int64, 0, len(ds))
	subIDs := make([]int64, 0, len(ds))
	for _, d := range ds {
		evIDs = append(evIDs, d.EventID)
		subIDs = append(subIDs, d.SubscriptionID)
	}
	evs, err := queryEvents(ctx, db.read, `SELECT `+eventColumns+` FROM alert_events
WHERE id IN (SELECT value FROM json_each(?))`, jsonList(evIDs))
	if err != nil {
		return nil, wrap("claim deliveries", err)
	}
	events := map[int64]geo.AlertEvent{}
	for _, ev := range evs {
		events[ev.ID] = ev
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
WHERE id IN (SELECT value FROM json_each(?))`, jsonList(subIDs))
	if err != nil {
		return nil, wrap("claim deliveries", err)
	}
	defer rows.Close()
	subs := map[int64]geo.Subscription{}
	for rows.Next() {
		s, err := scanSubscription(rows)
		if err != nil {
			return nil, wrap("claim deliveries", err)
		}
		subs[s.ID] = s
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("claim deliveries", err)
	}
	out := make([]geo.DeliveryJob, len(ds))
	for i, d := range ds {
		out[i] = geo.DeliveryJob{Delivery: d, Event: events[d.EventID], Subscription: subs[d.SubscriptionID]}
	}
	return out, nil
}

// MarkSent records a successful attempt held by worker.
func (db *DB) MarkSent(ctx context.Context, id int64, worker string, attempt int) error {
	return db.inTx(ctx, "mark sent", func(tx *sql.Tx) error {
		now := us(db.nowUTC())
		res, err := tx.ExecContext(ctx, `
UPDATE deliveries SET status = 'sent', sent_at = ?1, updated_at = ?1, claimed_by = NULL, claimed_until = NULL,
    last_error = ''
WHERE id = ?2 AND status = 'sending' AND claimed_by = ?3 AND attempts = ?4`, now, id, worker, attempt)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return geo.Errorf(geo.ECONFLICT, "delivery %d: lease of attempt %d by %s was lost", id, attempt, worker)
		}
		return nil
	})
}

// MarkFailed records a failed attempt: retried at retryAt, or dead.
func (db *DB) MarkFailed(ctx context.Context, id int64, worker string, attempt int, reason string, retryAt *time.Time) error {
	return db.inTx(ctx, "mark failed", func(tx *sql.Tx) error {
		now := db.nowUTC()
		status, next := "dead", now
		if retryAt != nil {
			status, next = "pending", *retryAt
		}
		if len(reason) > 1000 {
			reason = reason[:1000]
		}
		res, err := tx.ExecContext(ctx, `
UPDATE deliveries SET status = ?, next_attempt_at = ?, last_error = ?, updated_at = ?,
    claimed_by = NULL, claimed_until = NULL
WHERE id = ? AND status = 'sending' AND claimed_by = ? AND attempts = ?`,
			status, us(next), reason, us(now), id, worker, attempt)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return geo.Errorf(geo.ECONFLICT, "delivery %d: lease of attempt %d by %s was lost", id, attempt, worker)
		}
		return nil
	})
}

// FindDeliveries returns deliveries, newest first.
func (db *DB) FindDeliveries(ctx context.Context, f geo.DeliveryFilter) ([]geo.Delivery, error) {
	w := &where{}
	if f.ID != 0 {
		w.add("id = ?", f.ID)
	}
	if f.AlertID != 0 {
		w.add("alert = ?", f.AlertID)
	}
	if f.SubscriptionID != 0 {
		w.add("subscription = ?", f.SubscriptionID)
	}
	if f.Status != "" {
		w.add("status = ?", string(f.Status))
	}
	q := `SELECT ` + deliveryColumns + ` FROM deliveries` + w.String() + ` ORDER BY id DESC`
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
		return nil, wrap("find deliveries", err)
	}
	defer rows.Close()
	var out []geo.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, wrap("find deliveries", err)
		}
		out = append(out, d)
	}
	return out, wrap("find deliveries", rows.Err())
}

// RequeueDelivery moves a dead delivery back to pending.
func (db *DB) RequeueDelivery(ctx context.Context, id int64) (geo.Delivery, error) {
	var d geo.Delivery
	err := db.inTx(ctx, "requeue delivery", func(tx *sql.Tx) error {
		var st string
		err := tx.QueryRowContext(ctx, `SELECT status FROM deliveries WHERE id = ?`, id).Scan(&st)
		if errors.Is(err, sql.ErrNoRows) {
			return geo.Errorf(geo.ENOTFOUND, "no delivery %d", id)
		}
		if err != nil {
			return err
		}
		if st != string(geo.DeliveryDead) {
			return geo.Errorf(geo.ECONFLICT, "delivery %d is %s, not dead", id, st)
		}
		now := us(db.nowUTC())
		d, err = scanDelivery(tx.QueryRowContext(ctx, `
UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?1, updated_at = ?1, last_error = ''
WHERE id = ?2 RETURNING `+deliveryColumns, now, id))
		return err
	})
	return d, err
}

// DeliveryCounts counts deliveries by status.
func (db *DB) DeliveryCounts(ctx context.Context) (map[geo.DeliveryStatus]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT status, count(*) FROM deliveries GROUP BY status`)
	if err != nil {
		return nil, wrap("delivery counts", err)
	}
	defer rows.Close()
	out := map[geo.DeliveryStatus]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, wrap("delivery counts", err)
		}
		out[geo.DeliveryStatus(st)] = n
	}
	return out, wrap("delivery counts", rows.Err())
}

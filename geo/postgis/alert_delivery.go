package postgis

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"hotspots/geo"
)

const deliveryColumns = `d.id, d.alert, coalesce(d.event, 0), d.revision, d.subscription, d.channel,
    d.idempotency_key, d.status, d.attempts, d.next_attempt_at, d.last_error, coalesce(d.claimed_by, ''),
    d.claimed_until, d.created_at, d.updated_at, d.sent_at`

func scanDelivery(row pgx.Row) (geo.Delivery, error) {
	var d geo.Delivery
	var ch, st string
	err := row.Scan(&d.ID, &d.AlertID, &d.EventID, &d.Revision, &d.SubscriptionID, &ch, &d.IdempotencyKey, &st,
		&d.Attempts, &d.NextAttemptAt, &d.LastError, &d.ClaimedBy, &d.ClaimedUntil, &d.CreatedAt, &d.UpdatedAt, &d.SentAt)
	d.Channel, d.Status = geo.ChannelType(ch), geo.DeliveryStatus(st)
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = d.NextAttemptAt.UTC(), d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	for _, t := range []**time.Time{&d.ClaimedUntil, &d.SentAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return d, err
}

// ClaimDeliveries leases due deliveries with FOR UPDATE SKIP LOCKED, so
// workers in several processes never take the same row, and a row whose
// lease ran out (its worker died) is taken over. Rows that already had
// MaxAttempts go to dead instead.
func (db *DB) ClaimDeliveries(ctx context.Context, c geo.DeliveryClaim) ([]geo.DeliveryJob, error) {
	if c.Worker == "" || c.Limit <= 0 || c.Lease <= 0 || c.MaxAttempts <= 0 {
		return nil, wrap("claim deliveries", geo.Errorf(geo.EINVALID, "claim needs a worker, a limit, a lease and max attempts"))
	}
	now := db.nowUTC()
	var ds []geo.Delivery
	err := db.inTx(ctx, "claim deliveries", func(tx pgx.Tx) error {
		ds = nil
		_, err := tx.Exec(ctx, `
UPDATE deliveries SET status = 'dead', updated_at = $1, claimed_by = NULL, claimed_until = NULL,
    last_error = CASE WHEN last_error = '' THEN 'lease expired' ELSE last_error END
WHERE id IN (SELECT id FROM deliveries WHERE status = 'sending' AND claimed_until < $1 AND attempts >= $2
    FOR UPDATE SKIP LOCKED)`, now, c.MaxAttempts)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
WITH picked AS (
    SELECT id FROM deliveries
    WHERE status IN ('pending', 'sending')
      AND ((status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND claimed_until < $1))
    ORDER BY next_attempt_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED)
UPDATE deliveries d SET status = 'sending', claimed_by = $3, claimed_until = $4, attempts = d.attempts + 1,
    updated_at = $1
FROM picked WHERE d.id = picked.id
RETURNING `+deliveryColumns, now, c.Limit, c.Worker, now.Add(c.Lease))
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
	evIDs := make([]int64, 0, len(ds))
	subIDs := make([]int64, 0, len(ds))
	for _, d := range ds {
		evIDs = append(evIDs, d.EventID)
		subIDs = append(subIDs, d.SubscriptionID)
	}
	events := map[int64]geo.AlertEvent{}
	rows, err := db.pool.Query(ctx, `SELECT id, alert, revision, type, actor, at, snapshot FROM alert_events WHERE id = ANY($1)`, evIDs)
	if err != nil {
		return nil, wrap("claim deliveries", err)
	}
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			rows.Close()
			return nil, wrap("claim deliveries", err)
		}
		events[ev.ID] = ev
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("claim deliveries", err)
	}
	subs := map[int64]geo.Subscription{}
	rows, err = db.pool.Query(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = ANY($1)`, subIDs)
	if err != nil {
		return nil, wrap("claim deliveries", err)
	}
	for rows.Next() {
		s, err := scanSubscription(rows)
		if err != nil {
			rows.Close()
			return nil, wrap("claim deliveries", err)
		}
		subs[s.ID] = s
	}
	rows.Close()
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
	now := db.nowUTC()
	tag, err := db.pool.Exec(ctx, `
UPDATE deliveries SET status = 'sent', sent_at = $1, updated_at = $1, claimed_by = NULL, claimed_until = NULL,
    last_error = ''
WHERE id = $2 AND status = 'sending' AND claimed_by = $3 AND attempts = $4`, now, id, worker, attempt)
	if err == nil && tag.RowsAffected() == 0 {
		err = geo.Errorf(geo.ECONFLICT, "delivery %d: lease of attempt %d by %s was lost", id, attempt, worker)
	}
	return wrap("mark sent", err)
}

// MarkFailed records a failed attempt: retried at retryAt, or dead.
func (db *DB) MarkFailed(ctx context.Context, id int64, worker string, attempt int, reason string, retryAt *time.Time) error {
	now := db.nowUTC()
	status, next := "dead", now
	if retryAt != nil {
		status, next = "pending", *retryAt
	}
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	tag, err := db.pool.Exec(ctx, `
UPDATE deliveries SET status = $1, next_attempt_at = $2, last_error = $3, updated_at = $4,
    claimed_by = NULL, claimed_until = NULL
WHERE id = $5 AND status = 'sending' AND claimed_by = $6 AND attempts = $7`,
		status, next, reason, now, id, worker, attempt)
	if err == nil && tag.RowsAffected() == 0 {
		err = geo.Errorf(geo.ECONFLICT, "delivery %d: lease of attempt %d by %s was lost", id, attempt, worker)
	}
	return wrap("mark failed", err)
}

// FindDeliveries returns deliveries, newest first.
func (db *DB) FindDeliveries(ctx context.Context, f geo.DeliveryFilter) ([]geo.Delivery, error) {
	w := &where{}
	if f.ID != 0 {
		w.add("d.id = %s", f.ID)
	}
	if f.AlertID != 0 {
		w.add("d.alert = %s", f.AlertID)
	}
	if f.SubscriptionID != 0 {
		w.add("d.subscription = %s", f.SubscriptionID)
	}
	if f.Status != "" {
		w.add("d.status = %s", string(f.Status))
	}
	q := `SELECT ` + deliveryColumns + ` FROM deliveries d` + w.String() + ` ORDER BY d.id DESC`
	if f.Limit > 0 {
		q += " LIMIT " + w.arg(f.Limit)
	}
	if f.Offset > 0 {
		q += " OFFSET " + w.arg(f.Offset)
	}
	rows, err := db.pool.Query(ctx, q, w.args...)
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
	now := db.nowUTC()
	d, err := scanDelivery(db.pool.QueryRow(ctx, `
UPDATE deliveries d SET status = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1, last_error = ''
WHERE d.id = $2 AND d.status = 'dead' RETURNING `+deliveryColumns, now, id))
	if errors.Is(err, pgx.ErrNoRows) {
		var st string
		if e := db.pool.QueryRow(ctx, `SELECT status FROM deliveries WHERE id = $1`, id).Scan(&st); errors.Is(e, pgx.ErrNoRows) {
			return d, wrap("requeue delivery", geo.Errorf(geo.ENOTFOUND, "no delivery %d", id))
		}
		return d, wrap("requeue delivery", geo.Errorf(geo.ECONFLICT, "delivery %d is %s, not dead", id, st))
	}
	return d, wrap("requeue delivery", err)
}

// DeliveryCounts counts deliveries by status.
func (db *DB) DeliveryCounts(ctx context.Context) (map[geo.DeliveryStatus]int, error) {
	rows, err := db.pool.Query(ctx, `SELECT status, count(*) FROM deliveries GROUP BY status`)
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

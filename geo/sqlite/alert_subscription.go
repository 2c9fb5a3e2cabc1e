package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"hotspots/geo"
)

// subscriptionFilter is the stored form of the parts of a subscription that
// have no column of their own.
type subscriptionFilter struct {
	Areas     []string        `json:"areas,omitempty"`
	Circle    *geo.Circle     `json:"circle,omitempty"`
	Cells     []string        `json:"cells,omitempty"`
	Rules     []geo.AlertRule `json:"rules,omitempty"`
	View      geo.AlertView   `json:"view,omitempty"`
	CreatedBy string          `json:"created_by,omitempty"`
}

func encodeSubscription(s geo.Subscription) (filter, channels string, geom []byte, err error) {
	f := subscriptionFilter{Areas: s.Areas, Circle: s.Circle, Rules: s.Rules, View: s.View, CreatedBy: s.CreatedBy}
	for _, c := range s.Cells {
		f.Cells = append(f.Cells, c.String())
	}
	fb, err := json.Marshal(f)
	if err != nil {
		return "", "", nil, err
	}
	chs := s.Channels
	if chs == nil {
		chs = []geo.Channel{}
	}
	cb, err := json.Marshal(chs)
	if err != nil {
		return "", "", nil, err
	}
	if len(s.Polygon) > 0 {
		if geom, err = wkb.Marshal(s.Polygon); err != nil {
			return "", "", nil, geo.FieldErrorf("polygon", "%v", err)
		}
	}
	return string(fb), string(cb), geom, nil
}

const subscriptionColumns = `id, team, name, filter, geom, kinds, min_severity, channels, active, created_at, updated_at`

func scanSubscription(row scanner) (geo.Subscription, error) {
	var s geo.Subscription
	var filter, kinds, sev, channels string
	var geom []byte
	var created, updated int64
	if err := row.Scan(&s.ID, &s.Team, &s.Name, &filter, &geom, &kinds, &sev, &channels, &s.Active,
		&created, &updated); err != nil {
		return s, err
	}
	var f subscriptionFilter
	if err := json.Unmarshal([]byte(filter), &f); err != nil {
		return s, fmt.Errorf("decode subscription %d: %w", s.ID, err)
	}
	if err := json.Unmarshal([]byte(channels), &s.Channels); err != nil {
		return s, fmt.Errorf("decode subscription %d channels: %w", s.ID, err)
	}
	if err := json.Unmarshal([]byte(kinds), &s.Kinds); err != nil {
		return s, fmt.Errorf("decode subscription %d kinds: %w", s.ID, err)
	}
	if len(s.Kinds) == 0 {
		s.Kinds = nil
	}
	s.Areas, s.Circle, s.Rules, s.View, s.CreatedBy = f.Areas, f.Circle, f.Rules, f.View, f.CreatedBy
	for _, c := range f.Cells {
		cell, err := geo.ParseCell(c)
		if err != nil {
			return s, fmt.Errorf("decode subscription %d: %w", s.ID, err)
		}
		s.Cells = append(s.Cells, cell)
	}
	s.MinSeverity = geo.Severity(sev)
	if geom != nil {
		g, err := wkb.Unmarshal(geom)
		if err != nil {
			return s, fmt.Errorf("decode subscription %d polygon: %w", s.ID, err)
		}
		switch t := g.(type) {
		case orb.MultiPolygon:
			s.Polygon = t
		case orb.Polygon:
			s.Polygon = orb.MultiPolygon{t}
		default:
			return s, fmt.Errorf("decode subscription %d polygon: got %T", s.ID, g)
		}
	}
	s.CreatedAt, s.UpdatedAt = fromUS(created), fromUS(updated)
	return s, nil
}

func kindList(kinds []geo.Kind) string {
	if kinds == nil {
		kinds = []geo.Kind{}
	}
	return jsonList(kinds)
}

// CreateSubscription stores s and returns it with ID and times set.
func (db *DB) CreateSubscription(ctx context.Context, s geo.Subscription) (geo.Subscription, error) {
	filter, channels, geom, err := encodeSubscription(s)
	if err != nil {
		return s, wrap("create subscription", err)
	}
	now := db.nowUTC()
	s.CreatedAt, s.UpdatedAt = now, now
	err = db.inTx(ctx, "create subscription", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `
INSERT INTO subscriptions (team, name, filter, geom, kinds, min_severity, channels, active, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			s.Team, s.Name, filter, geom, kindList(s.Kinds), string(s.MinSeverity), channels, s.Active, us(now), us(now)).Scan(&s.ID)
	})
	return s, err
}

// FindSubscriptionByID returns one subscription; ENOTFOUND if none.
func (db *DB) FindSubscriptionByID(ctx context.Context, id int64) (geo.Subscription, error) {
	s, err := scanSubscription(db.read.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, wrap("find subscription", geo.Errorf(geo.ENOTFOUND, "no subscription %d", id))
	}
	return s, wrap("find subscription", err)
}

// FindSubscriptions returns subscriptions ordered by ID.
func (db *DB) FindSubscriptions(ctx context.Context, f geo.SubscriptionFilter) ([]geo.Subscription, error) {
	w := &where{}
	if f.Team != "" {
		w.add("team = ?", f.Team)
	}
	if f.Active != nil {
		w.add("active = ?", *f.Active)
	}
	q := `SELECT ` + subscriptionColumns + ` FROM subscriptions` + w.String() + ` ORDER BY id`
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
		return nil, wrap("find subscriptions", err)
	}
	defer rows.Close()
	var out []geo.Subscription
	for rows.Next() {
		s, err := scanSubscription(rows)
		if err != nil {
			return nil, wrap("find subscriptions", err)
		}
		out = append(out, s)
	}
	return out, wrap("find subscriptions", rows.Err())
}

// UpdateSubscription replaces a subscription's fields.
func (db *DB) UpdateSubscription(ctx context.Context, s geo.Subscription) (geo.Subscription, error) {
	err := db.inTx(ctx, "update subscription", func(tx *sql.Tx) error {
		prev, err := scanSubscription(tx.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = ?`, s.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return geo.Errorf(geo.ENOTFOUND, "no subscription %d", s.ID)
		}
		if err != nil {
			return err
		}
		s.CreatedBy, s.CreatedAt = prev.CreatedBy, prev.CreatedAt
		filter, channels, geom, err := encodeSubscription(s)
		if err != nil {
			return err
		}
		s.UpdatedAt = db.nowUTC()
		_, err = tx.ExecContext(ctx, `
UPDATE subscriptions SET team = ?, name = ?, filter = ?, geom = ?, kinds = ?, min_severity = ?, channels = ?,
    active = ?, updated_at = ?
WHERE id = ?`, s.Team, s.Name, filter, geom, kindList(s.Kinds), string(s.MinSeverity), channels, s.Active,
			us(s.UpdatedAt), s.ID)
		return err
	})
	return s, err
}

// DeleteSubscription removes a subscription and its deliveries.
func (db *DB) DeleteSubscription(ctx context.Context, id int64) error {
	return db.inTx(ctx, "delete subscription", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return geo.Errorf(geo.ENOTFOUND, "no subscription %d", id)
		}
		return nil
	})
}

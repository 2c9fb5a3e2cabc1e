package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

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

func encodeSubscription(s geo.Subscription) (filter, channels, geom []byte, err error) {
	f := subscriptionFilter{Areas: s.Areas, Circle: s.Circle, Rules: s.Rules, View: s.View, CreatedBy: s.CreatedBy}
	for _, c := range s.Cells {
		f.Cells = append(f.Cells, c.String())
	}
	if filter, err = json.Marshal(f); err != nil {
		return nil, nil, nil, err
	}
	chs := s.Channels
	if chs == nil {
		chs = []geo.Channel{}
	}
	if channels, err = json.Marshal(chs); err != nil {
		return nil, nil, nil, err
	}
	if len(s.Polygon) > 0 {
		if geom, err = multiPolygonEWKB(s.Polygon); err != nil {
			return nil, nil, nil, geo.FieldErrorf("polygon", "%v", err)
		}
	}
	return filter, channels, geom, nil
}

const subscriptionColumns = `id, team, name, filter, ST_AsEWKB(geom), kinds, min_severity, channels, active,
    created_at, updated_at`

func scanSubscription(row pgx.Row) (geo.Subscription, error) {
	var s geo.Subscription
	var filter, channels, geom []byte
	var kinds []string
	var sev string
	if err := row.Scan(&s.ID, &s.Team, &s.Name, &filter, &geom, &kinds, &sev, &channels, &s.Active,
		&s.CreatedAt, &s.UpdatedAt); err != nil {
		return s, err
	}
	var f subscriptionFilter
	if err := json.Unmarshal(filter, &f); err != nil {
		return s, fmt.Errorf("decode subscription %d: %w", s.ID, err)
	}
	if err := json.Unmarshal(channels, &s.Channels); err != nil {
		return s, fmt.Errorf("decode subscription %d channels: %w", s.ID, err)
	}
	s.Areas, s.Circle, s.Rules, s.View, s.CreatedBy = f.Areas, f.Circle, f.Rules, f.View, f.CreatedBy
	for _, c := range f.Cells {
		cell, err := geo.ParseCell(c)
		if err != nil {
			return s, fmt.Errorf("decode subscription %d: %w", s.ID, err)
		}
		s.Cells = append(s.Cells, cell)
	}
	for _, k := range kinds {
		s.Kinds = append(s.Kinds, geo.Kind(k))
	}
	s.MinSeverity = geo.Severity(sev)
	if geom != nil {
		mp, err := decodeMultiPolygon(geom)
		if err != nil {
			return s, fmt.Errorf("decode subscription %d: %w", s.ID, err)
		}
		s.Polygon = mp
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return s, nil
}

// CreateSubscription stores s and returns it with ID and times set.
func (db *DB) CreateSubscription(ctx context.Context, s geo.Subscription) (geo.Subscription, error) {
	filter, channels, geom, err := encodeSubscription(s)
	if err != nil {
		return s, wrap("create subscription", err)
	}
	now := db.nowUTC()
	s.CreatedAt, s.UpdatedAt = now, now
	err = db.pool.QueryRow(ctx, `
INSERT INTO subscriptions (team, name, filter, geom, kinds, min_severity, channels, active, created_at, updated_at)
VALUES ($1, $2, $3, ST_GeomFromEWKB($4), $5, $6, $7, $8, $9, $9) RETURNING id`,
		s.Team, s.Name, filter, geom, kindStrings(s.Kinds), string(s.MinSeverity), channels, s.Active, now).Scan(&s.ID)
	if err != nil {
		return s, wrap("create subscription", err)
	}
	return s, nil
}

// FindSubscriptionByID returns one subscription; ENOTFOUND if none.
func (db *DB) FindSubscriptionByID(ctx context.Context, id int64) (geo.Subscription, error) {
	s, err := scanSubscription(db.pool.QueryRow(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return s, wrap("find subscription", geo.Errorf(geo.ENOTFOUND, "no subscription %d", id))
	}
	return s, wrap("find subscription", err)
}

// FindSubscriptions returns subscriptions ordered by ID.
func (db *DB) FindSubscriptions(ctx context.Context, f geo.SubscriptionFilter) ([]geo.Subscription, error) {
	w := &where{}
	if f.Team != "" {
		w.add("team = %s", f.Team)
	}
	if f.Active != nil {
		w.add("active = %s", *f.Active)
	}
	q := `SELECT ` + subscriptionColumns + ` FROM subscriptions` + w.String() + ` ORDER BY id`
	if f.Limit > 0 {
		q += " LIMIT " + w.arg(f.Limit)
	}
	if f.Offset > 0 {
		q += " OFFSET " + w.arg(f.Offset)
	}
	rows, err := db.pool.Query(ctx, q, w.args...)
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
	prev, err := db.FindSubscriptionByID(ctx, s.ID)
	if err != nil {
		return s, err
	}
	s.CreatedBy, s.CreatedAt = prev.CreatedBy, prev.CreatedAt
	filter, channels, geom, err := encodeSubscription(s)
	if err != nil {
		return s, wrap("update subscription", err)
	}
	s.UpdatedAt = db.nowUTC()
	tag, err := db.pool.Exec(ctx, `
UPDATE subscriptions SET team = $1, name = $2, filter = $3, geom = ST_GeomFromEWKB($4), kinds = $5,
    min_severity = $6, channels = $7, active = $8, updated_at = $9
WHERE id = $10`,
		s.Team, s.Name, filter, geom, kindStrings(s.Kinds), string(s.MinSeverity), channels, s.Active, s.UpdatedAt, s.ID)
	if err == nil && tag.RowsAffected() == 0 {
		err = geo.Errorf(geo.ENOTFOUND, "no subscription %d", s.ID)
	}
	return s, wrap("update subscription", err)
}

// DeleteSubscription removes a subscription and its deliveries.
func (db *DB) DeleteSubscription(ctx context.Context, id int64) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM subscriptions WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = geo.Errorf(geo.ENOTFOUND, "no subscription %d", id)
	}
	return wrap("delete subscription", err)
}

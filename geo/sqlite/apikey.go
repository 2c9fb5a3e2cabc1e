package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// CreateKey validates k, generates its secret and stores the key with only
// the secret's hash and prefix.
func (db *DB) CreateKey(ctx context.Context, k geo.APIKey) (geo.APIKey, string, error) {
	if err := k.Validate(); err != nil {
		return geo.APIKey{}, "", wrap("create key", err)
	}
	secret, prefix, hash, err := geo.NewKeySecret()
	if err != nil {
		return geo.APIKey{}, "", wrap("create key", err)
	}
	k.Prefix, k.CreatedAt, k.LastUsedAt, k.RevokedAt = prefix, db.nowUTC(), nil, nil
	if k.Areas == nil {
		k.Areas = []string{}
	}
	err = db.write.QueryRowContext(ctx, `
INSERT INTO api_keys (prefix, hash, name, role, team, areas, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		k.Prefix, hash, k.Name, string(k.Role), k.Team, jsonList(k.Areas), us(k.CreatedAt)).Scan(&k.ID)
	if err != nil {
		return geo.APIKey{}, "", wrap("create key", err)
	}
	return k, secret, nil
}

const keyColumns = `id, name, role, team, areas, prefix, created_at, last_used_at, revoked_at`

func scanKey(sc interface{ Scan(...any) error }) (geo.APIKey, error) {
	var k geo.APIKey
	var role, areas string
	var created int64
	var used, revoked sql.NullInt64
	if err := sc.Scan(&k.ID, &k.Name, &role, &k.Team, &areas, &k.Prefix, &created, &used, &revoked); err != nil {
		return k, err
	}
	if err := json.Unmarshal([]byte(areas), &k.Areas); err != nil {
		return k, fmt.Errorf("key %d areas: %w", k.ID, err)
	}
	if k.Areas == nil {
		k.Areas = []string{}
	}
	k.Role, k.CreatedAt, k.LastUsedAt, k.RevokedAt = geo.Role(role), fromUS(created), fromUSPtr(used), fromUSPtr(revoked)
	return k, nil
}

// LookupKey returns the unrevoked key with this hash and records its use
// when the last record is older than geo.KeyTouchInterval. The read goes
// to the read pool, so a busy key costs the single writer about one write
// a minute.
func (db *DB) LookupKey(ctx context.Context, hash []byte) (geo.APIKey, error) {
	k, err := scanKey(db.read.QueryRowContext(ctx,
		`SELECT `+keyColumns+` FROM api_keys WHERE hash = ? AND revoked_at IS NULL`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return k, wrap("lookup key", geo.Errorf(geo.ENOTFOUND, "unknown or revoked API key"))
	} else if err != nil {
		return k, wrap("lookup key", err)
	}
	now := db.nowUTC()
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= geo.KeyTouchInterval {
		if _, err := db.write.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, us(now), k.ID); err != nil {
			return k, wrap("lookup key: touch", err)
		}
		k.LastUsedAt = &now
	}
	return k, nil
}

// ListKeys returns keys in ID order.
func (db *DB) ListKeys(ctx context.Context, f geo.KeyFilter) ([]geo.APIKey, error) {
	q := `SELECT ` + keyColumns + ` FROM api_keys`
	if !f.IncludeRevoked {
		q += ` WHERE revoked_at IS NULL`
	}
	rows, err := db.read.QueryContext(ctx, q+` ORDER BY id`)
	if err != nil {
		return nil, wrap("list keys", err)
	}
	defer rows.Close()
	out := []geo.APIKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, wrap("list keys", err)
		}
		out = append(out, k)
	}
	return out, wrap("list keys", rows.Err())
}

// RevokeKey revokes the key now (keeping an earlier revocation time) and
// returns it.
func (db *DB) RevokeKey(ctx context.Context, id int64) (geo.APIKey, error) {
	k, err := scanKey(db.write.QueryRowContext(ctx,
		`UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? RETURNING `+keyColumns, us(db.nowUTC()), id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, wrap("revoke key", geo.Errorf(geo.ENOTFOUND, "no API key %d", id))
	}
	return k, wrap("revoke key", err)
}

// AppendAccess adds one entry to the access log.
func (db *DB) AppendAccess(ctx context.Context, e geo.AccessEntry) error {
	if e.At.IsZero() {
		e.At = db.nowUTC()
	}
	var bbox any
	if e.BBox != nil {
		b := *e.BBox
		bbox = fmt.Sprintf("%g,%g,%g,%g", b.Min[0], b.Min[1], b.Max[0], b.Max[1])
	}
	_, err := db.write.ExecContext(ctx, `
INSERT INTO access_log (at, key_id, key_name, role, route, layer, area, tile, bbox, window_from, window_to, rows, remote_addr)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		us(e.At), nullID(e.KeyID), e.KeyName, string(e.Role), e.Route, e.Layer, e.Area, e.Tile, bbox,
		usPtr(e.WindowFrom), usPtr(e.WindowTo), e.Rows, e.RemoteAddr)
	return wrap("append access", err)
}

// ListAccess returns access log entries newest first.
func (db *DB) ListAccess(ctx context.Context, f geo.AccessFilter) ([]geo.AccessEntry, error) {
	w := &where{}
	if f.KeyID != nil {
		w.add("key_id = ?", *f.KeyID)
	}
	if f.Since != nil {
		w.add("at >= ?", us(*f.Since))
	}
	if f.Until != nil {
		w.add("at < ?", us(*f.Until))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := db.read.QueryContext(ctx, `
SELECT id, at, coalesce(key_id, 0), key_name, role, route, layer, area, tile, bbox, window_from, window_to, rows, remote_addr
FROM access_log`+w.String()+` ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`, append(w.args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, wrap("list access", err)
	}
	defer rows.Close()
	out := []geo.AccessEntry{}
	for rows.Next() {
		var e geo.AccessEntry
		var at int64
		var role string
		var bbox sql.NullString
		var from, to sql.NullInt64
		if err := rows.Scan(&e.ID, &at, &e.KeyID, &e.KeyName, &role, &e.Route, &e.Layer, &e.Area, &e.Tile,
			&bbox, &from, &to, &e.Rows, &e.RemoteAddr); err != nil {
			return nil, wrap("list access", err)
		}
		e.At, e.Role, e.WindowFrom, e.WindowTo = fromUS(at), geo.Role(role), fromUSPtr(from), fromUSPtr(to)
		if bbox.Valid {
			b, err := parseBBox(bbox.String)
			if err != nil {
				return nil, wrap("list access", err)
			}
			e.BBox = &b
		}
		out = append(out, e)
	}
	return out, wrap("list access", rows.Err())
}

// parseBBox reads the stored "minLon,minLat,maxLon,maxLat".
func parseBBox(s string) (orb.Bound, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return orb.Bound{}, fmt.Errorf("bbox %q: want 4 numbers", s)
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return orb.Bound{}, fmt.Errorf("bbox %q: %w", s, err)
		}
		v[i] = f
	}
	return orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}, nil
}

package postgis

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
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
	err = db.pool.QueryRow(ctx, `
INSERT INTO api_keys (prefix, hash, name, role, team, areas, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		k.Prefix, hash, k.Name, string(k.Role), k.Team, k.Areas, k.CreatedAt).Scan(&k.ID)
	if err != nil {
		return geo.APIKey{}, "", wrap("create key", err)
	}
	return k, secret, nil
}

const keyColumns = `id, name, role, team, areas, prefix, created_at, last_used_at, revoked_at`

func scanKey(row pgx.Row) (geo.APIKey, error) {
	var k geo.APIKey
	var role string
	if err := row.Scan(&k.ID, &k.Name, &role, &k.Team, &k.Areas, &k.Prefix, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt); err != nil {
		return k, err
	}
	if k.Areas == nil {
		k.Areas = []string{}
	}
	k.Role, k.CreatedAt, k.LastUsedAt, k.RevokedAt = geo.Role(role), k.CreatedAt.UTC(), utcPtr(k.LastUsedAt), utcPtr(k.RevokedAt)
	return k, nil
}

// LookupKey returns the unrevoked key with this hash and records its use
// when the last record is older than geo.KeyTouchInterval, so a busy key
// costs about one write a minute rather than one per request.
func (db *DB) LookupKey(ctx context.Context, hash []byte) (geo.APIKey, error) {
	k, err := scanKey(db.pool.QueryRow(ctx,
		`SELECT `+keyColumns+` FROM api_keys WHERE hash = $1 AND revoked_at IS NULL`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return k, wrap("lookup key", geo.Errorf(geo.ENOTFOUND, "unknown or revoked API key"))
	} else if err != nil {
		return k, wrap("lookup key", err)
	}
	now := db.nowUTC()
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= geo.KeyTouchInterval {
		if _, err := db.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $1 WHERE id = $2`, now, k.ID); err != nil {
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
	rows, err := db.pool.Query(ctx, q+` ORDER BY id`)
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
	k, err := scanKey(db.pool.QueryRow(ctx,
		`UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 RETURNING `+keyColumns, db.nowUTC(), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return k, wrap("revoke key", geo.Errorf(geo.ENOTFOUND, "no API key %d", id))
	}
	return k, wrap("revoke key", err)
}

// AppendAccess adds one entry to the access log.
func (db *DB) AppendAccess(ctx context.Context, e geo.AccessEntry) error {
	if e.At.IsZero() {
		e.At = db.nowUTC()
	}
	var keyID *int64
	if e.KeyID != 0 {
		keyID = &e.KeyID
	}
	var bbox []*float64
	if b := e.BBox; b != nil {
		bbox = []*float64{&b.Min[0], &b.Min[1], &b.Max[0], &b.Max[1]}
	} else {
		bbox = make([]*float64, 4)
	}
	_, err := db.pool.Exec(ctx, `
INSERT INTO access_log (at, key_id, key_name, role, route, layer, area, tile, bbox, window_from, window_to, rows, remote_addr)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
    CASE WHEN $9::float8 IS NULL THEN NULL ELSE ST_MakeEnvelope($9, $10::float8, $11::float8, $12::float8, 4326) END,
    $13, $14, $15, $16)`,
		e.At, keyID, e.KeyName, string(e.Role), e.Route, e.Layer, e.Area, e.Tile, bbox[0], bbox[1], bbox[2], bbox[3],
		e.WindowFrom, e.WindowTo, e.Rows, e.RemoteAddr)
	return wrap("append access", err)
}

// ListAccess returns access log entries newest first.
func (db *DB) ListAccess(ctx context.Context, f geo.AccessFilter) ([]geo.AccessEntry, error) {
	w := &where{}
	if f.KeyID != nil {
		w.add("key_id = %s", *f.KeyID)
	}
	if f.Since != nil {
		w.add("at >= %s", *f.Since)
	}
	if f.Until != nil {
		w.add("at < %s", *f.Until)
	}
	q := `SELECT id, at, coalesce(key_id, 0), key_name, role, route, layer, area, tile,
    ST_XMin(bbox), ST_YMin(bbox), ST_XMax(bbox), ST_YMax(bbox), window_from, window_to, rows, remote_addr
FROM access_log` + w.String() + ` ORDER BY at DESC, id DESC`
	if f.Limit > 0 {
		q += " LIMIT " + w.arg(f.Limit)
	}
	if f.Offset > 0 {
		q += " OFFSET " + w.arg(f.Offset)
	}
	rows, err := db.pool.Query(ctx, q, w.args...)
	if err != nil {
		return nil, wrap("list access", err)
	}
	defer rows.Close()
	out := []geo.AccessEntry{}
	for rows.Next() {
		var e geo.AccessEntry
		var role string
		var x0, y0, x1, y1 *float64
		if err := rows.Scan(&e.ID, &e.At, &e.KeyID, &e.KeyName, &role, &e.Route, &e.Layer, &e.Area, &e.Tile,
			&x0, &y0, &x1, &y1, &e.WindowFrom, &e.WindowTo, &e.Rows, &e.RemoteAddr); err != nil {
			return nil, wrap("list access", err)
		}
		e.Role, e.At, e.WindowFrom, e.WindowTo = geo.Role(role), e.At.UTC(), utcPtr(e.WindowFrom), utcPtr(e.WindowTo)
		if x0 != nil && y0 != nil && x1 != nil && y1 != nil {
			e.BBox = &orb.Bound{Min: orb.Point{*x0, *y0}, Max: orb.Point{*x1, *y1}}
		}
		out = append(out, e)
	}
	return out, wrap("list access", rows.Err())
}

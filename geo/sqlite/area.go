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

// PutLayer replaces a layer and all its areas in one transaction.
func (db *DB) PutLayer(ctx context.Context, layer geo.AreaLayer, areas []geo.Area) error {
	areas, err := geo.PrepareAreas(layer, areas)
	if err != nil {
		return wrap("put layer", err)
	}
	return db.inTx(ctx, "put layer "+layer.ID, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
INSERT INTO area_layers (id, name, kind, vintage, valid_from, valid_to, source)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
    vintage = excluded.vintage, valid_from = excluded.valid_from,
    valid_to = excluded.valid_to, source = excluded.source`,
			layer.ID, layer.Name, layer.Kind, layer.Vintage, usPtr(layer.ValidFrom), usPtr(layer.ValidTo), layer.Source)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM areas WHERE layer = ?`, layer.ID); err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `
INSERT INTO areas (layer, code, name, alt_names, geom, min_lon, min_lat, max_lon, max_lat,
    population, population_year, excluded)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		for _, a := range areas {
			g, err := wkb.Marshal(a.Geometry)
			if err != nil {
				return geo.FieldErrorf("geometry", "area %s: %v", a.Code, err)
			}
			alt := a.AltNames
			if alt == nil {
				alt = []string{}
			}
			b := a.Geometry.Bound()
			var pop any
			if a.Population != nil {
				pop = *a.Population
			}
			if _, err := st.ExecContext(ctx, layer.ID, a.Code, a.Name, jsonList(alt), g,
				b.Min.Lon(), b.Min.Lat(), b.Max.Lon(), b.Max.Lat(), pop, a.PopulationYear, a.Excluded); err != nil {
				return err
			}
		}
		return nil
	})
}

// Layers returns all area layers ordered by ID.
func (db *DB) Layers(ctx context.Context) ([]geo.AreaLayer, error) {
	rows, err := db.read.QueryContext(ctx, `
SELECT id, name, kind, vintage, valid_from, valid_to, source FROM area_layers ORDER BY id`)
	if err != nil {
		return nil, wrap("layers", err)
	}
	defer rows.Close()
	var out []geo.AreaLayer
	for rows.Next() {
		var l geo.AreaLayer
		var from, to sql.NullInt64
		if err := rows.Scan(&l.ID, &l.Name, &l.Kind, &l.Vintage, &from, &to, &l.Source); err != nil {
			return nil, wrap("layers", err)
		}
		l.ValidFrom, l.ValidTo = fromUSPtr(from), fromUSPtr(to)
		out = append(out, l)
	}
	return out, wrap("layers", rows.Err())
}

// Areas returns a layer's areas ordered by Code; ENOTFOUND for no layer.
func (db *DB) Areas(ctx context.Context, layer string) ([]geo.Area, error) {
	var one int
	err := db.read.QueryRowContext(ctx, `SELECT 1 FROM area_layers WHERE id = ?`, layer).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wrap("areas", geo.Errorf(geo.ENOTFOUND, "area layer %q not found", layer))
	} else if err != nil {
		return nil, wrap("areas", err)
	}
	rows, err := db.read.QueryContext(ctx, `
SELECT layer, code, name, alt_names, geom, population, population_year, excluded
FROM areas WHERE layer = ? ORDER BY code`, layer)
	if err != nil {
		return nil, wrap("areas", err)
	}
	defer rows.Close()
	var out []geo.Area
	for rows.Next() {
		var a geo.Area
		var alt string
		var g []byte
		var pop sql.NullInt64
		if err := rows.Scan(&a.Layer, &a.Code, &a.Name, &alt, &g, &pop, &a.PopulationYear, &a.Excluded); err != nil {
			return nil, wrap("areas", err)
		}
		if err := json.Unmarshal([]byte(alt), &a.AltNames); err != nil {
			return nil, wrap("areas", err)
		}
		if len(a.AltNames) == 0 {
			a.AltNames = nil
		}
		if pop.Valid {
			p := int(pop.Int64)
			a.Population = &p
		}
		geom, err := wkb.Unmarshal(g)
		if err != nil {
			return nil, wrap("areas", fmt.Errorf("area %s: %w", a.Code, err))
		}
		switch t := geom.(type) {
		case orb.MultiPolygon:
			a.Geometry = t
		case orb.Polygon:
			a.Geometry = orb.MultiPolygon{t}
		default:
			return nil, wrap("areas", fmt.Errorf("area %s: stored %T, want a multipolygon", a.Code, geom))
		}
		out = append(out, a)
	}
	return out, wrap("areas", rows.Err())
}

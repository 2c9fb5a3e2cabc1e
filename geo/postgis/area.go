package postgis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"hotspots/geo"
)

// PutLayer replaces a layer and all its areas in one transaction, so map and
// indicator readers never see a half-loaded layer.
func (db *DB) PutLayer(ctx context.Context, layer geo.AreaLayer, areas []geo.Area) error {
	areas, err := geo.PrepareAreas(layer, areas)
	if err != nil {
		return wrap("put layer", err)
	}
	geoms := make([][]byte, len(areas))
	for i := range areas {
		if geoms[i], err = multiPolygonEWKB(areas[i].Geometry); err != nil {
			return wrap("put layer", geo.FieldErrorf("geometry", "area %s: %v", areas[i].Code, err))
		}
	}
	return db.inTx(ctx, "put layer "+layer.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
INSERT INTO area_layers (id, name, kind, vintage, valid_from, valid_to, source)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
    vintage = EXCLUDED.vintage, valid_from = EXCLUDED.valid_from,
    valid_to = EXCLUDED.valid_to, source = EXCLUDED.source`,
			layer.ID, layer.Name, layer.Kind, layer.Vintage, layer.ValidFrom, layer.ValidTo, layer.Source)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM areas WHERE layer = $1`, layer.ID); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for i, a := range areas {
			alt := a.AltNames
			if alt == nil {
				alt = []string{}
			}
			b.Queue(`
INSERT INTO areas (layer, code, name, alt_names, geom, population, population_year, excluded)
VALUES ($1, $2, $3, $4, ST_GeomFromEWKB($5), $6, $7, $8)`,
				layer.ID, a.Code, a.Name, alt, geoms[i], a.Population, a.PopulationYear, a.Excluded)
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// Layers returns all area layers ordered by ID.
func (db *DB) Layers(ctx context.Context) ([]geo.AreaLayer, error) {
	rows, err := db.pool.Query(ctx, `
SELECT id, name, kind, vintage, valid_from, valid_to, source FROM area_layers ORDER BY id`)
	if err != nil {
		return nil, wrap("layers", err)
	}
	defer rows.Close()
	var out []geo.AreaLayer
	for rows.Next() {
		var l geo.AreaLayer
		if err := rows.Scan(&l.ID, &l.Name, &l.Kind, &l.Vintage, &l.ValidFrom, &l.ValidTo, &l.Source); err != nil {
			return nil, wrap("layers", err)
		}
		l.ValidFrom, l.ValidTo = utcPtr(l.ValidFrom), utcPtr(l.ValidTo)
		out = append(out, l)
	}
	return out, wrap("layers", rows.Err())
}

// Areas returns a layer's areas ordered by Code; ENOTFOUND for no layer.
func (db *DB) Areas(ctx context.Context, layer string) ([]geo.Area, error) {
	var one int
	err := db.pool.QueryRow(ctx, `SELECT 1 FROM area_layers WHERE id = $1`, layer).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, wrap("areas", geo.Errorf(geo.ENOTFOUND, "area layer %q not found", layer))
	} else if err != nil {
		return nil, wrap("areas", err)
	}
	rows, err := db.pool.Query(ctx, `
SELECT layer, code, name, alt_names, ST_AsEWKB(geom), population, population_year, excluded
FROM areas WHERE layer = $1 ORDER BY code`, layer)
	if err != nil {
		return nil, wrap("areas", err)
	}
	defer rows.Close()
	var out []geo.Area
	for rows.Next() {
		var a geo.Area
		var g []byte
		if err := rows.Scan(&a.Layer, &a.Code, &a.Name, &a.AltNames, &g, &a.Population, &a.PopulationYear, &a.Excluded); err != nil {
			return nil, wrap("areas", err)
		}
		if a.Geometry, err = decodeMultiPolygon(g); err != nil {
			return nil, wrap("areas", fmt.Errorf("area %s: %w", a.Code, err))
		}
		if len(a.AltNames) == 0 {
			a.AltNames = nil
		}
		out = append(out, a)
	}
	return out, wrap("areas", rows.Err())
}

// utcPtr returns a copy of *t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

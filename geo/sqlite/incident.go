package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// countsRes is the resolution of the cell_day_counts table.
const countsRes = geo.DefaultDetectRes

// incidentColumns selects a full incident, in incidentRow.dest order.
const incidentColumns = `id, source, source_id, kind, occurred_at, time_known, day, lon, lat,
    precision, address, victims, naloxone, agency, h3_cell, areas, flags, raw, updated_at`

// incidentRow is the scan target of incidentColumns.
type incidentRow struct {
	inc              geo.Incident
	kind, prec, day  string
	occurred, update int64
	lon, lat         sql.NullFloat64
	cell             int64
	areas, flags     string
	raw              sql.NullString
}

func (r *incidentRow) dest() []any {
	i := &r.inc
	return []any{&i.ID, &i.Source, &i.SourceID, &r.kind, &r.occurred, &i.TimeKnown, &r.day,
		&r.lon, &r.lat, &r.prec, &i.Address, &i.Victims, &i.Naloxone, &i.Agency, &r.cell,
		&r.areas, &r.flags, &r.raw, &r.update}
}

// incident converts the scanned columns into a normalized incident.
func (r *incidentRow) incident() (geo.Incident, error) {
	inc := r.inc
	inc.Kind, inc.Precision, inc.Cell = geo.Kind(r.kind), geo.Precision(r.prec), geo.Cell(r.cell)
	inc.OccurredAt, inc.UpdatedAt = fromUS(r.occurred), fromUS(r.update)
	var err error
	if inc.Day, err = parseDay(r.day); err != nil {
		return inc, fmt.Errorf("incident %d: %w", inc.ID, err)
	}
	if r.lon.Valid && r.lat.Valid {
		inc.Location = orb.Point{r.lon.Float64, r.lat.Float64}
	}
	if err := json.Unmarshal([]byte(r.areas), &inc.Areas); err != nil {
		return inc, fmt.Errorf("incident %d areas: %w", inc.ID, err)
	}
	if err := json.Unmarshal([]byte(r.flags), &inc.Flags); err != nil {
		return inc, fmt.Errorf("incident %d flags: %w", inc.ID, err)
	}
	if len(inc.Areas) == 0 {
		inc.Areas = nil
	}
	if len(inc.Flags) == 0 {
		inc.Flags = nil
	}
	if r.raw.Valid {
		inc.Raw = json.RawMessage(r.raw.String)
	}
	return inc, nil
}

// upsertStmts are the statements an upsert prepares once per call.
type upsertStmts struct {
	find, load, insert, update, revision, countAdd, countSub, countDrop *sql.Stmt
}

func prepareUpsert(ctx context.Context, tx *sql.Tx) (*upsertStmts, error) {
	s := &upsertStmts{}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.find, `SELECT id, hash FROM incidents WHERE source = ? AND source_id = ?`},
		{&s.load, `SELECT ` + incidentColumns + ` FROM incidents WHERE id = ?`},
		{&s.insert, `INSERT INTO incidents (source, source_id, kind, occurred_at, time_known, day, lon, lat,
    precision, address, victims, naloxone, agency, h3_cell, areas, flags, raw, hash, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.update, `UPDATE incidents SET kind = ?, occurred_at = ?, time_known = ?, day = ?, lon = ?, lat = ?,
    precision = ?, address = ?, victims = ?, naloxone = ?, agency = ?, h3_cell = ?, areas = ?,
    flags = ?, raw = ?, hash = ?, updated_at = ? WHERE id = ?`},
		{&s.revision, `INSERT INTO incident_revisions (incident, load, source, changed_at, changes)
VALUES (?, ?, ?, ?, ?)`},
		{&s.countAdd, `INSERT INTO cell_day_counts (cell, day, kind, n, victims) VALUES (?, ?, ?, 1, ?)
ON CONFLICT (cell, day, kind) DO UPDATE SET n = n + 1, victims = victims + excluded.victims`},
		{&s.countSub, `UPDATE cell_day_counts SET n = n - 1, victims = victims - ? WHERE cell = ? AND day = ? AND kind = ?`},
		{&s.countDrop, `DELETE FROM cell_day_counts WHERE cell = ? AND day = ? AND kind = ? AND n <= 0`},
	} {
		st, err := tx.PrepareContext(ctx, p.sql)
		if err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
		*p.dst = st
	}
	return s, nil
}

// UpsertIncidents inserts new incidents and updates changed ones by (Source,
// SourceID) in one transaction, writing a revision for every change and
// keeping cell_day_counts in step. Rows are applied in order, so a key given
// twice in one call behaves like two calls.
func (db *DB) UpsertIncidents(ctx context.Context, loadID int64, incs []geo.Incident) (geo.UpsertResult, error) {
	var res geo.UpsertResult
	if err := ctx.Err(); err != nil {
		return res, wrap("upsert incidents", err)
	}
	staged := make([]geo.Incident, len(incs))
	for i := range incs {
		staged[i] = incs[i]
		if err := staged[i].Normalize(); err != nil {
			return res, wrap("upsert incidents", err)
		}
	}
	if len(staged) == 0 {
		return res, nil
	}
	now := db.nowUTC()
	err := db.inTx(ctx, "upsert incidents", func(tx *sql.Tx) error {
		st, err := prepareUpsert(ctx, tx)
		if err != nil {
			return err
		}
		for i := range staged {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := st.upsertOne(ctx, &res, loadID, &staged[i], now); err != nil {
				return fmt.Errorf("%s/%s: %w", staged[i].Source, staged[i].SourceID, err)
			}
		}
		if res.Added+res.Changed > 0 {
			return bumpDataVersion(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return geo.UpsertResult{}, err
	}
	return res, nil
}

// upsertOne applies one normalized incident and counts what it did.
func (s *upsertStmts) upsertOne(ctx context.Context, res *geo.UpsertResult, loadID int64, inc *geo.Incident, now time.Time) error {
	hash := inc.ContentHash()
	var id int64
	var stored []byte
	err := s.find.QueryRowContext(ctx, inc.Source, inc.SourceID).Scan(&id, &stored)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		v, err := incidentValues(inc)
		if err != nil {
			return err
		}
		args := append([]any{inc.Source, inc.SourceID}, v...)
		if _, err := s.insert.ExecContext(ctx, append(args, hash, us(now), us(now))...); err != nil {
			return err
		}
		res.Added++
		return s.addCount(ctx, inc)
	case err != nil:
		return err
	case bytes.Equal(stored, hash):
		res.Unchanged++
		return nil
	}
	var r incidentRow
	if err := s.load.QueryRowContext(ctx, id).Scan(r.dest()...); err != nil {
		return err
	}
	old, err := r.incident()
	if err != nil {
		return err
	}
	v, err := incidentValues(inc)
	if err != nil {
		return err
	}
	if _, err := s.update.ExecContext(ctx, append(v, hash, us(now), id)...); err != nil {
		return err
	}
	if err := s.subCount(ctx, &old); err != nil {
		return err
	}
	if err := s.addCount(ctx, inc); err != nil {
		return err
	}
	changes := geo.IncidentChanges(&old, inc)
	if len(changes) == 0 {
		// Only the raw JSON's form moved: refreshed, not a change.
		res.Unchanged++
		return nil
	}
	b, err := json.Marshal(changes)
	if err != nil {
		return fmt.Errorf("encode revision: %w", err)
	}
	if _, err := s.revision.ExecContext(ctx, id, nullID(loadID), inc.Source, us(now), string(b)); err != nil {
		return err
	}
	res.Changed++
	return nil
}

func (s *upsertStmts) addCount(ctx context.Context, inc *geo.Incident) error {
	_, err := s.countAdd.ExecContext(ctx, int64(inc.Cell.Parent(countsRes)), dayText(inc.Day), string(inc.Kind), inc.Victims)
	return err
}

func (s *upsertStmts) subCount(ctx context.Context, inc *geo.Incident) error {
	cell, day, kind := int64(inc.Cell.Parent(countsRes)), dayText(inc.Day), string(inc.Kind)
	if _, err := s.countSub.ExecContext(ctx, inc.Victims, cell, day, kind); err != nil {
		return err
	}
	_, err := s.countDrop.ExecContext(ctx, cell, day, kind)
	return err
}

// incidentValues returns the stored columns from kind to raw, in the order
// of the insert and update statements.
func incidentValues(inc *geo.Incident) ([]any, error) {
	var lon, lat any
	if inc.Location != (orb.Point{}) {
		lon, lat = inc.Location.Lon(), inc.Location.Lat()
	}
	areas := inc.Areas
	if areas == nil {
		areas = map[string]string{}
	}
	a, err := json.Marshal(areas)
	if err != nil {
		return nil, err
	}
	flags := inc.Flags
	if flags == nil {
		flags = []string{}
	}
	f, err := json.Marshal(flags)
	if err != nil {
		return nil, err
	}
	var raw any
	if inc.Raw != nil {
		raw = string(inc.Raw)
	}
	return []any{string(inc.Kind), us(inc.OccurredAt), inc.TimeKnown, dayText(inc.Day), lon, lat,
		string(inc.Precision), inc.Address, inc.Victims, inc.Naloxone, inc.Agency, int64(inc.Cell),
		string(a), string(f), raw}, nil
}

// nullID stores an unset (0) reference as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// IncidentRevisions returns the audit trail of one incident, oldest first.
func (db *DB) IncidentRevisions(ctx context.Context, incidentID int64) ([]geo.Revision, error) {
	rows, err := db.read.QueryContext(ctx, `
SELECT id, incident, coalesce(load, 0), source, changed_at, changes
FROM incident_revisions WHERE incident = ? ORDER BY id`, incidentID)
	if err != nil {
		return nil, wrap("incident revisions", err)
	}
	defer rows.Close()
	var out []geo.Revision
	for rows.Next() {
		var r geo.Revision
		var at int64
		var changes string
		if err := rows.Scan(&r.ID, &r.IncidentID, &r.LoadID, &r.Source, &at, &changes); err != nil {
			return nil, wrap("incident revisions", err)
		}
		r.ChangedAt = fromUS(at)
		if err := json.Unmarshal([]byte(changes), &r.Changes); err != nil {
			return nil, wrap("incident revisions", err)
		}
		out = append(out, r)
	}
	return out, wrap("incident revisions", rows.Err())
}

// PurgePoints removes location, address and raw row of incidents that
// occurred before cutoff, keeping cell, day, kind and areas, and with them
// the other copies of point-level data older than cutoff (purgeHistory:
// revision values, quarantined raw rows), in one transaction. The content
// hash is kept so a feed re-sending an unchanged old row does not restore it.
func (db *DB) PurgePoints(ctx context.Context, cutoff time.Time) (int, error) {
	var n int
	err := db.inTx(ctx, "purge points", func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `
UPDATE incidents SET lon = NULL, lat = NULL, address = '', raw = NULL, updated_at = ?
WHERE occurred_at < ? AND (lon IS NOT NULL OR address <> '' OR raw IS NOT NULL)`,
			us(db.nowUTC()), us(cutoff))
		if err != nil {
			return err
		}
		m, err := r.RowsAffected()
		if err != nil {
			return err
		}
		n = int(m)
		h, err := purgeHistory(ctx, tx, cutoff)
		if err != nil {
			return err
		}
		if n+h > 0 {
			return bumpDataVersion(ctx, tx)
		}
		return nil
	})
	return n, err
}

package postgis

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"hotspots/geo"
)

// where builds a parameterised WHERE clause: values always travel as $n.
type where struct {
	conds []string
	args  []any
}

// arg adds a parameter and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return fmt.Sprintf("$%d", len(w.args))
}

// add appends a condition; %s verbs in cond are replaced by placeholders for
// vals, in order.
func (w *where) add(cond string, vals ...any) {
	ph := make([]any, len(vals))
	for i, v := range vals {
		ph[i] = w.arg(v)
	}
	w.conds = append(w.conds, fmt.Sprintf(cond, ph...))
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func kindStrings(ks []geo.Kind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

// cellsByRes groups filter cells by resolution, checking each is a valid
// cell no finer than the stored resolution.
func cellsByRes(cells []geo.Cell) (map[int][]int64, error) {
	out := map[int][]int64{}
	for _, c := range cells {
		if !c.Valid() || c.Res() > geo.FinestRes {
			return nil, geo.FieldErrorf("cells", "cell %s is not an H3 cell of resolution 0..%d", c, geo.FinestRes)
		}
		out[c.Res()] = append(out[c.Res()], int64(c))
	}
	return out, nil
}

// addCells restricts column (resolution-12 cells) to the given cells of any
// resolution: a row matches when its ancestor at a filter cell's resolution
// is that cell.
func (w *where) addCells(column string, cells []geo.Cell) error {
	byRes, err := cellsByRes(cells)
	if err != nil {
		return err
	}
	resList := make([]int, 0, len(byRes))
	for r := range byRes {
		resList = append(resList, r)
	}
	sort.Ints(resList)
	var ors []string
	for _, r := range resList {
		ors = append(ors, fmt.Sprintf("h3_parent(%s, %s) = ANY(%s)", column, w.arg(r), w.arg(byRes[r])))
	}
	w.conds = append(w.conds, "("+strings.Join(ors, " OR ")+")")
	return nil
}

// incidentWhere translates an IncidentFilter on alias i.
func incidentWhere(f geo.IncidentFilter) (*where, error) {
	w := &where{}
	if len(f.Kinds) > 0 {
		w.add("i.kind = ANY(%s)", kindStrings(f.Kinds))
	}
	if f.From != nil {
		w.add("i.occurred_at >= %s", *f.From)
	}
	if f.To != nil {
		w.add("i.occurred_at < %s", *f.To)
	}
	if b := f.Bounds; b != nil {
		// && on a point is an inclusive bounding-box test, the same rule the
		// embedded store applies to its lon/lat columns.
		w.add("i.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", b.Min.Lon(), b.Min.Lat(), b.Max.Lon(), b.Max.Lat())
	}
	if len(f.Cells) > 0 {
		if err := w.addCells("i.h3_cell", f.Cells); err != nil {
			return nil, err
		}
	}
	if f.Source != "" {
		w.add("i.source = %s", f.Source)
	}
	return w, nil
}

// FindIncidents returns incidents matching f, ordered by OccurredAt, then ID.
func (db *DB) FindIncidents(ctx context.Context, f geo.IncidentFilter) ([]geo.Incident, error) {
	w, err := incidentWhere(f)
	if err != nil {
		return nil, wrap("find incidents", err)
	}
	q := `SELECT ` + incidentColumns + ` FROM incidents i` + w.String() + ` ORDER BY i.occurred_at, i.id`
	if f.Limit > 0 {
		q += " LIMIT " + w.arg(f.Limit)
	}
	if f.Offset > 0 {
		q += " OFFSET " + w.arg(f.Offset)
	}
	rows, err := db.pool.Query(ctx, q, w.args...)
	if err != nil {
		return nil, wrap("find incidents", err)
	}
	defer rows.Close()
	var out []geo.Incident
	for rows.Next() {
		var r incidentRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, wrap("find incidents", err)
		}
		out = append(out, r.incident())
	}
	return out, wrap("find incidents", rows.Err())
}

// CountIncidents counts incidents matching f.
func (db *DB) CountIncidents(ctx context.Context, f geo.IncidentFilter) (int, error) {
	w, err := incidentWhere(f)
	if err != nil {
		return 0, wrap("count incidents", err)
	}
	var n int
	err = db.pool.QueryRow(ctx, `SELECT count(*) FROM incidents i`+w.String(), w.args...).Scan(&n)
	return n, wrap("count incidents", err)
}

// IncidentRevisions returns the audit trail of one incident, oldest first.
func (db *DB) IncidentRevisions(ctx context.Context, incidentID int64) ([]geo.Revision, error) {
	rows, err := db.pool.Query(ctx, `
SELECT id, incident, coalesce(load, 0), source, changed_at, changes
FROM incident_revisions WHERE incident = $1 ORDER BY id`, incidentID)
	if err != nil {
		return nil, wrap("incident revisions", err)
	}
	defer rows.Close()
	var out []geo.Revision
	for rows.Next() {
		var r geo.Revision
		if err := rows.Scan(&r.ID, &r.IncidentID, &r.LoadID, &r.Source, &r.ChangedAt, &r.Changes); err != nil {
			return nil, wrap("incident revisions", err)
		}
		r.ChangedAt = r.ChangedAt.UTC()
		out = append(out, r)
	}
	return out, wrap("incident revisions", rows.Err())
}

// PurgePoints removes location, address and raw row of incidents that
// occurred before cutoff, and with them the other copies of point-level
// data older than cutoff (purgeHistory: revision values, quarantined raw
// rows), in one transaction. The content hash is kept on purpose: a feed
// that re-sends an unchanged old row must not bring its point back.
func (db *DB) PurgePoints(ctx context.Context, cutoff time.Time) (int, error) {
	var n int
	err := db.inTx(ctx, "purge points", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
UPDATE incidents SET geom = NULL, address = '', raw = NULL, updated_at = $2
WHERE occurred_at < $1 AND (geom IS NOT NULL OR address <> '' OR raw IS NOT NULL)`,
			cutoff, db.nowUTC())
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
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

package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"hotspots/geo"
)

// where builds a WHERE clause with ? parameters. Lists travel as one JSON
// array parameter read with json_each, so no query hits SQLite's variable
// limit however many kinds or cells a filter has.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// jsonList encodes a list parameter for json_each.
func jsonList(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sqlite: encode list: %v", err)) // slices of strings and ints always encode
	}
	return string(b)
}

func (w *where) addKinds(kinds []geo.Kind) {
	if len(kinds) > 0 {
		w.add("kind IN (SELECT value FROM json_each(?))", jsonList(kinds))
	}
}

// addCells restricts column (resolution-12 cells) to descendants of the
// given cells of any resolution.
func (w *where) addCells(column string, cells []geo.Cell) error {
	byRes := map[int][]int64{}
	for _, c := range cells {
		if !c.Valid() || c.Res() > geo.FinestRes {
			return geo.FieldErrorf("cells", "cell %s is not an H3 cell of resolution 0..%d", c, geo.FinestRes)
		}
		byRes[c.Res()] = append(byRes[c.Res()], int64(c))
	}
	resList := make([]int, 0, len(byRes))
	for r := range byRes {
		resList = append(resList, r)
	}
	sort.Ints(resList)
	var ors []string
	for _, r := range resList {
		ors = append(ors, fmt.Sprintf("h3_parent(%s, ?) IN (SELECT value FROM json_each(?))", column))
		w.args = append(w.args, r, jsonList(byRes[r]))
	}
	w.conds = append(w.conds, "("+strings.Join(ors, " OR ")+")")
	return nil
}

// incidentWhere translates an IncidentFilter.
func incidentWhere(f geo.IncidentFilter) (*where, error) {
	w := &where{}
	w.addKinds(f.Kinds)
	if f.From != nil {
		w.add("occurred_at >= ?", us(*f.From))
	}
	if f.To != nil {
		w.add("occurred_at < ?", us(*f.To))
	}
	if b := f.Bounds; b != nil {
		// Inclusive on every side, like PostGIS's && on a point.
		w.add("lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?", b.Min.Lon(), b.Max.Lon(), b.Min.Lat(), b.Max.Lat())
	}
	if len(f.Cells) > 0 {
		if err := w.addCells("h3_cell", f.Cells); err != nil {
			return nil, err
		}
	}
	if f.Source != "" {
		w.add("source = ?", f.Source)
	}
	return w, nil
}

// FindIncidents returns incidents matching f, ordered by OccurredAt, then ID.
func (db *DB) FindIncidents(ctx context.Context, f geo.IncidentFilter) ([]geo.Incident, error) {
	w, err := incidentWhere(f)
	if err != nil {
		return nil, wrap("find incidents", err)
	}
	q := `SELECT ` + incidentColumns + ` FROM incidents` + w.String() + ` ORDER BY occurred_at, id`
	if f.Limit > 0 || f.Offset > 0 {
		limit := f.Limit
		if limit <= 0 {
			limit = -1 // SQLite's "no limit", needed to give an offset
		}
		q += " LIMIT ? OFFSET ?"
		w.args = append(w.args, limit, f.Offset)
	}
	rows, err := db.read.QueryContext(ctx, q, w.args...)
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
		inc, err := r.incident()
		if err != nil {
			return nil, wrap("find incidents", err)
		}
		out = append(out, inc)
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
	err = db.read.QueryRowContext(ctx, `SELECT count(*) FROM incidents`+w.String(), w.args...).Scan(&n)
	return n, wrap("count incidents", err)
}

// cellQuery returns the FROM clause, cell column, count expression and
// filter for a CellCountFilter: the maintained resolution-9 table when
// f.Res is at most 9, the incidents for finer cells.
func cellQuery(f geo.CellCountFilter) (table, cell, count string, w *where, err error) {
	if f.Res < 0 || f.Res > geo.FinestRes {
		return "", "", "", nil, geo.FieldErrorf("res", "resolution %d out of 0..%d", f.Res, geo.FinestRes)
	}
	w = &where{}
	table, cell, count = "incidents", "h3_cell", "count(*)"
	if f.Res <= countsRes {
		table, cell, count = "cell_day_counts", "cell", "sum(n)"
		w.add("n > 0")
	}
	w.addKinds(f.Kinds)
	if f.From != nil {
		w.add("day >= ?", dayOf(*f.From))
	}
	if f.To != nil {
		w.add("day < ?", dayOf(*f.To))
	}
	if len(f.Cells) > 0 {
		for _, c := range f.Cells {
			if !c.Valid() || c.Res() != f.Res {
				return "", "", "", nil, geo.FieldErrorf("cells", "cell %s is not an H3 cell of resolution %d", c, f.Res)
			}
		}
		if err := w.addCells(cell, f.Cells); err != nil {
			return "", "", "", nil, err
		}
	}
	return table, cell, count, w, nil
}

// CellCounts aggregates counts per cell at f.Res and kind, ordered by cell
// and kind.
func (db *DB) CellCounts(ctx context.Context, f geo.CellCountFilter) ([]geo.CellCount, error) {
	table, cell, count, w, err := cellQuery(f)
	if err != nil {
		return nil, wrap("cell counts", err)
	}
	q := fmt.Sprintf(`SELECT h3_parent(%s, ?) AS c, kind, %s FROM %s%s GROUP BY c, kind ORDER BY c, kind`,
		cell, count, table, w.String())
	rows, err := db.read.QueryContext(ctx, q, append([]any{f.Res}, w.args...)...)
	if err != nil {
		return nil, wrap("cell counts", err)
	}
	defer rows.Close()
	var out []geo.CellCount
	for rows.Next() {
		var c geo.CellCount
		var id int64
		var kind string
		if err := rows.Scan(&id, &kind, &c.Count); err != nil {
			return nil, wrap("cell counts", err)
		}
		c.Cell, c.Kind = geo.Cell(id), geo.Kind(kind)
		out = append(out, c)
	}
	return out, wrap("cell counts", rows.Err())
}

// CellDayCounts aggregates counts per cell at f.Res, day and kind, ordered
// by cell, day and kind.
func (db *DB) CellDayCounts(ctx context.Context, f geo.CellCountFilter) ([]geo.CellDayCount, error) {
	table, cell, count, w, err := cellQuery(f)
	if err != nil {
		return nil, wrap("cell day counts", err)
	}
	q := fmt.Sprintf(`SELECT h3_parent(%s, ?) AS c, day, kind, %s FROM %s%s GROUP BY c, day, kind ORDER BY c, day, kind`,
		cell, count, table, w.String())
	rows, err := db.read.QueryContext(ctx, q, append([]any{f.Res}, w.args...)...)
	if err != nil {
		return nil, wrap("cell day counts", err)
	}
	defer rows.Close()
	var out []geo.CellDayCount
	for rows.Next() {
		var c geo.CellDayCount
		var id int64
		var day, kind string
		if err := rows.Scan(&id, &day, &kind, &c.Count); err != nil {
			return nil, wrap("cell day counts", err)
		}
		if c.Day, err = parseDay(day); err != nil {
			return nil, wrap("cell day counts", err)
		}
		c.Cell, c.Kind = geo.Cell(id), geo.Kind(kind)
		out = append(out, c)
	}
	return out, wrap("cell day counts", rows.Err())
}

// AreaDayCounts aggregates counts and victims per area of f.Layer, day and
// kind, ordered by area, day and kind; incidents without an area in the
// layer count under "".
func (db *DB) AreaDayCounts(ctx context.Context, f geo.AreaCountFilter) ([]geo.AreaDayCount, error) {
	if f.Layer == "" {
		return nil, wrap("area day counts", geo.FieldErrorf("layer", "area counts need a layer"))
	}
	w := &where{}
	w.addKinds(f.Kinds)
	if f.From != nil {
		w.add("day >= ?", dayOf(*f.From))
	}
	if f.To != nil {
		w.add("day < ?", dayOf(*f.To))
	}
	// json_each by key rather than json_extract with a path, so layer ids
	// with dots or quotes need no escaping.
	q := `SELECT coalesce((SELECT value FROM json_each(incidents.areas) WHERE key = ?), '') AS a,
    day, kind, count(*), coalesce(sum(victims), 0)
FROM incidents` + w.String() + ` GROUP BY a, day, kind ORDER BY a, day, kind`
	rows, err := db.read.QueryContext(ctx, q, append([]any{f.Layer}, w.args...)...)
	if err != nil {
		return nil, wrap("area day counts", err)
	}
	defer rows.Close()
	var out []geo.AreaDayCount
	for rows.Next() {
		var c geo.AreaDayCount
		var day, kind string
		if err := rows.Scan(&c.Area, &day, &kind, &c.Count, &c.Victims); err != nil {
			return nil, wrap("area day counts", err)
		}
		if c.Day, err = parseDay(day); err != nil {
			return nil, wrap("area day counts", err)
		}
		c.Kind = geo.Kind(kind)
		out = append(out, c)
	}
	return out, wrap("area day counts", rows.Err())
}

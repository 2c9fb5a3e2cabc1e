package postgis

import (
	"context"
	"fmt"

	"hotspots/geo"
)

// cellSource returns the table, cell column and count expression that
// answer counts at res: the maintained resolution-9 table when res is at
// most 9, the incidents themselves for finer cells.
func cellSource(res int) (table, cell, count string) {
	if res <= countsRes {
		return "cell_day_counts i", "i.cell", "sum(i.n)"
	}
	return "incidents i", "i.h3_cell", "count(*)"
}

// cellWhere translates a CellCountFilter for the table chosen by cellSource.
func cellWhere(f geo.CellCountFilter, cell string) (*where, error) {
	if f.Res < 0 || f.Res > geo.FinestRes {
		return nil, geo.FieldErrorf("res", "resolution %d out of 0..%d", f.Res, geo.FinestRes)
	}
	w := &where{}
	if f.Res <= countsRes {
		w.conds = append(w.conds, "i.n > 0")
	}
	if len(f.Kinds) > 0 {
		w.add("i.kind = ANY(%s)", kindStrings(f.Kinds))
	}
	if f.From != nil {
		w.add("i.day >= %s::date", dateOf(*f.From))
	}
	if f.To != nil {
		w.add("i.day < %s::date", dateOf(*f.To))
	}
	if len(f.Cells) > 0 {
		for _, c := range f.Cells {
			if !c.Valid() || c.Res() != f.Res {
				return nil, geo.FieldErrorf("cells", "cell %s is not an H3 cell of resolution %d", c, f.Res)
			}
		}
		if err := w.addCells(cell, f.Cells); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// CellCounts aggregates counts per cell at f.Res and kind, ordered by cell
// and kind.
func (db *DB) CellCounts(ctx context.Context, f geo.CellCountFilter) ([]geo.CellCount, error) {
	table, cell, count := cellSource(f.Res)
	w, err := cellWhere(f, cell)
	if err != nil {
		return nil, wrap("cell counts", err)
	}
	res := w.arg(f.Res)
	q := fmt.Sprintf(`SELECT h3_parent(%s, %s), i.kind, %s FROM %s%s GROUP BY 1, 2 ORDER BY 1, 2`,
		cell, res, count, table, w.String())
	rows, err := db.pool.Query(ctx, q, w.args...)
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
	table, cell, count := cellSource(f.Res)
	w, err := cellWhere(f, cell)
	if err != nil {
		return nil, wrap("cell day counts", err)
	}
	res := w.arg(f.Res)
	q := fmt.Sprintf(`SELECT h3_parent(%s, %s), i.day, i.kind, %s FROM %s%s GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
		cell, res, count, table, w.String())
	rows, err := db.pool.Query(ctx, q, w.args...)
	if err != nil {
		return nil, wrap("cell day counts", err)
	}
	defer rows.Close()
	var out []geo.CellDayCount
	for rows.Next() {
		var c geo.CellDayCount
		var id int64
		var kind string
		if err := rows.Scan(&id, &c.Day, &kind, &c.Count); err != nil {
			return nil, wrap("cell day counts", err)
		}
		c.Cell, c.Kind, c.Day = geo.Cell(id), geo.Kind(kind), dateOf(c.Day)
		out = append(out, c)
	}
	return out, wrap("cell day counts", rows.Err())
}

// AreaDayCounts aggregates counts and victims per area of f.Layer, day and
// kind, ordered by area, day and kind. Incidents without an area in the
// layer are counted under "".
func (db *DB) AreaDayCounts(ctx context.Context, f geo.AreaCountFilter) ([]geo.AreaDayCount, error) {
	if f.Layer == "" {
		return nil, wrap("area day counts", geo.FieldErrorf("layer", "area counts need a layer"))
	}
	w := &where{}
	layer := w.arg(f.Layer)
	if len(f.Kinds) > 0 {
		w.add("i.kind = ANY(%s)", kindStrings(f.Kinds))
	}
	if f.From != nil {
		w.add("i.day >= %s::date", dateOf(*f.From))
	}
	if f.To != nil {
		w.add("i.day < %s::date", dateOf(*f.To))
	}
	q := fmt.Sprintf(`SELECT coalesce(i.areas ->> %s::text, ''), i.day, i.kind, count(*), coalesce(sum(i.victims), 0)
FROM incidents i%s GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, layer, w.String())
	rows, err := db.pool.Query(ctx, q, w.args...)
	if err != nil {
		return nil, wrap("area day counts", err)
	}
	defer rows.Close()
	var out []geo.AreaDayCount
	for rows.Next() {
		var c geo.AreaDayCount
		var kind string
		if err := rows.Scan(&c.Area, &c.Day, &kind, &c.Count, &c.Victims); err != nil {
			return nil, wrap("area day counts", err)
		}
		c.Kind, c.Day = geo.Kind(kind), dateOf(c.Day)
		out = append(out, c)
	}
	return out, wrap("area day counts", rows.Err())
}

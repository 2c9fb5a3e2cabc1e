package postgis

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"hotspots/geo"
)

// cellTables are the sources of cell counts at res with what to select
// from each: the maintained resolution-9 table when res is at most 9, the
// incidents themselves for finer cells. At resolution 9 and coarser the
// incidents are a second source, read instead of the table while a bulk
// load's counts are pending (see celldays.go): each gets a one-time filter
// on cell_day_dirty, so exactly one of them runs, decided in the query's
// own snapshot.
type cellTable struct {
	from, cell, count, gate string
}

func cellTables(res int) []cellTable {
	inc := cellTable{from: "incidents i", cell: "i.h3_cell", count: "count(*)"}
	if res > countsRes {
		return []cellTable{inc}
	}
	inc.gate = "EXISTS (SELECT 1 FROM cell_day_dirty)"
	return []cellTable{
		{from: "cell_day_counts i", cell: "i.cell", count: "sum(i.n)", gate: "NOT EXISTS (SELECT 1 FROM cell_day_dirty)"},
		inc,
	}
}

// cellQuery builds the count query over cellTables(f.Res): cols are the
// grouping columns after the cell (e.g. "i.kind"), grouped and ordered by
// position.
func cellQuery(f geo.CellCountFilter, cols string) (string, []any, error) {
	if f.Res < 0 || f.Res > geo.FinestRes {
		return "", nil, geo.FieldErrorf("res", "resolution %d out of 0..%d", f.Res, geo.FinestRes)
	}
	nGroup := 2 + strings.Count(cols, ",")
	group := make([]string, nGroup)
	for i := range group {
		group[i] = strconv.Itoa(i + 1)
	}
	var args []any
	var parts []string
	for _, t := range cellTables(f.Res) {
		w := &where{args: args}
		if err := cellWhere(w, f, t); err != nil {
			return "", nil, err
		}
		parts = append(parts, fmt.Sprintf(`SELECT h3_parent(%s, %s), %s, %s FROM %s%s GROUP BY %s`,
			t.cell, w.arg(f.Res), cols, t.count, t.from, w.String(), strings.Join(group, ", ")))
		args = w.args
	}
	return strings.Join(parts, "\nUNION ALL\n") + " ORDER BY " + strings.Join(group, ", "), args, nil
}

// cellWhere adds the conditions of a CellCountFilter for table t to w.
func cellWhere(w *where, f geo.CellCountFilter, t cellTable) error {
	if t.gate != "" {
		w.conds = append(w.conds, t.gate)
	}
	if t.from == "cell_day_counts i" {
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
				return geo.FieldErrorf("cells", "cell %s is not an H3 cell of resolution %d", c, f.Res)
			}
		}
		if err := w.addCells(t.cell, f.Cells); err != nil {
			return err
		}
	}
	return nil
}

// CellCounts aggregates counts per cell at f.Res and kind, ordered by cell
// and kind.
func (db *DB) CellCounts(ctx context.Context, f geo.CellCountFilter) ([]geo.CellCount, error) {
	q, args, err := cellQuery(f, "i.kind")
	if err != nil {
		return nil, wrap("cell counts", err)
	}
	rows, err := db.pool.Query(ctx, q, args...)
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
	q, args, err := cellQuery(f, "i.day, i.kind")
	if err != nil {
		return nil, wrap("cell day counts", err)
	}
	rows, err := db.pool.Query(ctx, q, args...)
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

package postgis

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"hotspots/geo"
)

// Area-month counts added from the Go side. Every upsert marks the months
// it touched in area_month_dirty, and a refresh recomputes marked months
// from the incidents (refreshAreaMonths). For a million-row load that
// recomputation hashed a million areas values at the end of the load,
// about 3 s of PostgreSQL time, although the upserts had every row's
// areas, month and kind in hand. So each upsert of a load also sums what
// it adds to and takes from the counts (areaDeltas), and FinishLoad adds
// the load's sums to area_month_counts and deletes the load's marks in one
// transaction (applyAreaDeltas) before the refresh, which is then left with
// other writers' months only.
//
// Exactly right whatever runs beside the load, because of what a mark
// means: a mark exists if and only if no refresh has counted its rows yet.
// A mark and its rows commit in one transaction, so a refresh's snapshot
// holds both or neither; a refresh recomputes every month it sees marked
// and deletes exactly the marks it saw. The apply takes the refreshes'
// lock and deletes the load's marks by id: if every one is still there,
// none of the load's rows is counted and adding the sums is exact; if a
// refresh (a reader during the load) has taken any, the apply does
// nothing and the remaining marks are recomputed as before. A process that
// dies mid-load leaves its marks, and the next refresh recomputes them.
// Sums of a failed upsert are dropped with its transaction, and an upsert
// whose commit fails ambiguously leaves marks the load does not know of:
// they stay and are recomputed, which is always right.

// areaGroup is the count change of incidents sharing one areas value,
// month and kind: with uniform points a million incidents make about 69k
// groups, so the sums cost one map update per incident, not one per layer.
type areaGroup struct {
	areas      map[string]string
	month      time.Time
	kind       string
	n, victims int32
}

// areaChanges is what one upsert did to the area month counts: the rows
// it counts once more and once less, and the ids of the marks it wrote.
// They are summed into the load's areaDeltas once the upsert has
// committed: summing them per upsert first allocated a key and a group for
// nearly every row (a 4,000-row batch has thousands of groups), which cost
// more Go time than the sums saved.
type areaChanges struct {
	plus  []*staged
	minus []*geo.Incident
	marks []int64
}

// areaDeltas sums a load's committed changes to area_month_counts, keyed
// by the group's areas JSON (as the COPY wrote it), kind and month, with
// the ids of the marks its upserts wrote.
type areaDeltas struct {
	groups map[string]*areaGroup
	marks  []int64
	key    []byte
}

// add counts inc, whose areas encode as areasJSON, once more (sign 1) or
// once less (sign -1).
func (d *areaDeltas) add(areasJSON []byte, inc *geo.Incident, sign int32) {
	m := monthOf(inc.Day)
	k := append(d.key[:0], areasJSON...)
	k = append(k, 0)
	k = append(k, inc.Kind...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint32(k, uint32(m.Year()*12+int(m.Month())))
	d.key = k
	g := d.groups[string(k)]
	if g == nil {
		g = &areaGroup{areas: maps.Clone(inc.Areas), month: m, kind: string(inc.Kind)}
		d.groups[string(k)] = g
	}
	g.n += sign
	g.victims += sign * int32(inc.Victims)
}

// merge sums the changes of one committed upsert.
func (d *areaDeltas) merge(c *areaChanges) {
	for _, s := range c.plus {
		d.add(s.areas, &s.inc, 1)
	}
	var buf []byte
	for _, inc := range c.minus {
		buf = appendAreasJSON(buf[:0], inc.Areas)
		d.add(buf, inc, -1)
	}
	d.marks = append(d.marks, c.marks...)
}

// areaCountKey is one row of area_month_counts.
type areaCountKey struct {
	layer, area string
	month       time.Time
	kind        string
}

// rows expands the groups into area_month_counts rows: one per layer of
// the group's areas and one for the total (layer and area ""), as the
// refresh aggregates them.
func (d *areaDeltas) rows() map[areaCountKey]countDelta {
	out := map[areaCountKey]countDelta{}
	put := func(k areaCountKey, g *areaGroup) {
		v := out[k]
		v.n += g.n
		v.victims += g.victims
		out[k] = v
	}
	for _, g := range d.groups {
		if g.n == 0 && g.victims == 0 {
			continue
		}
		for layer, area := range g.areas {
			put(areaCountKey{layer, area, g.month, g.kind}, g)
		}
		put(areaCountKey{"", "", g.month, g.kind}, g)
	}
	return out
}

// mergeAreaDeltas adds a committed upsert's changes to its load's sums.
func (db *DB) mergeAreaDeltas(loadID int64, c *areaChanges) {
	if loadID == 0 || c == nil || len(c.marks) == 0 {
		return
	}
	db.bulk.mu.Lock()
	defer db.bulk.mu.Unlock()
	l := db.loadState(loadID)
	if l.areas == nil {
		l.areas = &areaDeltas{groups: map[string]*areaGroup{}}
	}
	l.areas.merge(c)
}

// applyAreaDeltas adds a finished load's sums to area_month_counts and
// deletes its marks, if every mark is still there (see the top of this
// file); otherwise it leaves them to the refresh. It reports whether it
// applied the sums.
func (db *DB) applyAreaDeltas(ctx context.Context, d *areaDeltas) (bool, error) {
	if d == nil || len(d.marks) == 0 {
		return false, nil
	}
	rows := d.rows()
	keys := make([]areaCountKey, 0, len(rows))
	for k, v := range rows {
		if v != (countDelta{}) {
			keys = append(keys, k)
		}
	}
	// Primary key order (layer, area, kind, month): the inserts walk the
	// index once, and two applies lock shared rows in one order.
	slices.SortFunc(keys, func(a, b areaCountKey) int {
		return cmp.Or(cmp.Compare(a.layer, b.layer), cmp.Compare(a.area, b.area),
			cmp.Compare(a.kind, b.kind), a.month.Compare(b.month))
	})
	layers, areas, kinds := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	months := make([]time.Time, len(keys))
	ns, vs := make([]int32, len(keys)), make([]int32, len(keys))
	shrunk := false
	for i, k := range keys {
		v := rows[k]
		layers[i], areas[i], kinds[i], months[i], ns[i], vs[i] = k.layer, k.area, k.kind, k.month, v.n, v.victims
		shrunk = shrunk || v.n < 0
	}
	err := db.inTx(ctx, "apply area months", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('hotspots.area_months', 0))`); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM area_month_dirty WHERE id = ANY($1)`, d.marks)
		if err != nil {
			return err
		}
		if int(tag.RowsAffected()) != len(d.marks) {
			// A refresh counted some of the load's rows already: the
			// remaining marks are recomputed instead.
			return errMarksTaken
		}
		if len(keys) == 0 {
			return nil
		}
		const src = `unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::int[], $6::int[]) AS d(layer, area, month, kind, n, victims)`
		if _, err := tx.Exec(ctx, `
INSERT INTO area_month_counts AS c (layer, area, month, kind, n, victims)
SELECT layer, area, month, kind, n, victims FROM `+src+`
ON CONFLICT (layer, area, kind, month) DO UPDATE SET n = c.n + EXCLUDED.n, victims = c.victims + EXCLUDED.victims`,
			layers, areas, months, kinds, ns, vs); err != nil {
			return err
		}
		if !shrunk {
			return nil
		}
		_, err = tx.Exec(ctx, `
DELETE FROM area_month_counts c USING `+src+`
WHERE c.layer = d.layer AND c.area = d.area AND c.kind = d.kind AND c.month = d.month AND d.n < 0 AND c.n <= 0`,
			layers, areas, months, kinds, ns, vs)
		return err
	})
	if errors.Is(err, errMarksTaken) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	db.areaApplies.Add(1)
	return true, nil
}

// errMarksTaken is applyAreaDeltas' report that a refresh has counted some
// of the load's rows.
var errMarksTaken = errors.New("area month marks taken by a refresh")

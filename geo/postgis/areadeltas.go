package postgis

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"maps"
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

// areaRows are area_month_counts rows as column arrays.
type areaRows struct {
	layers, areas, kinds []string
	months               []time.Time
	ns, vs               []int32
	shrunk               []time.Time // months of rows that lose counts
}

// rows expands the groups into area_month_counts rows: one per layer of
// a group's areas and one for the total (layer and area ""), as the
// refresh aggregates them. Layer and area pairs and kinds are numbered
// first, so the sums are keyed by three small integers (hashing strings
// and times for half a million expansions took seconds; expanding in SQL
// with jsonb_each_text and sorting by text took 2 s for a million rows).
func (d *areaDeltas) rows() areaRows {
	type pair struct{ layer, area string }
	type key struct{ pair, month, kind int32 }
	pairs, kinds := map[pair]int32{}, map[string]int32{}
	var pairList []pair
	var kindList []string
	var monthList []time.Time
	months := map[time.Time]int32{}
	id := func(p pair) int32 {
		i, ok := pairs[p]
		if !ok {
			i = int32(len(pairList))
			pairs[p] = i
			pairList = append(pairList, p)
		}
		return i
	}
	sums := map[key]countDelta{}
	for _, g := range d.groups {
		if g.n == 0 && g.victims == 0 {
			continue
		}
		ki, ok := kinds[g.kind]
		if !ok {
			ki = int32(len(kindList))
			kinds[g.kind] = ki
			kindList = append(kindList, g.kind)
		}
		mi, ok := months[g.month]
		if !ok {
			mi = int32(len(monthList))
			months[g.month] = mi
			monthList = append(monthList, g.month)
		}
		add := func(p pair) {
			k := key{id(p), mi, ki}
			v := sums[k]
			v.n += g.n
			v.victims += g.victims
			sums[k] = v
		}
		for layer, area := range g.areas {
			add(pair{layer, area})
		}
		add(pair{})
	}
	var r areaRows
	for k, v := range sums {
		if v == (countDelta{}) {
			continue
		}
		p := pairList[k.pair]
		r.layers, r.areas, r.kinds = append(r.layers, p.layer), append(r.areas, p.area), append(r.kinds, kindList[k.kind])
		r.months, r.ns, r.vs = append(r.months, monthList[k.month]), append(r.ns, v.n), append(r.vs, v.victims)
		if v.n < 0 {
			r.shrunk = append(r.shrunk, monthList[k.month])
		}
	}
	return r
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

// addAreaSums applies a finished load's area month sums, logging the
// outcome: a failure leaves the load's marks to the refresh, so it is not
// the load's error.
func (db *DB) addAreaSums(ctx context.Context, sums *areaDeltas) {
	if sums == nil {
		return
	}
	start := time.Now()
	applied, err := db.applyAreaDeltas(ctx, sums)
	if err != nil {
		db.log.WarnContext(ctx, "area_month_sums", slog.Any("error", err))
		return
	}
	db.log.InfoContext(ctx, "area_month_sums", slog.Bool("applied", applied),
		slog.Int("groups", len(sums.groups)), slog.Duration("duration", time.Since(start)))
}

// applyAreaDeltas adds a finished load's sums to area_month_counts and
// deletes its marks, if every mark is still there (see the top of this
// file); otherwise it leaves them to the refresh. It reports whether it
// applied the sums.
func (db *DB) applyAreaDeltas(ctx context.Context, d *areaDeltas) (bool, error) {
	if d == nil || len(d.marks) == 0 {
		return false, nil
	}
	r := d.rows()
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
		if len(r.layers) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `
INSERT INTO area_month_counts AS c (layer, area, month, kind, n, victims)
SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::int[], $6::int[])
ON CONFLICT (layer, area, kind, month) DO UPDATE SET n = c.n + EXCLUDED.n, victims = c.victims + EXCLUDED.victims`,
			r.layers, r.areas, r.months, r.kinds, r.ns, r.vs); err != nil {
			return err
		}
		if len(r.shrunk) == 0 {
			return nil
		}
		// Rows that fell to nothing: the refresh never writes them.
		_, err = tx.Exec(ctx, `DELETE FROM area_month_counts WHERE n <= 0 AND month = ANY($1)`, r.shrunk)
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

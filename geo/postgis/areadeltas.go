package postgis

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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

// areaDeltas sums a load's committed changes to area_month_counts by
// group: incidents sharing one areas value, month and kind. With uniform
// points a million incidents make about 69k groups, so the sums cost one
// map update per incident, not one per layer. A group's key is its areas
// JSON (as the COPY wrote it), a NUL (which JSON text cannot hold), its
// kind, a NUL and its month as four bytes; the value holds no pointer, so
// the sums add nothing for the garbage collector to scan but the keys
// (the areas as maps per group cost a tenth of the load's Go time).
type areaDeltas struct {
	groups map[string]*countDelta
	marks  []int64
	key    []byte
}

// add counts inc, whose areas encode as areasJSON, once more (sign 1) or
// once less (sign -1).
func (d *areaDeltas) add(areasJSON []byte, inc *geo.Incident, sign int32) {
	y, m, _ := inc.Day.Date()
	k := append(d.key[:0], areasJSON...)
	k = append(k, 0)
	k = append(k, inc.Kind...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint32(k, uint32(y*12+int(m)-1))
	d.key = k
	g := d.groups[string(k)]
	if g == nil {
		g = new(countDelta)
		d.groups[string(k)] = g
	}
	g.n += sign
	g.victims += sign * int32(inc.Victims)
}

// splitGroupKey returns the areas JSON, kind and month of a group key.
func splitGroupKey(k string) (areas, kind string, month time.Time) {
	i := strings.IndexByte(k, 0)
	areas, k = k[:i], k[i+1:]
	i = strings.IndexByte(k, 0)
	kind, k = k[:i], k[i+1:]
	v := int(binary.BigEndian.Uint32([]byte(k)))
	return areas, kind, time.Date(v/12, time.Month(v%12+1), 1, 0, 0, 0, 0, time.UTC)
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
func (d *areaDeltas) rows() (areaRows, error) {
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
	parsed := map[string]map[string]string{}
	for gk, g := range d.groups {
		if *g == (countDelta{}) {
			continue
		}
		js, kind, month := splitGroupKey(gk)
		areas, ok := parsed[js]
		if !ok {
			if err := json.Unmarshal([]byte(js), &areas); err != nil {
				return areaRows{}, fmt.Errorf("areas of a group: %w", err)
			}
			parsed[js] = areas
		}
		ki, ok := kinds[kind]
		if !ok {
			ki = int32(len(kindList))
			kinds[kind] = ki
			kindList = append(kindList, kind)
		}
		mi, ok := months[month]
		if !ok {
			mi = int32(len(monthList))
			months[month] = mi
			monthList = append(monthList, month)
		}
		add := func(p pair) {
			k := key{id(p), mi, ki}
			v := sums[k]
			v.n += g.n
			v.victims += g.victims
			sums[k] = v
		}
		for layer, area := range areas {
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
	return r, nil
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
		l.areas = &areaDeltas{groups: map[string]*countDelta{}}
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
	r, err := d.rows()
	if err != nil {
		return false, err
	}
	err = db.inTx(ctx, "apply area months", func(tx pgx.Tx) error {
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

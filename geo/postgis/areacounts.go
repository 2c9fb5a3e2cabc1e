package postgis

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"hotspots/geo"
)

// areaKey is one row of area_month_counts. Layer "" with area "" is the
// total over all incidents.
type areaKey struct {
	layer, area string
	month       time.Time
	kind        string
}

// monthOf returns the first day of d's month, at 00:00 UTC.
func monthOf(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// areaDeltas nets what a round does to area_month_counts, as countDeltas
// does for cell_day_counts.
func areaDeltas(round []staged, newIdx []int, old []oldRow) map[areaKey]countDelta {
	d := map[areaKey]countDelta{}
	add := func(inc *geo.Incident, sign int32) {
		m, kind := monthOf(inc.Day), string(inc.Kind)
		bump := func(k areaKey) {
			v := d[k]
			v.n += sign
			v.victims += sign * int32(inc.Victims)
			d[k] = v
		}
		bump(areaKey{month: m, kind: kind})
		for layer, area := range inc.Areas {
			if layer != "" {
				bump(areaKey{layer, area, m, kind})
			}
		}
	}
	for _, i := range newIdx {
		add(&round[i].inc, 1)
	}
	for _, o := range old {
		add(&o.inc, -1)
		add(&round[o.idx].inc, 1)
	}
	return d
}

// applyAreaCounts adds the deltas to area_month_counts and drops rows that
// fell to zero. Keys go in sorted, so concurrent loads of different sources
// lock shared rows in one order and cannot deadlock.
func applyAreaCounts(ctx context.Context, tx pgx.Tx, deltas map[areaKey]countDelta) error {
	keys := make([]areaKey, 0, len(deltas))
	shrunk := false
	for k, v := range deltas {
		if v == (countDelta{}) {
			continue
		}
		keys = append(keys, k)
		shrunk = shrunk || v.n < 0
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b areaKey) int {
		if c := strings.Compare(a.layer, b.layer); c != 0 {
			return c
		}
		if c := strings.Compare(a.area, b.area); c != 0 {
			return c
		}
		if c := strings.Compare(a.kind, b.kind); c != 0 {
			return c
		}
		return a.month.Compare(b.month)
	})
	layers := make([]string, len(keys))
	areas := make([]string, len(keys))
	months := make([]time.Time, len(keys))
	kinds := make([]string, len(keys))
	ns := make([]int32, len(keys))
	vs := make([]int32, len(keys))
	for i, k := range keys {
		v := deltas[k]
		layers[i], areas[i], months[i], kinds[i], ns[i], vs[i] = k.layer, k.area, k.month, k.kind, v.n, v.victims
	}
	const src = `unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::int[], $6::int[]) AS d(layer, area, month, kind, n, victims)`
	if _, err := tx.Exec(ctx, `
INSERT INTO area_month_counts AS c (layer, area, month, kind, n, victims)
SELECT layer, area, month, kind, n, victims FROM `+src+`
ON CONFLICT (layer, area, kind, month) DO UPDATE SET n = c.n + EXCLUDED.n, victims = c.victims + EXCLUDED.victims`,
		layers, areas, months, kinds, ns, vs); err != nil {
		return fmt.Errorf("update area counts: %w", err)
	}
	if !shrunk {
		return nil
	}
	if _, err := tx.Exec(ctx, `
DELETE FROM area_month_counts c USING `+src+`
WHERE c.layer = d.layer AND c.month = d.month AND c.kind = d.kind AND c.area = d.area AND d.n < 0 AND c.n <= 0`,
		layers, areas, months, kinds, ns, vs); err != nil {
		return fmt.Errorf("drop empty area counts: %w", err)
	}
	return nil
}

// AreaBinCounts implements geo.AreaBinCounter. Months that lie whole inside
// one bin are summed from area_month_counts; only the days of months cut by
// an edge (weekly or custom periods, a layer's validity bounds) are read
// from the incidents, through the day index. Monthly, quarterly and yearly
// indicators therefore never touch the incidents table.
func (db *DB) AreaBinCounts(ctx context.Context, f geo.AreaCountFilter, edges []time.Time) ([]geo.AreaDayCount, error) {
	if f.Layer == "" {
		return nil, wrap("area bin counts", geo.FieldErrorf("layer", "area counts need a layer"))
	}
	if len(edges) < 2 {
		return nil, nil
	}
	days := make([]time.Time, len(edges))
	for i, e := range edges {
		days[i] = dateOf(e)
		if i > 0 && !days[i].After(days[i-1]) {
			return nil, wrap("area bin counts", geo.FieldErrorf("edges", "edges must be distinct days in increasing order"))
		}
	}
	// bin returns the index of the bin holding day d (edges[0] <= d < last).
	bin := func(d time.Time) int {
		i, found := slices.BinarySearchFunc(days, d, time.Time.Compare)
		if !found {
			i--
		}
		return i
	}
	last := days[len(days)-1]
	var wholeMonths []time.Time
	var wholeBins []int32
	var partLo, partHi []time.Time
	for m := monthOf(days[0]); m.Before(last); m = m.AddDate(0, 1, 0) {
		end := m.AddDate(0, 1, 0)
		if !m.Before(days[0]) && !end.After(last) && bin(m) == bin(end.AddDate(0, 0, -1)) {
			wholeMonths, wholeBins = append(wholeMonths, m), append(wholeBins, int32(bin(m)))
			continue
		}
		lo, hi := m, end
		if lo.Before(days[0]) {
			lo = days[0]
		}
		if hi.After(last) {
			hi = last
		}
		// Merge with the previous partial range when they touch, so a
		// weekly request reads one day range, not one per month.
		if n := len(partHi); n > 0 && partHi[n-1].Equal(lo) {
			partHi[n-1] = hi
		} else {
			partLo, partHi = append(partLo, lo), append(partHi, hi)
		}
	}

	// Sums per area, kind and bin, dense over the bins: a city-wide
	// request has a few hundred areas and tens of bins, so this is small,
	// and emitting from it in order needs no sort of the whole result.
	nb := len(days) - 1
	sums := map[string]map[string][]countDelta{}
	binsOf := func(area, kind string) []countDelta {
		k := sums[area]
		if k == nil {
			k = map[string][]countDelta{}
			sums[area] = k
		}
		b := k[kind]
		if b == nil {
			b = make([]countDelta, nb)
			k[kind] = b
		}
		return b
	}
	var kinds any
	if len(f.Kinds) > 0 {
		kinds = kindStrings(f.Kinds)
	}

	if len(wholeMonths) > 0 {
		// One row per area and kind with its months, counts and victims as
		// arrays: about a thousand rows for a city-wide request instead of
		// one per area, month and kind. The three aggregates of a group see
		// its rows in one order, so element i of each array is one month;
		// which order does not matter, and not asking for one spares a
		// sort per group.
		first, lastM := wholeMonths[0], wholeMonths[len(wholeMonths)-1]
		monthBin := map[time.Time]int{}
		for i, m := range wholeMonths {
			monthBin[m] = int(wholeBins[i])
		}
		rows, err := db.pool.Query(ctx, `
SELECT c.layer = '', c.area, c.kind, array_agg(c.month), array_agg(c.n), array_agg(c.victims)
FROM area_month_counts c
WHERE c.layer IN ($1, '') AND c.month >= $2 AND c.month <= $3 AND ($4::text[] IS NULL OR c.kind = ANY($4))
GROUP BY c.layer, c.area, c.kind`, f.Layer, first, lastM, kinds)
		if err != nil {
			return nil, wrap("area bin counts", err)
		}
		err = func() error {
			defer rows.Close()
			var total bool
			var area, kind string
			var months []time.Time
			var ns, vs []int32
			for rows.Next() {
				if err := rows.Scan(&total, &area, &kind, &months, &ns, &vs); err != nil {
					return err
				}
				if !total && area == "" {
					continue // counted under "" through the total already
				}
				own := binsOf(area, kind)
				var rest []countDelta
				if !total {
					// The total counted these under ""; move them to their area.
					rest = binsOf("", kind)
				}
				for i, m := range months {
					b, ok := monthBin[dateOf(m)]
					if !ok {
						continue // a month cut by an edge: read from the incidents
					}
					own[b].n += ns[i]
					own[b].victims += vs[i]
					if rest != nil {
						rest[b].n -= ns[i]
						rest[b].victims -= vs[i]
					}
				}
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, wrap("area bin counts", err)
		}
	}

	if len(partLo) > 0 {
		rows, err := db.pool.Query(ctx, `
SELECT coalesce(i.areas ->> $1::text, ''), width_bucket(i.day, $4::date[]) - 1, i.kind,
    count(*), coalesce(sum(i.victims), 0)
FROM unnest($2::date[], $3::date[]) AS r(lo, hi)
JOIN incidents i ON i.day >= r.lo AND i.day < r.hi
WHERE ($5::text[] IS NULL OR i.kind = ANY($5))
GROUP BY 1, 2, 3`, f.Layer, partLo, partHi, days, kinds)
		if err != nil {
			return nil, wrap("area bin counts", err)
		}
		err = func() error {
			defer rows.Close()
			for rows.Next() {
				var area, kind string
				var b int32
				var n, v int64
				if err := rows.Scan(&area, &b, &kind, &n, &v); err != nil {
					return err
				}
				if b < 0 || int(b) >= nb {
					continue
				}
				bins := binsOf(area, kind)
				bins[b].n += int32(n)
				bins[b].victims += int32(v)
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, wrap("area bin counts", err)
		}
	}

	// Emit ordered by area, day and kind, as AreaDayCounts is.
	areaNames := make([]string, 0, len(sums))
	for a := range sums {
		areaNames = append(areaNames, a)
	}
	slices.Sort(areaNames)
	var out []geo.AreaDayCount
	for _, a := range areaNames {
		byKind := sums[a]
		kindNames := make([]string, 0, len(byKind))
		for k := range byKind {
			kindNames = append(kindNames, k)
		}
		slices.Sort(kindNames)
		for b := range nb {
			for _, k := range kindNames {
				if s := byKind[k][b]; s.n > 0 {
					out = append(out, geo.AreaDayCount{Area: a, Day: days[b], Kind: geo.Kind(k),
						Count: int(s.n), Victims: int(s.victims)})
				}
			}
		}
	}
	return out, nil
}

var _ geo.AreaBinCounter = (*DB)(nil)

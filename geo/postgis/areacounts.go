package postgis

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"hotspots/geo"
)

// monthOf returns the first day of d's month, at 00:00 UTC.
func monthOf(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// markAreaMonths records, inside the upsert's transaction, the months whose
// area counts the round changed: those of new rows and both the old and new
// months of changed rows. refreshAreaMonths recomputes them, unless the
// load adds its own sums first: with areas set, the round's changes are
// kept there with the marks' ids (areadeltas.go).
func markAreaMonths(ctx context.Context, tx pgx.Tx, round []staged, newIdx []int, old []oldRow, areas *areaChanges) error {
	set := map[time.Time]bool{}
	for _, i := range newIdx {
		set[monthOf(round[i].inc.Day)] = true
	}
	for _, o := range old {
		set[monthOf(o.inc.Day)] = true
		set[monthOf(round[o.idx].inc.Day)] = true
	}
	if len(set) == 0 {
		return nil
	}
	months := make([]time.Time, 0, len(set))
	for m := range set {
		months = append(months, m)
	}
	if areas == nil {
		if _, err := tx.Exec(ctx, `INSERT INTO area_month_dirty (month) SELECT unnest($1::date[])`, months); err != nil {
			return fmt.Errorf("mark area months: %w", err)
		}
		return nil
	}
	rows, err := tx.Query(ctx, `INSERT INTO area_month_dirty (month) SELECT unnest($1::date[]) RETURNING id`, months)
	if err != nil {
		return fmt.Errorf("mark area months: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("mark area months: %w", err)
	}
	areas.marks = append(areas.marks, ids...)
	for _, i := range newIdx {
		areas.plus = append(areas.plus, &round[i])
	}
	for j := range old {
		areas.minus = append(areas.minus, &old[j].inc)
		areas.plus = append(areas.plus, &round[old[j].idx])
	}
	return nil
}

// refreshAreaMonths recomputes the area counts of the months marked dirty,
// from the incidents, set-based: for a million-row load that is one
// aggregation instead of millions of row updates. It runs in a repeatable
// read transaction, so the incidents it aggregates and the marks it deletes
// are of one snapshot: a mark committed meanwhile stays for the next
// refresh. Refreshes are serialised by an advisory lock; when another is
// running, this one waits for it and then finds little or nothing left.
// manyMonths is the number of marked months above which a refresh scans
// their whole day range instead of probing the day index month by month.
const manyMonths = 6

func (db *DB) refreshAreaMonths(ctx context.Context) error {
	var dirty bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM area_month_dirty)`).Scan(&dirty); err != nil {
		return fmt.Errorf("area months: %w", err)
	}
	if !dirty {
		return nil
	}
	// The lock comes first, in a transaction of its own, so the repeatable
	// read snapshot below is taken after any refresh before it committed.
	lockTx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("area months: %w", err)
	}
	defer lockTx.Rollback(ctx)
	if _, err := lockTx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('hotspots.area_months', 0))`); err != nil {
		return fmt.Errorf("area months: lock: %w", err)
	}
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return fmt.Errorf("area months: %w", err)
	}
	defer tx.Rollback(ctx)
	var maxID int64
	var months []time.Time
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0), coalesce(array_agg(DISTINCT month), '{}') FROM area_month_dirty`).
		Scan(&maxID, &months); err != nil {
		return fmt.Errorf("area months: read marks: %w", err)
	}
	if maxID == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `
DELETE FROM area_month_counts WHERE month = ANY($1::date[]);
`, months); err != nil {
		return fmt.Errorf("area months: clear: %w", err)
	}
	// The incidents of the marked months: a few months through the day
	// index, month by month; many (a large load) in one scan of their
	// day range, as an index scan per month would visit nearly every heap
	// page once per month (rows lie in H3 order, not by day). Incidents
	// are first grouped by their whole areas value, month and kind, so
	// jsonb_each_text expands tens of thousands of groups rather than
	// every incident; hashing those groups needs tens of MB (a sort of a
	// million jsonb values spilled to disk and took twice as long).
	src := `FROM unnest($1::date[]) AS d(month)
    JOIN incidents i ON i.day >= d.month AND i.day < (d.month + interval '1 month')::date`
	if len(months) > manyMonths {
		src = `FROM incidents i
    WHERE i.day >= (SELECT min(m) FROM unnest($1::date[]) m)
      AND i.day < (SELECT max(m) + interval '1 month' FROM unnest($1::date[]) m)::date
      AND date_trunc('month', i.day)::date IN (SELECT unnest($1::date[]))`
	}
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '128MB'; SET LOCAL enable_sort = off`); err != nil {
		return fmt.Errorf("area months: %w", err)
	}
	if _, err := tx.Exec(ctx, `
WITH m AS MATERIALIZED (
    SELECT i.areas, date_trunc('month', i.day)::date AS month, i.kind, count(*) AS n,
        coalesce(sum(i.victims), 0) AS victims
    `+src+`
    GROUP BY 1, 2, 3
)
INSERT INTO area_month_counts (layer, area, month, kind, n, victims)
SELECT a.key, a.value, m.month, m.kind, sum(m.n), sum(m.victims)
FROM m, jsonb_each_text(m.areas) a
GROUP BY 1, 2, 3, 4
UNION ALL
SELECT '', '', m.month, m.kind, sum(m.n), sum(m.victims)
FROM m
GROUP BY 3, 4`, months); err != nil {
		return fmt.Errorf("area months: recompute: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM area_month_dirty WHERE id <= $1`, maxID); err != nil {
		return fmt.Errorf("area months: clear marks: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("area months: %w", err)
	}
	return lockTx.Commit(ctx)
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
	if err := db.refreshAreaMonths(ctx); err != nil {
		return nil, wrap("area bin counts", err)
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

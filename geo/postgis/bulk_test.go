package postgis_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"hotspots/geo"
	"hotspots/geo/postgis"
	"hotspots/geo/postgis/postgistest"
	"hotspots/geo/storetest"
)

// indexDefs returns the definitions of the secondary indexes (bulk.go) that
// exist in schema, by name.
func indexDefs(t *testing.T, schema string) map[string]string {
	t.Helper()
	conn := connect(t, schema)
	rows, err := conn.Query(t.Context(), `
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = $1 AND indexname = ANY($2)`, schema, postgis.SecondaryIndexNames())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, d string
		if err := rows.Scan(&n, &d); err != nil {
			t.Fatal(err)
		}
		out[n] = d
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// upsertBatches writes incs in batches of n as load l.
func upsertBatches(t *testing.T, ctx context.Context, db *postgis.DB, l geo.Load, incs []geo.Incident, n int) geo.UpsertResult {
	t.Helper()
	var sum geo.UpsertResult
	for i := 0; i < len(incs); i += n {
		r, err := db.UpsertIncidents(ctx, l.ID, incs[i:min(i+n, len(incs))])
		if err != nil {
			t.Fatal(err)
		}
		sum.Added += r.Added
		sum.Changed += r.Changed
		sum.Unchanged += r.Unchanged
	}
	return sum
}

func TestBulkLoadRebuildsIndexes(t *testing.T) {
	ctx := t.Context()
	schema := postgistest.NewSchema(t)
	db := postgistest.OpenWith(t, schema, postgis.Options{BulkLoadRows: 100})
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want := indexDefs(t, schema)
	if len(want) != len(postgis.SecondaryIndexNames()) {
		t.Fatalf("migrated schema has %d of the secondary indexes: %v", len(want), want)
	}

	incs := storetest.Incidents(600, 7)
	l, err := db.StartLoad(ctx, "bulk")
	if err != nil {
		t.Fatal(err)
	}
	res := upsertBatches(t, ctx, db, l, incs[:300], 50)
	if res.Added != 300 {
		t.Fatalf("added %d, want 300", res.Added)
	}
	if got := indexDefs(t, schema); len(got) != 0 {
		t.Fatalf("indexes during a bulk load on an empty table: %v, want none", got)
	}
	// Reads stay right without the indexes.
	b := orb.Bound{Min: orb.Point{-76.72, 39.20}, Max: orb.Point{-76.60, 39.30}}
	n, err := db.CountIncidents(ctx, geo.IncidentFilter{Bounds: &b})
	if err != nil {
		t.Fatal(err)
	}
	wantN := 0
	for _, inc := range incs[:300] {
		if b.Contains(inc.Location) {
			wantN++
		}
	}
	if n != wantN {
		t.Fatalf("count in bounds during bulk load %d, want %d", n, wantN)
	}
	upsertBatches(t, ctx, db, l, incs[300:], 50)
	if err := db.FinishLoad(ctx, l); err != nil {
		t.Fatal(err)
	}
	if got := indexDefs(t, schema); !mapsEqual(got, want) {
		t.Fatalf("indexes after the bulk load:\n%v\nwant\n%v", got, want)
	}
	checkCounts(t, db, incs)

	// The same load again changes nothing and keeps the indexes.
	v0, err := db.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := db.StartLoad(ctx, "bulk")
	if err != nil {
		t.Fatal(err)
	}
	res = upsertBatches(t, ctx, db, l2, incs, 50)
	if res.Added != 0 || res.Changed != 0 || res.Unchanged != len(incs) {
		t.Fatalf("reload: %+v, want all unchanged", res)
	}
	if got := indexDefs(t, schema); !mapsEqual(got, want) {
		t.Fatalf("indexes during a reload: %v", got)
	}
	if err := db.FinishLoad(ctx, l2); err != nil {
		t.Fatal(err)
	}
	if v1, _ := db.DataVersion(ctx); v1 != v0 {
		t.Fatalf("data version moved on an identical reload: %d -> %d", v0, v1)
	}
	checkCounts(t, db, incs)

	// A load that adds the threshold to a table more than twice as big
	// keeps its indexes.
	more := storetest.Incidents(200, 8)
	for i := range more {
		more[i].Source = "bulk-more"
	}
	l3, err := db.StartLoad(ctx, "bulk-more")
	if err != nil {
		t.Fatal(err)
	}
	upsertBatches(t, ctx, db, l3, more[:150], 50)
	if got := indexDefs(t, schema); !mapsEqual(got, want) {
		t.Fatalf("indexes during a small load into a big table: %v", got)
	}
	upsertBatches(t, ctx, db, l3, more[150:], 50)
	if err := db.FinishLoad(ctx, l3); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db, append(slices.Clone(incs), more...))
}

func TestBulkLoadInterrupted(t *testing.T) {
	ctx := t.Context()
	schema := postgistest.NewSchema(t)
	db := postgistest.OpenWith(t, schema, postgis.Options{BulkLoadRows: 100})
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want := indexDefs(t, schema)
	incs := storetest.Incidents(400, 9)

	// A load cancelled mid-way: the ingest pipeline finishes it as failed
	// with an uncancelled context, which rebuilds the indexes.
	cctx, cancel := context.WithCancel(ctx)
	l, err := db.StartLoad(cctx, "bulk")
	if err != nil {
		t.Fatal(err)
	}
	upsertBatches(t, cctx, db, l, incs[:200], 50)
	if got := indexDefs(t, schema); len(got) != 0 {
		t.Fatalf("indexes during the bulk load: %v", got)
	}
	cancel()
	if _, err := db.UpsertIncidents(cctx, l.ID, incs[200:250]); err == nil {
		t.Fatal("upsert with a cancelled context succeeded")
	}
	l.Status, l.Error = geo.LoadFailed, "cancelled"
	if err := db.FinishLoad(context.WithoutCancel(cctx), l); err != nil {
		t.Fatal(err)
	}
	if got := indexDefs(t, schema); !mapsEqual(got, want) {
		t.Fatalf("indexes after a cancelled bulk load: %v", got)
	}

	// A process that dies mid-load never finishes it: the next process's
	// StartLoad (or Migrate) builds the indexes.
	for _, next := range []string{"start load", "migrate"} {
		t.Run(next, func(t *testing.T) {
			schema := postgistest.NewSchema(t)
			dead := postgistest.OpenWith(t, schema, postgis.Options{BulkLoadRows: 100})
			if err := dead.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			l, err := dead.StartLoad(ctx, "bulk-"+next)
			if err != nil {
				t.Fatal(err)
			}
			fresh := storetest.Incidents(400, 10)
			for i := range fresh {
				fresh[i].Source = "bulk-" + next
			}
			upsertBatches(t, ctx, dead, l, fresh, 100)
			if got := indexDefs(t, schema); len(got) != 0 {
				t.Fatalf("indexes during the bulk load: %v", got)
			}
			dead.Close()
			db2 := postgistest.Open(t, schema)
			if next == "migrate" {
				err = db2.Migrate(ctx)
			} else {
				_, err = db2.StartLoad(ctx, "other")
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := indexDefs(t, schema); len(got) != len(want) {
				t.Fatalf("indexes after %s: %v", next, got)
			}
			checkCounts(t, db2, fresh)
			if err := db2.Ready(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkCounts compares the store's totals with incs.
func checkCounts(t *testing.T, db *postgis.DB, incs []geo.Incident) {
	t.Helper()
	ctx := t.Context()
	n, err := db.CountIncidents(ctx, geo.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(incs) {
		t.Fatalf("%d incidents, want %d", n, len(incs))
	}
	for _, res := range []int{7, 12} {
		cc, err := db.CellCounts(ctx, geo.CellCountFilter{Res: res})
		if err != nil {
			t.Fatal(err)
		}
		sum := 0
		for _, c := range cc {
			sum += c.Count
		}
		if sum != len(incs) {
			t.Fatalf("cell counts at res %d sum to %d, want %d", res, sum, len(incs))
		}
	}
}

// TestConformanceBulk runs the store conformance suite with every load
// going bulk from its first row, so the suite's loads run without the
// secondary indexes and rebuild them when they finish.
func TestConformanceBulk(t *testing.T) {
	postgistest.URL(t)
	var mu sync.Mutex
	schemas := map[*testing.T]string{}
	storetest.Run(t, func(t *testing.T) geo.Store {
		t.Helper()
		mu.Lock()
		schema, ok := schemas[t]
		mu.Unlock()
		if !ok {
			schema = postgistest.NewSchema(t)
			mu.Lock()
			schemas[t] = schema
			mu.Unlock()
			t.Cleanup(func() {
				mu.Lock()
				delete(schemas, t)
				mu.Unlock()
			})
		}
		db := postgistest.OpenWith(t, schema, postgis.Options{BulkLoadRows: 1, Now: storetest.Clock(t)})
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		return db
	})
}

// TestAreaMonthsRefreshManyMonths checks the area month counts after loads
// that mark many months (one scan of their day range) and few (the day
// index month by month) against an aggregation of the incidents.
func TestAreaMonthsRefreshManyMonths(t *testing.T) {
	ctx := t.Context()
	schema := postgistest.NewSchema(t)
	db := postgistest.OpenWith(t, schema, postgis.Options{BulkLoadRows: 100})
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	incs := storetest.Incidents(500, 12)
	for i := range incs {
		incs[i].OccurredAt = incs[i].OccurredAt.AddDate(0, i%30-10, 0)
		incs[i].Day = incs[i].Day.AddDate(0, i%30-10, 0)
	}
	conn := connect(t, schema)
	check := func(what string) {
		t.Helper()
		var diff int
		err := conn.QueryRow(ctx, `
WITH want AS (
    SELECT a.key AS layer, a.value AS area, date_trunc('month', i.day)::date AS month, i.kind,
        count(*)::int AS n, sum(i.victims)::int AS victims
    FROM incidents i, jsonb_each_text(i.areas) a GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT '', '', date_trunc('month', i.day)::date, i.kind, count(*)::int, sum(i.victims)::int
    FROM incidents i GROUP BY 3, 4
), got AS (SELECT layer, area, month, kind, n, victims FROM area_month_counts)
SELECT (SELECT count(*) FROM (SELECT * FROM want EXCEPT SELECT * FROM got) x)
     + (SELECT count(*) FROM (SELECT * FROM got EXCEPT SELECT * FROM want) y)`).Scan(&diff)
		if err != nil {
			t.Fatal(err)
		}
		if diff != 0 {
			t.Fatalf("%s: area month counts differ from the incidents in %d rows", what, diff)
		}
	}
	l, err := db.StartLoad(ctx, "months")
	if err != nil {
		t.Fatal(err)
	}
	upsertBatches(t, ctx, db, l, incs, 100)
	if err := db.FinishLoad(ctx, l); err != nil {
		t.Fatal(err)
	}
	check("many months")
	// Change a few incidents of two months: few marks, the per-month path.
	var changed []geo.Incident
	for i := range incs {
		if i%30 == 3 || i%30 == 17 {
			c := incs[i]
			c.Victims++
			changed = append(changed, c)
		}
	}
	l2, err := db.StartLoad(ctx, "months")
	if err != nil {
		t.Fatal(err)
	}
	res := upsertBatches(t, ctx, db, l2, changed, 100)
	if res.Changed != len(changed) {
		t.Fatalf("changed %d, want %d", res.Changed, len(changed))
	}
	if err := db.FinishLoad(ctx, l2); err != nil {
		t.Fatal(err)
	}
	check("few months")
}

// cellCountsDiff returns how many rows cell_day_counts and an aggregation
// of the incidents differ in, and how many day ranges are still pending.
func cellCountsDiff(t *testing.T, conn *pgx.Conn) (diff, pending int) {
	t.Helper()
	err := conn.QueryRow(t.Context(), `
WITH want AS (
    SELECT h3_parent(h3_cell, 9) AS cell, day, kind, count(*)::int AS n, sum(victims)::int AS victims
    FROM incidents GROUP BY 1, 2, 3
), got AS (SELECT cell, day, kind, n, victims FROM cell_day_counts)
SELECT (SELECT count(*) FROM (SELECT * FROM want EXCEPT SELECT * FROM got) x)
     + (SELECT count(*) FROM (SELECT * FROM got EXCEPT SELECT * FROM want) y),
    (SELECT count(*) FROM cell_day_dirty)`).Scan(&diff, &pending)
	if err != nil {
		t.Fatal(err)
	}
	return diff, pending
}

// sameCellDayCounts fails unless both stores answer the same cell and day
// counts at the resolutions detectors and hex tiles read.
func sameCellDayCounts(t *testing.T, what string, got, want *postgis.DB) {
	t.Helper()
	for _, res := range []int{5, 7, 9, 10} {
		f := geo.CellCountFilter{Res: res}
		g, err := got.CellDayCounts(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		w, err := want.CellDayCounts(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(g, w) {
			t.Fatalf("%s: cell day counts at res %d differ: %d rows, want %d", what, res, len(g), len(w))
		}
		gc, err := got.CellCounts(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		wc, err := want.CellCounts(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gc, wc) {
			t.Fatalf("%s: cell counts at res %d differ: %d rows, want %d", what, res, len(gc), len(wc))
		}
	}
}

// TestBulkLoadDefersCellCounts loads the same rows into a store whose loads
// go bulk (cell counts deferred to the end of the load) and into one that
// keeps every count by deltas: readers get identical counts during the
// load, after it, and after a bulk load that moves rows between cells,
// days and kinds; a load whose process died leaves its days to Migrate.
func TestBulkLoadDefersCellCounts(t *testing.T) {
	ctx := t.Context()
	bulkSchema, plainSchema := postgistest.NewSchema(t), postgistest.NewSchema(t)
	bulk := postgistest.OpenWith(t, bulkSchema, postgis.Options{BulkLoadRows: 100})
	plain := postgistest.OpenWith(t, plainSchema, postgis.Options{BulkLoadRows: -1})
	for _, db := range []*postgis.DB{bulk, plain} {
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	conn, plainConn := connect(t, bulkSchema), connect(t, plainSchema)
	incs := storetest.Incidents(600, 21)
	load := func(db *postgis.DB, incs []geo.Incident, finishAt int) geo.Load {
		t.Helper()
		l, err := db.StartLoad(ctx, "src-a")
		if err != nil {
			t.Fatal(err)
		}
		upsertBatches(t, ctx, db, l, incs[:finishAt], 50)
		return l
	}
	finish := func(db *postgis.DB, l geo.Load) {
		t.Helper()
		if err := db.FinishLoad(ctx, l); err != nil {
			t.Fatal(err)
		}
	}

	lb := load(bulk, incs, 400)
	lp := load(plain, incs, 400)
	if _, pending := cellCountsDiff(t, conn); pending == 0 {
		t.Fatal("a bulk load recorded no pending cell days")
	}
	if diff, pending := cellCountsDiff(t, plainConn); diff != 0 || pending != 0 {
		t.Fatalf("counts kept by deltas: %d rows differ, %d ranges pending", diff, pending)
	}
	sameCellDayCounts(t, "during the bulk load", bulk, plain)
	upsertBatches(t, ctx, bulk, lb, incs[400:], 50)
	upsertBatches(t, ctx, plain, lp, incs[400:], 50)
	finish(bulk, lb)
	finish(plain, lp)
	if diff, pending := cellCountsDiff(t, conn); diff != 0 || pending != 0 {
		t.Fatalf("after the bulk load: %d count rows differ from the incidents, %d ranges pending", diff, pending)
	}
	sameCellDayCounts(t, "after the bulk load", bulk, plain)

	// A second bulk load: new rows first (which makes it bulk), then rows
	// moved to other days, kinds and victims, whose old days must lose them.
	more := storetest.Incidents(1400, 22)
	for i := range more {
		more[i].SourceID = fmt.Sprintf("more-%05d", i)
	}
	var moved []geo.Incident
	for i := range incs {
		if i%7 == 0 {
			c := incs[i]
			c.OccurredAt = c.OccurredAt.AddDate(0, 0, 3)
			c.Day = c.Day.AddDate(0, 0, 3)
			c.Victims++
			if c.Kind == geo.KindShootingFatal {
				c.Kind = geo.KindShootingNonFatal
			} else {
				c.Kind = geo.KindShootingFatal
			}
			moved = append(moved, c)
		}
	}
	second := append(slices.Clone(more), moved...)
	for _, db := range []*postgis.DB{bulk, plain} {
		l := load(db, second, len(second))
		finish(db, l)
	}
	if diff, pending := cellCountsDiff(t, conn); diff != 0 || pending != 0 {
		t.Fatalf("after moving rows: %d count rows differ from the incidents, %d ranges pending", diff, pending)
	}
	sameCellDayCounts(t, "after moving rows", bulk, plain)

	// A bulk load whose process dies: readers count from the incidents
	// until Migrate recomputes the days.
	// The table holds 2,000 rows: the load goes bulk once it has added as many.
	dead := postgistest.OpenWith(t, bulkSchema, postgis.Options{BulkLoadRows: 2000})
	ld, err := dead.StartLoad(ctx, "src-b")
	if err != nil {
		t.Fatal(err)
	}
	last := storetest.Incidents(3000, 23)
	for i := range last {
		last[i].Source, last[i].SourceID = "src-b", fmt.Sprintf("last-%05d", i)
	}
	upsertBatches(t, ctx, dead, ld, last, 500)
	dead.Close()
	plainLoad := load(plain, last, len(last))
	finish(plain, plainLoad)
	if _, pending := cellCountsDiff(t, conn); pending == 0 {
		t.Fatal("the dead bulk load recorded no pending cell days")
	}
	after := postgistest.Open(t, bulkSchema)
	sameCellDayCounts(t, "after a dead bulk load", after, plain)
	if err := after.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if diff, pending := cellCountsDiff(t, conn); diff != 0 || pending != 0 {
		t.Fatalf("after Migrate: %d count rows differ from the incidents, %d ranges pending", diff, pending)
	}
	sameCellDayCounts(t, "after Migrate", after, plain)
}

// TestBulkLoadAssumesNewRows checks the rounds a bulk load COPYs without
// classifying: a round holding stored keys (changed, unchanged and new
// rows mixed, in the same load and in the next) comes out exactly as the
// classified path would have it, with revisions, and the load goes on.
func TestBulkLoadAssumesNewRows(t *testing.T) {
	ctx := t.Context()
	schema := postgistest.NewSchema(t)
	db := postgistest.OpenWith(t, schema, postgis.Options{BulkLoadRows: 100})
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, schema)
	incs := storetest.Incidents(500, 31)
	l, err := db.StartLoad(ctx, "src-a")
	if err != nil {
		t.Fatal(err)
	}
	if res := upsertBatches(t, ctx, db, l, incs[:300], 50); res.Added != 300 {
		t.Fatalf("first rows: %+v, want 300 added", res)
	}
	// Half of rows 250-299 changed, half as they were, then 50 new rows.
	mixed := slices.Clone(incs[250:350])
	for i := range 25 {
		mixed[i].Victims++
	}
	res, err := db.UpsertIncidents(ctx, l.ID, mixed)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 50 || res.Changed != 25 || res.Unchanged != 25 {
		t.Fatalf("mixed round: %+v, want 50 added, 25 changed, 25 unchanged", res)
	}
	if res := upsertBatches(t, ctx, db, l, incs[350:], 50); res.Added != 150 {
		t.Fatalf("rows after the conflict: %+v, want 150 added", res)
	}
	if err := db.FinishLoad(ctx, l); err != nil {
		t.Fatal(err)
	}
	var revisions, rows int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM incident_revisions), (SELECT count(*) FROM incidents)`).
		Scan(&revisions, &rows); err != nil {
		t.Fatal(err)
	}
	if revisions != 25 || rows != 500 {
		t.Fatalf("%d revisions, %d incidents; want 25 and 500", revisions, rows)
	}
	if diff, pending := cellCountsDiff(t, conn); diff != 0 || pending != 0 {
		t.Fatalf("%d count rows differ from the incidents, %d ranges pending", diff, pending)
	}
	// The whole file again in a new load: nothing changes.
	l2, err := db.StartLoad(ctx, "src-a")
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(incs)
	for i := range 25 {
		want[250+i].Victims++
	}
	if res := upsertBatches(t, ctx, db, l2, want, 50); res.Unchanged != 500 {
		t.Fatalf("reload: %+v, want all 500 unchanged", res)
	}
	if err := db.FinishLoad(ctx, l2); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db, incs)
}

// TestExpectedRowsMakeLoadsBulkEarly: a load told its size (ExpectRows)
// goes bulk once its first thousand rows show it adds enough, long before
// it has added BulkLoadRows; one whose rows are mostly stored already, or
// whose sample is too small, keeps its indexes.
func TestExpectedRowsMakeLoadsBulkEarly(t *testing.T) {
	ctx := t.Context()
	schema := postgistest.NewSchema(t)
	db := postgistest.OpenWith(t, schema, postgis.Options{BulkLoadRows: 5000})
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want := indexDefs(t, schema)
	incs := storetest.Incidents(3000, 11)
	for i := range incs {
		incs[i].Source = "early"
	}

	l, err := db.StartLoad(ctx, "early")
	if err != nil {
		t.Fatal(err)
	}
	db.ExpectRows(l.ID, 20000)
	// 500 rows are too few to project from.
	upsertBatches(t, ctx, db, l, incs[:500], 250)
	if got := indexDefs(t, schema); !mapsEqual(got, want) {
		t.Fatalf("indexes after 500 of an expected 20,000 rows: %v", got)
	}
	// 1,100 rows, all new, project 20,000 new: bulk, with 1,100 added.
	upsertBatches(t, ctx, db, l, incs[500:1100], 300)
	if got := indexDefs(t, schema); len(got) != 0 {
		t.Fatalf("indexes after 1,100 new rows of an expected 20,000: %v, want none", got)
	}
	upsertBatches(t, ctx, db, l, incs[1100:], 500)
	if err := db.FinishLoad(ctx, l); err != nil {
		t.Fatal(err)
	}
	if got := indexDefs(t, schema); !mapsEqual(got, want) {
		t.Fatalf("indexes after the load:\n%v\nwant\n%v", got, want)
	}
	checkCounts(t, db, incs)

	// The file again with 1,000 new rows behind it, told 16,000 rows: a
	// quarter of what it wrote is new, so it projects 4,000 added, under
	// the threshold, and keeps its indexes.
	more := storetest.Incidents(1000, 12)
	for i := range more {
		more[i].Source = "early"
		more[i].SourceID = fmt.Sprintf("more-%d", i)
	}
	all := append(slices.Clone(incs), more...)
	l2, err := db.StartLoad(ctx, "early")
	if err != nil {
		t.Fatal(err)
	}
	db.ExpectRows(l2.ID, 16000)
	res := upsertBatches(t, ctx, db, l2, all, 500)
	if res.Added != 1000 || res.Unchanged != 3000 {
		t.Fatalf("reload with new rows: %+v, want 1,000 added and 3,000 unchanged", res)
	}
	if got := indexDefs(t, schema); !mapsEqual(got, want) {
		t.Fatalf("indexes during a mostly unchanged load: %v", got)
	}
	if err := db.FinishLoad(ctx, l2); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db, all)
}

// TestBulkLoadAnalyzesFilteredColumns: the ANALYZE at the end of a bulk
// load leaves statistics for the columns queries filter on (kind, day,
// time, cell, point) and, since migration 7, none for the wide ones no
// query filters on.
func TestBulkLoadAnalyzesFilteredColumns(t *testing.T) {
	ctx := t.Context()
	schema := postgistest.NewSchema(t)
	db := postgistest.OpenWith(t, schema, postgis.Options{BulkLoadRows: 100})
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	incs := storetest.Incidents(400, 13)
	l, err := db.StartLoad(ctx, "stats")
	if err != nil {
		t.Fatal(err)
	}
	upsertBatches(t, ctx, db, l, incs, 100)
	if err := db.FinishLoad(ctx, l); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, schema)
	rows, err := conn.Query(ctx, `SELECT attname::text FROM pg_stats WHERE schemaname = $1 AND tablename = 'incidents'`, schema)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"kind", "day", "occurred_at", "h3_cell", "geom", "source"} {
		if !slices.Contains(got, c) {
			t.Errorf("no statistics for incidents.%s after a bulk load (have %v)", c, got)
		}
	}
	for _, c := range []string{"hash", "raw", "areas", "flags", "address", "source_id"} {
		if slices.Contains(got, c) {
			t.Errorf("statistics gathered for incidents.%s, which no query filters on", c)
		}
	}
}

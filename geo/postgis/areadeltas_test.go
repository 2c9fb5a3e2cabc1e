package postgis_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hotspots/geo"
	"hotspots/geo/postgis"
	"hotspots/geo/postgis/postgistest"
	"hotspots/geo/storetest"
)

// areaMonthsDiff returns how many rows area_month_counts and an
// aggregation of the incidents differ in, and how many month marks are
// left.
func areaMonthsDiff(t *testing.T, conn *pgx.Conn) (diff, pending int) {
	t.Helper()
	err := conn.QueryRow(t.Context(), `
WITH want AS (
    SELECT a.key AS layer, a.value AS area, date_trunc('month', i.day)::date AS month, i.kind,
        count(*)::int AS n, sum(i.victims)::int AS victims
    FROM incidents i, jsonb_each_text(i.areas) a GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT '', '', date_trunc('month', i.day)::date, i.kind, count(*)::int, sum(i.victims)::int
    FROM incidents i GROUP BY 3, 4
), got AS (SELECT layer, area, month, kind, n, victims FROM area_month_counts)
SELECT (SELECT count(*) FROM (SELECT * FROM want EXCEPT SELECT * FROM got) x)
     + (SELECT count(*) FROM (SELECT * FROM got EXCEPT SELECT * FROM want) y),
    (SELECT count(*) FROM area_month_dirty)`).Scan(&diff, &pending)
	if err != nil {
		t.Fatal(err)
	}
	return diff, pending
}

// spreadIncidents returns n fixture incidents of source src spread over
// thirty months.
func spreadIncidents(n int, seed uint64, src string) []geo.Incident {
	incs := storetest.Incidents(n, seed)
	for i := range incs {
		incs[i].Source, incs[i].SourceID = src, fmt.Sprintf("%s-%d-%05d", src, seed, i)
		incs[i].OccurredAt = incs[i].OccurredAt.AddDate(0, i%30-10, 0)
		incs[i].Day = incs[i].Day.AddDate(0, i%30-10, 0)
	}
	return incs
}

// TestLoadAddsAreaMonthSums checks the area month counts a finished load
// adds from its own sums (new rows, rows moved to other months, areas,
// kinds and victims) against an aggregation of the incidents, and the
// cases where it must leave its months to the refresh instead: a reader
// refreshed them during the load, another load's finish did, or the
// process died.
func TestLoadAddsAreaMonthSums(t *testing.T) {
	ctx := t.Context()
	schema := postgistest.NewSchema(t)
	db := postgistest.OpenWith(t, schema, postgis.Options{BulkLoadRows: 100})
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, schema)
	expect := func(what string, applied int64) {
		t.Helper()
		if diff, pending := areaMonthsDiff(t, conn); diff != 0 || pending != 0 {
			t.Fatalf("%s: %d area month rows differ from the incidents, %d marks left", what, diff, pending)
		}
		if diff, pending := cellCountsDiff(t, conn); diff != 0 || pending != 0 {
			t.Fatalf("%s: %d cell day rows differ from the incidents, %d ranges left", what, diff, pending)
		}
		if got := db.AreaDeltasApplied(); got != applied {
			t.Fatalf("%s: %d loads added their own sums, want %d", what, got, applied)
		}
	}
	load := func(db *postgis.DB, src string, incs []geo.Incident) geo.Load {
		t.Helper()
		l, err := db.StartLoad(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		upsertBatches(t, ctx, db, l, incs, 50)
		return l
	}
	finish := func(db *postgis.DB, l geo.Load) {
		t.Helper()
		if err := db.FinishLoad(ctx, l); err != nil {
			t.Fatal(err)
		}
	}

	// A bulk load of new rows over thirty months.
	first := spreadIncidents(600, 41, "src-a")
	finish(db, load(db, "src-a", first))
	expect("new rows", 1)

	// New rows and moved ones: other months, areas, kinds and victims.
	second := spreadIncidents(300, 42, "src-a")
	for i := range first {
		if i%4 != 0 {
			continue
		}
		c := first[i]
		c.OccurredAt = c.OccurredAt.AddDate(0, 2, 0)
		c.Day = c.Day.AddDate(0, 2, 0)
		c.Victims++
		c.Areas = map[string]string{storetest.LayerNbhd: "moved"}
		if c.Kind == geo.KindShootingFatal {
			c.Kind = geo.KindShootingNonFatal
		} else {
			c.Kind = geo.KindShootingFatal
		}
		second = append(second, c)
	}
	finish(db, load(db, "src-a", second))
	expect("moved rows", 2)

	// A reader refreshes the months mid-load: the load's sums would count
	// those rows twice, so its months are recomputed instead.
	l := load(db, "src-a", spreadIncidents(300, 43, "src-a"))
	edges := []time.Time{storetest.WindowStart.AddDate(-1, 0, 0), storetest.WindowStart.AddDate(3, 0, 0)}
	if _, err := db.AreaBinCounts(ctx, geo.AreaCountFilter{Layer: storetest.LayerNbhd}, edges); err != nil {
		t.Fatal(err)
	}
	upsertBatches(t, ctx, db, l, spreadIncidents(200, 44, "src-a"), 50)
	finish(db, l)
	expect("a refresh during the load", 2)

	// Another process's load of another source runs beside it: its marks
	// are left to the refresh, this load's sums go in.
	other := postgistest.OpenWith(t, schema, postgis.Options{BulkLoadRows: -1})
	lo := load(other, "src-c", spreadIncidents(120, 45, "src-c"))
	l = load(db, "src-a", spreadIncidents(300, 46, "src-a"))
	upsertBatches(t, ctx, other, lo, spreadIncidents(120, 47, "src-c"), 40)
	finish(db, l)
	finish(other, lo)
	expect("beside another load", 3)

	// ... and when that other load finishes first, its refresh counts this
	// load's rows so far: this load's months are recomputed.
	lo = load(other, "src-c", spreadIncidents(120, 48, "src-c"))
	l = load(db, "src-a", spreadIncidents(300, 49, "src-a"))
	finish(other, lo)
	upsertBatches(t, ctx, db, l, spreadIncidents(100, 50, "src-a"), 50)
	finish(db, l)
	expect("after another load finished", 3)

	// A process that dies mid-load leaves its marks to the next refresh.
	dead := postgistest.OpenWith(t, schema, postgis.Options{BulkLoadRows: 100})
	load(dead, "src-d", spreadIncidents(300, 51, "src-d"))
	dead.Close()
	if err := db.Migrate(ctx); err != nil { // recomputes its cell days
		t.Fatal(err)
	}
	if _, err := db.AreaBinCounts(ctx, geo.AreaCountFilter{Layer: storetest.LayerNbhd}, edges); err != nil {
		t.Fatal(err)
	}
	expect("after a dead load", 3)
}

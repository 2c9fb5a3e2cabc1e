package postgis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"hotspots/geo"
)

// Bulk loads. Keeping the four secondary indexes of incidents (the GiST on
// the point, (day, kind), (occurred_at, id), h3_cell) up to date row by row
// is most of PostgreSQL's work in a large load: measured on 200,000 rows,
// 4.3 s with every index against 1.2 s with only the two unique ones, the
// GiST alone about half. Building an index once over the finished table is
// far cheaper (a sorted build), which is what ogr2ogr gets by creating its
// index after the COPY.
//
// So when one load has added at least Options.BulkLoadRows new incidents,
// or is projected to from its expected size (ExpectRows) and its first
// rows, and the table holds no more than twice that (the load at least
// doubles it), the store drops the secondary indexes for the rest of the
// load and builds them again when the load finishes. The primary key and
// the unique (source, source_id) index stay: upserts probe them, and idempotency rests
// on the unique one. Readers meanwhile see the same data, only slower.
//
// Nothing may leave the database without its indexes for long: FinishLoad
// rebuilds them whatever the load's outcome (ingest calls it with an
// uncancelled context after a failure or cancellation), and after a crash
// the next StartLoad or Migrate of any process creates whatever index of
// the list is missing (CREATE INDEX IF NOT EXISTS).

// secondaryIndexes are the indexes a bulk load drops and rebuilds, exactly
// as migrations/00001_schema.sql creates them (TestBulkLoadRebuildsIndexes
// compares the definitions after a rebuild with the migrated ones). The
// last is cell_day_counts' day index: a bulk load's counts are recomputed
// when it finishes (celldays.go), and inserting them into the table with
// only its primary key, then building the index, costs a third of keeping
// it; readers meanwhile count from the incidents, so nothing reads it.
var secondaryIndexes = []struct{ table, name, def string }{
	{"incidents", "incidents_geom_idx", "incidents USING gist (geom)"},
	{"incidents", "incidents_day_kind_idx", "incidents (day, kind)"},
	{"incidents", "incidents_occurred_idx", "incidents (occurred_at, id)"},
	{"incidents", "incidents_h3_cell_idx", "incidents (h3_cell)"},
	{"cell_day_counts", "cell_day_counts_day_idx", "cell_day_counts (day, kind)"},
}

// DefaultBulkLoadRows is the Options.BulkLoadRows used when it is 0.
const DefaultBulkLoadRows = 50000

// bulkLockTimeout bounds the wait for the table lock that dropping indexes
// takes: a long reader makes the load keep its indexes rather than stall
// everyone queued behind the lock.
const bulkLockTimeout = 2 * time.Second

// bulkLoad is what the store knows of one running load.
type bulkLoad struct {
	added    int
	written  int  // added, changed and unchanged rows
	expected int  // rows the load expects to write in all (ExpectRows), 0 if unknown
	tries    int  // size tests run; a lock timeout lets a later batch retry
	done     bool // the decision is made
	bulk     bool // this load dropped the indexes
	// conflicted: a round this load assumed new held a stored key, so its
	// rounds are classified again (see upsertRound).
	conflicted bool
	// areas sums what the load's committed upserts did to the area month
	// counts (areadeltas.go).
	areas *areaDeltas
}

// bulkTries is how often a load tries to take the table lock.
const bulkTries = 3

// bulkState tracks the running loads of this DB handle.
type bulkState struct {
	mu    sync.Mutex
	loads map[int64]*bulkLoad
}

// loadConflicted reports whether a round of load assumed new met a stored
// key.
func (db *DB) loadConflicted(loadID int64) bool {
	db.bulk.mu.Lock()
	defer db.bulk.mu.Unlock()
	l := db.bulk.loads[loadID]
	return l != nil && l.conflicted
}

// noteConflict records that a round of load assumed new met a stored key.
func (db *DB) noteConflict(loadID int64) {
	db.bulk.mu.Lock()
	defer db.bulk.mu.Unlock()
	if l := db.bulk.loads[loadID]; l != nil {
		l.conflicted = true
	}
}

// bulkThreshold returns the number of added rows that makes a load bulk,
// 0 if bulk loads are off.
func (db *DB) bulkThreshold() int {
	switch {
	case db.bulkRows < 0:
		return 0
	case db.bulkRows == 0:
		return DefaultBulkLoadRows
	}
	return db.bulkRows
}

// loadState returns what the store knows of load, creating it.
// db.bulk.mu must be held.
func (db *DB) loadState(loadID int64) *bulkLoad {
	if db.bulk.loads == nil {
		db.bulk.loads = map[int64]*bulkLoad{}
	}
	l := db.bulk.loads[loadID]
	if l == nil {
		l = &bulkLoad{}
		db.bulk.loads[loadID] = l
	}
	return l
}

var _ geo.LoadSizer = (*DB)(nil)

// bulkSampleRows is how many rows a load must have written before its
// share of new rows is trusted to project its expected size (ExpectRows)
// onto the number of rows it will add.
const bulkSampleRows = 1000

// ExpectRows records how many rows a running load expects to write in all
// (geo.LoadSizer). With it, a load whose first rows are new decides at its
// first upserts rather than after BulkLoadRows new rows: the first 50,000
// rows of a million-row load into an empty table took 2.3 s indexed against
// under 1 s once bulk.
func (db *DB) ExpectRows(loadID int64, rows int) {
	if loadID == 0 || rows <= 0 {
		return
	}
	db.bulk.mu.Lock()
	defer db.bulk.mu.Unlock()
	db.loadState(loadID).expected = rows
}

// projectedAdds is how many rows the load will add, projected from its
// expected size and the share of new rows among what it wrote so far; 0
// without an expected size or a large enough sample. l's mutex must be
// held.
func (l *bulkLoad) projectedAdds() int {
	if l.expected <= l.written || l.written < bulkSampleRows || l.added < bulkSampleRows {
		return 0
	}
	return int(int64(l.expected) * int64(l.added) / int64(l.written))
}

// noteWritten counts what an upsert of a load wrote and, the first time
// the load has added the threshold of new rows or is projected to
// (projectedAdds), decides whether it becomes a bulk load. Failing to drop
// the indexes is logged, not returned: the load goes on with them.
func (db *DB) noteWritten(ctx context.Context, loadID int64, res geo.UpsertResult) {
	th := db.bulkThreshold()
	if th == 0 || loadID == 0 {
		return
	}
	db.bulk.mu.Lock()
	l := db.loadState(loadID)
	l.added += res.Added
	l.written += res.Added + res.Changed + res.Unchanged
	adds := max(l.added, l.projectedAdds())
	if res.Added == 0 || l.done || l.tries < 0 || adds < th {
		db.bulk.mu.Unlock()
		return
	}
	l.tries = -l.tries - 1 // negative while a test runs: no second one
	db.bulk.mu.Unlock()

	ok, err := db.enterBulk(ctx, adds)
	db.bulk.mu.Lock()
	defer db.bulk.mu.Unlock()
	l.tries = -l.tries
	l.bulk = ok
	l.done = err == nil || l.tries >= bulkTries
	if err != nil {
		db.log.WarnContext(ctx, "bulk_load_indexes_kept", slog.Int64("load", loadID), slog.Any("error", err))
		return
	}
	if ok {
		db.log.InfoContext(ctx, "bulk_load_indexes_dropped", slog.Int64("load", loadID),
			slog.Int("added", l.added), slog.Int("projected", adds))
	}
}

// enterBulk drops the secondary indexes if the table holds at most twice
// the rows the load adds (added so far, or projected). The count stops at
// that bound, so a big table costs no more to test than a small one.
func (db *DB) enterBulk(ctx context.Context, added int) (bool, error) {
	bulk := false
	err := db.inTx(ctx, "bulk load", func(tx pgx.Tx) error {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM incidents LIMIT $1) t`, 2*added+1).Scan(&n); err != nil {
			return err
		}
		if n > int64(2*added) {
			return nil
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL lock_timeout = '%dms'`, bulkLockTimeout.Milliseconds())); err != nil {
			return err
		}
		// In list order: incidents' before cell_day_counts', the order
		// upserts and refreshCellDays lock the two tables in.
		for _, ix := range secondaryIndexes {
			if _, err := tx.Exec(ctx, `DROP INDEX IF EXISTS `+ix.name); err != nil {
				return err
			}
		}
		bulk = true
		return nil
	})
	return bulk && err == nil, err
}

// endLoad forgets a finished load and finishes its aggregates: its own
// area month sums always go in, and with refresh the area months and cell
// days still marked are recomputed and the aggregate tables vacuumed
// (vacuumAggregates). If it was a bulk load and no other bulk load of this
// handle is still running, it also builds the dropped indexes
// (finishBulk).
func (db *DB) endLoad(ctx context.Context, loadID int64, refresh bool) error {
	db.bulk.mu.Lock()
	l := db.bulk.loads[loadID]
	delete(db.bulk.loads, loadID)
	wasBulk := l != nil && l.bulk
	others := db.bulkRunning()
	db.bulk.mu.Unlock()
	var sums *areaDeltas
	if l != nil {
		sums = l.areas
	}
	if !wasBulk || others {
		if refresh {
			db.vacuumAggregates(ctx, sums)
		} else {
			db.addAreaSums(ctx, sums)
		}
		return nil
	}
	return db.finishBulk(ctx, loadID, sums, refresh)
}

// finishBulk is the end of a bulk load: the cell-day refresh, the area
// month sums and refresh, five index builds, an ANALYZE and the aggregate
// tables' vacuum, about 12 s of PostgreSQL CPU after a million-row load.
// They run on two connections, one per core of the machine the target is
// set for, as a schedule rather than all at once: the cell-day refresh
// followed by its table's day index is the longest chain (4-6 s for a
// million rows), so one connection starts with it
// while the other takes the area months and then the incidents' builds
// one by one; whichever is free takes the next build. With every step
// started at once (the previous way) four backends shared two cores and
// the chain took 7.8 s instead of 5. Every step only reads incidents
// (builds take SHARE locks, which the refreshes' ACCESS SHARE and each
// other's allow), and the two refreshes write different tables.
//
// The day index of cell_day_counts is built after the cell-day refresh
// has filled the table: inserting the counts under the primary key alone
// and indexing afterwards costs a third of keeping the index.
func (db *DB) finishBulk(ctx context.Context, loadID int64, sums *areaDeltas, refresh bool) error {
	start := time.Now()
	missing, err := db.missingIndexes(ctx, "incidents")
	if err != nil {
		// The aggregates are still finished; the indexes are created
		// by the next StartLoad or Migrate.
		if refresh {
			db.vacuumAggregates(ctx, sums)
		} else {
			db.addAreaSums(ctx, sums)
		}
		return err
	}
	// The incidents' builds in list order (the GiST, the longest, first),
	// then fresh statistics for a table the load changed wholesale rather
	// than when autovacuum gets to it.
	queue := make(chan string, len(missing)+1)
	for _, ix := range missing {
		queue <- ix
	}
	const analyze = "analyze"
	if len(missing) > 0 {
		queue <- analyze
	}
	close(queue)
	var (
		mu    sync.Mutex
		errs  []error
		built int
		steps []any // step name -> duration, for the log
	)
	timed := func(name string, f func()) {
		t := time.Now()
		f()
		mu.Lock()
		steps = append(steps, slog.Duration(name, time.Since(t)))
		mu.Unlock()
	}
	drain := func() {
		for name := range queue {
			var err error
			timed(name, func() {
				if name == analyze {
					_, err = db.pool.Exec(ctx, `ANALYZE incidents`)
					err = wrap("analyze incidents", err)
				} else {
					err = db.buildIndex(ctx, name)
				}
			})
			mu.Lock()
			if err != nil {
				errs = append(errs, err)
			} else if name != analyze {
				built++
			}
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the longest chain
		defer wg.Done()
		if refresh {
			timed("refresh_cell_days", func() {
				if err := db.refreshCellDays(ctx); err != nil {
					db.log.WarnContext(ctx, "refresh_cell_days", slog.Any("error", err))
				}
			})
		}
		var n int
		var err error
		timed("cell_day_counts_day_idx", func() { n, err = db.ensureIndexes(ctx, "cell_day_counts") })
		mu.Lock()
		built += n
		if err != nil {
			errs = append(errs, err)
		}
		mu.Unlock()
		// Each connection vacuums the aggregate tables it refilled
		// (after their index, whose build the vacuum's lock would
		// block), beside the other's builds rather than after them.
		if refresh {
			timed("vacuum_cell_days", func() { db.vacuumTables(ctx, "cell_day_counts, cell_day_dirty") })
		}
		drain()
	}()
	go func() {
		defer wg.Done()
		timed("area_months", func() {
			db.addAreaSums(ctx, sums)
			if refresh {
				if err := db.refreshAreaMonths(ctx); err != nil {
					db.log.WarnContext(ctx, "refresh_area_months", slog.Any("error", err))
				}
				db.vacuumTables(ctx, "area_month_counts")
			}
		})
		drain()
	}()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	db.log.InfoContext(ctx, "bulk_load_indexes_built", slog.Int64("load", loadID),
		slog.Int("indexes", built), slog.Duration("duration", time.Since(start)),
		slog.Group("steps", steps...))
	return nil
}

// bulkRunning reports whether a load of this handle holds the indexes
// dropped. db.bulk.mu must be held.
func (db *DB) bulkRunning() bool {
	for _, l := range db.bulk.loads {
		if l.bulk {
			return true
		}
	}
	return false
}

// ensureIndexesUnlessBulk creates missing secondary indexes unless a bulk
// load of this handle is running (it builds them when it finishes).
func (db *DB) ensureIndexesUnlessBulk(ctx context.Context) error {
	db.bulk.mu.Lock()
	running := db.bulkRunning()
	db.bulk.mu.Unlock()
	if running {
		return nil
	}
	_, err := db.ensureIndexes(ctx, "")
	return err
}

// ensureIndexes creates the secondary indexes of table ("": of every
// table) that are missing, two at a time on separate connections (the
// machine's cores; each build takes a SHARE lock, which the others share),
// and returns how many it built.
func (db *DB) ensureIndexes(ctx context.Context, table string) (int, error) {
	missing, err := db.missingIndexes(ctx, table)
	if err != nil || len(missing) == 0 {
		return 0, err
	}
	const parallel = 2
	sem := make(chan struct{}, parallel)
	errs := make([]error, len(missing))
	var wg sync.WaitGroup
	for i, ix := range missing {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = db.buildIndex(ctx, ix)
		}()
	}
	wg.Wait()
	return len(missing), errors.Join(errs...)
}

// buildIndex creates one secondary index unless it exists. Without
// parallel workers: on two cores the builds and refreshes beside it
// already take both.
func (db *DB) buildIndex(ctx context.Context, name string) error {
	return db.inTx(ctx, "build index "+name, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '256MB'; SET LOCAL max_parallel_maintenance_workers = 0`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE INDEX IF NOT EXISTS `+name+` ON `+indexDef(name))
		return err
	})
}

// indexDef returns the definition of a secondary index by name.
func indexDef(name string) string {
	for _, ix := range secondaryIndexes {
		if ix.name == name {
			return ix.def
		}
	}
	panic("postgis: unknown index " + name)
}

// missingIndexes returns the names of the secondary indexes of table ("":
// of every table) that do not exist in the current schema, in list order.
func (db *DB) missingIndexes(ctx context.Context, table string) ([]string, error) {
	var names []string
	for _, ix := range secondaryIndexes {
		if table == "" || ix.table == table {
			names = append(names, ix.name)
		}
	}
	rows, err := db.pool.Query(ctx, `
SELECT n FROM unnest($1::text[]) WITH ORDINALITY AS t(n, o)
WHERE to_regclass(format('%I.%I', current_schema(), n)) IS NULL
ORDER BY o`, names)
	if err != nil {
		return nil, wrap("check indexes", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, wrap("check indexes", err)
}

package postgis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Bulk loads. Keeping the four secondary indexes of incidents (the GiST on
// the point, (day, kind), (occurred_at, id), h3_cell) up to date row by row
// is most of PostgreSQL's work in a large load: measured on 200,000 rows,
// 4.3 s with every index against 1.2 s with only the two unique ones, the
// GiST alone about half. Building an index once over the finished table is
// far cheaper (a sorted build), which is what ogr2ogr gets by creating its
// index after the COPY.
//
// So when one load has added at least Options.BulkLoadRows new incidents
// and the table holds no more than twice that (the load at least doubles
// it), the store drops the secondary indexes for the rest of the load and
// builds them again when the load finishes. The primary key and the unique
// (source, source_id) index stay: upserts probe them, and idempotency rests
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
	added int
	tries int  // size tests run; a lock timeout lets a later batch retry
	done  bool // the decision is made
	bulk  bool // this load dropped the indexes
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

// noteAdded counts rows a load added and, the first time the load reaches
// the threshold, decides whether it becomes a bulk load. Failing to drop
// the indexes is logged, not returned: the load goes on with them.
func (db *DB) noteAdded(ctx context.Context, loadID int64, added int) {
	th := db.bulkThreshold()
	if th == 0 || loadID == 0 || added == 0 {
		return
	}
	db.bulk.mu.Lock()
	l := db.loadState(loadID)
	l.added += added
	if l.done || l.tries < 0 || l.added < th {
		db.bulk.mu.Unlock()
		return
	}
	l.tries = -l.tries - 1 // negative while a test runs: no second one
	n := l.added
	db.bulk.mu.Unlock()

	ok, err := db.enterBulk(ctx, n)
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
		db.log.InfoContext(ctx, "bulk_load_indexes_dropped", slog.Int64("load", loadID), slog.Int("added", n))
	}
}

// enterBulk drops the secondary indexes if the table holds at most twice
// the added rows. The count stops at that bound, so a big table costs no
// more to test than a small one.
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

// endLoad forgets a finished load and runs refresh, the recomputation of
// the load's aggregates, given what the store knew of the load (nil if
// nothing). If it was a bulk load and no other bulk load of
// this handle is still running, it builds the missing incidents indexes
// meanwhile (builds and refresh only share read access to incidents, so on
// two cores they overlap), then the aggregates' own once they are refilled.
func (db *DB) endLoad(ctx context.Context, loadID int64, refresh func(*bulkLoad)) error {
	db.bulk.mu.Lock()
	l := db.bulk.loads[loadID]
	delete(db.bulk.loads, loadID)
	wasBulk := l != nil && l.bulk
	others := db.bulkRunning()
	db.bulk.mu.Unlock()
	if !wasBulk || others {
		refresh(l)
		return nil
	}
	start := time.Now()
	refreshed := make(chan struct{})
	go func() {
		defer close(refreshed)
		refresh(l)
	}()
	built, err := db.ensureIndexes(ctx, "incidents")
	// The load changed the table wholesale: fresh statistics now rather
	// than when autovacuum gets to it, gathered while the refresh may
	// still run.
	analyzed := make(chan error, 1)
	if err == nil && built > 0 {
		go func() {
			_, err := db.pool.Exec(ctx, `ANALYZE incidents`)
			analyzed <- err
		}()
	} else {
		analyzed <- nil
	}
	<-refreshed
	if err != nil {
		<-analyzed
		return err
	}
	more, err := db.ensureIndexes(ctx, "")
	if err := errors.Join(err, <-analyzed); err != nil {
		return err
	}
	built += more
	db.log.InfoContext(ctx, "bulk_load_indexes_built", slog.Int64("load", loadID),
		slog.Int("indexes", built), slog.Duration("duration", time.Since(start)))
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
			errs[i] = db.inTx(ctx, "build index "+ix, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '256MB'; SET LOCAL max_parallel_maintenance_workers = 0`); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `CREATE INDEX IF NOT EXISTS `+ix+` ON `+indexDef(ix))
				return err
			})
		}()
	}
	wg.Wait()
	return len(missing), errors.Join(errs...)
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

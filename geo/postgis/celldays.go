package postgis

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Deferred cell counts. A bulk load (see bulk.go) does not keep
// cell_day_counts by deltas: the synthetic million-row load spreads its
// points so thinly that 1M incidents make 895k count rows, and the
// per-batch INSERT ... ON CONFLICT into the counts' two indexes cost as
// much PostgreSQL time as the COPY of the incidents themselves. Its batches
// record the range of days they touched in cell_day_dirty instead, in the
// same transaction as the rows, and refreshCellDays recomputes those days
// from the incidents in one aggregation when the load finishes.
//
// Readers never see the counts stale: while any range is recorded, count
// queries at resolution 9 and coarser aggregate the incidents instead, in
// the statement that checks for ranges (see CellCounts), so what they read
// is one snapshot either way.

// countsDeferred reports whether the upserts of load skip cell_day_counts
// deltas: those of a bulk load do.
func (db *DB) countsDeferred(loadID int64) bool {
	db.bulk.mu.Lock()
	defer db.bulk.mu.Unlock()
	l := db.bulk.loads[loadID]
	return l != nil && l.bulk
}

// markCellDays records, inside the upsert's transaction, the range of days
// whose counts the round changed: those of new rows and both the old and
// new days of changed rows.
func markCellDays(ctx context.Context, tx pgx.Tx, round []staged, newIdx []int, old []oldRow) error {
	var lo, hi time.Time
	see := func(d time.Time) {
		if lo.IsZero() || d.Before(lo) {
			lo = d
		}
		if hi.IsZero() || d.After(hi) {
			hi = d
		}
	}
	for _, i := range newIdx {
		see(round[i].inc.Day)
	}
	for _, o := range old {
		see(o.inc.Day)
		see(round[o.idx].inc.Day)
	}
	if lo.IsZero() {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO cell_day_dirty (lo, hi) VALUES ($1, $2)`, lo, hi); err != nil {
		return fmt.Errorf("mark cell days: %w", err)
	}
	return nil
}

// refreshCellDays recomputes cell_day_counts over the recorded day ranges
// from the incidents, and deletes the ranges it covered. The table lock
// (EXCLUSIVE: readers go on, writers of deltas wait) comes before the
// repeatable read snapshot, so the counts it replaces include every delta
// committed before it and none can land in between; ranges recorded after
// the snapshot stay for the next refresh. Refreshes serialise on the same
// lock.
func (db *DB) refreshCellDays(ctx context.Context) error {
	var dirty bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cell_day_dirty)`).Scan(&dirty); err != nil {
		return fmt.Errorf("cell days: %w", err)
	}
	if !dirty {
		return nil
	}
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return fmt.Errorf("cell days: %w", err)
	}
	defer tx.Rollback(ctx)
	// incidents first, then the counts: the order upserts and a bulk
	// load dropping indexes take them in, so none of them can wait for
	// another in a cycle.
	if _, err := tx.Exec(ctx, `LOCK TABLE incidents IN ACCESS SHARE MODE; LOCK TABLE cell_day_counts IN EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("cell days: lock: %w", err)
	}
	var maxID int64
	var lo, hi *time.Time
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0), min(lo), max(hi) FROM cell_day_dirty`).
		Scan(&maxID, &lo, &hi); err != nil {
		return fmt.Errorf("cell days: read marks: %w", err)
	}
	if maxID == 0 {
		return nil
	}
	// One span from the first to the last marked day: recomputing a day
	// no load touched is wasted work, never a wrong count. A million-row
	// load has nearly as many groups as rows, so they are sorted in
	// memory and aggregated in key order rather than hashed (1.6 s against
	// 3.5 s with the sort the insert wants after a hash), and the primary
	// key's inserts then walk its pages once instead of at random.
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '256MB'; SET LOCAL enable_hashagg = off`); err != nil {
		return fmt.Errorf("cell days: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM cell_day_counts WHERE day >= $1 AND day <= $2`, *lo, *hi); err != nil {
		return fmt.Errorf("cell days: clear: %w", err)
	}
	if _, err := tx.Exec(ctx, `
INSERT INTO cell_day_counts (cell, day, kind, n, victims)
SELECT h3_parent(i.h3_cell, $3), i.day, i.kind, count(*), coalesce(sum(i.victims), 0)
FROM incidents i WHERE i.day >= $1 AND i.day <= $2
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3`, *lo, *hi, countsRes); err != nil {
		return fmt.Errorf("cell days: recompute: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM cell_day_dirty WHERE id <= $1`, maxID); err != nil {
		return fmt.Errorf("cell days: clear marks: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("cell days: %w", err)
	}
	return nil
}

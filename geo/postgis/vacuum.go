package postgis

import (
	"context"
	"log/slog"
)

// vacuumAggregates vacuums and analyzes the tables the upsert keeps by
// deltas. A load updates each of their rows once per batch, so a large
// load leaves many dead versions behind, and until autovacuum gets to them
// (a minute or more later) every indicator or count query wades through
// them: with a million incidents, the city-wide monthly indicators took
// 190 ms in the bloated table against under 50 ms after a vacuum. The
// tables are small (one row per area, month and kind; per cell, day and
// kind), so this takes tens of milliseconds. It runs outside any
// transaction, as VACUUM must; a failure is logged, not returned: the load
// itself is complete.
func (db *DB) vacuumAggregates(ctx context.Context) {
	if _, err := db.pool.Exec(ctx, `VACUUM (ANALYZE) area_month_counts, cell_day_counts`); err != nil {
		db.log.Warn("vacuum_aggregates", slog.Any("error", err))
	}
}

package postgis

import (
	"context"
	"log/slog"
)

// vacuumAggregates runs when a load finishes: it recomputes the area
// months the load touched (see refreshAreaMonths) and the cell counts a
// bulk load deferred (refreshCellDays), then vacuums and
// analyzes the aggregate tables. A load updates each cell_day_counts row
// once per batch and the refresh replaces area months wholesale, so a large
// load leaves many dead versions behind, and until autovacuum gets to them
// (a minute or more later) every indicator or count query wades through
// them: with a million incidents, the city-wide monthly indicators read
// their counts in 190 ms from a bloated table against under 50 ms after a
// vacuum. cell_day_dirty is emptied by the refresh, and every count read
// at resolution 9 and coarser scans it: vacuumed, it is one empty page.
// The tables are small, so the vacuum takes tens of milliseconds.
// It runs outside any transaction, as VACUUM must; a failure is logged,
// not returned: the load itself is complete, readers refresh dirty
// months themselves and count pending cell days from the incidents.
//
// sums are the load's own area month sums (areadeltas.go): they go in
// before the area month refresh, which then finds the load's months
// unmarked, and beside the cell-day refresh.
func (db *DB) vacuumAggregates(ctx context.Context, sums *areaDeltas) {
	// The load's months and cell days first, so the first reads after it
	// are fast. The two refreshes write different tables and only read
	// incidents, so they run side by side: on two cores the second one
	// would otherwise wait with a core idle once the index builds beside
	// them are done.
	cellsDone := make(chan struct{})
	go func() {
		defer close(cellsDone)
		if err := db.refreshCellDays(ctx); err != nil {
			db.log.Warn("refresh_cell_days", slog.Any("error", err))
		}
	}()
	db.addAreaSums(ctx, sums)
	if err := db.refreshAreaMonths(ctx); err != nil {
		db.log.Warn("refresh_area_months", slog.Any("error", err))
	}
	<-cellsDone
	db.vacuumTables(ctx, "area_month_counts, cell_day_counts, cell_day_dirty")
}

// vacuumTables vacuums and analyzes tables (a list of the aggregate
// tables, never user input), as vacuumAggregates explains.
func (db *DB) vacuumTables(ctx context.Context, tables string) {
	if _, err := db.pool.Exec(ctx, `VACUUM (ANALYZE) `+tables); err != nil {
		db.log.WarnContext(ctx, "vacuum_aggregates", slog.String("tables", tables), slog.Any("error", err))
	}
}

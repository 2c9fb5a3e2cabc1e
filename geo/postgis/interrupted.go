package postgis

import (
	"context"

	"hotspots/geo"
)

// failInterrupted marks the loads of source that are still running
// geo.LoadInterruptedAfter after they started as failed with error
// geo.LoadInterrupted: their process died (a crash, a database outage)
// before FinishLoad. Loads of one source are not serialised for their whole
// run (UpsertIncidents locks per transaction and key bucket, and two loads
// of a source may overlap), so no lock can prove a younger running load
// dead; the age rule needs no heartbeat and cannot fail a live load short
// of a day-long one. A process that does finish such a load later still
// writes its real outcome: FinishLoad overwrites the status.
func (db *DB) failInterrupted(ctx context.Context, source string) error {
	now := db.nowUTC()
	_, err := db.pool.Exec(ctx, `
UPDATE loads SET status = $2, error = $3, finished_at = $4
WHERE source = $1 AND status = $5 AND started_at < $6`,
		source, geo.LoadFailed, geo.LoadInterrupted, now, geo.LoadRunning, now.Add(-geo.LoadInterruptedAfter))
	return err
}

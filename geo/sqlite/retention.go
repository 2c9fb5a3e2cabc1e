package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"hotspots/geo"
)

// purgeRevisionsSQL nulls the values of geo.PointFields in the revisions
// selected by cutoff (?1). json_replace only touches fields present, so
// the other fields and the field names stay. A purged field reads
// [null, null], a pair IncidentChanges never writes (it records only
// differing values), so the EXISTS test makes the update idempotent.
var purgeRevisionsSQL = func() string {
	var repl strings.Builder
	for _, f := range geo.PointFields {
		fmt.Fprintf(&repl, `, '$.%s', json('[null,null]')`, f)
	}
	return `
UPDATE incident_revisions SET changes = json_replace(changes` + repl.String() + `)
WHERE (changed_at < ?1 OR incident IN (SELECT id FROM incidents WHERE occurred_at < ?1))
  AND EXISTS (SELECT 1 FROM json_each(incident_revisions.changes) AS e
              WHERE e.key IN (SELECT value FROM json_each(?2)) AND e.value IS NOT '[null,null]')`
}()

// purgeHistory removes, inside PurgePoints' transaction, the copies of
// point-level data that outlive the incident row: the values of
// geo.PointFields in incident_revisions (of incidents that occurred before
// cutoff, and any revision recorded before it) and the raw rows and details
// of quarantined rows created before cutoff. It returns how many revisions
// and quarantined rows it changed.
func purgeHistory(ctx context.Context, tx *sql.Tx, cutoff time.Time) (int, error) {
	fields, err := json.Marshal(geo.PointFields)
	if err != nil {
		return 0, err
	}
	revs, err := tx.ExecContext(ctx, purgeRevisionsSQL, us(cutoff), string(fields))
	if err != nil {
		return 0, fmt.Errorf("purge revisions: %w", err)
	}
	quar, err := tx.ExecContext(ctx, `
UPDATE quarantine SET raw = NULL, detail = ?2
WHERE created < ?1 AND (raw IS NOT NULL OR detail <> ?2)`, us(cutoff), geo.DetailPurged)
	if err != nil {
		return 0, fmt.Errorf("purge quarantine: %w", err)
	}
	n, err := revs.RowsAffected()
	if err != nil {
		return 0, err
	}
	m, err := quar.RowsAffected()
	if err != nil {
		return 0, err
	}
	return int(n + m), nil
}

// failInterrupted marks the loads of source still running
// geo.LoadInterruptedAfter after they started as failed with error
// geo.LoadInterrupted (see geo.LoadInterruptedAfter for why an age and not
// a lock). A process that does finish such a load later still writes its
// real outcome: FinishLoad overwrites the status.
func failInterrupted(ctx context.Context, tx *sql.Tx, source string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `
UPDATE loads SET status = ?, error = ?, finished_at = ?
WHERE source = ? AND status = ? AND started_at < ?`,
		geo.LoadFailed, geo.LoadInterrupted, us(now), source, geo.LoadRunning, us(now.Add(-geo.LoadInterruptedAfter)))
	return err
}

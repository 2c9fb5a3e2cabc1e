package postgis

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"hotspots/geo"
)

// purgeHistory removes, inside PurgePoints' transaction, the copies of
// point-level data that outlive the incident row: the values of
// geo.PointFields in incident_revisions (of incidents that occurred before
// cutoff, and any revision recorded before it) and the raw rows and details
// of quarantined rows created before cutoff. It returns how many revisions
// and quarantined rows it changed; a second call with the same cutoff finds
// nothing.
func purgeHistory(ctx context.Context, tx pgx.Tx, cutoff time.Time) (int, error) {
	// A purged field keeps its name with [null, null], a pair
	// IncidentChanges never writes (it records only differing values), so
	// the EXISTS test makes the update idempotent.
	revs, err := tx.Exec(ctx, `
UPDATE incident_revisions r
SET changes = r.changes || (
    SELECT jsonb_object_agg(k, '[null, null]'::jsonb)
    FROM jsonb_object_keys(r.changes) AS k WHERE k = ANY($2::text[]))
WHERE (r.changed_at < $1 OR r.incident IN (SELECT id FROM incidents WHERE occurred_at < $1))
  AND r.changes ?| $2::text[]
  AND EXISTS (SELECT 1 FROM jsonb_each(r.changes) AS e(k, v)
              WHERE e.k = ANY($2::text[]) AND e.v <> '[null, null]'::jsonb)`,
		cutoff, geo.PointFields)
	if err != nil {
		return 0, fmt.Errorf("purge revisions: %w", err)
	}
	quar, err := tx.Exec(ctx, `
UPDATE quarantine SET raw = NULL, detail = $2
WHERE created < $1 AND (raw IS NOT NULL OR detail <> $2)`, cutoff, geo.DetailPurged)
	if err != nil {
		return 0, fmt.Errorf("purge quarantine: %w", err)
	}
	return int(revs.RowsAffected() + quar.RowsAffected()), nil
}

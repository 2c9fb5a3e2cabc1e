package geo

import (
	"context"
	"time"
)

// IncidentService stores incidents idempotently and answers the aggregate
// queries the detectors, tiles and indicators need.
type IncidentService interface {
	// UpsertIncidents inserts new incidents and updates changed ones by
	// (Source, SourceID), writing a Revision for every change, all in one
	// transaction. Loading the same rows twice changes nothing. IDs and
	// UpdatedAt of the given incidents are not read.
	UpsertIncidents(ctx context.Context, loadID int64, incs []Incident) (UpsertResult, error)
	// FindIncidents returns incidents ordered by OccurredAt, then ID.
	FindIncidents(ctx context.Context, f IncidentFilter) ([]Incident, error)
	// CountIncidents counts incidents matching f (Limit and Offset ignored).
	CountIncidents(ctx context.Context, f IncidentFilter) (int, error)
	// IncidentRevisions returns the audit trail of one incident, oldest first.
	IncidentRevisions(ctx context.Context, incidentID int64) ([]Revision, error)
	// CellCounts aggregates counts per cell at f.Res and kind.
	CellCounts(ctx context.Context, f CellCountFilter) ([]CellCount, error)
	// CellDayCounts aggregates counts per cell at f.Res, day and kind: the
	// input of the detectors' count cube.
	CellDayCounts(ctx context.Context, f CellCountFilter) ([]CellDayCount, error)
	// AreaDayCounts aggregates counts and victims per area of one layer, day
	// and kind; incidents without an area in that layer are counted under "".
	AreaDayCounts(ctx context.Context, f AreaCountFilter) ([]AreaDayCount, error)
	// DataVersion changes whenever incidents change; caches key on it.
	DataVersion(ctx context.Context) (int64, error)
	// PurgePoints removes point-level detail (location, address, raw row) of
	// incidents that occurred before cutoff while keeping their cell, day,
	// kind and areas, so aggregates stay. It returns how many were purged.
	// In the same transaction it removes the other copies of point-level
	// data older than cutoff: the values of PointFields in the revisions of
	// those incidents and in revisions recorded before cutoff (the field
	// names, times, loads and sources stay), and the raw row and detail of
	// quarantined rows created before cutoff (they keep source, key,
	// reason, load and times, get Detail DetailPurged and can no longer be
	// re-processed).
	PurgePoints(ctx context.Context, cutoff time.Time) (int, error)
}

// QuarantineService keeps the feed rows that could not be used.
type QuarantineService interface {
	// QuarantineRows stores rows; a row with the same (Source, RowKey) that is
	// still unresolved is replaced, so re-running a load does not duplicate.
	QuarantineRows(ctx context.Context, rows []QuarantinedRow) error
	ListQuarantine(ctx context.Context, f QuarantineFilter) ([]QuarantinedRow, error)
	QuarantineSummary(ctx context.Context, source string) ([]ReasonCount, error)
	// ResolveQuarantine marks rows as turned into incidents by a re-process.
	ResolveQuarantine(ctx context.Context, ids []int64) error
}

// LoadService records loads (the data changelog) and per-source watermarks
// for incremental polling that survives restarts.
type LoadService interface {
	// StartLoad records a running load of source. Loads of the same source
	// still running LoadInterruptedAfter after they started are marked
	// failed with Error LoadInterrupted in the same step.
	StartLoad(ctx context.Context, source string) (Load, error)
	FinishLoad(ctx context.Context, l Load) error
	ListLoads(ctx context.Context, source string, limit int) ([]Load, error)
	// Watermark returns the source's last committed position ("" if none).
	Watermark(ctx context.Context, source string) (string, error)
	SetWatermark(ctx context.Context, source, value string) error
}

// AreaService stores area layers and their polygons.
type AreaService interface {
	// PutLayer replaces a layer and all its areas in one transaction.
	PutLayer(ctx context.Context, layer AreaLayer, areas []Area) error
	Layers(ctx context.Context) ([]AreaLayer, error)
	// Areas returns a layer's areas ordered by Code; ENOTFOUND for no layer.
	Areas(ctx context.Context, layer string) ([]Area, error)
}

// FindingService stores detector runs and their findings.
type FindingService interface {
	// SaveRun stores a run and its findings in one transaction and returns
	// the run with its ID set.
	SaveRun(ctx context.Context, run DetectionRun, findings []Finding) (DetectionRun, error)
	ListRuns(ctx context.Context, detector string, limit int) ([]DetectionRun, error)
	ListFindings(ctx context.Context, f FindingFilter) ([]Finding, error)
}

// Store is everything a hotspots process needs from its system of record.
// geo/postgis implements it on PostGIS; geo/sqlite on an embedded file. Both
// pass the conformance suite in geo/storetest.
type Store interface {
	IncidentService
	QuarantineService
	LoadService
	AreaService
	FindingService
	AlertService
	SubscriptionService
	DeliveryService
	KeyService
	AccessLogService

	// Ping checks the store answers.
	Ping(ctx context.Context) error
	// Ready reports an error unless the store answers and its schema is at
	// the version this binary expects.
	Ready(ctx context.Context) error
	Close() error
}

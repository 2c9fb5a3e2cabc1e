package geo

import (
	"encoding/json"
	"time"
)

// Reason is a machine-readable quarantine reason. Summaries group by it and
// a mapping fix re-processes the rows that carry it.
type Reason string

// Quarantine reasons.
const (
	ReasonOutsideCity     Reason = "outside_city"
	ReasonNullIsland      Reason = "null_island"       // (0,0)
	ReasonSentinelPoint   Reason = "sentinel_point"    // a configured placeholder such as (39,-77)
	ReasonSwappedLatLon   Reason = "swapped_lat_lon"   // would be inside the city if swapped
	ReasonMissingLocation Reason = "missing_location"  // no coordinates and no address
	ReasonUngeocodable    Reason = "geocode_unmatched" // address did not match
	ReasonAmbiguousAddr   Reason = "geocode_ambiguous" // address matched several places
	ReasonMissingDate     Reason = "missing_date"
	ReasonBadDate         Reason = "unparseable_date"
	ReasonBadTime         Reason = "unparseable_time"
	ReasonFutureDate      Reason = "future_date"
	ReasonBeforeStart     Reason = "before_source_start"
	ReasonUnknownKind     Reason = "unknown_kind"
	ReasonBadRow          Reason = "malformed_row"
)

// QuarantinedRow is a feed row that could not be used, kept with its reason so
// nothing is dropped silently and it can be re-processed after a mapping fix.
type QuarantinedRow struct {
	ID       int64
	Source   string
	RowKey   string // the source's id, or a hash of the raw row when it has none
	LoadID   int64
	Reason   Reason
	Detail   string // human-readable specifics ("lat 0, lon 0")
	Raw      json.RawMessage
	Created  time.Time
	Resolved *time.Time // set when a re-process turned it into an incident
}

// DetailPurged is the Detail of a quarantined row whose raw content and
// specifics were removed by retention (IncidentService.PurgePoints): its
// source, key, reason, load and times stay for the bookkeeping, but it can
// no longer be re-processed.
const DetailPurged = "purged"

// Purged reports whether retention removed the row's content.
func (r *QuarantinedRow) Purged() bool { return r.Detail == DetailPurged && len(r.Raw) == 0 }

// QuarantineFilter selects quarantined rows.
type QuarantineFilter struct {
	Source          string
	Reason          Reason
	IncludeResolved bool
	Limit, Offset   int
}

// ReasonCount is one line of a quarantine summary.
type ReasonCount struct {
	Source string
	Reason Reason
	Count  int
}

package geo

import (
	"encoding/json"
	"time"

	"github.com/paulmach/orb"
)

// Precision says how exactly an incident's location is known. It travels with
// every incident so analysts can filter out street-centroid geocodes and so
// the map never implies more precision than the source had.
type Precision string

// Precisions, finest first.
const (
	PrecisionExact        Precision = "exact"        // coordinates given by the source
	PrecisionBlock        Precision = "block"        // source coordinates obfuscated to the block
	PrecisionInterpolated Precision = "interpolated" // geocoded along an address range
	PrecisionIntersection Precision = "intersection" // geocoded to a street intersection
	PrecisionStreet       Precision = "street"       // geocoded to a street, no usable number
	PrecisionRandomized   Precision = "randomized"   // source deliberately jittered (Tempe)
	PrecisionUnmatched    Precision = "unmatched"    // never stored: goes to quarantine
)

// Incident is one event (a shooting, an overdose, a 911 call) after mapping,
// validation and geocoding. Victim-based feeds are merged into incidents by the
// source's key, keeping the victim count.
type Incident struct {
	ID       int64
	Source   string // source id from its mapping, e.g. "bpd-part1-2018"
	SourceID string // the source's own incident key; unique with Source
	Kind     Kind
	// OccurredAt is the instant, in UTC. For date-only rows it is local noon
	// of that day, and TimeKnown is false.
	OccurredAt time.Time
	TimeKnown  bool
	// Day is the local calendar date in the city's time zone, at 00:00 UTC.
	// Detection bins by it, so it is computed once at ingest with the city's
	// zone rather than by each store.
	Day       time.Time
	Location  orb.Point // lon, lat (EPSG:4326)
	Precision Precision
	Address   string
	Victims   int
	Naloxone  int // naloxone doses given (overdose feeds); 0 when unknown
	Agency    string
	Cell      Cell              // H3 cell at FinestRes
	Areas     map[string]string // area layer id -> area code, assigned at ingest
	// Flags mark facts analysts must see: "treatment_location" (recorded at a
	// hospital, not where it happened), "simulated" (demo overdose stream),
	// "outside_tolerance" (kept within the shoreline tolerance).
	Flags []string
	// Raw is the source row as received, for audit and re-processing.
	Raw       json.RawMessage
	UpdatedAt time.Time
}

// HasFlag reports whether the incident carries flag f.
func (i *Incident) HasFlag(f string) bool {
	for _, g := range i.Flags {
		if g == f {
			return true
		}
	}
	return false
}

// Incident flags.
const (
	FlagTreatmentLocation = "treatment_location"
	FlagSimulated         = "simulated"
	FlagShoreline         = "outside_tolerance"
)

// Revision is one change to a stored incident: the audit trail that lets an
// analyst see why a published count moved.
type Revision struct {
	ID         int64
	IncidentID int64
	LoadID     int64
	Source     string
	ChangedAt  time.Time
	// Changes maps field name to [old, new] as JSON values. After a
	// retention purge the point-level fields (PointFields) keep their name
	// with [null, null]: the change is still on record, its values are not.
	Changes map[string][2]any
}

// PointFields are the Revision.Changes fields that hold point-level data
// (a location, an address, a raw feed row). Retention replaces their values
// with [null, null]. IncidentChanges writes location, address and raw; the
// other names guard revisions written under other names.
var PointFields = []string{"location", "address", "raw", "point", "geom", "lat", "lon"}

// UpsertResult counts what an idempotent upsert did.
type UpsertResult struct {
	Added     int
	Changed   int
	Unchanged int
}

// IncidentFilter selects incidents. Nil and zero fields do not filter.
type IncidentFilter struct {
	Kinds  []Kind
	From   *time.Time // inclusive, on OccurredAt
	To     *time.Time // exclusive
	Bounds *orb.Bound
	Cells  []Cell // any resolution; matches incidents inside these cells
	Source string
	Limit  int
	Offset int
}

// CellCountFilter selects aggregate counts by cell.
type CellCountFilter struct {
	Res      int // aggregate to this resolution (<= FinestRes)
	Kinds    []Kind
	From, To *time.Time // days: From inclusive, To exclusive; on Incident.Day
	Cells    []Cell     // restrict to these cells at Res; nil = all
}

// CellCount is the number of incidents of one kind in one cell.
type CellCount struct {
	Cell  Cell
	Kind  Kind
	Count int
}

// CellDayCount is the number of incidents of one kind in one cell on one day.
type CellDayCount struct {
	Cell  Cell
	Day   time.Time
	Kind  Kind
	Count int
}

// AreaCountFilter selects counts per area of one layer.
type AreaCountFilter struct {
	Layer    string
	Kinds    []Kind
	From, To *time.Time // on Incident.Day, To exclusive
}

// AreaDayCount is the number of incidents (and victims) of one kind in one
// area on one day. Indicators bin days into weeks, months and years in Go.
type AreaDayCount struct {
	Area    string
	Day     time.Time
	Kind    Kind
	Count   int
	Victims int
}

package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"hotspots/cities"
	"hotspots/geo"
)

// earliestDate is the floor for sources without a start date: anything
// earlier is a typo or a placeholder, not an incident.
var earliestDate = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// transformer applies one mapping to rows for one city. It is read-only
// after construction, so the pipeline's workers share it.
type transformer struct {
	m        *Mapping
	loc      *time.Location
	place    *placeCheck
	areas    *AreaIndex
	geocoder Geocoder
	kinds    geo.KindSet
	today    time.Time // local date of "now", at 00:00 UTC
}

func newTransformer(m *Mapping, c *cities.City, areas *AreaIndex, gc Geocoder, kinds geo.KindSet, now time.Time) *transformer {
	loc := m.Location(c.Location)
	y, mo, d := now.In(loc).Date()
	if kinds == nil {
		kinds = geo.DefaultKinds()
	}
	return &transformer{
		m: m, loc: loc, place: newPlaceCheck(c, m), areas: areas, geocoder: gc, kinds: kinds,
		today: time.Date(y, mo, d, 0, 0, 0, 0, time.UTC),
	}
}

// outcome is what became of one row: an incident, a quarantine reason, or a
// filter that left it out.
type outcome struct {
	line     int
	key      string
	inc      geo.Incident
	reason   geo.Reason
	detail   string
	filtered string
	raw      json.RawMessage
}

func (o *outcome) quarantine(r geo.Reason, format string, args ...any) {
	o.reason = r
	o.detail = fmt.Sprintf(format, args...)
}

// apply maps, validates and indexes one row. It never fails: every problem
// is an outcome, so nothing is dropped silently.
func (t *transformer) apply(ctx context.Context, rec *Record) outcome {
	o := outcome{line: rec.Line}
	if rec.Err != nil {
		o.raw = badRowRaw(rec)
		o.key = "line:" + strconv.Itoa(rec.Line)
		o.quarantine(geo.ReasonBadRow, "line %d: %v", rec.Line, rec.Err)
		return o
	}
	o.raw = rec.RawJSON()
	o.key = t.key(rec, o.raw)
	if ok, col := t.m.keep(rec); !ok {
		o.filtered = "filter:" + col
		return o
	}
	if j := t.m.Join; j != nil && j.Required && rec.Get(JoinedColumn) != "1" {
		o.quarantine(geo.ReasonBadRow, "no row of %s has %s = %q", j.File, j.To, rec.Get(j.On))
		return o
	}
	kind, skip, ok := t.m.classify(rec)
	switch {
	case skip:
		o.filtered = "classify:skip"
		return o
	case !ok:
		o.quarantine(geo.ReasonUnknownKind, "no classify rule matched")
		return o
	case !t.kinds[kind]:
		o.quarantine(geo.ReasonUnknownKind, "kind %q is not configured for this city", kind)
		return o
	}
	inc := &o.inc
	inc.Source, inc.SourceID, inc.Kind, inc.Raw = t.m.ID, o.key, kind, o.raw
	if !t.when(rec, &o) {
		return o
	}
	if !t.where(ctx, rec, &o) {
		return o
	}
	t.counts(rec, inc)
	cell, err := geo.CellFromPoint(inc.Location, geo.FinestRes)
	if err != nil {
		o.quarantine(geo.ReasonOutsideCity, "%v", err)
		return o
	}
	inc.Cell = cell
	inc.Areas = t.areas.Assign(inc.Location, inc.Day)
	inc.Flags = append(inc.Flags, t.m.Flags...)
	return o
}

// key builds the incident key from the key columns, the id column, or a
// digest of the raw row when the feed has no id.
func (t *transformer) key(rec *Record, raw json.RawMessage) string {
	if cols := t.m.Key.Columns; len(cols) > 0 {
		parts := make([]string, len(cols))
		for i, c := range cols {
			parts[i] = strings.TrimSpace(rec.Get(c))
		}
		return strings.Join(parts, "|")
	}
	if c := t.m.Columns.ID; c != "" {
		if v := strings.TrimSpace(rec.Get(c)); v != "" {
			return v
		}
	}
	return rawKey(raw)
}

// rawKey is the key of a row without an id: a digest of its content.
func rawKey(raw json.RawMessage) string {
	sum := sha256.Sum256(raw)
	return "sha:" + hex.EncodeToString(sum[:10])
}

func badRowRaw(rec *Record) json.RawMessage {
	vals := make([]any, len(rec.Values))
	for i, v := range rec.Values {
		vals[i] = v
	}
	b, _ := json.Marshal(map[string]any{"_line": rec.Line, "_error": rec.Err.Error(), "_values": vals})
	return b
}

// when sets OccurredAt, TimeKnown and Day, or quarantines the row.
func (t *transformer) when(rec *Record, o *outcome) bool {
	m, inc := t.m, &o.inc
	var day time.Time
	switch {
	case m.Columns.DateTime != "":
		v := strings.TrimSpace(rec.Get(m.Columns.DateTime))
		if v == "" {
			o.quarantine(geo.ReasonMissingDate, "column %s is empty", m.Columns.DateTime)
			return false
		}
		at, err := parseDateTime(v, m.DateTimeFormats, t.loc)
		if err != nil {
			o.quarantine(geo.ReasonBadDate, "%v", err)
			return false
		}
		inc.OccurredAt, inc.TimeKnown = at.UTC(), true
		y, mo, d := at.In(t.loc).Date()
		day = time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	default:
		v := strings.TrimSpace(rec.Get(m.Columns.Date))
		if v == "" {
			o.quarantine(geo.ReasonMissingDate, "column %s is empty", m.Columns.Date)
			return false
		}
		y, mo, d, err := parseDate(v, m.DateFormats)
		if err != nil {
			o.quarantine(geo.ReasonBadDate, "%v", err)
			return false
		}
		day = time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
		// Date-only rows sit at local noon, so no zone shift moves them to
		// another day.
		local := time.Date(y, mo, d, 12, 0, 0, 0, t.loc)
		if c := m.Columns.Time; c != "" {
			if tv := strings.TrimSpace(rec.Get(c)); tv != "" {
				clk, err := parseClock(tv, m.TimeFormats)
				if err != nil {
					o.quarantine(geo.ReasonBadTime, "%v", err)
					return false
				}
				local = time.Date(y, mo, d, clk.h, clk.m, clk.s, 0, t.loc)
				inc.TimeKnown = true
			}
		}
		inc.OccurredAt = local.UTC()
	}
	inc.Day = day
	switch {
	case day.Before(earliestDate):
		o.quarantine(geo.ReasonBadDate, "date %s is not plausible", day.Format(time.DateOnly))
	case !m.start.IsZero() && day.Before(m.start):
		o.quarantine(geo.ReasonBeforeStart, "date %s is before the source starts (%s)", day.Format(time.DateOnly), m.Start)
	case day.After(t.today):
		o.quarantine(geo.ReasonFutureDate, "date %s is in the future", day.Format(time.DateOnly))
	default:
		return true
	}
	return false
}

// where sets Location, Precision, Address and location flags, geocoding
// when the mapping says so, or quarantines the row.
func (t *transformer) where(ctx context.Context, rec *Record, o *outcome) bool {
	m, inc := t.m, &o.inc
	inc.Address = strings.TrimSpace(rec.Get(m.Columns.Address))
	var (
		p      orb.Point
		status = coordMissing
		detail = "no coordinates"
	)
	if m.Geocode != GeocodeAlways {
		p, status, detail = t.coords(rec)
	}
	if status == coordOK {
		inc.Location, inc.Precision = p, m.Precision
		if m.Precision == geo.PrecisionRandomized {
			inc.Precision = geo.PrecisionRandomized
		}
	} else {
		if m.Geocode == GeocodeNever || inc.Address == "" {
			o.quarantine(coordReason(status), "%s", detail)
			return false
		}
		if !t.geocode(ctx, o) {
			return false
		}
	}
	flag, reason, d := t.place.locate(inc.Location)
	if reason != "" {
		o.quarantine(reason, "%s", d)
		return false
	}
	if flag != "" {
		inc.Flags = append(inc.Flags, flag)
	}
	if t.place.treatmentAt(inc.Location, inc.Address) != "" {
		inc.Flags = append(inc.Flags, geo.FlagTreatmentLocation)
	}
	return true
}

func coordReason(s coordStatus) geo.Reason {
	switch s {
	case coordNullIsland:
		return geo.ReasonNullIsland
	case coordSentinel:
		return geo.ReasonSentinelPoint
	}
	return geo.ReasonMissingLocation
}

// coords reads the row's coordinates: the feature geometry, a combined
// point column, or lat/lon columns, in that order of preference.
func (t *transformer) coords(rec *Record) (orb.Point, coordStatus, string) {
	m := t.m
	var (
		p   orb.Point
		ok  bool
		err error
	)
	switch {
	case m.Columns.Lat != "":
		p, ok, err = parseLatLon(rec.Get(m.Columns.Lat), rec.Get(m.Columns.Lon))
		if !ok && err == nil && m.Columns.LatLon != "" {
			p, ok, err = parsePoint(rec.Get(m.Columns.LatLon))
		}
	case m.Columns.LatLon != "":
		p, ok, err = parsePoint(rec.Get(m.Columns.LatLon))
	case rec.Point != nil:
		p, ok = *rec.Point, true
	}
	if err != nil {
		return p, coordBad, err.Error()
	}
	if !ok {
		return p, coordMissing, "no coordinates"
	}
	switch s := t.place.status(p); s {
	case coordNullIsland:
		return p, s, "coordinates (0, 0)"
	case coordSentinel:
		return p, s, fmt.Sprintf("lat %v lon %v is a placeholder point", p[1], p[0])
	}
	return p, coordOK, ""
}

// geocode places the row by its address.
func (t *transformer) geocode(ctx context.Context, o *outcome) bool {
	inc := &o.inc
	if t.geocoder == nil {
		o.quarantine(geo.ReasonUngeocodable, "address %q: no geocoder configured", inc.Address)
		return false
	}
	res, err := t.geocoder.Geocode(ctx, inc.Address+t.m.AddressSuffix)
	switch {
	case err != nil:
		o.quarantine(geo.ReasonUngeocodable, "address %q: %v", inc.Address, err)
		return false
	case res.Ambiguous || res.Reason == geo.ReasonAmbiguousAddr:
		o.quarantine(geo.ReasonAmbiguousAddr, "address %q: %s", inc.Address, res.Detail)
		return false
	case !res.matched():
		r := res.Reason
		if r == "" {
			r = geo.ReasonUngeocodable
		}
		o.quarantine(r, "address %q: %s", inc.Address, res.Detail)
		return false
	}
	inc.Location, inc.Precision = res.Point, res.Precision
	return true
}

// counts sets Victims, Naloxone and Agency.
func (t *transformer) counts(rec *Record, inc *geo.Incident) {
	m := t.m
	switch {
	case m.Key.NoVictims:
	case m.Columns.Victims != "":
		inc.Victims = t.intValue(m.Columns.Victims, rec.Get(m.Columns.Victims), 1)
	default:
		inc.Victims = 1
	}
	if c := m.Columns.Naloxone; c != "" {
		inc.Naloxone = t.intValue(c, rec.Get(c), 0)
	}
	inc.Agency = m.Agency
	if c := m.Columns.Agency; c != "" {
		if v := strings.TrimSpace(rec.Get(c)); v != "" {
			inc.Agency = v
		}
	}
}

// intValue reads a count cell through the mapping's value table, then as a
// number; anything else is the default (the count is unknown, which is no
// reason to lose the incident).
func (t *transformer) intValue(col, v string, def int) int {
	v = strings.TrimSpace(v)
	if tab, ok := t.m.Values[col]; ok {
		if n, ok := tab[v]; ok {
			return n
		}
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f < 1e6 {
		return int(f)
	}
	return def
}

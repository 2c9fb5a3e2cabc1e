package geo

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// Normalize puts an incident into the form every store keeps, so that what is
// read back equals what was written and both stores hash and diff the same
// values: OccurredAt in UTC truncated to microseconds (PostgreSQL's precision),
// Day as its calendar date at 00:00 UTC (derived from OccurredAt when zero),
// Raw compacted (nil for empty or JSON null), and nil for empty Areas and Flags.
// A zero Cell is computed from Location. It reports an EINVALID error for an
// incident no store may keep.
func (i *Incident) Normalize() error {
	if i.Source == "" {
		return FieldErrorf("source", "incident without source")
	}
	if i.SourceID == "" {
		return FieldErrorf("source_id", "incident of %s without source id", i.Source)
	}
	if err := i.Kind.Validate(); err != nil {
		return err
	}
	if i.OccurredAt.IsZero() {
		return FieldErrorf("occurred_at", "incident %s/%s without time", i.Source, i.SourceID)
	}
	i.OccurredAt = i.OccurredAt.UTC().Truncate(time.Microsecond)
	if i.Day.IsZero() {
		i.Day = i.OccurredAt
	}
	y, m, d := i.Day.Date()
	i.Day = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if err := i.normalizePlace(); err != nil {
		return err
	}
	if len(i.Areas) == 0 {
		i.Areas = nil
	}
	if len(i.Flags) == 0 {
		i.Flags = nil
	}
	raw, err := compactRaw(i.Raw)
	if err != nil {
		return FieldErrorf("raw", "incident %s/%s: raw row is not JSON", i.Source, i.SourceID)
	}
	i.Raw = raw
	return nil
}

func (i *Incident) normalizePlace() error {
	lon, lat := i.Location.Lon(), i.Location.Lat()
	if math.IsNaN(lon) || math.IsNaN(lat) || lon < -180 || lon > 180 || lat < -90 || lat > 90 {
		return FieldErrorf("location", "incident %s/%s: location %v out of range", i.Source, i.SourceID, i.Location)
	}
	if i.Cell == 0 && i.Location != (orb.Point{}) {
		c, err := CellFromPoint(i.Location, FinestRes)
		if err != nil {
			return FieldErrorf("location", "incident %s/%s: %v", i.Source, i.SourceID, err)
		}
		i.Cell = c
	}
	if i.Cell == 0 {
		return FieldErrorf("cell", "incident %s/%s has neither cell nor location", i.Source, i.SourceID)
	}
	if !i.Cell.Valid() || i.Cell.Res() != FinestRes {
		return FieldErrorf("cell", "incident %s/%s: cell %s is not a resolution %d H3 cell", i.Source, i.SourceID, i.Cell, FinestRes)
	}
	return nil
}

// errInvalidJSON is what compactRaw reports for input that is not JSON;
// callers replace it with their own field error.
var errInvalidJSON = errors.New("invalid JSON")

// compactRaw returns raw without insignificant white space, or nil for empty
// input and JSON null. Its output is json.Compact's, byte for byte: raw
// rows are hashed as they are stored (ContentHash).
func compactRaw(raw json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	out, ok := compactJSON(raw)
	if !ok {
		return nil, errInvalidJSON
	}
	if string(out) == "null" {
		return nil, nil
	}
	return out, nil
}

// ContentHash returns a digest of every stored field of a normalized incident
// except its key (Source, SourceID), ID and UpdatedAt. Stores keep it beside
// the row: an incident whose hash did not change is left alone, which is what
// makes re-loading a feed idempotent and cheap.
func (i *Incident) ContentHash() []byte {
	// The fields go into one buffer, hashed once: the same bytes as
	// writing them to the hash one by one, without an allocation per
	// string. The buffer is on the stack unless the row is unusually
	// large (a load's rows take about 600 bytes, raw row and areas
	// included); growing past it used to cost an allocation and a copy
	// for most rows.
	var arr [1024]byte
	buf := arr[:0]
	putU := func(v uint64) {
		buf = binary.LittleEndian.AppendUint64(buf, v)
	}
	putS := func(s string) {
		putU(uint64(len(s)))
		buf = append(buf, s...)
	}
	putS(string(i.Kind))
	putU(uint64(i.OccurredAt.UnixMicro()))
	if i.TimeKnown {
		putU(1)
	} else {
		putU(0)
	}
	// The day as putS(i.Day.Format(time.DateOnly)) writes it, formatted
	// in place: its length goes in front once it is known.
	at := len(buf)
	putU(0)
	buf = i.Day.AppendFormat(buf, time.DateOnly)
	binary.LittleEndian.PutUint64(buf[at:], uint64(len(buf)-at-8))
	putU(math.Float64bits(i.Location.Lon()))
	putU(math.Float64bits(i.Location.Lat()))
	putS(string(i.Precision))
	putS(i.Address)
	putU(uint64(int64(i.Victims)))
	putU(uint64(int64(i.Naloxone)))
	putS(i.Agency)
	putU(uint64(i.Cell))
	// Areas by key, sorted as pairs: no second map lookup per key, and
	// no allocation for the usual handful of layers.
	var kvArr [16][2]string
	kv := kvArr[:0]
	for k, v := range i.Areas {
		kv = append(kv, [2]string{k, v})
	}
	slices.SortFunc(kv, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	putU(uint64(len(kv)))
	for _, p := range kv {
		putS(p[0])
		putS(p[1])
	}
	putU(uint64(len(i.Flags)))
	for _, f := range i.Flags {
		putS(f)
	}
	// putS(string(i.Raw)), without converting: the conversion copied
	// every raw row.
	putU(uint64(len(i.Raw)))
	buf = append(buf, i.Raw...)
	sum := sha256.Sum256(buf)
	return sum[:]
}

// IncidentChanges returns the fields that differ between two normalized
// versions of one incident as name -> [old, new], in the JSON form a stored
// Revision reads back with (strings, float64, bool, []any, map[string]any), so
// that a revision compares equal before and after a round trip. Field names
// are the storage column names: kind, occurred_at, time_known, day, location
// ([lon, lat], null when purged), precision, address, victims, naloxone,
// agency, cell (hex), areas, flags and raw.
func IncidentChanges(old, cur *Incident) map[string][2]any {
	a, b := incidentFields(old), incidentFields(cur)
	changes := map[string][2]any{}
	for k, av := range a {
		bv := b[k]
		if !reflect.DeepEqual(av, bv) {
			changes[k] = [2]any{av, bv}
		}
	}
	return changes
}

// incidentFields returns the stored fields of i as JSON-decoded values.
func incidentFields(i *Incident) map[string]any {
	var loc any
	if i.Location != (orb.Point{}) {
		loc = []float64{i.Location.Lon(), i.Location.Lat()}
	}
	var raw any
	if len(i.Raw) > 0 {
		raw = i.Raw
	}
	flags := i.Flags
	if flags == nil {
		flags = []string{}
	}
	areas := i.Areas
	if areas == nil {
		areas = map[string]string{}
	}
	m := map[string]any{
		"kind":        i.Kind,
		"occurred_at": i.OccurredAt.UTC().Format(time.RFC3339Nano),
		"time_known":  i.TimeKnown,
		"day":         i.Day.Format(time.DateOnly),
		"location":    loc,
		"precision":   i.Precision,
		"address":     i.Address,
		"victims":     i.Victims,
		"naloxone":    i.Naloxone,
		"agency":      i.Agency,
		"cell":        i.Cell.String(),
		"areas":       areas,
		"flags":       flags,
		"raw":         raw,
	}
	// A round trip through JSON gives the exact types a revision has after
	// it was stored and read back (numbers as float64, objects as maps).
	b, err := json.Marshal(m)
	if err != nil {
		// Raw was validated by Normalize; anything else always marshals.
		panic("geo: marshal incident fields: " + err.Error())
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic("geo: unmarshal incident fields: " + err.Error())
	}
	return out
}

// Validate reports an EINVALID error for an area no store may keep: no code,
// no polygon, or a ring that is not closed or has fewer than four points
// (PostGIS rejects those, so the embedded store must too).
func (a *Area) Validate() error {
	if a.Code == "" {
		return FieldErrorf("code", "area of layer %q without code", a.Layer)
	}
	if len(a.Geometry) == 0 {
		return FieldErrorf("geometry", "area %s/%s without polygon", a.Layer, a.Code)
	}
	for _, poly := range a.Geometry {
		if len(poly) == 0 {
			return FieldErrorf("geometry", "area %s/%s has an empty polygon", a.Layer, a.Code)
		}
		for _, ring := range poly {
			if len(ring) < 4 || !ring.Closed() {
				return FieldErrorf("geometry", "area %s/%s has a ring that is not closed or has fewer than 4 points", a.Layer, a.Code)
			}
		}
	}
	return nil
}

// PrepareQuarantine checks quarantined rows and puts them into the form the
// stores keep: Raw compacted, or, when it is not JSON at all (a malformed
// CSV line), wrapped as a JSON string so nothing is lost. Rows repeating a
// (Source, RowKey) collapse into the last one, since a store keeps one
// unresolved row per key.
func PrepareQuarantine(rows []QuarantinedRow) ([]QuarantinedRow, error) {
	out := make([]QuarantinedRow, 0, len(rows))
	at := map[[2]string]int{}
	for _, r := range rows {
		if r.Source == "" || r.RowKey == "" {
			return nil, FieldErrorf("row_key", "quarantined row needs source and row key")
		}
		if r.Reason == "" {
			return nil, FieldErrorf("reason", "quarantined row %s/%s without reason", r.Source, r.RowKey)
		}
		raw, err := compactRaw(r.Raw)
		if err != nil {
			raw, _ = json.Marshal(string(r.Raw))
		}
		r.Raw = raw
		key := [2]string{r.Source, r.RowKey}
		if i, ok := at[key]; ok {
			out[i] = r
			continue
		}
		at[key] = len(out)
		out = append(out, r)
	}
	return out, nil
}

// PrepareAreas checks a layer and its areas before a store replaces them:
// the layer needs an ID, each area a unique code and valid polygons, and an
// area's Layer, when set, must name the layer (it is filled in when empty).
func PrepareAreas(layer AreaLayer, areas []Area) ([]Area, error) {
	if layer.ID == "" {
		return nil, FieldErrorf("id", "area layer without id")
	}
	out := make([]Area, len(areas))
	seen := map[string]bool{}
	for i, a := range areas {
		if a.Layer == "" {
			a.Layer = layer.ID
		}
		if a.Layer != layer.ID {
			return nil, FieldErrorf("layer", "area %s belongs to layer %q, not %q", a.Code, a.Layer, layer.ID)
		}
		if err := a.Validate(); err != nil {
			return nil, err
		}
		if seen[a.Code] {
			return nil, FieldErrorf("code", "area code %q twice in layer %q", a.Code, layer.ID)
		}
		seen[a.Code] = true
		if len(a.AltNames) == 0 {
			a.AltNames = nil
		}
		out[i] = a
	}
	return out, nil
}

// PrepareRun checks a detection run and its findings before a store saves
// them and fills defaults the same way in every store: StartedAt is now when
// zero, times are UTC at microsecond precision, Params is compacted JSON, a
// finding's Detector defaults to the run's, and empty collections are nil.
func PrepareRun(run DetectionRun, findings []Finding, now time.Time) (DetectionRun, []Finding, error) {
	if run.Detector == "" {
		return run, nil, FieldErrorf("detector", "detection run without detector")
	}
	if run.StartedAt.IsZero() {
		run.StartedAt = now
	}
	us := func(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
	run.StartedAt, run.WindowFrom, run.WindowTo = us(run.StartedAt), us(run.WindowFrom), us(run.WindowTo)
	run.Duration = run.Duration.Truncate(time.Microsecond)
	if len(run.Kinds) == 0 {
		run.Kinds = nil
	}
	params, err := compactRaw(run.Params)
	if err != nil {
		return run, nil, FieldErrorf("params", "detection run params are not JSON")
	}
	run.Params = params
	out := make([]Finding, len(findings))
	for i, f := range findings {
		if f.Detector == "" {
			f.Detector = run.Detector
		}
		if f.Kind == "" {
			return run, nil, FieldErrorf("kind", "finding %d of %s without kind", i, run.Detector)
		}
		for _, v := range f.Stats {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return run, nil, FieldErrorf("stats", "finding %d of %s has a non-finite statistic", i, run.Detector)
			}
		}
		f.Start, f.End = us(f.Start), us(f.End)
		if len(f.Cells) == 0 {
			f.Cells = nil
		}
		if len(f.Stats) == 0 {
			f.Stats = nil
		}
		out[i] = f
	}
	return run, out, nil
}

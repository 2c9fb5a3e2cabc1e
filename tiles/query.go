package tiles

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"hotspots/geo"
)

// Windows are the relative time windows the map's slider offers, in days.
var Windows = map[string]int{"7d": 7, "30d": 30, "90d": 90, "365d": 365, "all": 0}

// Query is the filter of a tile or series request. Relative windows end at
// the last day with data (the "data end"), not at today: a historical extract
// must still show its last 30 days, and for a live feed the two agree.
type Query struct {
	// Kinds are the selected kinds, sorted; nil means every kind.
	Kinds []geo.Kind
	// From and To are explicit days (To inclusive as typed, stored
	// exclusive); zero means open.
	From, To time.Time
	// WindowDays > 0 selects the last N days up to the data end.
	WindowDays int
	// AreaLayer is the area layer of the areas layer.
	AreaLayer string
}

const dayFormat = "2006-01-02"

// ParseQuery reads kinds, from, to, window and area_layer. Errors are 400s
// naming the parameter.
func ParseQuery(v url.Values, ks geo.KindSet) (Query, error) {
	var q Query
	if s := v.Get("kinds"); s != "" {
		kinds, err := ks.ParseKinds(s)
		if err != nil {
			return q, geo.FieldErrorf("kinds", "%s", geo.ErrorMessage(err))
		}
		slices.Sort(kinds)
		q.Kinds = kinds
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		s := v.Get(f.name)
		if s == "" {
			continue
		}
		d, err := time.Parse(dayFormat, s)
		if err != nil {
			return q, geo.FieldErrorf(f.name, "%s %q must be a date YYYY-MM-DD", f.name, s)
		}
		*f.dst = d
	}
	if !q.To.IsZero() {
		q.To = q.To.AddDate(0, 0, 1)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, geo.FieldErrorf("to", "to must not be before from")
	}
	if s := v.Get("window"); s != "" {
		days, ok := Windows[s]
		if !ok {
			return q, geo.FieldErrorf("window", "window %q must be one of 7d, 30d, 90d, 365d, all", s)
		}
		if !q.From.IsZero() || !q.To.IsZero() {
			return q, geo.FieldErrorf("window", "give either window or from/to, not both")
		}
		q.WindowDays = days
	}
	if s := v.Get("area_layer"); s != "" {
		if len(s) > 64 || strings.ContainsAny(s, "/\\ \t\n") {
			return q, geo.FieldErrorf("area_layer", "area_layer %q is not a layer id", s)
		}
		q.AreaLayer = s
	}
	return q, nil
}

// Days resolves the query to a day range [from, to) given the data end
// (the last day with data); nil bounds are open.
func (q Query) Days(dataEnd time.Time) (from, to *time.Time) {
	if q.WindowDays > 0 && !dataEnd.IsZero() {
		f := dataEnd.AddDate(0, 0, 1-q.WindowDays)
		t := dataEnd.AddDate(0, 0, 1)
		return &f, &t
	}
	if !q.From.IsZero() {
		f := q.From
		from = &f
	}
	if !q.To.IsZero() {
		t := q.To
		to = &t
	}
	return from, to
}

// Families returns the kind families the query counts, sorted: the
// families of the selected kinds, or of every kind in ks.
func (q Query) Families(ks geo.KindSet) []string {
	kinds := q.Kinds
	if len(kinds) == 0 {
		kinds = ks.Sorted()
	}
	var out []string
	for _, k := range kinds {
		if f := k.Family(); !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// key is the canonical form of the resolved query, for cache keys.
func (q Query) key(dataEnd time.Time, withArea bool) string {
	return string(q.appendKey(nil, dataEnd, withArea))
}

// appendKey appends key's bytes to b: tile requests build their keys in
// a stack buffer, since every request needs them and most are cache hits.
func (q Query) appendKey(b []byte, dataEnd time.Time, withArea bool) []byte {
	for i, k := range q.Kinds {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
	}
	from, to := q.Days(dataEnd)
	b = append(b, '|')
	if from != nil {
		b = from.AppendFormat(b, dayFormat)
	}
	b = append(b, '|')
	if to != nil {
		b = to.AppendFormat(b, dayFormat)
	}
	if withArea {
		b = append(b, '|')
		b = append(b, q.AreaLayer...)
	}
	return b
}

// dayNumber is days since 1970-01-01: how points carry their date, as an
// integer rather than a per-point text timestamp that would double the tile.
func dayNumber(d time.Time) int {
	return int(d.Unix() / 86400)
}

func itoa(i int) string { return strconv.Itoa(i) }

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
	return queryParams{kinds: v.Get("kinds"), from: v.Get("from"), to: v.Get("to"), window: v.Get("window"),
		areaLayer: v.Get("area_layer")}.parse(ks)
}

// ParseRawQuery is ParseQuery of url.ParseQuery(raw) (what Echo's
// QueryParams holds), without building the map when no parameter needs
// unescaping: a tile request pays for its query on every request, cached
// or not, and url.Values costs a map and a slice per parameter.
func ParseRawQuery(raw string, ks geo.KindSet) (Query, error) {
	qp, ok := rawQueryParams(raw)
	if !ok {
		v, _ := url.ParseQuery(raw) // as URL.Query: the pairs that parse
		return ParseQuery(v, ks)
	}
	return qp.parse(ks)
}

// queryParams are the first values of the parameters a Query reads, ""
// when absent (what url.Values.Get gives).
type queryParams struct{ kinds, from, to, window, areaLayer string }

// rawQueryParams reads raw's pairs as url.ParseQuery splits them; ok is
// false when that needs anything but splitting (an escape, a '+', a ';',
// more than 16 pairs: url.ParseQuery's limit on pairs is 10,000 unless
// GODEBUG urlmaxqueryparams lowers it), which the caller leaves to
// url.ParseQuery.
func rawQueryParams(raw string) (qp queryParams, ok bool) {
	if strings.ContainsAny(raw, "%+;") || strings.Count(raw, "&") >= 16 {
		return qp, false
	}
	set := func(dst *string, v string, seen *bool) {
		if !*seen {
			*dst, *seen = v, true
		}
	}
	var seen [5]bool
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		switch k {
		case "kinds":
			set(&qp.kinds, v, &seen[0])
		case "from":
			set(&qp.from, v, &seen[1])
		case "to":
			set(&qp.to, v, &seen[2])
		case "window":
			set(&qp.window, v, &seen[3])
		case "area_layer":
			set(&qp.areaLayer, v, &seen[4])
		}
	}
	return qp, true
}

func (v queryParams) parse(ks geo.KindSet) (Query, error) {
	var q Query
	if s := v.kinds; s != "" {
		kinds, err := ks.ParseKinds(s)
		if err != nil {
			return q, geo.FieldErrorf("kinds", "%s", geo.ErrorMessage(err))
		}
		slices.Sort(kinds)
		q.Kinds = kinds
	}
	var err error
	if q.From, err = parseDay("from", v.from); err != nil {
		return q, err
	}
	if q.To, err = parseDay("to", v.to); err != nil {
		return q, err
	}
	if !q.To.IsZero() {
		q.To = q.To.AddDate(0, 0, 1)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, geo.FieldErrorf("to", "to must not be before from")
	}
	if s := v.window; s != "" {
		days, ok := Windows[s]
		if !ok {
			return q, geo.FieldErrorf("window", "window %q must be one of 7d, 30d, 90d, 365d, all", s)
		}
		if !q.From.IsZero() || !q.To.IsZero() {
			return q, geo.FieldErrorf("window", "give either window or from/to, not both")
		}
		q.WindowDays = days
	}
	if s := v.areaLayer; s != "" {
		if len(s) > 64 || strings.ContainsAny(s, "/\\ \t\n") {
			return q, geo.FieldErrorf("area_layer", "area_layer %q is not a layer id", s)
		}
		q.AreaLayer = s
	}
	return q, nil
}

// parseDay reads parameter name's date; zero when s is empty.
func parseDay(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse(dayFormat, s)
	if err != nil {
		return time.Time{}, geo.FieldErrorf(name, "%s %q must be a date YYYY-MM-DD", name, s)
	}
	return d, nil
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

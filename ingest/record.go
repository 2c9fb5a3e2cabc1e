package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// Header is the column layout shared by the records of one feed (or of one
// GeoJSON feature's properties). Records share it, so a million-row CSV
// allocates one name index, not a map per row.
type Header struct {
	Names []string
	index map[string]int
	// keysJSON holds each name as RawJSON writes it, `"name":`, encoded
	// once per feed instead of once per row (the keys were a third of the
	// escaping); nil for a header built without NewHeader.
	keysJSON []string
}

// NewHeader builds a header from column names; a repeated name resolves to
// its first column.
func NewHeader(names []string) *Header {
	h := &Header{Names: names, index: make(map[string]int, len(names)), keysJSON: make([]string, len(names))}
	for i, n := range names {
		if _, ok := h.index[n]; !ok {
			h.index[n] = i
		}
		h.keysJSON[i] = string(append(geo.AppendJSONString(nil, n), ':'))
	}
	return h
}

// Index returns the position of column name, or -1.
func (h *Header) Index(name string) int {
	if i, ok := h.index[name]; ok {
		return i
	}
	return -1
}

// Record is one row of a feed as received: values by column, plus the
// geometry for feeds that carry one (GeoJSON, ArcGIS).
type Record struct {
	// Line is the 1-based position of the row in its feed, for messages.
	Line   int
	Header *Header
	Values []string
	// Point is the feature geometry of GeoJSON and ArcGIS rows; nil for CSV.
	Point *orb.Point
	// Err is set for a row the reader could not split into fields (a CSV
	// parse error); such rows are quarantined as malformed, not skipped.
	Err error
}

// Get returns the value of column name, "" when the column is absent.
func (r *Record) Get(name string) string {
	if r.Header == nil {
		return ""
	}
	i := r.Header.Index(name)
	if i < 0 || i >= len(r.Values) {
		return ""
	}
	return r.Values[i]
}

// Has reports whether the record's layout has column name.
func (r *Record) Has(name string) bool {
	return r.Header != nil && r.Header.Index(name) >= 0
}

// RawJSON encodes the record as a JSON object with its columns in feed order
// (and the geometry under "_point" when there is one). It is what is stored
// as Incident.Raw and QuarantinedRow.Raw, so re-processing can rebuild the
// record exactly; the encoding is hand-rolled because it runs once per row.
func (r *Record) RawJSON() json.RawMessage {
	n := 2
	for _, v := range r.Values {
		n += len(v) + 8
	}
	for _, k := range r.Header.Names {
		n += len(k)
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	keys := r.Header.keysJSON
	if len(keys) != len(r.Header.Names) {
		keys = nil
	}
	for i, k := range r.Header.Names {
		if i >= len(r.Values) {
			break
		}
		if i > 0 {
			b = append(b, ',')
		}
		// The key encoded once is used when it is `"k":` for this very
		// name: Names is exported and could have changed since.
		if keys != nil && len(keys[i]) == len(k)+3 && keys[i][1:len(k)+1] == k {
			b = append(b, keys[i]...)
		} else {
			b = geo.AppendJSONString(b, k)
			b = append(b, ':')
		}
		b = geo.AppendJSONString(b, r.Values[i])
	}
	if r.Point != nil {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, `"_point":[`...)
		b = strconv.AppendFloat(b, r.Point.Lon(), 'f', -1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, r.Point.Lat(), 'f', -1, 64)
		b = append(b, ']')
	}
	return append(b, '}')
}

// RecordFromRaw rebuilds a record from its RawJSON form, keeping the column
// order, for re-processing quarantined rows.
func RecordFromRaw(raw json.RawMessage) (Record, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return Record{}, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return Record{}, errNotObject
	}
	var names, values []string
	var pt *orb.Point
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return Record{}, err
		}
		k, _ := kt.(string)
		if k == "_point" {
			var xy [2]float64
			if err := dec.Decode(&xy); err != nil {
				return Record{}, err
			}
			p := orb.Point{xy[0], xy[1]}
			pt = &p
			continue
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return Record{}, err
		}
		names = append(names, k)
		values = append(values, stringOf(v))
	}
	return Record{Header: NewHeader(names), Values: values, Point: pt}, nil
}

// stringOf renders a decoded JSON value the way a CSV cell would hold it.
func stringOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var errNotObject = errors.New("raw row is not a JSON object")

package ingest

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// rawJSONEachKey is RawJSON with every key encoded in turn, as it was
// before the header kept them encoded: raw rows are hashed as written, so
// the bytes must not change.
func rawJSONEachKey(r *Record) []byte {
	b := []byte{'{'}
	for i, k := range r.Header.Names {
		if i >= len(r.Values) {
			break
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = geo.AppendJSONString(b, k)
		b = append(b, ':')
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

func TestRawJSONMatchesEachKey(t *testing.T) {
	pieces := []string{"id", "date", "a b", `q"`, `\`, "<&>", "é", "\xff", "\n", "", "x"}
	r := rand.New(rand.NewPCG(19, 20))
	str := func() string {
		s := ""
		for range r.IntN(3) {
			s += pieces[r.IntN(len(pieces))]
		}
		return s
	}
	for n := range 20000 {
		names := make([]string, r.IntN(6))
		for i := range names {
			names[i] = str()
		}
		h := NewHeader(names)
		switch n % 4 {
		case 1: // a name changed after NewHeader, same length or not
			if len(names) > 0 {
				i := r.IntN(len(names))
				h.Names[i] = str()
				if len(names[i]) > 0 && r.IntN(2) == 0 {
					b := []byte(names[i])
					b[0] = 'Z'
					h.Names[i] = string(b)
				}
			}
		case 2: // a header built without NewHeader
			h = &Header{Names: names}
		}
		rec := Record{Header: h, Values: make([]string, r.IntN(7))}
		for i := range rec.Values {
			rec.Values[i] = str()
		}
		if r.IntN(3) == 0 {
			rec.Point = &orb.Point{r.Float64(), r.Float64()}
		}
		if got, want := rec.RawJSON(), rawJSONEachKey(&rec); string(got) != string(want) {
			t.Fatalf("%q %q: %s, want %s", h.Names, rec.Values, got, want)
		}
	}
}

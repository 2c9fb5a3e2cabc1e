package postgis

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"hotspots/geo"
)

func TestAppendAreasJSON(t *testing.T) {
	for _, m := range []map[string]string{
		{},
		{"neighborhood": "Belair-Edison", "csa": "Cross-Country/Cheswolde"},
		{"a\"b": "c\\d\n\t\x01é", "z": "", "m": "x\u2028y"},
		{"bad": "\xff\xfe"},
	} {
		b := appendAreasJSON(nil, m)
		var back map[string]string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		want, _ := json.Marshal(m)
		var wantBack map[string]string
		if err := json.Unmarshal(want, &wantBack); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, wantBack) {
			t.Errorf("%q decodes to %q, want %q", b, back, wantBack)
		}
	}
}

// appendAreasJSON's bytes are those of sorting the keys and looking each
// up (its first form), for maps of up to 20 layers: the bytes key a load's
// area month groups.
func TestAppendAreasJSONMatchesSortedKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	str := func() string {
		b := make([]byte, r.IntN(6))
		for i := range b {
			b[i] = "ab\"\\<é\x01"[r.IntN(8)]
		}
		return string(b)
	}
	for range 5000 {
		m := map[string]string{}
		for range r.IntN(21) {
			m[str()] = str()
		}
		keys := slices.Sorted(maps.Keys(m))
		want := []byte{'{'}
		for i, k := range keys {
			if i > 0 {
				want = append(want, ',')
			}
			want = geo.AppendJSONString(want, k)
			want = append(want, ':')
			want = geo.AppendJSONString(want, m[k])
		}
		want = append(want, '}')
		if got := appendAreasJSON(nil, m); string(got) != string(want) {
			t.Fatalf("%q: %q, want %q", m, got, want)
		}
	}
}

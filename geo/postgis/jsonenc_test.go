package postgis

import (
	"encoding/json"
	"reflect"
	"testing"
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

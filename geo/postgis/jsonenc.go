package postgis

import (
	"slices"
	"strings"

	"hotspots/geo"
)

// appendAreasJSON appends m as a JSON object with sorted keys, what
// json.Marshal gives but without reflection: the areas column is written
// for every incident of a load. Keys and values are sorted as pairs, so no
// key is looked up again.
func appendAreasJSON(b []byte, m map[string]string) []byte {
	var kvBuf [16][2]string
	kv := kvBuf[:0]
	for k, v := range m {
		kv = append(kv, [2]string{k, v})
	}
	slices.SortFunc(kv, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	b = append(b, '{')
	for i, p := range kv {
		if i > 0 {
			b = append(b, ',')
		}
		b = geo.AppendJSONString(b, p[0])
		b = append(b, ':')
		b = geo.AppendJSONString(b, p[1])
	}
	return append(b, '}')
}

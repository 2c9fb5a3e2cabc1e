package postgis

import (
	"slices"

	"hotspots/geo"
)

// appendAreasJSON appends m as a JSON object with sorted keys, what
// json.Marshal gives but without reflection: the areas column is written
// for every incident of a load.
func appendAreasJSON(b []byte, m map[string]string) []byte {
	var keyBuf [16]string
	keys := keyBuf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = geo.AppendJSONString(b, k)
		b = append(b, ':')
		b = geo.AppendJSONString(b, m[k])
	}
	return append(b, '}')
}

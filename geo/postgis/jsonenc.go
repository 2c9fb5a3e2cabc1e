package postgis

import (
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// appendAreasJSON appends m as a JSON object with sorted keys, what
// json.Marshal gives but without reflection: the areas column is written
// for every incident of a load.
func appendAreasJSON(b []byte, m map[string]string) []byte {
	var keyBuf [16]string
	keys := keyBuf[:0]
	for k, v := range m {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			// json.Marshal's replacement of invalid bytes, rather than
			// reimplementing it.
			out, err := json.Marshal(m)
			if err != nil {
				panic(err) // a map of strings always encodes
			}
			return append(b, out...)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

// appendJSONString appends s, valid UTF-8, as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

package geo

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// checkCompactLikeEncodingJSON fails t unless compactJSON accepts exactly
// what json.Valid accepts and writes exactly what json.Compact writes: the
// compacted raw row is hashed and stored, so any other byte would change
// stored hashes.
func checkCompactLikeEncodingJSON(t *testing.T, src []byte) {
	t.Helper()
	var want bytes.Buffer
	wantErr := json.Compact(&want, src)
	got, ok := compactJSON(src)
	if ok != (wantErr == nil) {
		t.Fatalf("compactJSON(%q) ok = %v, json.Compact error %v", src, ok, wantErr)
	}
	if ok != json.Valid(src) {
		t.Fatalf("compactJSON(%q) ok = %v, json.Valid disagrees", src, ok)
	}
	if ok && !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("compactJSON(%q) = %q, json.Compact gives %q", src, got, want.Bytes())
	}
}

var compactCases = []string{
	``, ` `, `null`, ` null `, `nul`, `nulll`, `true`, `false`, `tru`, `falsey`, `"`, `""`, `"a`,
	`{}`, `[]`, `{ }`, `[ ]`, `{`, `}`, `[`, `]`, `[}`, `{]`, `{"a":1}`, `{"a": 1}`, "{\n\t\"a\" :\r 1 }",
	`{"a":"b c"}`, `{"a":"b c" , "d" : [ 1 , 2 ] }`, `{a:1}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `[1,]`,
	`[,1]`, `[1 2]`, `{"a":1 "b":2}`, `{"a":1}{}`, `{"a":1} x`, `1 2`, `"a" "b"`,
	`0`, `-0`, `01`, `-`, `-a`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1e5`, `1E-5`, `1.5e+10`, `-12.34E0`, `1.e5`,
	`00`, `-01`, `1ee`, `[0,1.0,-0.0e-0]`, `123abc`, `[1true]`, `[true1]`, `[truefalse]`,
	`"\"\\\/\b\f\n\r\t"`, `"\u00e9\uD83D\uDE00"`, `"\u12"`, `"\u12g4"`, `"\x"`, `"\`, `"\u"`,
	"\"tab\there\"", "\"nl\nhere\"", "\"\x00\"", "\"\x1f\"", "\"\x7f\"", "\"\xff\xfe\"", "\"é漢\"",
	"\u00a0{}", "{}\u00a0", "\v{}", "\f{}", "{}\n", "\n\n[\n]\n",
	`{"id":"1","date":"2018-08-20","address":"3300 N TEST ST","lat":"39.347772","_point":[-76.5,39.3]}`,
	`[[[[[]]]]]`, `[{"a":[{"b":{}}]}, [], {}]`, `{"a":{"b":{"c":[1,{"d":null}]}}}`, `{"":""}`, `{"a":1,"a":2}`,
}

func TestCompactJSONLikeEncodingJSON(t *testing.T) {
	for _, s := range compactCases {
		checkCompactLikeEncodingJSON(t, []byte(s))
	}
}

// The nesting limit is encoding/json's: 10,000 open brackets pass, 10,001
// do not.
func TestCompactJSONDepth(t *testing.T) {
	for _, n := range []int{31, 32, 33, 9999, 10000, 10001} {
		for _, open := range []string{"[", `{"k":`} {
			closer := "]"
			if open != "[" {
				closer = "}"
			}
			checkCompactLikeEncodingJSON(t, []byte(strings.Repeat(open, n)+"1"+strings.Repeat(closer, n)))
			checkCompactLikeEncodingJSON(t, []byte(strings.Repeat(open, n)+strings.Repeat(closer, n)))
		}
	}
}

// randomJSON writes a random document with random white space between
// tokens and inside strings, and sometimes a random byte flipped, so both
// valid and invalid inputs come out.
func randomJSON(r *rand.Rand, b []byte, depth int) []byte {
	ws := func() {
		for r.IntN(3) == 0 {
			b = append(b, " \t\n\r"[r.IntN(4)])
		}
	}
	str := func() {
		b = append(b, '"')
		for n := r.IntN(8); n > 0; n-- {
			switch r.IntN(8) {
			case 0:
				b = append(b, ' ')
			case 1:
				b = append(b, `\n`...)
			case 2:
				b = append(b, `\u00e9`...)
			case 3:
				b = append(b, "é"...)
			default:
				b = append(b, byte('a'+r.IntN(26)))
			}
		}
		b = append(b, '"')
	}
	ws()
	switch k := r.IntN(7); {
	case k == 0 && depth < 6:
		b = append(b, '{')
		for n := r.IntN(4); n > 0; n-- {
			ws()
			str()
			ws()
			b = append(b, ':')
			b = randomJSON(r, b, depth+1)
			if n > 1 {
				b = append(b, ',')
			}
		}
		ws()
		b = append(b, '}')
	case k == 1 && depth < 6:
		b = append(b, '[')
		for n := r.IntN(4); n > 0; n-- {
			b = randomJSON(r, b, depth+1)
			if n > 1 {
				b = append(b, ',')
			}
		}
		ws()
		b = append(b, ']')
	case k == 2:
		b = append(b, []string{"true", "false", "null"}[r.IntN(3)]...)
	case k == 3:
		b = append(b, []string{"0", "-1", "12.5", "1e10", "-0.5E-3", "7"}[r.IntN(6)]...)
	default:
		str()
	}
	ws()
	return b
}

func TestCompactJSONRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := randomJSON(r, nil, 0)
		checkCompactLikeEncodingJSON(t, b)
		if len(b) > 0 {
			m := bytes.Clone(b)
			const flips = "{}[],:\" \\x0-.eE\x01"
			m[r.IntN(len(m))] = flips[r.IntN(len(flips))]
			checkCompactLikeEncodingJSON(t, m)
			checkCompactLikeEncodingJSON(t, m[:r.IntN(len(m))])
		}
	}
}

// Already compact input comes back as it is, not copied: ingest's raw rows
// are compact.
func TestCompactJSONNoCopy(t *testing.T) {
	src := []byte(`{"address":"3300 N TEST ST","n":[1,2]}`)
	got, ok := compactJSON(src)
	if !ok || &got[0] != &src[0] {
		t.Fatalf("compactJSON copied compact input (ok %v)", ok)
	}
}

func FuzzCompactJSON(f *testing.F) {
	for _, s := range compactCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		checkCompactLikeEncodingJSON(t, src)
	})
}

func BenchmarkCompactRaw(b *testing.B) {
	raw := json.RawMessage(`{"id":"1","date":"2018-08-20","time":"03:54:00","description":"HOMICIDE","address":"3300 N TEST ST","lat":"39.347772","lon":"-76.586304"}`)
	for b.Loop() {
		if _, err := compactRaw(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONCompactStd(b *testing.B) {
	raw := json.RawMessage(`{"id":"1","date":"2018-08-20","time":"03:54:00","description":"HOMICIDE","address":"3300 N TEST ST","lat":"39.347772","lon":"-76.586304"}`)
	for b.Loop() {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			b.Fatal(err)
		}
	}
}

package tiles

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// gunzip decodes with the standard library, which also checks the CRC-32
// and the length in the trailer.
func gunzip(t testing.TB, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("gzip header: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	return out
}

func TestGzipFixedRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	block := random(300)
	var repeated []byte
	for len(repeated) < fixedMaxInput-300 {
		repeated = append(repeated, block...)
	}
	// A random half followed by itself: matches at a distance of 16 KB.
	half := random(fixedMaxInput / 2)
	far := append(append([]byte{}, half...), half...)
	cases := map[string][]byte{
		"empty":          {},
		"one byte":       {0x1a},
		"three bytes":    {1, 2, 3},
		"four equal":     {9, 9, 9, 9},
		"run of 1000":    bytes.Repeat([]byte{0x82}, 1000),
		"random 32 KB":   random(fixedMaxInput),
		"period 300":     repeated,
		"distance 16 KB": far,
		"every byte": func() []byte {
			b := make([]byte, 512)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}(),
	}
	files, _ := filepath.Glob("testdata/*.mvt")
	if len(files) == 0 {
		t.Fatal("no testdata tiles")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases[f] = b
	}
	for name, in := range cases {
		// Twice, so the second run reuses the pooled matcher whose table
		// still holds the first run's positions.
		for range 2 {
			gz := appendGzipFixed([]byte("prefix"), in)
			if !bytes.HasPrefix(gz, []byte("prefix")) {
				t.Fatalf("%s: dst not kept", name)
			}
			if got := gunzip(t, gz[len("prefix"):]); !bytes.Equal(got, in) {
				t.Fatalf("%s: round trip gave %d bytes, want %d", name, len(got), len(in))
			}
		}
	}
	// Matches must actually be found: repetitive input shrinks to a few
	// percent, a real tile by a quarter or more.
	if gz := appendGzipFixed(nil, repeated); len(gz) > len(repeated)/20 {
		t.Errorf("period-300 input: %d bytes gzipped from %d", len(gz), len(repeated))
	}
	for _, f := range files {
		if gz := appendGzipFixed(nil, cases[f]); float64(len(gz)) > 0.75*float64(len(cases[f])) {
			t.Errorf("%s: %d bytes gzipped from %d", f, len(gz), len(cases[f]))
		}
	}
}

// TestDistCode checks the distance codes against RFC 1951's table.
func TestDistCode(t *testing.T) {
	base := []int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	extra := []uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	for d := 1; d <= 32768; d++ {
		c := len(base) - 1
		for base[c] > d {
			c--
		}
		var rev uint32
		for i := range 5 {
			rev |= uint32(c>>i&1) << (4 - i)
		}
		want := rev | uint32(d-base[c])<<5
		got, n := distCode(d)
		if got != want || n != 5+extra[c] {
			t.Fatalf("distance %d: got %b/%d, want %b/%d", d, got, n, want, 5+extra[c])
		}
	}
}

func TestGzipFixedRefusesOver32KB(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic on 32 KB + 1")
		}
	}()
	appendGzipFixed(nil, make([]byte, fixedMaxInput+1))
}

// TestGzippedPicksEncoder: tiles up to GzipFixedMaxBytes get the fixed
// codes, larger ones klauspost's, and both decode to the tile.
func TestGzippedPicksEncoder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{GzipMinBytes - 1, GzipMinBytes, GzipFixedMaxBytes, GzipFixedMaxBytes + 1, 20000} {
		raw := make([]byte, n)
		for i := range raw {
			raw[i] = byte(r.IntN(16))
		}
		tl, err := gzipped(raw)
		if err != nil {
			t.Fatal(err)
		}
		if n < GzipMinBytes {
			if tl.Gzip != nil {
				t.Fatalf("%d bytes: gzipped below GzipMinBytes", n)
			}
			continue
		}
		if got := gunzip(t, tl.Gzip); !bytes.Equal(got, raw) {
			t.Fatalf("%d bytes: round trip", n)
		}
		// The fixed encoder writes BTYPE=01 in the first block header.
		fixed := tl.Gzip[10]&0b110 == 0b010
		if fixed != (n <= GzipFixedMaxBytes) {
			t.Errorf("%d bytes: fixed codes %t", n, fixed)
		}
	}
}

func FuzzGzipFixed(f *testing.F) {
	f.Add([]byte("hello hello hello hello"))
	f.Add(bytes.Repeat([]byte{0, 1, 2}, 400))
	if b, err := os.ReadFile("testdata/14-4705-6244.mvt"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > fixedMaxInput {
			in = in[:fixedMaxInput]
		}
		if got := gunzip(t, appendGzipFixed(nil, in)); !bytes.Equal(got, in) {
			t.Fatalf("round trip of %d bytes", len(in))
		}
	})
}

package tiles

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/paulmach/orb/encoding/mvt"
)

// gzipPool keeps gzip writers: a fresh writer allocates about 800 KB of
// tables, which for a half-kilobyte tile costs 40 times the compression
// itself (see the tile benchmark notes). BestSpeed: on tiles of a few KB it
// is about a third faster than the default level for ~10% more bytes.
// klauspost/compress rather than compress/gzip: same format, and on an
// 8.5 KB hex tile 1.55x faster at BestSpeed (4.1 KB out against 3.9 KB);
// once the hex layer is written directly, gzip is most of an uncached
// tile's CPU.
var gzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// Gzip compresses b with a pooled writer.
func Gzip(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(b)/2 + 64)
	w := gzipPool.Get().(*gzip.Writer)
	defer gzipPool.Put(w)
	w.Reset(&buf)
	if _, err := w.Write(b); err != nil {
		return nil, fmt.Errorf("gzip tile: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("gzip tile: %w", err)
	}
	return buf.Bytes(), nil
}

// GzipMinBytes is the smallest encoded tile that is also kept gzipped;
// smaller tiles go out plain to every client: such a tile and its headers
// fit in one TCP segment either way (the reason web servers have
// gzip_min_length).
const GzipMinBytes = 1024

// GzipFixedMaxBytes is the largest tile gzipped with fixed Huffman codes
// (appendGzipFixed) rather than klauspost's dynamic ones. Measured on the
// benchmark's own hex tiles: from 1 to 4 KB the fixed codes come out as
// small (68.4% of the input against 69.0%) in a third to a quarter of the
// time; on 4-15 KB tiles the dynamic tables save 6% more bytes, worth
// their cost once a tile is cached and served many times.
const GzipFixedMaxBytes = 4096

// Tile is one encoded tile, plain and (from GzipMinBytes) gzipped, so a
// client that does not accept gzip costs no decompression.
type Tile struct {
	Raw []byte
	// Gzip is Raw gzipped, nil when Raw is under GzipMinBytes.
	Gzip []byte
}

// Size is the memory the tile holds, for the cache's budget.
func (t *Tile) Size() int { return len(t.Raw) + len(t.Gzip) + 64 }

// encode marshals layers in the given order (never through a map, so the
// bytes are stable) and gzips them. Empty layers are left out; a tile with
// no features at all is an empty body, which MapLibre accepts.
func encode(layers ...*mvt.Layer) (*Tile, error) {
	kept := make(mvt.Layers, 0, len(layers))
	for _, l := range layers {
		if l != nil && len(l.Features) > 0 {
			kept = append(kept, l)
		}
	}
	if len(kept) == 0 {
		return gzipped([]byte{})
	}
	raw, err := mvt.Marshal(kept)
	if err != nil {
		return nil, fmt.Errorf("marshal tile: %w", err)
	}
	return gzipped(raw)
}

// gzipped pairs an encoded tile with its gzipped form, for tiles of at
// least GzipMinBytes.
func gzipped(raw []byte) (*Tile, error) {
	if len(raw) < GzipMinBytes {
		return &Tile{Raw: raw}, nil
	}
	if len(raw) <= GzipFixedMaxBytes {
		return &Tile{Raw: raw, Gzip: appendGzipFixed(make([]byte, 0, len(raw)*3/4+32), raw)}, nil
	}
	gz, err := Gzip(raw)
	if err != nil {
		return nil, err
	}
	return &Tile{Raw: raw, Gzip: gz}, nil
}

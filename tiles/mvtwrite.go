package tiles

import (
	"encoding/binary"
	"sync"

	"github.com/paulmach/orb"
)

// layerWriter writes one Mapbox Vector Tile layer straight into protobuf
// bytes. The hex layer is the hot path of the map (every pan and zoom of
// every viewer asks for it), and going through orb's mvt.Marshal there
// meant a geojson.Feature, a property map, a gogo-protobuf struct per
// feature and value and a map lookup per property per tile: measured at
// about 60% of an uncached hex tile's CPU before gzip. Writing the wire
// format directly costs a few appends per feature and no allocation once
// the pooled buffers have grown. Other layers (few requests, varied
// properties) stay on orb's encoder; tests decode this writer's output
// with orb and compare it with orb's own encoding of the same features.
//
// The wire format is the MVT 2.1 protobuf: Tile.layers (3), Layer.name (1),
// features (2), keys (3), values (4), extent (5), version (15);
// Feature.tags (2, packed), type (3), geometry (4, packed); Value.string (1),
// sint (6), bool (7).
type layerWriter struct {
	keys    []string // the layer's possible keys, by slot
	keyIdx  []int32  // slot -> index in the emitted keys table, -1 unused
	keyOut  []int32  // emitted keys, as slots, in order
	feats   []byte   // encoded Layer.features fields
	vals    []byte   // encoded Layer.values fields
	nvals   uint32
	ints    []intValue       // sint values written, so repeated counts share one: the first few,
	intsMap map[int64]uint32 // then the rest (a linear scan of a handful beats hashing)
	trueIdx int64            // index of the bool value true, -1 if none yet
	tags    []uint32         // the current feature's tags
	geom    []byte           // the current feature's geometry commands, varint encoded
	scratch []byte
	slab    []orb.Point // projected rings of the current tile, for the caller
	clip    clipBufs    // the clip's passes, for the caller
	n       int         // features written
}

// intValue is a sint value and its index among the layer's values.
type intValue struct {
	v int64
	i uint32
}

// linearInts is how many distinct sint values a layer keeps in
// layerWriter.ints before it turns to the map: a z15-16 hex tile has a few
// dozen, a z10 tile hundreds.
const linearInts = 32

var layerWriters = sync.Pool{New: func() any { return &layerWriter{intsMap: map[int64]uint32{}} }}

// getLayerWriter returns a pooled writer for a layer whose properties are
// among keys; release it with put.
func getLayerWriter(keys []string) *layerWriter {
	w := layerWriters.Get().(*layerWriter)
	w.keys = keys
	w.keyIdx = w.keyIdx[:0]
	for range keys {
		w.keyIdx = append(w.keyIdx, -1)
	}
	w.keyOut = w.keyOut[:0]
	w.feats = w.feats[:0]
	w.vals = w.vals[:0]
	w.nvals = 0
	w.ints = w.ints[:0]
	if len(w.intsMap) > 0 {
		clear(w.intsMap)
	}
	w.trueIdx = -1
	w.tags = w.tags[:0]
	w.geom = w.geom[:0]
	w.n = 0
	return w
}

func (w *layerWriter) put() {
	if cap(w.feats) > 1<<20 || cap(w.vals) > 1<<20 {
		return // an outsized tile's buffers are not worth keeping
	}
	w.keys = nil
	layerWriters.Put(w)
}

// key returns the emitted index of key slot k.
func (w *layerWriter) key(k int) uint32 {
	if w.keyIdx[k] < 0 {
		w.keyIdx[k] = int32(len(w.keyOut))
		w.keyOut = append(w.keyOut, int32(k))
	}
	return uint32(w.keyIdx[k])
}

// String tags the current feature with a string value. Strings are not
// shared between features: the hex layer's only string is the cell id,
// which is unique within a tile.
func (w *layerWriter) String(k int, s string) {
	w.scratch = w.scratch[:0]
	w.scratch = append(w.scratch, 0x0a) // Value.string_value
	w.scratch = binary.AppendUvarint(w.scratch, uint64(len(s)))
	w.scratch = append(w.scratch, s...)
	w.tags = append(w.tags, w.key(k), w.value(w.scratch))
}

// Int tags the current feature with an integer (a sint value, as orb
// encodes Go ints), shared by every feature with the same value.
func (w *layerWriter) Int(k int, v int64) {
	i, ok := w.intIndex(v)
	if !ok {
		w.scratch = w.scratch[:0]
		w.scratch = append(w.scratch, 0x30) // Value.sint_value
		w.scratch = binary.AppendUvarint(w.scratch, uint64((v<<1)^(v>>63)))
		i = w.value(w.scratch)
		if len(w.ints) < linearInts {
			w.ints = append(w.ints, intValue{v, i})
		} else {
			w.intsMap[v] = i
		}
	}
	w.tags = append(w.tags, w.key(k), i)
}

// intIndex returns the index of sint value v if the layer has it.
func (w *layerWriter) intIndex(v int64) (uint32, bool) {
	for _, e := range w.ints {
		if e.v == v {
			return e.i, true
		}
	}
	if len(w.ints) < linearInts {
		return 0, false
	}
	i, ok := w.intsMap[v]
	return i, ok
}

// True tags the current feature with the boolean true.
func (w *layerWriter) True(k int) {
	if w.trueIdx < 0 {
		w.trueIdx = int64(w.value([]byte{0x38, 1})) // Value.bool_value
	}
	w.tags = append(w.tags, w.key(k), uint32(w.trueIdx))
}

// value appends one encoded Value message and returns its index.
func (w *layerWriter) value(msg []byte) uint32 {
	w.vals = append(w.vals, 0x22) // Layer.values
	w.vals = binary.AppendUvarint(w.vals, uint64(len(msg)))
	w.vals = append(w.vals, msg...)
	w.nvals++
	return w.nvals - 1
}

// Ring adds one ring, in tile units, to the current feature's polygon:
// MoveTo its first point, LineTo the rest (the closing point left out),
// ClosePath. Coordinates are relative to the previous point, starting
// from the origin for each feature, as the specification wants.
func (w *layerWriter) Ring(r orb.Ring, px, py *int32) {
	n := len(r)
	if n > 1 && r[0] == r[n-1] {
		n--
	}
	if n < 3 {
		return
	}
	w.geom = binary.AppendUvarint(w.geom, 1|1<<3) // MoveTo, 1
	w.point(r[0], px, py)
	w.geom = binary.AppendUvarint(w.geom, uint64(2|uint32(n-1)<<3)) // LineTo, n-1
	for _, q := range r[1:n] {
		w.point(q, px, py)
	}
	w.geom = binary.AppendUvarint(w.geom, 7|1<<3) // ClosePath
}

func (w *layerWriter) point(q orb.Point, px, py *int32) {
	x, y := int32(q[0]), int32(q[1])
	dx, dy := x-*px, y-*py
	*px, *py = x, y
	w.geom = binary.AppendUvarint(w.geom, uint64(zigzag(dx)))
	w.geom = binary.AppendUvarint(w.geom, uint64(zigzag(dy)))
}

func zigzag(v int32) uint32 { return uint32((v << 1) ^ (v >> 31)) }

// EncodedRing adds the feature's only ring when the caller has its
// encoding from the LineTo command on (ringTail): everything after the
// first point is relative, so it does not depend on the tile.
func (w *layerWriter) EncodedRing(x0, y0 int32, tail []byte) {
	w.geom = binary.AppendUvarint(w.geom, 1|1<<3) // MoveTo, 1
	w.geom = binary.AppendUvarint(w.geom, uint64(zigzag(x0)))
	w.geom = binary.AppendUvarint(w.geom, uint64(zigzag(y0)))
	w.geom = append(w.geom, tail...)
}

// ringTail appends the encoding of ring r (n distinct vertices, unclosed,
// n >= 3) from its LineTo command on: what Ring writes after the first
// point.
func ringTail(dst []byte, r [][2]int64) []byte {
	dst = binary.AppendUvarint(dst, uint64(2|uint32(len(r)-1)<<3)) // LineTo
	for i := 1; i < len(r); i++ {
		dst = binary.AppendUvarint(dst, uint64(zigzag(int32(r[i][0]-r[i-1][0]))))
		dst = binary.AppendUvarint(dst, uint64(zigzag(int32(r[i][1]-r[i-1][1]))))
	}
	return binary.AppendUvarint(dst, 7|1<<3) // ClosePath
}

// EndPolygon writes the current feature as a polygon and starts the next.
// A feature without geometry is dropped.
func (w *layerWriter) EndPolygon() {
	if len(w.geom) > 0 {
		f := w.scratch[:0]
		f = appendPacked(f, 0x12, w.tags) // Feature.tags
		f = append(f, 0x18, 3)            // Feature.type = POLYGON
		f = append(f, 0x22)               // Feature.geometry, packed
		f = binary.AppendUvarint(f, uint64(len(w.geom)))
		f = append(f, w.geom...)
		w.feats = append(w.feats, 0x12) // Layer.features
		w.feats = binary.AppendUvarint(w.feats, uint64(len(f)))
		w.feats = append(w.feats, f...)
		w.scratch = f
		w.n++
	}
	w.tags = w.tags[:0]
	w.geom = w.geom[:0]
}

// appendPacked appends a packed repeated uint32 field.
func appendPacked(dst []byte, tag byte, v []uint32) []byte {
	size := 0
	for _, x := range v {
		size += uvarintLen(uint64(x))
	}
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(size))
	for _, x := range v {
		dst = binary.AppendUvarint(dst, uint64(x))
	}
	return dst
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// Tile returns the encoded tile holding this one layer, in a new slice of
// exactly its size (tiles outlive the pooled writer in the cache); an
// empty layer gives an empty tile, as encode does.
func (w *layerWriter) Tile(name string) []byte {
	if w.n == 0 {
		return []byte{}
	}
	var hdr [16]byte
	body := 0
	body += 1 + uvarintLen(uint64(len(name))) + len(name) // name
	body += len(w.feats)
	for _, k := range w.keyOut {
		s := w.keys[k]
		body += 1 + uvarintLen(uint64(len(s))) + len(s)
	}
	body += len(w.vals)
	body += 1 + uvarintLen(Extent) // extent
	body += 1 + 1                  // version 2
	h := binary.AppendUvarint(append(hdr[:0], 0x1a), uint64(body))
	out := make([]byte, 0, len(h)+body)
	out = append(out, h...)
	out = append(out, 0x0a)
	out = binary.AppendUvarint(out, uint64(len(name)))
	out = append(out, name...)
	out = append(out, w.feats...)
	for _, k := range w.keyOut {
		s := w.keys[k]
		out = append(out, 0x1a)
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	out = append(out, w.vals...)
	out = append(out, 0x28)
	out = binary.AppendUvarint(out, Extent)
	out = append(out, 0x78, 2)
	return out
}

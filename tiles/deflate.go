package tiles

import (
	"encoding/binary"
	"hash/crc32"
	"math/bits"
	"sync"
)

// Small tiles are gzipped here with DEFLATE's fixed Huffman codes rather
// than through klauspost/compress. A general deflater builds dynamic
// Huffman tables for every block; on a one-to-four-kilobyte MVT, whose
// bytes span most of the alphabet, building them cost 15-35 µs on this
// machine (compress/flate and klauspost alike, most of it in the tables'
// bit counts), more than cutting and encoding the tile. The fixed codes
// need no tables: the matches still shrink the repeated feature tags and
// geometry commands, and the literals cost about what they weigh. Larger
// tiles, where dynamic tables pay for themselves, still go through
// klauspost (see GzipFixedMaxBytes). No library exposes a fixed-codes-only
// deflater; the output is checked by decoding it with compress/gzip.

// fixedMaxInput is the most appendGzipFixed takes: DEFLATE distances reach
// back 32 KB, and the matcher never checks a candidate's distance.
const fixedMaxInput = 32 << 10

// Length and distance code tables of RFC 1951 section 3.2.5.
var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
)

// fixedCode is one symbol's fixed Huffman code, bit-reversed for the
// least-significant-bit-first stream, with its length folded in the
// extra bits of the length symbols.
type fixedCode struct {
	code uint32
	n    uint8
}

var (
	litCodes [288]fixedCode
	// lenCodes[l-3] is the length symbol's code for a match of l bytes
	// with its extra bits already appended.
	lenCodes [256]fixedCode
)

func init() {
	for s := range 288 {
		var c uint32
		var n uint8
		switch {
		case s < 144:
			c, n = 0x30+uint32(s), 8
		case s < 256:
			c, n = 0x190+uint32(s-144), 9
		case s < 280:
			c, n = uint32(s-256), 7
		default:
			c, n = 0xC0+uint32(s-280), 8
		}
		litCodes[s] = fixedCode{bits.Reverse32(c) >> (32 - n), n}
	}
	for l := 3; l <= 258; l++ {
		i := 28
		for int(lengthBase[i]) > l {
			i--
		}
		sym := litCodes[257+i]
		extra := uint32(l - int(lengthBase[i]))
		lenCodes[l-3] = fixedCode{sym.code | extra<<sym.n, sym.n + lengthExtra[i]}
	}
}

// distCode returns the 5-bit distance code (bit-reversed) with its extra
// bits appended, and their total length, for a distance of 1..32768.
func distCode(d int) (uint32, uint8) {
	d1 := uint32(d - 1)
	var code, extra uint32
	var nExtra uint8
	if d1 < 4 {
		code = d1
	} else {
		nb := uint8(bits.Len32(d1) - 1)
		code = 2*uint32(nb) + (d1>>(nb-1))&1
		nExtra = nb - 1
		extra = d1 & (1<<nExtra - 1)
	}
	return bits.Reverse32(code)>>27 | extra<<5, 5 + nExtra
}

// bitWriter appends a little-endian bit stream to a byte slice.
type bitWriter struct {
	out  []byte
	acc  uint64
	nacc uint8
}

func (w *bitWriter) put(code uint32, n uint8) {
	w.acc |= uint64(code) << w.nacc
	w.nacc += n
	if w.nacc >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.nacc -= 32
	}
}

func (w *bitWriter) flush() {
	for w.nacc > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		if w.nacc < 8 {
			w.nacc = 0
		} else {
			w.nacc -= 8
		}
	}
}

const (
	matchHashBits = 12
	minMatch      = 4
)

// matcher holds the hash table of recent positions. Entries are stored
// offset by gen, which moves past every input, so the table never needs
// clearing between tiles.
type matcher struct {
	table [1 << matchHashBits]int32
	gen   int32
}

var matcherPool = sync.Pool{New: func() any { return new(matcher) }}

func hash4(u uint32) uint32 { return (u * 2654435761) >> (32 - matchHashBits) }

// appendGzipFixed appends src gzipped (one final DEFLATE block with fixed
// Huffman codes, greedy matches of 4 to 258 bytes) to dst. It panics on
// more than fixedMaxInput bytes, which would need distance checks.
func appendGzipFixed(dst, src []byte) []byte {
	if len(src) > fixedMaxInput {
		panic("tiles: appendGzipFixed input over 32 KB")
	}
	dst = append(dst, 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff)
	w := bitWriter{out: dst}
	w.put(3, 3) // BFINAL, BTYPE=01 (fixed codes)
	m := matcherPool.Get().(*matcher)
	if m.gen > 1<<30 {
		clear(m.table[:])
		m.gen = 0
	}
	base := m.gen + 1 // stored positions are i+base, so 0 is never a position
	n := len(src)
	lit := 0
	for i := 0; i+minMatch <= n; {
		cur := binary.LittleEndian.Uint32(src[i:])
		h := hash4(cur)
		cand := int(m.table[h] - base)
		m.table[h] = int32(i) + base
		if cand < 0 || cand >= i || binary.LittleEndian.Uint32(src[cand:]) != cur {
			i++
			continue
		}
		l := minMatch
		for i+l < n && l < 258 && src[cand+l] == src[i+l] {
			l++
		}
		for _, b := range src[lit:i] {
			c := litCodes[b]
			w.put(c.code, c.n)
		}
		c := lenCodes[l-3]
		w.put(c.code, c.n)
		dc, dn := distCode(i - cand)
		w.put(dc, dn)
		i += l
		lit = i
	}
	for _, b := range src[lit:] {
		c := litCodes[b]
		w.put(c.code, c.n)
	}
	eob := litCodes[256]
	w.put(eob.code, eob.n)
	w.flush()
	m.gen = base + int32(n)
	matcherPool.Put(m)
	out := binary.LittleEndian.AppendUint32(w.out, crc32.ChecksumIEEE(src))
	return binary.LittleEndian.AppendUint32(out, uint32(n))
}

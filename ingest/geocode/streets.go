package geocode

import (
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// addrRange is one side's from/to address range of a centerline segment.
// Both zero means the side has no addresses; from may exceed to.
type addrRange struct{ from, to int32 }

func (r addrRange) empty() bool { return r.from == 0 && r.to == 0 }

func (r addrRange) lo() int32 { return min(r.from, r.to) }
func (r addrRange) hi() int32 { return max(r.from, r.to) }

func (r addrRange) contains(n int32) bool { return !r.empty() && n >= r.lo() && n <= r.hi() }

// parityOK reports whether n is on this side: Baltimore, like most US
// cities, keeps odd numbers on one side of a street and even on the other.
func (r addrRange) parityOK(n int32) bool {
	return r.from%2 == r.to%2 && r.from%2 == n%2
}

// segment is one centerline piece with its address ranges.
type segment struct {
	id         int32 // feature position in the source file
	variant    int32
	block      int32 // DOT block number, -1 when none
	ranges     [4]addrRange
	lo, hi     int32 // span over all non-empty ranges
	start, end int32 // points are network.pts[start:end]
	length     float64
	// blockOnly marks a segment whose ranges were all zero but whose DOT
	// block number is known: it can place a block, never a house.
	blockOnly bool
	repaired  bool
}

// variant is one distinct street: directional, name, type and suffix, e.g.
// `W NORTH AVE` and `E NORTH AVE` are two variants of the name NORTH.
type variant struct {
	dir, name, typ, suf string
	full                string
	addressed           []int32 // segments with ranges, sorted by lo
	all                 []int32 // every segment, for intersections
	maxSpan             int32
}

// network is the in-memory street index. It is immutable after loading, so
// one network serves any number of goroutines without locks.
type network struct {
	pts      []orb.Point
	breaks   map[int32][]int32 // segment -> point indexes that start a new part
	segs     []segment
	variants []variant
	byName   map[string][]int32     // nameKey -> variants
	keys     []string               // all name keys, for fuzzy matching
	nodes    map[uint64][]int32     // endpoint -> variants meeting there
	named    map[string][]orb.Point // "KEYA|KEYB" (sorted) -> intersection points
	repaired int
}

// Bundled street file names inside a city's streets folder.
const (
	CenterlinesFile   = "centerlines.csv.gz"
	IntersectionsFile = "intersections.csv.gz"
)

// maybeGunzip lets callers hand either a gzipped or a plain CSV.
func maybeGunzip(r io.Reader) (io.Reader, func() error, error) {
	br := newPeekReader(r)
	head, _ := br.peek(2)
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, func() error { return nil }, nil
}

type peekReader struct {
	r   io.Reader
	buf []byte
}

func newPeekReader(r io.Reader) *peekReader { return &peekReader{r: r} }

func (p *peekReader) peek(n int) ([]byte, error) {
	for len(p.buf) < n {
		b := make([]byte, n-len(p.buf))
		k, err := p.r.Read(b)
		p.buf = append(p.buf, b[:k]...)
		if err != nil {
			return p.buf, err
		}
	}
	return p.buf[:n], nil
}

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.buf) > 0 {
		n := copy(b, p.buf)
		p.buf = p.buf[n:]
		return n, nil
	}
	return p.r.Read(b)
}

// loadNetwork reads the trimmed centerline CSV (see cities/baltimore/streets/README.md).
func loadNetwork(r io.Reader) (*network, error) {
	zr, closeFn, err := maybeGunzip(r)
	if err != nil {
		return nil, fmt.Errorf("geocode: centerlines: %w", err)
	}
	defer closeFn()
	cr := csv.NewReader(zr)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("geocode: centerlines header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, c := range []string{"id", "dirpre", "feanme", "featype", "dirsuf", "fraddl", "toaddl", "fraddr", "toaddr", "block_num", "geometry"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("geocode: centerlines: column %q missing", c)
		}
	}
	n := &network{
		breaks: map[int32][]int32{},
		byName: map[string][]int32{},
		nodes:  map[uint64][]int32{},
		named:  map[string][]orb.Point{},
	}
	variantIdx := map[string]int32{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("geocode: centerlines line %d: %w", line, err)
		}
		if err := n.addSegment(rec, col, variantIdx); err != nil {
			return nil, fmt.Errorf("geocode: centerlines line %d: %w", line, err)
		}
	}
	n.finish()
	return n, nil
}

func (n *network) addSegment(rec []string, col map[string]int, variantIdx map[string]int32) error {
	street := strings.Join([]string{rec[col["dirpre"]], rec[col["feanme"]], rec[col["featype"]], rec[col["dirsuf"]]}, " ")
	a, err := ParseAddress(street)
	if err != nil || a.HasNumber || a.Cross != nil {
		// Unnamed pieces (ramps, NO NAME) still carry geometry, but nothing can
		// be addressed on them, so they are skipped.
		return nil
	}
	id, err := strconv.Atoi(rec[col["id"]])
	if err != nil {
		return fmt.Errorf("id: %w", err)
	}
	seg := segment{id: int32(id), block: -1}
	if b, err := atoi32(rec[col["block_num"]]); err == nil && b >= 0 {
		seg.block = b
	}
	for i, pair := range [4][2]string{{"fraddl", "toaddl"}, {"fraddr", "toaddr"}, {"fraddla", "toaddla"}, {"fraddra", "toaddra"}} {
		fi, ok1 := col[pair[0]]
		ti, ok2 := col[pair[1]]
		if !ok1 || !ok2 {
			continue
		}
		f, err1 := atoi32(rec[fi])
		t, err2 := atoi32(rec[ti])
		if err1 == nil && err2 == nil && f >= 0 && t >= 0 {
			seg.ranges[i] = addrRange{f, t}
		}
	}
	seg.start = int32(len(n.pts))
	if err := n.addGeometry(rec[col["geometry"]], int32(len(n.segs))); err != nil {
		return err
	}
	seg.end = int32(len(n.pts))
	if seg.end-seg.start < 2 {
		n.pts = n.pts[:seg.start]
		return nil
	}
	seg.length = n.lineLength(int32(len(n.segs)), seg.start, seg.end)
	seg.repaired = repairRanges(&seg)
	if seg.repaired {
		n.repaired++
	}
	key := a.Street()
	vi, ok := variantIdx[key]
	if !ok {
		vi = int32(len(n.variants))
		variantIdx[key] = vi
		n.variants = append(n.variants, variant{dir: a.Dir, name: a.Name, typ: a.Type, suf: a.SufDir, full: key})
		for _, k := range nameAliases(a.Name) {
			n.byName[k] = append(n.byName[k], vi)
		}
	}
	seg.variant = vi
	n.segs = append(n.segs, seg)
	return nil
}

// nameAliases lists the index keys of a street name: THE ALAMEDA is also
// found as ALAMEDA.
func nameAliases(name string) []string {
	keys := []string{nameKey(name)}
	if rest, ok := strings.CutPrefix(name, "THE "); ok {
		keys = append(keys, nameKey(rest))
	}
	return keys
}

func atoi32(s string) (int32, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	v, err := strconv.ParseInt(s, 10, 32)
	return int32(v), err
}

// addGeometry parses "lon lat;lon lat|lon lat;…" into the point pool.
func (n *network) addGeometry(g string, seg int32) error {
	for pi, part := range strings.Split(g, "|") {
		if pi > 0 {
			n.breaks[seg] = append(n.breaks[seg], int32(len(n.pts)))
		}
		for _, c := range strings.Split(part, ";") {
			lon, lat, ok := strings.Cut(c, " ")
			if !ok {
				return fmt.Errorf("coordinate %q", c)
			}
			x, err1 := strconv.ParseFloat(lon, 64)
			y, err2 := strconv.ParseFloat(lat, 64)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("coordinate %q", c)
			}
			n.pts = append(n.pts, orb.Point{x, y})
		}
	}
	return nil
}

// finish sorts each variant's segments by address and builds the node index.
func (n *network) finish() {
	for si := range n.segs {
		s := &n.segs[si]
		v := &n.variants[s.variant]
		v.all = append(v.all, int32(si))
		if s.hi >= 0 {
			v.addressed = append(v.addressed, int32(si))
			v.maxSpan = max(v.maxSpan, s.hi-s.lo)
		}
		for _, p := range []orb.Point{n.pts[s.start], n.pts[s.end-1]} {
			k := nodeKey(p)
			if !containsI32(n.nodes[k], s.variant) {
				n.nodes[k] = append(n.nodes[k], s.variant)
			}
		}
	}
	for vi := range n.variants {
		v := &n.variants[vi]
		sort.SliceStable(v.addressed, func(i, j int) bool {
			return n.segs[v.addressed[i]].lo < n.segs[v.addressed[j]].lo
		})
	}
	for k := range n.byName {
		n.keys = append(n.keys, k)
	}
	sort.Strings(n.keys)
}

func containsI32(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// loadIntersections reads the named intersection list (id, name, lon, lat;
// names like `RUTH AV & TOWNSEND AV & TOWNSEND AVE`) into a pair index.
func (n *network) loadIntersections(r io.Reader) error {
	zr, closeFn, err := maybeGunzip(r)
	if err != nil {
		return fmt.Errorf("geocode: intersections: %w", err)
	}
	defer closeFn()
	cr := csv.NewReader(zr)
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("geocode: intersections header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, c := range []string{"name", "lon", "lat"} {
		if _, ok := col[c]; !ok {
			return fmt.Errorf("geocode: intersections: column %q missing", c)
		}
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("geocode: intersections line %d: %w", line, err)
		}
		lon, err1 := strconv.ParseFloat(rec[col["lon"]], 64)
		lat, err2 := strconv.ParseFloat(rec[col["lat"]], 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("geocode: intersections line %d: bad coordinate", line)
		}
		var keys []string
		for _, part := range strings.Split(rec[col["name"]], "&") {
			a, err := ParseAddress(part)
			if err != nil {
				continue
			}
			if k := nameKey(a.Name); !containsStr(keys, k) {
				keys = append(keys, k)
			}
		}
		for i := range keys {
			for j := i + 1; j < len(keys); j++ {
				pk := pairKey(keys[i], keys[j])
				n.named[pk] = append(n.named[pk], orb.Point{lon, lat})
			}
		}
	}
}

func pairKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + "|" + b
}

func containsStr(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

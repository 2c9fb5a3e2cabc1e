package tiles

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"

	"hotspots/geo"
)

func TestParseTile(t *testing.T) {
	tests := []struct {
		name    string
		z, x, y string
		want    maptile.Tile
		field   string
	}{
		{"root", "0", "0", "0", maptile.New(0, 0, 0), ""},
		{"baltimore z13", "13", "2352", "3122", maptile.New(2352, 3122, 13), ""},
		{"max zoom corner", "22", "4194303", "4194303", maptile.New(4194303, 4194303, 22), ""},
		{"zoom too deep", "23", "0", "0", maptile.Tile{}, "z"},
		{"negative zoom", "-1", "0", "0", maptile.Tile{}, "z"},
		{"zoom not a number", "a", "0", "0", maptile.Tile{}, "z"},
		{"x beyond 2^z", "1", "2", "0", maptile.Tile{}, "x"},
		{"neg row(y) not allowed", "3", "1", "-1", maptile.Tile{}, "y"},
		{"y beyond 2^z", "3", "1", "8", maptile.Tile{}, "y"},
		{"x huge overflows", "2", "99999999999", "0", maptile.Tile{}, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTile(tt.z, tt.x, tt.y)
			var ge *geo.Error
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.field != "":
				if err == nil || !asGeo(err, &ge) || ge.Field != tt.field || ge.Code != geo.EINVALID {
					t.Fatalf("want invalid %s, got %v", tt.field, err)
				}
			case got != tt.want:
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func asGeo(err error, ge **geo.Error) bool {
	e, ok := err.(*geo.Error)
	*ge = e
	return ok
}

func TestResForZoom(t *testing.T) {
	for _, tt := range []struct {
		z   maptile.Zoom
		res int
	}{{0, 7}, {10, 7}, {11, 8}, {12, 8}, {13, 9}, {14, 9}, {15, 10}, {16, 11}, {22, 11}} {
		if got := ResForZoom(tt.z); got != tt.res {
			t.Errorf("ResForZoom(%d) = %d, want %d", tt.z, got, tt.res)
		}
	}
}

func TestParseQuery(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(dayFormat, s); return d }
	tests := []struct {
		name  string
		query string
		want  Query
		field string
	}{
		{"empty", "", Query{}, ""},
		{"family expands", "kinds=shooting", Query{Kinds: []geo.Kind{geo.KindShootingFatal, geo.KindShootingNonFatal}}, ""},
		{"kinds sorted", "kinds=homicide,overdose_fatal", Query{Kinds: []geo.Kind{geo.KindHomicide, geo.KindOverdoseFatal}}, ""},
		{"unknown kind", "kinds=burglary", Query{}, "kinds"},
		{"window", "window=30d", Query{WindowDays: 30}, ""},
		{"window all", "window=all", Query{}, ""},
		{"bad window", "window=2w", Query{}, "window"},
		{"from to inclusive", "from=2024-01-01&to=2024-01-31", Query{From: day("2024-01-01"), To: day("2024-02-01")}, ""},
		{"bad from", "from=01/02/2024", Query{}, "from"},
		{"to before from", "from=2024-02-01&to=2024-01-01", Query{}, "to"},
		{"window and dates", "window=7d&from=2024-01-01", Query{}, "window"},
		{"area layer", "area_layer=neighborhood_2020", Query{AreaLayer: "neighborhood_2020"}, ""},
		{"bad area layer", "area_layer=a/b", Query{}, "area_layer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.query)
			got, err := ParseQuery(v, geo.DefaultKinds())
			if tt.field != "" {
				var ge *geo.Error
				if err == nil || !asGeo(err, &ge) || ge.Field != tt.field {
					t.Fatalf("want error on %s, got %v", tt.field, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.key(time.Time{}, true) != tt.want.key(time.Time{}, true) || got.WindowDays != tt.want.WindowDays {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestParseRawQueryMatchesParseQuery checks the map-free reading of a raw
// query against ParseQuery over url.ParseQuery's values (what Echo's
// QueryParams holds): the same query or the same error, whether the fast
// path takes the string or hands it to url.ParseQuery.
func TestParseRawQueryMatchesParseQuery(t *testing.T) {
	for _, raw := range parseRawQueryCorpus {
		checkParseRawQuery(t, raw)
	}
}

var parseRawQueryCorpus = []string{
	"", "window=all", "window=30d&kinds=overdose", "kinds=shooting,homicide&window=7d",
	"window=all&window=7d", "window=&window=7d", "window", "=all", "&&window=all&&", "window=all&",
	"from=2024-01-01&to=2024-01-31", "from=2024-01-01&to=2024-01-31&from=1999-01-01", "to=2024-01-01&from=2024-02-01",
	"from=2024%2D01%2D01", "kinds=overdose%2Cshooting", "kinds=overdose+shooting", "kinds=overdose;window=all",
	"window=all;x=1", "window=%zz", "win%64ow=all", "area_layer=neighborhood_2020", "area_layer=a%2Fb", "area_layer=a b",
	"window=bogus", "kinds=burglary", "x=1&y=2&window=7d", "window=7d&from=2024-01-01", "a=1&" + strings.Repeat("b=2&", 20) + "window=7d",
	"WINDOW=all", "window=ALL", "kinds=", "from=", "area_layer=" + strings.Repeat("x", 65),
}

func checkParseRawQuery(t *testing.T, raw string) {
	t.Helper()
	ks := geo.DefaultKinds()
	v, _ := url.ParseQuery(raw)
	want, werr := ParseQuery(v, ks)
	got, gerr := ParseRawQuery(raw, ks)
	if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
		t.Fatalf("%q: error %v, want %v", raw, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: got %+v, want %+v", raw, got, want)
	}
}

func FuzzParseRawQuery(f *testing.F) {
	for _, raw := range parseRawQueryCorpus {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) { checkParseRawQuery(t, raw) })
}

func TestQueryDaysEndAtDataEnd(t *testing.T) {
	end := time.Date(2022, 6, 30, 0, 0, 0, 0, time.UTC)
	from, to := Query{WindowDays: 30}.Days(end)
	if !from.Equal(time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)) || !to.Equal(time.Date(2022, 7, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("30d window ending 2022-06-30: got [%v, %v)", from, to)
	}
	if from, to := (Query{}).Days(end); from != nil || to != nil {
		t.Fatalf("all: want open bounds, got %v %v", from, to)
	}
}

func TestCountPropsSuppression(t *testing.T) {
	keys := []string{"n_overdose", "n_shooting"}
	tests := []struct {
		name  string
		row   []int32 // overdose, shooting, total
		below int
		want  geojson.Properties
	}{
		{"analyst sees small counts", []int32{1, 2, 3}, 0, geojson.Properties{"n_overdose": 1, "n_shooting": 2, "n_total": 3}},
		{"public small total hidden", []int32{1, 2, 3}, 11, geojson.Properties{"suppressed": true}},
		{"public total of 10 hidden", []int32{0, 10, 10}, 11, geojson.Properties{"suppressed": true}},
		{"public 11 shown", []int32{0, 11, 11}, 11, geojson.Properties{"n_shooting": 11, "n_total": 11}},
		{"small part hides total", []int32{3, 20, 23}, 11, geojson.Properties{"n_shooting": 20, "suppressed": true}},
		{"zero is not suppressed", []int32{0, 12, 12}, 11, geojson.Properties{"n_shooting": 12, "n_total": 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := geojson.Properties{}
			countProps(got, keys, tt.row, tt.below)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// clusteredCounts makes counts around Baltimore's centre at res.
func clusteredCounts(res int) []geo.CellCount {
	var out []geo.CellCount
	centre := orb.Point{-76.6122, 39.2904}
	for i := -30; i <= 30; i++ {
		for j := -30; j <= 30; j++ {
			p := orb.Point{centre[0] + float64(i)*0.0009, centre[1] + float64(j)*0.0007}
			c, _ := geo.CellFromPoint(p, res)
			out = append(out, geo.CellCount{Cell: c, Kind: geo.KindShootingNonFatal, Count: 1 + (i*i+j*j)%5})
		}
	}
	return out
}

// TestSeamsCoincide checks that a hexagon cut by the edge between two
// neighbouring tiles has the same vertices on both sides of the cut, so the
// map shows no seam: every vertex of the original outline inside the
// overlap appears, shifted by one tile, in the neighbour.
func TestSeamsCoincide(t *testing.T) {
	for _, z := range []maptile.Zoom{13, 15, 16} {
		res := ResForZoom(z)
		idx := NewHexIndex(res, []string{"shooting"}, clusteredCounts(res))
		a := maptile.At(orb.Point{-76.6122, 39.2904}, z)
		for _, nb := range []struct {
			name   string
			b      maptile.Tile
			dx, dy float64
		}{
			{"east", maptile.New(a.X+1, a.Y, z), Extent, 0},
			{"south", maptile.New(a.X, a.Y+1, z), 0, Extent},
		} {
			la := decodedLayer(t, idx, a, 0)
			lb := decodedLayer(t, idx, nb.b, 0)
			fa, fb := byCell(la.Features), byCell(lb.Features)
			shared := 0
			for cell, ga := range fa {
				gb, ok := fb[cell]
				if !ok {
					continue
				}
				shared++
				inB := map[orb.Point]bool{}
				for _, q := range points(gb) {
					inB[q] = true
				}
				for _, q := range points(ga) {
					s := orb.Point{q[0] - nb.dx, q[1] - nb.dy}
					// Vertices inside both tiles' buffers and not on a clip edge.
					if s[0] > -Buffer && s[0] < Extent+Buffer && s[1] > -Buffer && s[1] < Extent+Buffer &&
						q[0] > -Buffer && q[0] < Extent+Buffer && q[1] > -Buffer && q[1] < Extent+Buffer && !inB[s] {
						t.Fatalf("z%d %s: cell %s vertex %v (shifted %v) missing from neighbour %v", z, nb.name, cell, q, s, gb)
					}
				}
			}
			if shared == 0 {
				t.Fatalf("z%d %s: no hexagon crosses the shared edge", z, nb.name)
			}
		}
	}
}

func byCell(fs []*geojson.Feature) map[string]orb.Geometry {
	m := map[string]orb.Geometry{}
	for _, f := range fs {
		m[f.Properties["cell"].(string)] = f.Geometry
	}
	return m
}

func TestHexLayerExteriorRingsPositive(t *testing.T) {
	idx := NewHexIndex(9, []string{"shooting"}, clusteredCounts(9))
	l := decodedLayer(t, idx, maptile.At(orb.Point{-76.6122, 39.2904}, 13), 0)
	if len(l.Features) < 10 {
		t.Fatalf("only %d hexagons", len(l.Features))
	}
	for _, f := range l.Features {
		r := f.Geometry.(orb.Polygon)[0]
		if shoelace(r) <= 0 {
			t.Fatalf("cell %v: exterior ring not positive in tile space", f.Properties["cell"])
		}
		for _, q := range r {
			if q[0] < -Buffer || q[0] > Extent+Buffer || q[1] < -Buffer || q[1] > Extent+Buffer {
				t.Fatalf("vertex %v outside the buffered tile", q)
			}
		}
	}
}

func TestUnionCells(t *testing.T) {
	centre, _ := geo.CellFromPoint(orb.Point{-76.6122, 39.2904}, 9)
	ring := centre.Disk(1)[1:] // the six neighbours, centre left out
	tests := []struct {
		name          string
		cells         []geo.Cell
		polys, holes  int
		exteriorVerts int
	}{
		{"one cell", []geo.Cell{centre}, 1, 0, 6},
		{"flower of seven", centre.Disk(1), 1, 0, 18},
		{"ring with a hole", ring, 1, 1, 18},
		{"two apart", []geo.Cell{centre, centre.Disk(3)[len(centre.Disk(3))-1]}, 2, 0, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp := UnionCells(tt.cells)
			if len(mp) != tt.polys {
				t.Fatalf("got %d polygons, want %d", len(mp), tt.polys)
			}
			holes := 0
			for _, p := range mp {
				holes += len(p) - 1
				if p[0].Orientation() != orb.CCW {
					t.Fatalf("exterior not counter-clockwise")
				}
			}
			if holes != tt.holes {
				t.Fatalf("got %d holes, want %d", holes, tt.holes)
			}
			if n := len(mp[0][0]) - 1; n != tt.exteriorVerts {
				t.Fatalf("exterior has %d vertices, want %d", n, tt.exteriorVerts)
			}
		})
	}
}

func TestGzipRoundTrip(t *testing.T) {
	src := bytes.Repeat([]byte("hexagon "), 500)
	for range 3 { // the pool hands back used writers
		gz, err := Gzip(src)
		if err != nil {
			t.Fatal(err)
		}
		r, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		if !bytes.Equal(got, src) {
			t.Fatal("round trip changed the bytes")
		}
	}
}

func TestCacheEvictsByBytes(t *testing.T) {
	c := NewCache(4 * 1000)
	big := &Tile{Raw: make([]byte, 400), Gzip: make([]byte, 400)}
	for i := range 10 {
		c.Put(itoa(i), big)
	}
	if _, ok := c.Get([]byte("0")); ok {
		t.Fatal("oldest tile not evicted")
	}
	if _, ok := c.Get([]byte("9")); !ok {
		t.Fatal("newest tile evicted")
	}
	c.Purge()
	if c.Len() != 0 {
		t.Fatal("purge left tiles")
	}
}

var ctx = context.Background()

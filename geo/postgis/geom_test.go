package postgis

import (
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/ewkb"
)

func TestMultiPolygonEWKBRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		mp   orb.MultiPolygon
	}{
		{"with hole", orb.MultiPolygon{{
			{{-76.7, 39.2}, {-76.6, 39.2}, {-76.6, 39.3}, {-76.7, 39.3}, {-76.7, 39.2}},
			{{-76.68, 39.22}, {-76.68, 39.24}, {-76.66, 39.24}, {-76.66, 39.22}, {-76.68, 39.22}},
		}}},
		{"two parts", orb.MultiPolygon{
			{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}},
			{{{2, 2}, {3, 2}, {3, 3}, {2, 2}}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := multiPolygonEWKB(tc.mp)
			if err != nil {
				t.Fatal(err)
			}
			g, err := ewkb.Unmarshal(b)
			if err != nil {
				t.Fatal(err)
			}
			if g.SRID() != srid {
				t.Fatalf("SRID = %d, want %d", g.SRID(), srid)
			}
			got, err := decodeMultiPolygon(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.mp) {
				t.Fatalf("round trip = %v, want %v", got, tc.mp)
			}
		})
	}
}

// A Polygon (what ST_AsEWKB gives for a single-part geometry) reads as a
// one-part MultiPolygon; other types are refused.
func TestDecodePolygonAsMulti(t *testing.T) {
	p, err := geom.NewPolygon(geom.XY).SetCoords([][]geom.Coord{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ewkb.Marshal(p.SetSRID(srid), binary.LittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeMultiPolygon(b)
	if err != nil {
		t.Fatal(err)
	}
	want := orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %v, want %v", got, want)
	}
	pt, err := pointEWKB(orb.Point{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeMultiPolygon(pt); err == nil {
		t.Fatal("a point decoded as a multipolygon")
	}
}

func TestPointEWKB(t *testing.T) {
	b, err := pointEWKB(orb.Point{-76.6122, 39.2904})
	if err != nil {
		t.Fatal(err)
	}
	g, err := ewkb.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	pt, ok := g.(*geom.Point)
	if !ok || pt.SRID() != srid || pt.X() != -76.6122 || pt.Y() != 39.2904 {
		t.Fatalf("decoded %#v", g)
	}
}

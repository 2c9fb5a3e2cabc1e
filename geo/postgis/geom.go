package postgis

import (
	"encoding/binary"
	"fmt"

	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/ewkb"
)

// srid is WGS 84 lon/lat, the only coordinate system stored.
const srid = 4326

// pointEWKB encodes p as EWKB with SRID 4326, ready for ST_GeomFromEWKB.
func pointEWKB(p orb.Point) ([]byte, error) {
	g := geom.NewPointFlat(geom.XY, []float64{p.Lon(), p.Lat()}).SetSRID(srid)
	b, err := ewkb.Marshal(g, binary.LittleEndian)
	if err != nil {
		return nil, fmt.Errorf("encode point: %w", err)
	}
	return b, nil
}

// multiPolygonEWKB encodes mp as EWKB with SRID 4326.
func multiPolygonEWKB(mp orb.MultiPolygon) ([]byte, error) {
	coords := make([][][]geom.Coord, len(mp))
	for i, poly := range mp {
		coords[i] = make([][]geom.Coord, len(poly))
		for j, ring := range poly {
			cs := make([]geom.Coord, len(ring))
			for k, pt := range ring {
				cs[k] = geom.Coord{pt.Lon(), pt.Lat()}
			}
			coords[i][j] = cs
		}
	}
	g, err := geom.NewMultiPolygon(geom.XY).SetCoords(coords)
	if err != nil {
		return nil, fmt.Errorf("build multipolygon: %w", err)
	}
	b, err := ewkb.Marshal(g.SetSRID(srid), binary.LittleEndian)
	if err != nil {
		return nil, fmt.Errorf("encode multipolygon: %w", err)
	}
	return b, nil
}

// decodeMultiPolygon decodes EWKB (from ST_AsEWKB) holding a Polygon or a
// MultiPolygon into an orb MultiPolygon.
func decodeMultiPolygon(b []byte) (orb.MultiPolygon, error) {
	g, err := ewkb.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("decode geometry: %w", err)
	}
	var polys [][][]geom.Coord
	switch t := g.(type) {
	case *geom.MultiPolygon:
		polys = t.Coords()
	case *geom.Polygon:
		polys = [][][]geom.Coord{t.Coords()}
	default:
		return nil, fmt.Errorf("decode geometry: got %T, want a (multi)polygon", g)
	}
	mp := make(orb.MultiPolygon, len(polys))
	for i, poly := range polys {
		mp[i] = make(orb.Polygon, len(poly))
		for j, ring := range poly {
			r := make(orb.Ring, len(ring))
			for k, c := range ring {
				r[k] = orb.Point{c.X(), c.Y()}
			}
			mp[i][j] = r
		}
	}
	return mp, nil
}

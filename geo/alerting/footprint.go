package alerting

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/uber/h3-go/v4"

	"hotspots/geo"
)

// cellSet is a set of H3 cells at one resolution. Matching alerts to
// subscriptions compares such sets, so areas, drawn polygons, circles, cell
// lists and alert zones all meet on one grid.
type cellSet map[geo.Cell]struct{}

func (s cellSet) add(c geo.Cell) { s[c] = struct{}{} }

func (s cellSet) intersects(o cellSet) bool {
	if len(o) < len(s) {
		s, o = o, s
	}
	for c := range s {
		if _, ok := o[c]; ok {
			return true
		}
	}
	return false
}

func (s cellSet) sorted() []geo.Cell {
	out := make([]geo.Cell, 0, len(s))
	for c := range s {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// normalize adds c to s at resolution res: a finer cell by the cell that
// contains its centre (H3 children do not nest exactly in their parent, and
// matching is about where), a coarser cell by all its children.
func (s cellSet) normalize(c geo.Cell, res int) {
	switch r := c.Res(); {
	case r == res:
		s.add(c)
	case r > res:
		s.add(pointCell(c.Center(), res))
	default:
		for _, ch := range c.H3().Children(res) {
			s.add(geo.Cell(ch))
		}
	}
}

// pointCell is CellFromPoint for points already known to be valid.
func pointCell(p orb.Point, res int) geo.Cell {
	return geo.Cell(h3.LatLngToCell(h3.NewLatLng(p.Lat(), p.Lon()), res))
}

func loop(r orb.Ring) h3.GeoLoop {
	n := len(r)
	if n > 1 && r[0] == r[n-1] {
		n-- // H3 loops are implicitly closed
	}
	out := make(h3.GeoLoop, n)
	for i := 0; i < n; i++ {
		out[i] = h3.NewLatLng(r[i].Lat(), r[i].Lon())
	}
	return out
}

// polygonCells fills mp with cells whose centres lie inside it. With
// inclusive, the cells under every outer-ring vertex are added too, so a
// drawn polygon thinner than a cell still covers something and edges are
// matched generously; area polygons use centres only so that each cell
// belongs to one area of a layer.
func polygonCells(mp orb.MultiPolygon, res int, inclusive bool) cellSet {
	s := cellSet{}
	for _, p := range mp {
		if len(p) == 0 || len(p[0]) < 3 {
			continue
		}
		gp := h3.GeoPolygon{GeoLoop: loop(p[0])}
		for _, h := range p[1:] {
			gp.Holes = append(gp.Holes, loop(h))
		}
		for _, c := range h3.PolygonToCells(gp, res) {
			s.add(geo.Cell(c))
		}
		if inclusive {
			for _, v := range p[0] {
				s.add(pointCell(v, res))
			}
		}
	}
	return s
}

// metresPerDegreeLat is the length of one degree of latitude, close enough
// for city-scale circles.
const metresPerDegreeLat = 111_320.0

// circlePolygon approximates a circle by a 32-gon on the local tangent plane.
func circlePolygon(c geo.Circle) orb.Polygon {
	const n = 32
	ring := make(orb.Ring, 0, n+1)
	dLat := c.RadiusM / metresPerDegreeLat
	dLon := dLat / math.Cos(c.Center.Lat()*math.Pi/180)
	for i := 0; i < n; i++ {
		a := 2 * math.Pi * float64(i) / n
		ring = append(ring, orb.Point{c.Center.Lon() + dLon*math.Cos(a), c.Center.Lat() + dLat*math.Sin(a)})
	}
	return orb.Polygon{append(ring, ring[0])}
}

// circleCells returns the cells a circle touches: the filled 32-gon, the
// cells under its vertices and the centre's cell.
func circleCells(c geo.Circle, res int) cellSet {
	s := polygonCells(orb.MultiPolygon{circlePolygon(c)}, res, true)
	s.add(pointCell(c.Center, res))
	return s
}

// containsAny reports whether mp contains any of the points.
func containsAny(mp orb.MultiPolygon, pts ...orb.Point) bool {
	for _, p := range pts {
		if planar.MultiPolygonContains(mp, p) {
			return true
		}
	}
	return false
}

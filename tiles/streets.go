package tiles

import (
	"sort"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"
)

// Street classes of the basemap, coarsest first.
const (
	StreetMajor = "major" // limited access, ramps, arterials
	StreetMinor = "minor" // ordinary paved roads
	StreetAlley = "alley" // alleys, unpaved and fictitious pieces
)

// Street is one centerline of the offline basemap.
type Street struct {
	Line  orb.LineString // lon/lat
	Class string
}

// minZoom is the first zoom a class is drawn at, so low zooms stay light.
var minZoom = map[string]maptile.Zoom{StreetMajor: 0, StreetMinor: 12, StreetAlley: 15}

type streetIndex struct {
	lines    []streetLine // sorted by west edge
	maxW     float64
	boundary orb.MultiPolygon // world
	bbound   orb.Bound
}

type streetLine struct {
	line  orb.LineString // world
	bound orb.Bound
	class string
}

func (s *Service) streetIdx() *streetIndex {
	s.streetsMu.Do(func() {
		idx := &streetIndex{}
		for _, st := range s.cfg.Streets {
			if len(st.Line) < 2 {
				continue
			}
			wl := make(orb.LineString, len(st.Line))
			for i, q := range st.Line {
				wl[i] = world(q)
			}
			b := wl.Bound()
			idx.lines = append(idx.lines, streetLine{line: wl, bound: b, class: st.Class})
			idx.maxW = max(idx.maxW, b.Max[0]-b.Min[0])
		}
		sort.Slice(idx.lines, func(i, j int) bool { return idx.lines[i].bound.Min[0] < idx.lines[j].bound.Min[0] })
		if len(s.cfg.Boundary) > 0 {
			idx.boundary, idx.bbound = worldPolygons(s.cfg.Boundary)
		}
		s.streets = idx
	})
	return s.streets
}

// streetsTile is the basemap: street centerlines by class and the city
// outline, all from the city's own files, so the map needs no internet.
func (s *Service) streetsTile(t maptile.Tile) []*mvt.Layer {
	idx := s.streetIdx()
	p := newProjector(t)
	streets := &mvt.Layer{Name: "streets", Version: 2, Extent: Extent}
	lo := sort.Search(len(idx.lines), func(i int) bool { return idx.lines[i].bound.Min[0] >= p.wclip.Min[0]-idx.maxW })
	classProps := map[string]geojson.Properties{}
	for i := lo; i < len(idx.lines); i++ {
		l := &idx.lines[i]
		if l.bound.Min[0] > p.wclip.Max[0] {
			break
		}
		if mz, ok := minZoom[l.class]; (ok && t.Z < mz) || !l.bound.Intersects(p.wclip) {
			continue
		}
		g := p.line(l.line, l.bound)
		if len(g) == 0 {
			continue
		}
		props := classProps[l.class]
		if props == nil {
			props = geojson.Properties{"class": l.class}
			classProps[l.class] = props // shared: features only read it
		}
		var geom orb.Geometry = g
		if len(g) == 1 {
			geom = g[0]
		}
		streets.Features = append(streets.Features, &geojson.Feature{Type: "Feature", Geometry: geom, Properties: props})
	}
	city := &mvt.Layer{Name: "city", Version: 2, Extent: Extent}
	if len(idx.boundary) > 0 && idx.bbound.Intersects(p.wclip) {
		if g := p.polygons(idx.boundary); len(g) > 0 {
			city.Features = append(city.Features, &geojson.Feature{Type: "Feature", Geometry: g, Properties: geojson.Properties{}})
		}
	}
	return []*mvt.Layer{city, streets}
}

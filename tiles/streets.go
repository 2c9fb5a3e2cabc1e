package tiles

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"

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
	s.streetsOnce.Do(func() {
		idx := &streetIndex{}
		var streets []Street
		if s.cfg.Streets != nil {
			var err error
			if streets, err = s.cfg.Streets(); err != nil {
				// The basemap is a convenience: without streets the map
				// still shows the data and the city outline.
				s.cfg.Logger.Warn("streets_unavailable", slog.Any("error", err))
			}
		}
		for _, st := range streets {
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

// centerlineClass maps the city DOT subtype of a centerline to a basemap
// class: limited access, ramps and tunnels are major; alleys and fictitious
// connector pieces are alleys; every other road is minor.
func centerlineClass(subtype, featype string) string {
	switch subtype {
	case "STREX", "STRR", "STRTN":
		return StreetMajor
	case "STRALY", "STRFIC":
		return StreetAlley
	}
	switch featype {
	case "BLVD", "PKWY", "HWY", "EXPY":
		return StreetMajor
	}
	return StreetMinor
}

// LoadStreets reads a city's bundled street centerlines (centerlines.csv.gz
// in the streets folder: a "subtype" and "featype" column and a "geometry"
// column of "lon lat;lon lat;..." vertices, parts of a multi-line joined by
// "|") as basemap lines.
func LoadStreets(fsys fs.FS, name string) ([]Street, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("streets: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(name, ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("streets %s: %w", name, err)
		}
		defer gz.Close()
		r = gz
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("streets %s: header: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	gi, ok := col["geometry"]
	if !ok {
		return nil, fmt.Errorf("streets %s: no geometry column", name)
	}
	si, hasSub := col["subtype"]
	fi, hasType := col["featype"]
	var out []Street
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("streets %s: line %d: %w", name, line, err)
		}
		var sub, typ string
		if hasSub {
			sub = rec[si]
		}
		if hasType {
			typ = rec[fi]
		}
		class := centerlineClass(sub, typ)
		// A multi-part centerline separates its parts with "|".
		for _, part := range strings.Split(rec[gi], "|") {
			ls, err := parseLine(part)
			if err != nil {
				return nil, fmt.Errorf("streets %s: line %d: %w", name, line, err)
			}
			out = append(out, Street{Line: ls, Class: class})
		}
	}
}

// parseLine parses "lon lat;lon lat;...".
func parseLine(s string) (orb.LineString, error) {
	parts := strings.Split(s, ";")
	ls := make(orb.LineString, 0, len(parts))
	for _, p := range parts {
		lon, lat, ok := strings.Cut(strings.TrimSpace(p), " ")
		if !ok {
			return nil, fmt.Errorf("vertex %q: want \"lon lat\"", p)
		}
		x, err1 := strconv.ParseFloat(lon, 64)
		y, err2 := strconv.ParseFloat(lat, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("vertex %q: not numbers", p)
		}
		ls = append(ls, orb.Point{x, y})
	}
	return ls, nil
}

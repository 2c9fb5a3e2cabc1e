package tiles

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"

	"hotspots/geo"
)

// areaGeoEntry is one area layer's polygons in world coordinates.
type areaGeoEntry struct {
	once  sync.Once
	err   error
	areas []areaShape
}

type areaShape struct {
	code, name string
	excluded   bool
	poly       orb.MultiPolygon
	bound      orb.Bound
}

// areaEntry is one layer's counts for one query, per area code: one
// column per family and the total last.
type areaEntry struct {
	once     sync.Once
	err      error
	families []string
	keys     []string
	counts   map[string][]int32
}

func (s *Service) areaShapes(ctx context.Context, layer string) ([]areaShape, error) {
	s.mu.Lock()
	e, ok := s.areaGeo[layer]
	if !ok {
		e = &areaGeoEntry{}
		s.areaGeo[layer] = e
	}
	s.mu.Unlock()
	e.once.Do(func() {
		var areas []geo.Area
		if areas, e.err = s.cfg.Store.Areas(ctx, layer); e.err != nil {
			e.err = fmt.Errorf("tiles: areas of %s: %w", layer, e.err)
			return
		}
		for _, a := range areas {
			wp, b := worldPolygons(a.Geometry)
			e.areas = append(e.areas, areaShape{code: a.Code, name: a.Name, excluded: a.Excluded, poly: wp, bound: b})
		}
	})
	if e.err != nil {
		s.mu.Lock()
		if s.areaGeo[layer] == e {
			delete(s.areaGeo, layer)
		}
		s.mu.Unlock()
		return nil, e.err
	}
	return e.areas, nil
}

// AreaCounts returns the counts per area code of a layer for a query, one
// column per family of q.Families and the total last; the API's area
// popups read it too.
func (s *Service) AreaCounts(ctx context.Context, q Query) (families []string, counts map[string][]int32, err error) {
	end, err := s.DataEnd(ctx)
	if err != nil {
		return nil, nil, err
	}
	key := q.key(end, true)
	s.mu.Lock()
	e, ok := s.areas[key]
	if !ok {
		if len(s.areas) >= 64 {
			clear(s.areas)
		}
		e = &areaEntry{}
		s.areas[key] = e
	}
	s.mu.Unlock()
	e.once.Do(func() {
		from, to := q.Days(end)
		var rows []geo.AreaDayCount
		rows, e.err = s.cfg.Store.AreaDayCounts(ctx, geo.AreaCountFilter{Layer: q.AreaLayer, Kinds: q.Kinds, From: from, To: to})
		if e.err != nil {
			e.err = fmt.Errorf("tiles: area counts of %s: %w", q.AreaLayer, e.err)
			return
		}
		e.families = q.Families(s.cfg.Kinds)
		col := map[string]int{}
		for i, f := range e.families {
			col[f] = i
			e.keys = append(e.keys, "n_"+f)
		}
		w := len(e.families) + 1
		e.counts = map[string][]int32{}
		for _, r := range rows {
			j, ok := col[r.Kind.Family()]
			if !ok {
				continue
			}
			row := e.counts[r.Area]
			if row == nil {
				row = make([]int32, w)
				e.counts[r.Area] = row
			}
			row[j] += int32(r.Count)
			row[w-1] += int32(r.Count)
		}
	})
	if e.err != nil {
		s.mu.Lock()
		if s.areas[key] == e {
			delete(s.areas, key)
		}
		s.mu.Unlock()
		return nil, nil, e.err
	}
	return e.families, e.counts, nil
}

func (s *Service) areasTile(ctx context.Context, r Request) ([]*mvt.Layer, error) {
	shapes, err := s.areaShapes(ctx, r.Query.AreaLayer)
	if err != nil {
		return nil, err
	}
	families, counts, err := s.AreaCounts(ctx, r.Query)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(families))
	for i, f := range families {
		keys[i] = "n_" + f
	}
	p := newProjector(r.Tile)
	layer := &mvt.Layer{Name: LayerAreas, Version: 2, Extent: Extent}
	zero := make([]int32, len(families)+1)
	for i := range shapes {
		a := &shapes[i]
		if !a.bound.Intersects(p.wclip) {
			continue
		}
		g := p.polygons(a.poly)
		if len(g) == 0 {
			continue
		}
		props := geojson.Properties{"layer": r.Query.AreaLayer, "code": a.code, "name": a.name}
		if a.excluded {
			props["excluded"] = true
		}
		row := counts[a.code]
		if row == nil {
			row = zero
		}
		below := r.SuppressBelow
		if slices.Contains(r.Grant, r.Query.AreaLayer+":"+a.code) {
			below = 0
		}
		countProps(props, keys, row, below)
		var geom orb.Geometry = g
		if len(g) == 1 {
			geom = g[0]
		}
		layer.Features = append(layer.Features, &geojson.Feature{Type: "Feature", Geometry: geom, Properties: props})
	}
	return []*mvt.Layer{layer}, nil
}

// countProps sets n_<family> (when non-zero) and n_total from a count row
// (families, then the total), applying public suppression: a hidden family
// also hides the total, and a hidden total hides every family.
func countProps(props geojson.Properties, keys []string, row []int32, below int) {
	if visibleCounts(row, below, func(j, n int) { props[keys[j]] = n }) {
		props["suppressed"] = true
		return
	}
	props["n_total"] = int(row[len(row)-1])
}

// visibleCounts applies the suppression rule to one row of counts (one per
// family, then the total): a small total hides everything; otherwise each
// family count that is not small is passed to show, and any hidden family
// hides the total too, since total minus the shown families would reveal
// it. It reports whether anything was hidden (then the total must not be
// shown).
func visibleCounts(row []int32, below int, show func(j, n int)) (hidden bool) {
	w := len(row)
	if Suppressed(int(row[w-1]), below) {
		return true
	}
	for j, n := range row[:w-1] {
		if Suppressed(int(n), below) {
			hidden = true
		} else if n > 0 {
			show(j, int(n))
		}
	}
	return hidden
}

package tiles

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"hotspots/geo"
)

// Detectors whose findings each finding layer draws.
var layerDetectors = map[string][]string{
	LayerHotspots: {"gistar", "ehsa"},
	LayerClusters: {"stpscan"},
}

// findingsEntry is the latest findings of a layer's detectors, projected,
// with a token that changes when a new run replaces them.
type findingsEntry struct {
	at       time.Time
	token    string
	features []findingFeature
}

type findingFeature struct {
	poly  orb.MultiPolygon // world coordinates
	bound orb.Bound
	f     geo.Finding
}

// findingsFor returns the layer's findings, asking the store at most once
// per FindingsTTL.
func (s *Service) findingsFor(ctx context.Context, layer string) (*findingsEntry, error) {
	s.mu.Lock()
	fe := s.findings[layer]
	s.mu.Unlock()
	if fe != nil && s.cfg.Now().Sub(fe.at) < s.cfg.FindingsTTL {
		return fe, nil
	}
	var all []geo.Finding
	for _, d := range layerDetectors[layer] {
		fs, err := s.cfg.Store.ListFindings(ctx, geo.FindingFilter{Detector: d})
		if err != nil {
			return nil, fmt.Errorf("tiles: %s findings: %w", d, err)
		}
		all = append(all, fs...)
	}
	fe = &findingsEntry{at: s.cfg.Now()}
	h := fnv.New64a()
	for _, f := range all {
		fmt.Fprintf(h, "%d.%d,", f.RunID, f.ID)
		var mp orb.MultiPolygon
		if layer == LayerClusters {
			mp = UnionCells(f.Cells)
		} else {
			for _, c := range f.Cells {
				if r := c.Boundary(); r != nil {
					mp = append(mp, orb.Polygon{r})
				}
			}
		}
		if len(mp) == 0 {
			continue
		}
		wp, b := worldPolygons(mp)
		fe.features = append(fe.features, findingFeature{poly: wp, bound: b, f: f})
	}
	fe.token = strconv.FormatUint(h.Sum64()%(1<<40), 36)
	s.mu.Lock()
	s.findings[layer] = fe
	s.mu.Unlock()
	return fe, nil
}

func (s *Service) findingsTile(ctx context.Context, r Request) ([]*mvt.Layer, error) {
	fe, err := s.findingsFor(ctx, r.Layer)
	if err != nil {
		return nil, err
	}
	p := newProjector(r.Tile)
	layer := &mvt.Layer{Name: r.Layer, Version: 2, Extent: Extent}
	for i := range fe.features {
		ff := &fe.features[i]
		if !ff.bound.Intersects(p.wclip) {
			continue
		}
		g := p.polygons(ff.poly)
		if len(g) == 0 {
			continue
		}
		var props geojson.Properties
		if r.Layer == LayerClusters {
			props = clusterProps(ff.f, r.SuppressBelow)
		} else {
			props = hotspotProps(ff.f)
		}
		var geom orb.Geometry = g
		if len(g) == 1 {
			geom = g[0]
		}
		layer.Features = append(layer.Features, &geojson.Feature{Type: "Feature", Geometry: geom, Properties: props})
	}
	return []*mvt.Layer{layer}, nil
}

// hotspotProps describes a Gi* bin or an emerging-hot-spot category.
func hotspotProps(f geo.Finding) geojson.Properties {
	props := geojson.Properties{"detector": f.Detector, "category": f.Category, "z": round3(f.Score)}
	if len(f.Cells) == 1 {
		props["cell"] = f.Cells[0].String()
	}
	if f.PValue != nil {
		props["p"] = round3(*f.PValue)
	}
	return props
}

// clusterProps describes a space-time cluster. For the public view an
// observed count below the threshold is hidden, and so is O/E, which with
// the expected count would give it back.
func clusterProps(f geo.Finding, suppressBelow int) geojson.Properties {
	props := geojson.Properties{
		"id": f.ID, "expected": round3(f.Expected),
		"start": f.Start.Format(dayFormat), "end": f.End.Format(dayFormat),
		"cells": len(f.Cells),
	}
	if Suppressed(int(math.Round(f.Observed)), suppressBelow) {
		props["suppressed"] = true
	} else {
		props["observed"] = round3(f.Observed)
		if f.Expected > 0 {
			props["o_e"] = round3(f.Observed / f.Expected)
		}
	}
	if f.PValue != nil {
		props["p"] = round3(*f.PValue)
	}
	if ri, ok := f.Stats["ri"]; ok {
		props["ri"] = round3(ri)
	} else if ri, ok := f.Stats["recurrence_interval"]; ok {
		props["ri"] = round3(ri)
	}
	return props
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// UnionCells returns the outline of a set of cells (lon/lat) as polygons
// with holes: the edges two member cells share cancel, and the remaining
// edges are chained into rings. Counter-clockwise rings are exteriors (H3
// outlines run counter-clockwise), clockwise ones holes.
func UnionCells(cells []geo.Cell) orb.MultiPolygon {
	in := make(map[geo.Cell]bool, len(cells))
	for _, c := range cells {
		if c.Valid() {
			in[c] = true
		}
	}
	type seg struct {
		pts  []orb.Point
		used bool
	}
	var segs []*seg
	starts := map[[2]int64][]int{}
	for c := range in {
		for _, e := range c.H3().DirectedEdges() {
			if in[geo.Cell(e.Destination())] {
				continue
			}
			b := e.Boundary()
			pts := make([]orb.Point, len(b))
			for i, ll := range b {
				pts[i] = orb.Point{ll.Lng, ll.Lat}
			}
			starts[vkey(pts[0])] = append(starts[vkey(pts[0])], len(segs))
			segs = append(segs, &seg{pts: pts})
		}
	}
	next := func(p orb.Point) *seg {
		for _, i := range starts[vkey(p)] {
			if !segs[i].used {
				return segs[i]
			}
		}
		// Vertices shared by two cells agree to ~1e-12 degrees; a rounding
		// boundary between them is rare, so fall back to the nearest start.
		var best *seg
		bd := 1e-9
		for _, sg := range segs {
			if !sg.used {
				if d := math.Hypot(sg.pts[0][0]-p[0], sg.pts[0][1]-p[1]); d < bd {
					best, bd = sg, d
				}
			}
		}
		return best
	}
	var rings []orb.Ring
	// Visit segments in a fixed order so the output does not depend on map
	// iteration.
	order := make([]int, len(segs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		pa, pb := segs[order[a]].pts[0], segs[order[b]].pts[0]
		if pa[0] != pb[0] {
			return pa[0] < pb[0]
		}
		return pa[1] < pb[1]
	})
	for _, i := range order {
		sg := segs[i]
		if sg.used {
			continue
		}
		sg.used = true
		ring := orb.Ring(append([]orb.Point(nil), sg.pts...))
		for n := 0; n <= len(segs); n++ {
			end := ring[len(ring)-1]
			if d := math.Hypot(end[0]-ring[0][0], end[1]-ring[0][1]); d < 1e-9 && len(ring) > 3 {
				ring[len(ring)-1] = ring[0]
				break
			}
			nx := next(end)
			if nx == nil {
				break
			}
			nx.used = true
			ring = append(ring, nx.pts[1:]...)
		}
		if len(ring) >= 4 && ring[0] == ring[len(ring)-1] {
			rings = append(rings, ring)
		}
	}
	var out orb.MultiPolygon
	var holes []orb.Ring
	for _, r := range rings {
		if r.Orientation() == orb.CCW {
			out = append(out, orb.Polygon{r})
		} else {
			holes = append(holes, r)
		}
	}
	for _, h := range holes {
		for i := range out {
			if planar.RingContains(out[i][0], h[0]) || planar.RingContains(out[i][0], interior(h)) {
				out[i] = append(out[i], h)
				break
			}
		}
	}
	return out
}

// interior is a point just inside a hole ring's first edge midpoint, to
// test containment without landing on a shared vertex.
func interior(r orb.Ring) orb.Point {
	a, b := r[0], r[1]
	return orb.Point{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2}
}

func vkey(p orb.Point) [2]int64 {
	return [2]int64{int64(math.Round(p[0] * 1e8)), int64(math.Round(p[1] * 1e8))}
}

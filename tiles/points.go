package tiles

import (
	"context"
	"fmt"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"

	"hotspots/geo"
)

// pointsTile draws exact incidents for analysts. Each point carries its id,
// kind and day as a day number (days since 1970-01-01): a text timestamp per
// point would more than double the tile. Past MaxPoints the tile says
// "truncated" in a one-feature layer so the map can ask for a zoom-in.
func (s *Service) pointsTile(ctx context.Context, r Request) ([]*mvt.Layer, error) {
	end, err := s.DataEnd(ctx)
	if err != nil {
		return nil, err
	}
	p := newProjector(r.Tile)
	sw := unworld(orb.Point{p.wclip.Min[0], p.wclip.Max[1]})
	ne := unworld(orb.Point{p.wclip.Max[0], p.wclip.Min[1]})
	bound := orb.Bound{Min: sw, Max: ne}
	from, to := r.Query.Days(end)
	f := geo.IncidentFilter{Kinds: r.Query.Kinds, Bounds: &bound, Limit: s.cfg.MaxPoints + 1}
	// The store filters on the instant; days are local dates, so widen by a
	// day each side and keep exactly the wanted days below.
	if from != nil {
		t := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, s.cfg.Location).AddDate(0, 0, -1)
		f.From = &t
	}
	if to != nil {
		t := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, s.cfg.Location).AddDate(0, 0, 1)
		f.To = &t
	}
	incs, err := s.cfg.Store.FindIncidents(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("tiles: incidents: %w", err)
	}
	layer := &mvt.Layer{Name: LayerIncidents, Version: 2, Extent: Extent}
	truncated := len(incs) > s.cfg.MaxPoints
	if truncated {
		incs = incs[:s.cfg.MaxPoints]
	}
	layer.Features = make([]*geojson.Feature, 0, len(incs))
	for i := range incs {
		in := &incs[i]
		if (from != nil && in.Day.Before(*from)) || (to != nil && !in.Day.Before(*to)) {
			continue
		}
		if in.Location == (orb.Point{}) {
			continue // purged points keep only aggregates
		}
		q := p.point(world(in.Location))
		if !p.clip.Contains(q) {
			continue
		}
		props := geojson.Properties{"id": in.ID, "kind": string(in.Kind), "day": dayNumber(in.Day)}
		if in.Precision != "" && in.Precision != geo.PrecisionExact {
			props["precision"] = string(in.Precision)
		}
		layer.Features = append(layer.Features, &geojson.Feature{Type: "Feature", Geometry: q, Properties: props})
	}
	if !truncated {
		return []*mvt.Layer{layer}, nil
	}
	note := &mvt.Layer{Name: "incidents_truncated", Version: 2, Extent: Extent, Features: []*geojson.Feature{{
		Type: "Feature", Geometry: orb.Point{Extent / 2, Extent / 2},
		Properties: geojson.Properties{"limit": s.cfg.MaxPoints},
	}}}
	return []*mvt.Layer{layer, note}, nil
}

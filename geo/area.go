package geo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// AreaLayer is a set of polygons incidents are counted in: neighborhoods,
// Community Statistical Areas, police and council districts, the city, or a
// custom layer an admin uploads.
type AreaLayer struct {
	ID      string // e.g. "neighborhood_2010"
	Name    string // e.g. "Neighborhoods (2010 NSAs)"
	Kind    string // neighborhood, csa, police_district, council_district, city, custom
	Vintage string // e.g. "2010"
	// ValidFrom and ValidTo bound the incident dates the layer applies to, for
	// redrawn layers such as Baltimore's 2023 police districts. Nil: always.
	ValidFrom, ValidTo *time.Time
	Source             string // provenance shown on the methods page
}

// Area is one polygon of a layer, with its population denominator.
type Area struct {
	Layer string
	Code  string // stable id within the layer (slug of the name when none)
	Name  string
	// AltNames are other spellings met in feeds (BNIA vs Planning, 25-character
	// truncations, 2010 vs 2020 names), used to match by name.
	AltNames []string
	Geometry orb.MultiPolygon
	// Population is nil when unknown; 0 is a real zero (parks, industrial
	// areas) and rates for it are undefined, never infinite.
	Population     *int
	PopulationYear int
	// Excluded areas (e.g. "Unassigned -- Jail") are kept for joins but left
	// out of rankings and city shares.
	Excluded bool
}

// GrantedAreas returns the areas a grant names ("layer:code", as an API
// key's Areas), read through areas (a store's Areas). Layers the store does
// not know grant nothing. An outreach key's cell scope and its map's
// unsuppressed hexagons both decide with it and ContainsPoint, so the two
// never disagree about a cell.
func GrantedAreas(ctx context.Context, areas func(ctx context.Context, layer string) ([]Area, error), grant []string) ([]Area, error) {
	byLayer := map[string][]string{}
	var order []string
	for _, g := range grant {
		layer, code, _ := strings.Cut(g, ":")
		if _, ok := byLayer[layer]; !ok {
			order = append(order, layer)
		}
		byLayer[layer] = append(byLayer[layer], code)
	}
	var out []Area
	for _, layer := range order {
		as, err := areas(ctx, layer)
		if ErrorCode(err) == ENOTFOUND {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("granted areas of %s: %w", layer, err)
		}
		for _, a := range as {
			if slices.Contains(byLayer[layer], a.Code) {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

// ContainsPoint reports whether p (lon/lat) lies in any of the areas.
func ContainsPoint(areas []Area, p orb.Point) bool {
	for _, a := range areas {
		if a.Geometry.Bound().Contains(p) && planar.MultiPolygonContains(a.Geometry, p) {
			return true
		}
	}
	return false
}

package geo

import (
	"time"

	"github.com/paulmach/orb"
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

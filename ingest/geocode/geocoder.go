// Package geocode turns the street addresses in police and EMS feeds into
// points. It offers an offline geocoder built from a city's street
// centerlines (fast, no network, the default for ingest), adapters for HTTP
// geocoders (the US Census batch service, Nominatim, Pelias), a persistent
// cache that wraps any of them, and an accuracy harness that measures a
// geocoder against address/coordinate reference pairs.
//
// Every result carries a score and a geo.Precision, and a result that cannot
// be used carries the quarantine reason the ingest records, so nothing is
// placed on the map with more confidence than the match deserves.
package geocode

import (
	"context"
	"fmt"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// Result is the outcome of geocoding one address.
type Result struct {
	// Point is lon, lat (EPSG:4326). For an ambiguous result it is the best
	// candidate, kept for inspection only.
	Point orb.Point
	// Score is the match confidence in 0..1: 1 is an exact name and range
	// match; penalties apply for inferred directionals, relaxed street
	// types, fuzzy names and repaired ranges.
	Score float64
	// Precision says what the point stands for (interpolated house number,
	// block midpoint, intersection, street); geo.PrecisionUnmatched when
	// nothing usable was found.
	Precision geo.Precision
	// Matched is the normalised address that was matched (`1200 N MILTON AVE`).
	Matched string
	// Candidates counts the distinct places the address could mean.
	Candidates int
	// Ambiguous is set when the candidates are too far apart to merge.
	Ambiguous bool
	// Reason is empty for a usable result, else the quarantine reason
	// (geo.ReasonUngeocodable or geo.ReasonAmbiguousAddr).
	Reason geo.Reason
	// Detail explains Reason for the quarantine row ("street not found:
	// MILTN"); on a usable result it may carry provider specifics (the
	// Census TIGER line and side).
	Detail string
}

// OK reports whether the result may be stored as an incident location.
func (r Result) OK() bool { return r.Reason == "" }

// Geocoder resolves addresses. Implementations return an error only for
// failures of the geocoder itself (cancelled context, service down); an
// address that does not match is a Result with a Reason, never an error, so
// the ingest can quarantine it and move on.
type Geocoder interface {
	// Geocode resolves one address.
	Geocode(ctx context.Context, address string) (Result, error)
	// GeocodeBatch resolves many addresses; results are in input order.
	GeocodeBatch(ctx context.Context, addresses []string) ([]Result, error)
}

// unmatched builds the quarantine result for an address that matched nothing.
func unmatched(detail string, args ...any) Result {
	return Result{
		Precision: geo.PrecisionUnmatched,
		Reason:    geo.ReasonUngeocodable,
		Detail:    fmt.Sprintf(detail, args...),
	}
}

// geocodeEach is the batch method of geocoders without a native batch API.
func geocodeEach(ctx context.Context, g Geocoder, addresses []string) ([]Result, error) {
	out := make([]Result, len(addresses))
	for i, a := range addresses {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("geocode: batch: %w", err)
		}
		r, err := g.Geocode(ctx, a)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

package ingest

import (
	"context"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// Geocoder turns a street address into a point. It is declared here, where
// it is used, so the pipeline does not depend on a particular geocoder:
// hotspots wires the offline street geocoder in ingest/geocode through a
// small adapter, and tests use a map.
type Geocoder interface {
	Geocode(ctx context.Context, address string) (GeocodeResult, error)
}

// GeocodeResult is a geocoder's answer. A match has a Point and a Precision
// other than unmatched; a failure has Reason set to geo.ReasonUngeocodable
// or geo.ReasonAmbiguousAddr and a Detail naming the candidates, which is
// what the quarantine shows an analyst.
type GeocodeResult struct {
	Point     orb.Point
	Precision geo.Precision
	// Score is the match quality in [0, 1].
	Score     float64
	Ambiguous bool
	Reason    geo.Reason
	Detail    string
}

// matched reports whether the result is usable.
func (r GeocodeResult) matched() bool {
	return r.Reason == "" && !r.Ambiguous && r.Precision != geo.PrecisionUnmatched && r.Precision != "" &&
		r.Point != (orb.Point{})
}

// GeocoderFunc adapts a function to the Geocoder interface.
type GeocoderFunc func(ctx context.Context, address string) (GeocodeResult, error)

// Geocode calls f.
func (f GeocoderFunc) Geocode(ctx context.Context, address string) (GeocodeResult, error) {
	return f(ctx, address)
}

package ingest

import (
	"context"
	"fmt"
	"io/fs"

	"hotspots/cities"
	"hotspots/ingest/geocode"
)

// StreetGeocoder adapts a geocode.Geocoder (the offline street geocoder, an
// HTTP geocoder or a cache over either) to the pipeline's Geocoder.
func StreetGeocoder(g geocode.Geocoder) Geocoder {
	return GeocoderFunc(func(ctx context.Context, address string) (GeocodeResult, error) {
		r, err := g.Geocode(ctx, address)
		if err != nil {
			return GeocodeResult{}, err
		}
		return GeocodeResult{Point: r.Point, Precision: r.Precision, Score: r.Score, Ambiguous: r.Ambiguous,
			Reason: r.Reason, Detail: r.Detail}, nil
	})
}

// CityGeocoder returns the offline geocoder built from the city's street
// data (city.yaml streets, else a streets folder holding centerlines), or
// nil when the city has none (coordinates-only feeds): rows that need
// geocoding are then quarantined and can be re-processed later.
func CityGeocoder(city *cities.City) (Geocoder, error) {
	dir := city.Streets
	if dir == "" {
		if _, err := fs.Stat(city.FS, "streets/centerlines.csv.gz"); err != nil {
			return nil, nil
		}
		dir = "streets"
	}
	g, err := geocode.LoadOffline(city.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("geocoder for %s: %w", city.Slug, err)
	}
	return StreetGeocoder(g), nil
}

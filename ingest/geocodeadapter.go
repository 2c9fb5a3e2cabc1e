package ingest

import (
	"context"
	"fmt"
	"io/fs"
	"sync"

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
//
// The street index is built on the first address, not here: building
// Baltimore's takes about 0.35 s of CPU, which every load of a feed with
// coordinates (most of them, and every bulk load) would pay for nothing.
// Should the build fail, each row needing it is quarantined with the
// build's error as its detail, to be re-processed once the data is fixed.
func CityGeocoder(city *cities.City) (Geocoder, error) {
	dir := city.Streets
	if dir == "" {
		if _, err := fs.Stat(city.FS, "streets/centerlines.csv.gz"); err != nil {
			return nil, nil
		}
		dir = "streets"
	}
	return &lazyGeocoder{build: func() (Geocoder, error) {
		g, err := geocode.LoadOffline(city.FS, dir)
		if err != nil {
			return nil, fmt.Errorf("geocoder for %s: %w", city.Slug, err)
		}
		return StreetGeocoder(g), nil
	}}, nil
}

// lazyGeocoder builds its geocoder on the first call.
type lazyGeocoder struct {
	once  sync.Once
	build func() (Geocoder, error)
	g     Geocoder
	err   error
}

func (l *lazyGeocoder) Geocode(ctx context.Context, address string) (GeocodeResult, error) {
	l.once.Do(func() { l.g, l.err = l.build() })
	if l.err != nil {
		return GeocodeResult{}, l.err
	}
	return l.g.Geocode(ctx, address)
}

package ingest

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"hotspots/cities"
	"hotspots/geo"
)

// TestNoCoordsWithStreetGeocoder loads the 2021 Part 1 export, whose rows
// have no coordinates at all, through the offline street geocoder: rows
// are placed or quarantined as unmatched or ambiguous, never dropped, and
// every placed row is inside the city at a geocoded precision.
func TestNoCoordsWithStreetGeocoder(t *testing.T) {
	ctx := context.Background()
	city := MustCity(t, "baltimore")
	g, err := CityGeocoder(city)
	if err != nil || g == nil {
		t.Fatalf("city geocoder: %v, %v", g, err)
	}
	st := MustOpenStore(t)
	s, err := Run(ctx, st, city, "mappings/part1-2014-2021-nocoords.yaml", "sample/part1-2014-2021-nocoords.csv",
		RunOptions{Options: Options{Logger: discard, Geocoder: g}})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Accounted() {
		t.Fatalf("rows not accounted for: %+v", s)
	}
	// 368 dated rows with an address: 449 shootings and murders less 60
	// without a date and 21 without an address.
	geocoded := 368 - s.ByReason[geo.ReasonUngeocodable] - s.ByReason[geo.ReasonAmbiguousAddr] - s.ByReason[geo.ReasonOutsideCity]
	if s.Incidents+s.Merged != geocoded {
		t.Errorf("incidents %d + merged %d, want %d geocoded rows (%v)", s.Incidents, s.Merged, geocoded, s.ByReason)
	}
	if s.Incidents < 200 {
		t.Errorf("only %d incidents placed: the geocoder matched too little (%v)", s.Incidents, s.ByReason)
	}
	incs, err := st.FindIncidents(ctx, geo.IncidentFilter{Source: s.Source})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range incs {
		switch i.Precision {
		case geo.PrecisionExact, geo.PrecisionRandomized, geo.PrecisionUnmatched, "":
			t.Fatalf("incident %s has precision %q, want a geocoded one", i.SourceID, i.Precision)
		}
	}
	t.Logf("%d incidents; quarantine %v; treatment-location flags %d", s.Incidents, s.ByReason, s.Flags[geo.FlagTreatmentLocation])
}

// TestCityGeocoderBuildsOnFirstAddress: the street index is built when the
// first address comes, and a broken streets file surfaces as that call's
// error (its rows are quarantined with it), not as a failure to start.
func TestCityGeocoderBuildsOnFirstAddress(t *testing.T) {
	broken := &cities.City{Slug: "broken", FS: fstest.MapFS{
		"streets/centerlines.csv.gz": {Data: []byte("not gzip")},
	}}
	g, err := CityGeocoder(broken)
	if err != nil || g == nil {
		t.Fatalf("CityGeocoder of a city with a streets file: %v, %v; want a geocoder, built later", g, err)
	}
	for range 2 {
		if _, err := g.Geocode(context.Background(), "1200 N MILTON AVE"); err == nil || !strings.Contains(err.Error(), "geocoder for broken") {
			t.Fatalf("geocoding with a broken streets file: %v, want the build's error", err)
		}
	}
	good, err := CityGeocoder(MustCity(t, "baltimore"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := good.Geocode(context.Background(), "1200 N MILTON AVE")
	if err != nil || !res.matched() {
		t.Fatalf("1200 N MILTON AVE: %+v, %v", res, err)
	}
}

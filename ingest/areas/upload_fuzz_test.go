package areas

import (
	"errors"
	"testing"

	"github.com/paulmach/orb/planar"

	"hotspots/geo"
)

// FuzzParseUpload feeds arbitrary bodies to the admin layer upload, the
// one GeoJSON input an API caller controls: every refusal is a geo error
// the API answers with 400/409 naming the place, and whatever is accepted
// is a layer of closed, non-empty polygons with codes.
func FuzzParseUpload(f *testing.F) {
	f.Add(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"East zone","population":500},"geometry":{"type":"Polygon","coordinates":[[[-76.60,39.29],[-76.59,39.29],[-76.59,39.30],[-76.60,39.30],[-76.60,39.29]]]}}]}`)
	f.Add(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Open"},"geometry":{"type":"Polygon","coordinates":[[[-76.60,39.29],[-76.59,39.29],[-76.59,39.30],[-76.60,39.295]]]}}]}`)
	f.Add(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Bow","code":"b"},"geometry":{"type":"MultiPolygon","coordinates":[[[[-76.60,39.29],[-76.59,39.30],[-76.59,39.29],[-76.60,39.30],[-76.60,39.29]]]]}}]}`)
	f.Add(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Far"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}`)
	f.Add(`{"type":"FeatureCollection","features":[]}`)
	f.Add(`{"type":"Feature"}`)
	f.Add(`[`)
	city, _ := MustBaltimore(f)
	f.Fuzz(func(t *testing.T, body string) {
		l, err := ParseUpload(city, Upload{ID: "fuzz", Name: "Fuzz", GeoJSON: []byte(body)})
		if err != nil {
			var ge *geo.Error
			if !errors.As(err, &ge) || (ge.Code != geo.EINVALID && ge.Code != geo.ECONFLICT && ge.Code != geo.ETOOLARGE) {
				t.Fatalf("error %v is not a caller's error", err)
			}
			return
		}
		if len(l.Areas) == 0 {
			t.Fatal("accepted a layer without areas")
		}
		for _, a := range l.Areas {
			if a.Code == "" || a.Name == "" || a.Layer != "fuzz" {
				t.Fatalf("area %+v", a)
			}
			if len(a.Geometry) == 0 || planar.Area(a.Geometry) <= 0 {
				t.Fatalf("area %s: empty geometry", a.Code)
			}
			for _, p := range a.Geometry {
				for _, r := range p {
					if len(r) < 4 || r[0] != r[len(r)-1] {
						t.Fatalf("area %s: ring of %d points, closed %v", a.Code, len(r), len(r) > 0 && r[0] == r[len(r)-1])
					}
				}
			}
		}
	})
}

package areas

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"hotspots/geo"
)

// square returns a closed ring of side 2*h degrees around (x, y).
func square(x, y, h float64) [][2]float64 {
	return [][2]float64{{x - h, y - h}, {x + h, y - h}, {x + h, y + h}, {x - h, y + h}, {x - h, y - h}}
}

type feat struct {
	props map[string]any
	geom  any // JSON-able geometry
}

func fc(features ...feat) []byte {
	var fs []map[string]any
	for _, f := range features {
		fs = append(fs, map[string]any{"type": "Feature", "properties": f.props, "geometry": f.geom})
	}
	b, _ := json.Marshal(map[string]any{"type": "FeatureCollection", "features": fs})
	return b
}

func poly(rings ...[][2]float64) map[string]any {
	return map[string]any{"type": "Polygon", "coordinates": rings}
}

// outsideWithin returns a point outside the city polygon but within the
// tolerance of it, found next to a boundary vertex.
func outsideWithin(tb testing.TB) [2]float64 {
	city, _ := MustBaltimore(tb)
	mp := city.BoundaryPolygon()
	for _, v := range mp[0][0] {
		for _, d := range [][2]float64{{0.0005, 0}, {-0.0005, 0}, {0, 0.0005}, {0, -0.0005}} {
			p := orb.Point{v[0] + d[0], v[1] + d[1]}
			if !planar.MultiPolygonContains(mp, p) && distanceToMultiPolygonM(mp, p) < city.Boundary.ToleranceM/2 {
				return p
			}
		}
	}
	tb.Fatal("no point just outside the city")
	return [2]float64{}
}

func TestParseUpload(t *testing.T) {
	city, _ := MustBaltimore(t)
	const x, y = -76.6107, 39.2910 // City Hall
	good := poly(square(x, y, 0.002))
	named := func(name string, g any) feat { return feat{map[string]any{"name": name}, g} }
	edge := outsideWithin(t)
	tests := []struct {
		name      string
		id        string
		body      []byte
		code      string // geo error code, "" for success
		wantInMsg string
	}{
		{"valid", "outreach_zones", fc(
			feat{map[string]any{"name": "Zone A", "population": 1200, "population_year": 2020}, good},
			feat{map[string]any{"name": "Zone B", "code": 7}, poly(square(x+0.01, y, 0.002), square(x+0.01, y, 0.0005))},
		), "", ""},
		{"vertex just outside the city within tolerance", "edge_zone", fc(named("Edge", poly([][2]float64{
			edge, {edge[0] + 0.0001, edge[1]}, {edge[0] + 0.0001, edge[1] + 0.0001}, edge}))), "", ""},
		{"bad id", "Bad-ID", fc(named("A", good)), geo.EINVALID, "layer id"},
		{"configured id", "csa_2010", fc(named("A", good)), geo.ECONFLICT, "configured layer"},
		{"not a feature collection", "z", []byte(`{"type":"Feature"}`), geo.EINVALID, "FeatureCollection"},
		{"not json", "z", []byte(`{`), geo.EINVALID, "not JSON"},
		{"no features", "z", fc(), geo.EINVALID, "1 to"},
		{"no name", "z", fc(feat{map[string]any{"code": "a"}, good}), geo.EINVALID, `no "name"`},
		{"point geometry", "z", fc(named("A", map[string]any{"type": "Point", "coordinates": []float64{x, y}})), geo.EINVALID, "Point"},
		{"ring not closed", "z", fc(named("A", poly(square(x, y, 0.002)[:4]))), geo.EINVALID, "ring 0 is not closed"},
		{"ring open", "z", fc(named("A", poly([][2]float64{{x, y}, {x + 0.001, y}, {x + 0.001, y + 0.001}, {x, y + 0.001}, {x, y + 0.0005}}))), geo.EINVALID, "not closed"},
		{"too few points", "z", fc(named("A", poly([][2]float64{{x, y}, {x + 0.001, y}, {x, y}}))), geo.EINVALID, "at least 4"},
		{"bow tie", "z", fc(named("A", poly([][2]float64{{x, y}, {x + 0.001, y + 0.001}, {x + 0.001, y}, {x, y + 0.001}, {x, y}}))), geo.EINVALID, "crosses or touches itself"},
		{"hole outside shell", "z", fc(named("A", poly(square(x, y, 0.001), square(x+0.01, y, 0.0005)))), geo.EINVALID, "hole 1 lies outside"},
		{"hole crossing shell", "z", fc(named("A", poly(square(x, y, 0.001), square(x+0.0009, y, 0.0005)))), geo.EINVALID, "rings 0 and 1 cross"},
		{"zero area", "z", fc(named("A", poly([][2]float64{{x, y}, {x + 0.001, y}, {x + 0.002, y}, {x, y}}))), geo.EINVALID, ""},
		{"outside the city", "z", fc(named("A", poly(square(-76.5, 39.2, 0.001)))), geo.EINVALID, "outside the city"},
		{"duplicate code", "z", fc(named("Zone A", good), feat{map[string]any{"name": "Zone B", "code": "zone-a"}, poly(square(x+0.01, y, 0.001))}), geo.EINVALID, "also used by feature 0"},
		{"negative population", "z", fc(feat{map[string]any{"name": "A", "population": -3}, good}), geo.EINVALID, "whole number"},
		{"fractional population", "z", fc(feat{map[string]any{"name": "A", "population": 2.5}, good}), geo.EINVALID, "whole number"},
		{"bad coordinate", "z", fc(named("A", poly([][2]float64{{x, y}, {x, 95}, {x + 0.001, y}, {x, y}}))), geo.EINVALID, "not a lon, lat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseUpload(city, Upload{ID: tt.id, Name: "Test layer", GeoJSON: tt.body})
			if got := geo.ErrorCode(err); got != tt.code {
				t.Fatalf("error code %q (%v), want %q", got, err, tt.code)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.wantInMsg) {
					t.Errorf("error %q does not mention %q", err, tt.wantInMsg)
				}
				return
			}
			if l.Kind != KindCustom || l.ID != tt.id || len(l.Areas) == 0 {
				t.Errorf("layer %+v", l.AreaLayer)
			}
		})
	}
}

func TestParseUploadFields(t *testing.T) {
	city, _ := MustBaltimore(t)
	l, err := ParseUpload(city, Upload{ID: "zones", Name: " Zones ", GeoJSON: fc(
		feat{map[string]any{"name": "Zone A", "population": 1200, "population_year": 2020}, poly(square(-76.6107, 39.2910, 0.002))},
		feat{map[string]any{"name": "A very long outreach zone name indeed", "code": 7}, poly(square(-76.60, 39.2910, 0.002))},
	)})
	if err != nil {
		t.Fatal(err)
	}
	a, b := l.Areas[0], l.Areas[1]
	if l.Name != "Zones" || a.Code != "zone-a" || *a.Population != 1200 || a.PopulationYear != 2020 {
		t.Errorf("area a %+v", a)
	}
	if b.Code != "7" || b.Population != nil || fmt.Sprint(b.AltNames) != "[A VERY LONG OUTREACH ZONE]" {
		t.Errorf("area b code %q population %v alt %v", b.Code, b.Population, b.AltNames)
	}
}

package cities

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/paulmach/orb"
)

func TestBuiltinCitiesLoad(t *testing.T) {
	for _, name := range []string{"baltimore", "tempe", "philadelphia"} {
		t.Run(name, func(t *testing.T) {
			c, err := Open(name)
			if err != nil {
				t.Fatal(err)
			}
			if c.Location == nil || c.Slug != name {
				t.Fatalf("city %q: location %v slug %q", name, c.Location, c.Slug)
			}
			center := orb.Point{c.Center[0], c.Center[1]}
			if !c.Contains(center) {
				t.Errorf("center %v is outside the boundary", center)
			}
		})
	}
}

func TestBaltimoreBoundary(t *testing.T) {
	c, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Baltimore" {
		t.Fatalf("default city = %q", c.Name)
	}
	// City Hall is inside; Towson (Baltimore County) and (0,0) are not.
	for _, tc := range []struct {
		p    orb.Point
		want bool
	}{{orb.Point{-76.6106, 39.2910}, true}, {orb.Point{-76.6019, 39.4015}, false}, {orb.Point{0, 0}, false}} {
		if got := c.Contains(tc.p); got != tc.want {
			t.Errorf("Contains(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestLoadErrorsNameTheProblem(t *testing.T) {
	good := "name: X\nslug: x\ntime_zone: UTC\nboundary: {file: b.geojson}\n"
	poly := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}`
	cases := map[string]struct {
		yaml string
		want string
	}{
		"bad zone":                   {strings.Replace(good, "UTC", "Mars/Olympus", 1), "time_zone"},
		"unknown field":              {good + "colour: red\n", "colour"},
		"missing layer":              {good + "layers: [{id: n, file: nope.geojson}]\n", "nope.geojson"},
		"no boundary":                {"name: X\nslug: x\ntime_zone: UTC\n", "boundary.file"},
		"threshold on unknown layer": {good + "alerts: {thresholds: [{layer: nsa, kind: overdose_fatal, window: 24h, min: 2}]}\n", `layer (got "nsa")`},
		"threshold kind":             {good + "alerts: {thresholds: [{layer: city, kind: fentanyl, window: 24h, min: 2}]}\n", `kind (got "fentanyl")`},
		"threshold window":           {good + "alerts: {thresholds: [{layer: city, kind: overdose_fatal, window: soon, min: 2}]}\n", "soon"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{"c/city.yaml": {Data: []byte(tc.yaml)}, "c/b.geojson": {Data: []byte(poly)}}
			_, err := Load(fsys, "c")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %q", err, tc.want)
			}
		})
	}
	if _, err := Open("atlantis"); err == nil || !strings.Contains(err.Error(), "atlantis") {
		t.Fatalf("Open(atlantis) err = %v", err)
	}
}

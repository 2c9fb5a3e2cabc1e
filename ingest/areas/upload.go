package areas

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"hotspots/cities"
	"hotspots/geo"
)

// Limits on uploaded layers, so one request cannot make the server test
// millions of segments.
const (
	MaxUploadFeatures = 5000
	MaxUploadVertices = 500_000
)

// KindCustom is the Kind of layers uploaded by admins.
const KindCustom = "custom"

var layerIDPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Upload is a custom layer as an admin sends it: a GeoJSON FeatureCollection
// of Polygon or MultiPolygon features with a "name" property each and,
// optionally, "code", "population" and "population_year".
type Upload struct {
	ID, Name, Source string
	GeoJSON          []byte
}

// ParseUpload validates an upload against the city and returns the layer to
// store. Every problem is an EINVALID error naming the feature, ring and
// point at fault, so the admin can fix the file: rings must be closed, have
// four or more points, not cross themselves or each other, enclose an area,
// and lie inside the city (within its boundary tolerance). An ID taken by a
// configured layer is ECONFLICT: configured layers are reloaded at start and
// would overwrite the upload.
func ParseUpload(city *cities.City, u Upload) (Layer, error) {
	if !layerIDPattern.MatchString(u.ID) {
		return Layer{}, geo.FieldErrorf("id", "layer id %q: use 1-63 of a-z, 0-9 and _, starting with a letter", u.ID)
	}
	for _, l := range city.Layers {
		if l.ID == u.ID {
			return Layer{}, geo.Errorf(geo.ECONFLICT, "layer id %q is a configured layer of %s", u.ID, city.Name)
		}
	}
	name := strings.TrimSpace(u.Name)
	if name == "" || len(name) > 200 {
		return Layer{}, geo.FieldErrorf("name", "layer name must have 1 to 200 characters")
	}
	fc, err := decodeUpload(u.GeoJSON)
	if err != nil {
		return Layer{}, err
	}
	src := u.Source
	if src == "" {
		src = "uploaded by an admin"
	}
	l := Layer{AreaLayer: geo.AreaLayer{ID: u.ID, Name: name, Kind: KindCustom, Source: src}}
	v := validator{boundary: city.BoundaryPolygon(), tolM: city.Boundary.ToleranceM}
	codes := map[string]int{}
	for i, f := range fc.Features {
		a, err := v.feature(u.ID, i, f)
		if err != nil {
			return Layer{}, err
		}
		if j, dup := codes[a.Code]; dup {
			return Layer{}, geo.FieldErrorf(fmt.Sprintf("features[%d].properties.code", i),
				"code %q is also used by feature %d", a.Code, j)
		}
		codes[a.Code] = i
		a.AltNames = withTruncations(a.Name, nil)
		l.Areas = append(l.Areas, a)
	}
	return l, nil
}

func decodeUpload(b []byte) (*geojson.FeatureCollection, error) {
	var probe struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, geo.FieldErrorf("body", "not JSON: %v", err)
	}
	if probe.Type != "FeatureCollection" {
		return nil, geo.FieldErrorf("type", "want a GeoJSON FeatureCollection, got type %q", probe.Type)
	}
	if len(probe.Features) == 0 || len(probe.Features) > MaxUploadFeatures {
		return nil, geo.FieldErrorf("features", "want 1 to %d features, got %d", MaxUploadFeatures, len(probe.Features))
	}
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		return nil, geo.FieldErrorf("features", "invalid GeoJSON: %v", err)
	}
	// encoding/json matched "feAtures" to the probe's field, ignoring case;
	// the GeoJSON decoder may not have. Whatever the two disagree on is
	// refused rather than stored as a layer without areas (found by
	// FuzzParseUpload).
	if len(fc.Features) != len(probe.Features) {
		return nil, geo.FieldErrorf("features", "want a \"features\" member (exactly so spelled) with 1 to %d features", MaxUploadFeatures)
	}
	return fc, nil
}

type validator struct {
	boundary orb.MultiPolygon
	tolM     float64
	vertices int
}

func (v *validator) feature(layer string, i int, f *geojson.Feature) (geo.Area, error) {
	field := fmt.Sprintf("features[%d]", i)
	a := geo.Area{Layer: layer}
	name, _ := f.Properties["name"].(string)
	if a.Name = strings.TrimSpace(name); a.Name == "" {
		return a, geo.FieldErrorf(field+".properties.name", "feature %d has no \"name\" property", i)
	}
	what := fmt.Sprintf("feature %d (%q)", i, a.Name)
	a.Code = Slug(a.Name)
	if c := strings.TrimSpace(propString(f, "code")); c != "" {
		a.Code = c
	}
	if a.Code == "" {
		return a, geo.FieldErrorf(field+".properties.code", "%s: no code and a name without letters or digits", what)
	}
	if err := uploadPopulation(&a, f, field, what); err != nil {
		return a, err
	}
	mp, err := multiPolygon(f.Geometry)
	if err != nil {
		return a, geo.FieldErrorf(field+".geometry", "%s: %v", what, err)
	}
	for pi, p := range mp {
		if err := v.polygon(p, field+".geometry", fmt.Sprintf("%s polygon %d", what, pi)); err != nil {
			return a, err
		}
	}
	a.Geometry = mp
	return a, nil
}

func uploadPopulation(a *geo.Area, f *geojson.Feature, field, what string) error {
	raw, ok := f.Properties["population"]
	if !ok || raw == nil {
		return nil
	}
	n, ok := raw.(float64)
	if !ok || n < 0 || n != math.Trunc(n) || n > math.MaxInt32 {
		return geo.FieldErrorf(field+".properties.population", "%s: population must be a whole number >= 0, got %v", what, raw)
	}
	pop := int(n)
	a.Population = &pop
	if y, ok := f.Properties["population_year"].(float64); ok && y >= 1790 && y <= 2200 && y == math.Trunc(y) {
		a.PopulationYear = int(y)
	} else if f.Properties["population_year"] != nil {
		return geo.FieldErrorf(field+".properties.population_year", "%s: population_year must be a year, got %v", what, f.Properties["population_year"])
	}
	return nil
}

func (v *validator) polygon(p orb.Polygon, field, where string) error {
	if len(p) == 0 {
		return geo.FieldErrorf(field, "%s has no rings", where)
	}
	for ri, r := range p {
		if err := v.ring(r, field, fmt.Sprintf("%s ring %d", where, ri)); err != nil {
			return err
		}
	}
	if s, ok := crossing(p); ok {
		return geo.FieldErrorf(field, "%s is not valid: %s", where, s)
	}
	for ri := 1; ri < len(p); ri++ {
		if !planar.RingContains(p[0], p[ri][0]) {
			return geo.FieldErrorf(field, "%s: hole %d lies outside the outer ring", where, ri)
		}
	}
	if math.Abs(planar.Area(p)) == 0 {
		return geo.FieldErrorf(field, "%s encloses no area", where)
	}
	return nil
}

func (v *validator) ring(r orb.Ring, field, where string) error {
	v.vertices += len(r)
	if v.vertices > MaxUploadVertices {
		return geo.Errorf(geo.ETOOLARGE, "upload has more than %d vertices", MaxUploadVertices)
	}
	if len(r) < 4 {
		return geo.FieldErrorf(field, "%s has %d points; a ring needs at least 4 (the last repeating the first)", where, len(r))
	}
	for i, pt := range r {
		if math.IsNaN(pt[0]) || math.IsNaN(pt[1]) || math.Abs(pt[0]) > 180 || math.Abs(pt[1]) > 90 {
			return geo.FieldErrorf(field, "%s point %d %v is not a lon, lat coordinate", where, i, pt)
		}
	}
	if !r.Closed() {
		return geo.FieldErrorf(field, "%s is not closed: first point %v, last point %v", where, r[0], r[len(r)-1])
	}
	for i, pt := range r {
		if planar.MultiPolygonContains(v.boundary, pt) {
			continue
		}
		if d := distanceToMultiPolygonM(v.boundary, pt); d > v.tolM {
			return geo.FieldErrorf(field, "%s point %d %v lies %.0f m outside the city (tolerance %.0f m)", where, i, pt, d, v.tolM)
		}
	}
	return nil
}

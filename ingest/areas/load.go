// Package areas loads a city's area layers (neighborhoods, Community
// Statistical Areas, police and council districts, the city itself) and
// their population denominators into the store, validates custom layers an
// admin uploads, and assigns incident points to areas.
//
// Everything a city needs is in its configuration (cities.LayerConfig): the
// package knows no Baltimore names. The Assigner it builds is what ingest
// uses to fill Incident.Areas.
package areas

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"hotspots/cities"
	"hotspots/geo"
)

// Layer is one area layer with its areas, ordered by code.
type Layer struct {
	geo.AreaLayer
	Areas []geo.Area
}

// ReadCity reads every layer a city configures, with populations.
func ReadCity(city *cities.City) ([]Layer, error) {
	out := make([]Layer, 0, len(city.Layers))
	for _, cfg := range city.Layers {
		l, err := ReadLayer(city, cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// LoadCity reads every configured layer of the city and stores it, replacing
// the stored version; running it again with the same files changes nothing,
// so it is safe at every start. Custom layers uploaded by admins are left
// alone.
func LoadCity(ctx context.Context, store geo.AreaService, city *cities.City) error {
	layers, err := ReadCity(city)
	if err != nil {
		return err
	}
	for _, l := range layers {
		if err := store.PutLayer(ctx, l.AreaLayer, l.Areas); err != nil {
			return fmt.Errorf("areas: store layer %s: %w", l.ID, err)
		}
		slog.Debug("area_layer_loaded", slog.String("layer", l.ID), slog.Int("areas", len(l.Areas)))
	}
	return nil
}

// ReadLayer reads one configured layer: its polygons, names, alternative
// names, exclusions and population.
func ReadLayer(city *cities.City, cfg cities.LayerConfig) (Layer, error) {
	l := Layer{AreaLayer: geo.AreaLayer{
		ID: cfg.ID, Name: cfg.Name, Kind: cfg.Kind, Vintage: cfg.Vintage, Source: cfg.Source,
	}}
	var err error
	if l.ValidFrom, err = parseDay(cfg.ValidFrom); err != nil {
		return l, fmt.Errorf("areas: layer %s valid_from: %w", cfg.ID, err)
	}
	if l.ValidTo, err = parseDay(cfg.ValidTo); err != nil {
		return l, fmt.Errorf("areas: layer %s valid_to: %w", cfg.ID, err)
	}
	b, err := readFile(city.FS, cfg.File)
	if err != nil {
		return l, fmt.Errorf("areas: layer %s: %w", cfg.ID, err)
	}
	if l.Areas, err = areasFromGeoJSON(cfg, b); err != nil {
		return l, fmt.Errorf("areas: layer %s: %w", cfg.ID, err)
	}
	if err := markExcluded(l.Areas, cfg.Exclude); err != nil {
		return l, fmt.Errorf("areas: layer %s: %w", cfg.ID, err)
	}
	if cfg.Population != nil {
		if err := readPopulation(city.FS, *cfg.Population, l.Areas); err != nil {
			return l, fmt.Errorf("areas: layer %s population: %w", cfg.ID, err)
		}
	}
	return l, nil
}

func parseDay(s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return nil, fmt.Errorf("%q is not YYYY-MM-DD: %w", s, err)
	}
	return &t, nil
}

// readFile reads a file of the city folder, gunzipping names ending in .gz
// (the big boundary layers are shipped compressed).
func readFile(fsys fs.FS, name string) ([]byte, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil || !strings.HasSuffix(name, ".gz") {
		return b, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer zr.Close()
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// areasFromGeoJSON turns a configured FeatureCollection into areas with
// codes, names and alternative names.
func areasFromGeoJSON(cfg cities.LayerConfig, b []byte) ([]geo.Area, error) {
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.File, err)
	}
	aliases := map[string][]string{} // normalized layer name -> other spellings
	for other, name := range cfg.Aliases {
		k := NormalizeName(name)
		aliases[k] = append(aliases[k], other)
	}
	used := map[string]bool{}
	out := make([]geo.Area, 0, len(fc.Features))
	seen := map[string]bool{}
	for i, f := range fc.Features {
		a, err := areaFromFeature(cfg, f)
		if err != nil {
			return nil, fmt.Errorf("%s feature %d: %w", cfg.File, i, err)
		}
		if seen[a.Code] {
			return nil, fmt.Errorf("%s: code %q repeated", cfg.File, a.Code)
		}
		seen[a.Code] = true
		k := NormalizeName(a.Name)
		if extra, ok := aliases[k]; ok {
			a.AltNames = append(a.AltNames, extra...)
			used[k] = true
		}
		a.AltNames = withTruncations(a.Name, a.AltNames)
		out = append(out, a)
	}
	for k := range aliases {
		if !used[k] {
			return nil, fmt.Errorf("alias target %q is not an area of the layer", k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out, nil
}

func areaFromFeature(cfg cities.LayerConfig, f *geojson.Feature) (geo.Area, error) {
	a := geo.Area{Layer: cfg.ID}
	a.Name = strings.TrimSpace(propString(f, cfg.NameProperty))
	if a.Name == "" {
		return a, fmt.Errorf("no name in property %q", cfg.NameProperty)
	}
	a.Code = Slug(a.Name)
	if cfg.CodeProperty != "" {
		a.Code = strings.TrimSpace(propString(f, cfg.CodeProperty))
	}
	if a.Code == "" {
		return a, fmt.Errorf("area %q has no code", a.Name)
	}
	if cfg.AltNameProperty != "" {
		if alt := strings.TrimSpace(propString(f, cfg.AltNameProperty)); alt != "" && alt != a.Name {
			a.AltNames = append(a.AltNames, alt)
		}
	}
	mp, err := multiPolygon(f.Geometry)
	if err != nil {
		return a, fmt.Errorf("area %q: %w", a.Name, err)
	}
	a.Geometry = closeRings(mp)
	return a, nil
}

// propString reads a property as text: codes are numbers in some layers.
func propString(f *geojson.Feature, key string) string {
	if key == "" {
		return ""
	}
	switch v := f.Properties[key].(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strings.TrimSuffix(fmt.Sprintf("%.6f", v), ".000000")
	default:
		return fmt.Sprint(v)
	}
}

func multiPolygon(g orb.Geometry) (orb.MultiPolygon, error) {
	switch g := g.(type) {
	case orb.Polygon:
		return orb.MultiPolygon{g}, nil
	case orb.MultiPolygon:
		return g, nil
	case nil:
		return nil, fmt.Errorf("no geometry")
	default:
		return nil, fmt.Errorf("geometry is a %s, want Polygon or MultiPolygon", g.GeoJSONType())
	}
}

// closeRings repeats the first point of an unclosed ring at its end: the
// configured files are trusted, and a missing closing point is only a
// writer's habit. Uploads are checked strictly instead (see Validate).
func closeRings(mp orb.MultiPolygon) orb.MultiPolygon {
	for _, p := range mp {
		for i, r := range p {
			if len(r) > 0 && !r.Closed() {
				p[i] = append(r, r[0])
			}
		}
	}
	return mp
}

// withTruncations adds the BPD truncation of the name and of every
// alternative name, without repeats.
func withTruncations(name string, alts []string) []string {
	seen := map[string]bool{NormalizeName(name): true}
	var out []string
	add := func(s string) {
		if s != "" && !seen[NormalizeName(s)] {
			seen[NormalizeName(s)] = true
			out = append(out, s)
		}
	}
	for _, a := range alts {
		add(a)
	}
	add(truncated(name))
	for _, a := range alts {
		add(truncated(a))
	}
	return out
}

func markExcluded(areas []geo.Area, names []string) error {
	idx := NewNameIndex(areas)
	for _, n := range names {
		code, ok := idx.Resolve(n)
		if !ok {
			return fmt.Errorf("excluded area %q is not in the layer", n)
		}
		for i := range areas {
			if areas[i].Code == code {
				areas[i].Excluded = true
			}
		}
	}
	return nil
}

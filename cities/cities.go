// Package cities loads city configurations: everything that makes hotspots
// run for one city (boundary, time zone, area layers, population, source
// mappings, street data for geocoding, treatment locations, thresholds).
//
// Nothing in the service is specific to Baltimore: Baltimore is the default
// configuration embedded in the binary, and a second city is a folder with a
// city.yaml laid out the same way, named with --city.
package cities

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"
	"gopkg.in/yaml.v3"

	"hotspots/geo"
)

// Builtin holds the city folders shipped inside the binary.
//
//go:embed all:baltimore all:tempe all:philadelphia
var Builtin embed.FS

// DefaultCity is the city used when none is named.
const DefaultCity = "baltimore"

// City is one city's configuration, loaded from its city.yaml. Paths inside
// are relative to the city folder and read through FS.
type City struct {
	Name     string `yaml:"name"`
	Slug     string `yaml:"slug"`
	TimeZone string `yaml:"time_zone"`
	// Center and Zoom position the analyst map when it opens.
	Center [2]float64 `yaml:"center"`
	Zoom   float64    `yaml:"zoom"`

	Boundary BoundaryConfig `yaml:"boundary"`
	Layers   []LayerConfig  `yaml:"layers"`
	// Sources are the mapping files (one per feed) ingest knows for this city.
	Sources []string `yaml:"sources"`
	// Streets is the folder of the offline geocoder's street data, "" if the
	// city has none (coordinates-only feeds).
	Streets string `yaml:"streets"`
	// TreatmentLocations are hospitals and trauma centres where victims are
	// sometimes recorded instead of the incident site; incidents there are
	// flagged so they are not counted as hotspots silently.
	TreatmentLocations []TreatmentLocation `yaml:"treatment_locations"`
	// Sentinels are placeholder points feeds use for "no location", as
	// [lon, lat]; rows at them are quarantined.
	Sentinels [][2]float64 `yaml:"sentinels"`
	// Demo lists what `hotspots demo` loads.
	Demo DemoConfig `yaml:"demo"`
	// Privacy sets public suppression.
	Privacy PrivacyConfig `yaml:"privacy"`
	// Target is the city's reduction goal tracked by the indicators.
	Target TargetConfig `yaml:"target"`
	// Alerts holds the city's area count rules for spike alerts.
	Alerts AlertsConfig `yaml:"alerts"`

	// Location is the parsed TimeZone.
	Location *time.Location `yaml:"-"`
	// FS is the city folder.
	FS fs.FS `yaml:"-"`
	// boundary is the parsed city polygon.
	boundary orb.MultiPolygon
}

// BoundaryConfig names the city polygon and how far outside it a point may be
// and still count (shoreline geocodes, points on the city line).
type BoundaryConfig struct {
	File       string  `yaml:"file"`
	ToleranceM float64 `yaml:"tolerance_m"`
}

// LayerConfig describes one area layer and where its polygons and population
// come from.
type LayerConfig struct {
	ID           string `yaml:"id"`
	Name         string `yaml:"name"`
	Kind         string `yaml:"kind"`
	Vintage      string `yaml:"vintage"`
	File         string `yaml:"file"`
	CodeProperty string `yaml:"code_property"`
	NameProperty string `yaml:"name_property"`
	// AltNameProperty names a feature property holding another spelling of
	// the area's name (e.g. the 2010 name of a renamed 2020 neighborhood).
	AltNameProperty string `yaml:"alt_name_property"`
	// ValidFrom/ValidTo (YYYY-MM-DD) bound the incident dates the layer
	// applies to, for redrawn districts.
	ValidFrom string `yaml:"valid_from"`
	ValidTo   string `yaml:"valid_to"`
	// Exclude lists area names kept for joins but left out of rankings.
	Exclude    []string          `yaml:"exclude"`
	Population *PopulationConfig `yaml:"population"`
	// Aliases maps other spellings to the layer's names.
	Aliases map[string]string `yaml:"aliases"`
	Source  string            `yaml:"source"`
}

// PopulationConfig points at a CSV of population per area.
type PopulationConfig struct {
	File        string `yaml:"file"`
	NameColumn  string `yaml:"name_column"`
	ValueColumn string `yaml:"value_column"`
	// Filter keeps rows whose column equals the value (e.g. geography).
	FilterColumn string `yaml:"filter_column"`
	FilterValue  string `yaml:"filter_value"`
	Year         int    `yaml:"year"`
	// Source says where the figures come from and how they were derived,
	// for the methods page.
	Source string `yaml:"source"`
}

// TreatmentLocation is a hospital or trauma centre.
type TreatmentLocation struct {
	Name      string     `yaml:"name"`
	Point     [2]float64 `yaml:"point"`
	RadiusM   float64    `yaml:"radius_m"`
	Addresses []string   `yaml:"addresses"`
}

// DemoConfig lists the sources (mapping file and data file) the demo loads.
type DemoConfig struct {
	Loads []DemoLoad `yaml:"loads"`
	// SimulatedOverdoses configures the simulated overdose stream, for cities
	// without a public overdose feed; 0 disables it.
	SimulatedOverdoses int `yaml:"simulated_overdoses"`
}

// DemoLoad is one demo load: a mapping applied to a bundled file.
type DemoLoad struct {
	Mapping string `yaml:"mapping"`
	File    string `yaml:"file"`
}

// PrivacyConfig sets small-count suppression for public outputs.
type PrivacyConfig struct {
	// SuppressBelow: public counts from 1 to SuppressBelow-1 are suppressed.
	SuppressBelow int `yaml:"suppress_below"`
}

// TargetConfig is a reduction goal: by default 15% a year in fatal and
// non-fatal shootings against a baseline year.
type TargetConfig struct {
	Kinds           []string `yaml:"kinds"`
	BaselineYear    int      `yaml:"baseline_year"`
	AnnualReduction float64  `yaml:"annual_reduction"`
}

// AlertsConfig holds the per-city alert rules that depend on local
// knowledge; the scan, EARS and near-repeat rules are city-independent.
type AlertsConfig struct {
	// Thresholds are ODMAP-style spike rules: Min or more incidents of Kind
	// within Window in one area of Layer.
	Thresholds []AlertThreshold `yaml:"thresholds"`
}

// AlertThreshold is one area count rule. Areas limits it to some area codes
// of the layer (empty: every area), so teams can set it per area and kind.
type AlertThreshold struct {
	Layer  string        `yaml:"layer"`
	Areas  []string      `yaml:"areas"`
	Kind   string        `yaml:"kind"`
	Window time.Duration `yaml:"window"`
	Min    int           `yaml:"min"`
}

// Load reads and validates the city in folder dir of fsys.
func Load(fsys fs.FS, dir string) (*City, error) {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("city %s: %w", dir, err)
	}
	b, err := fs.ReadFile(sub, "city.yaml")
	if err != nil {
		return nil, fmt.Errorf("city %s: %w", dir, err)
	}
	c := &City{FS: sub}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("city %s: city.yaml: %w", dir, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("city %s: %w", dir, err)
	}
	return c, nil
}

// Open resolves a --city value: a builtin city name ("baltimore", "tempe")
// or a path to a folder holding a city.yaml.
func Open(nameOrPath string) (*City, error) {
	if nameOrPath == "" {
		nameOrPath = DefaultCity
	}
	if st, err := os.Stat(nameOrPath); err == nil && st.IsDir() {
		return Load(os.DirFS(nameOrPath), ".")
	}
	if _, err := fs.Stat(Builtin, path.Join(nameOrPath, "city.yaml")); err == nil {
		return Load(Builtin, nameOrPath)
	}
	return nil, fmt.Errorf("unknown city %q: not a builtin city (%s) and not a folder with a city.yaml",
		nameOrPath, strings.Join(BuiltinNames(), ", "))
}

// BuiltinNames lists the cities embedded in the binary.
func BuiltinNames() []string {
	var out []string
	entries, _ := fs.ReadDir(Builtin, ".")
	for _, e := range entries {
		if _, err := fs.Stat(Builtin, path.Join(e.Name(), "city.yaml")); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

func (c *City) validate() error {
	var errs []error
	for i, t := range c.Alerts.Thresholds {
		known := false
		for _, l := range c.Layers {
			known = known || l.ID == t.Layer
		}
		if !known || t.Window <= 0 || t.Min < 1 || geo.Kind(t.Kind).Validate() != nil {
			errs = append(errs, fmt.Errorf("alerts.thresholds[%d]: needs a known layer (got %q), a kind (got %q), a window > 0 and min >= 1", i, t.Layer, t.Kind))
		}
	}
	if c.Name == "" || c.Slug == "" {
		errs = append(errs, errors.New("name and slug are required"))
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil || c.TimeZone == "" {
		errs = append(errs, fmt.Errorf("time_zone %q: not a valid IANA zone", c.TimeZone))
	}
	c.Location = loc
	if c.Boundary.File == "" {
		errs = append(errs, errors.New("boundary.file is required"))
	} else if mp, err := c.readBoundary(); err != nil {
		errs = append(errs, err)
	} else {
		c.boundary = mp
	}
	seen := map[string]bool{}
	for _, l := range c.Layers {
		if l.ID == "" || seen[l.ID] {
			errs = append(errs, fmt.Errorf("layer %q: id missing or repeated", l.ID))
		}
		seen[l.ID] = true
		errs = append(errs, c.mustExist("layer "+l.ID, l.File))
		if l.Population != nil {
			errs = append(errs, c.mustExist("layer "+l.ID+" population", l.Population.File))
		}
	}
	for _, s := range c.Sources {
		errs = append(errs, c.mustExist("source", s))
	}
	for _, d := range c.Demo.Loads {
		errs = append(errs, c.mustExist("demo mapping", d.Mapping), c.mustExist("demo file", d.File))
	}
	if c.Streets != "" {
		errs = append(errs, c.mustExist("streets", c.Streets))
	}
	if c.Privacy.SuppressBelow == 0 {
		c.Privacy.SuppressBelow = 11
	}
	return errors.Join(errs...)
}

func (c *City) mustExist(what, name string) error {
	if name == "" {
		return fmt.Errorf("%s: file name missing", what)
	}
	if _, err := fs.Stat(c.FS, name); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (c *City) readBoundary() (orb.MultiPolygon, error) {
	b, err := fs.ReadFile(c.FS, c.Boundary.File)
	if err != nil {
		return nil, fmt.Errorf("boundary: %w", err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		return nil, fmt.Errorf("boundary %s: %w", c.Boundary.File, err)
	}
	var mp orb.MultiPolygon
	for _, f := range fc.Features {
		switch g := f.Geometry.(type) {
		case orb.Polygon:
			mp = append(mp, g)
		case orb.MultiPolygon:
			mp = append(mp, g...)
		}
	}
	if len(mp) == 0 {
		return nil, fmt.Errorf("boundary %s: no polygons", c.Boundary.File)
	}
	return mp, nil
}

// BoundaryPolygon returns the city polygon.
func (c *City) BoundaryPolygon() orb.MultiPolygon { return c.boundary }

// Bound returns the bounding box of the city polygon.
func (c *City) Bound() orb.Bound { return c.boundary.Bound() }

// Contains reports whether p (lon, lat) is inside the city polygon.
func (c *City) Contains(p orb.Point) bool { return planar.MultiPolygonContains(c.boundary, p) }

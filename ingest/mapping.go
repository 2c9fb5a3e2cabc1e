package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"hotspots/geo"
)

// Feed formats a mapping can declare.
const (
	FormatCSV     = "csv"
	FormatGeoJSON = "geojson"
	FormatArcGIS  = "arcgis"
	FormatSocrata = "socrata"
	FormatPush    = "push"
)

// Geocoding modes: when a row's address is sent to the geocoder.
const (
	GeocodeNever    = "never"    // coordinates only; no coordinates is missing_location
	GeocodeFallback = "fallback" // geocode when the coordinates are missing or a placeholder
	GeocodeAlways   = "always"   // ignore coordinate columns (feeds with none)
)

// Mapping is the declarative description of one source: how its rows become
// incidents. One YAML file per source lives in the city's mappings folder,
// so a new feed is configuration, not code.
type Mapping struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Format is csv, geojson, arcgis, socrata or push.
	Format string `yaml:"format"`
	// Origin and Licence are shown on the methods page and copied into the
	// sample folders' notices.
	Origin  string `yaml:"origin"`
	Licence string `yaml:"licence"`
	// TimeZone of the source's local dates and times; empty: the city's.
	TimeZone string `yaml:"time_zone"`
	// Start is the first date the source covers (YYYY-MM-DD); earlier rows
	// are quarantined as before_source_start (BPD's 1963 dates).
	Start string `yaml:"start"`

	Columns Columns `yaml:"columns"`
	// DateFormats parse the date column; only the calendar date is used,
	// so fake UTC offsets ("2021-08-01 00:00:00+00") read as local dates.
	DateFormats []string `yaml:"date_formats"`
	// DateTimeFormats parse the datetime column, honouring offsets.
	DateTimeFormats []string `yaml:"datetime_formats"`
	// TimeFormats parse the time column: Go layouts or "hhmm".
	TimeFormats []string `yaml:"time_formats"`

	// Precision of the source's coordinates (exact, block, randomized).
	Precision geo.Precision `yaml:"precision"`
	// Geocode says when the address is geocoded: never, fallback, always.
	Geocode string `yaml:"geocode"`
	// AddressSuffix is appended to addresses before geocoding, e.g.
	// ", BALTIMORE, MD" for feeds that omit the city.
	AddressSuffix string `yaml:"address_suffix"`
	// Sentinels are placeholder points ([lon, lat]) this source writes for
	// "no location", besides the city's.
	Sentinels [][2]float64 `yaml:"sentinels"`
	// Agency is a constant agency name when the feed has no agency column.
	Agency string `yaml:"agency"`
	// Flags are added to every incident (e.g. simulated).
	Flags []string `yaml:"flags"`

	// Key identifies an incident and merges victim rows.
	Key KeyConfig `yaml:"key"`
	// Filters keep only matching rows; the others are counted as filtered.
	Filters []Condition `yaml:"filters"`
	// Classify is the ordered list of kind rules; the first match wins and
	// an unmatched row is quarantined as unknown_kind.
	Classify []Rule `yaml:"classify"`
	// Values translate cell values of count columns (victims, naloxone),
	// e.g. {Yes: 1, No: 0, NULL: 0} for Tempe's Narcan_Given.
	Values map[string]map[string]int `yaml:"values"`
	// Join attaches columns of a second file (the Trace case addresses).
	Join *JoinConfig `yaml:"join"`
	// Poll configures scheduled pulls of a remote feed.
	Poll *PollConfig `yaml:"poll"`

	loc    *time.Location
	start  time.Time
	rules  []compiledRule
	filter []compiledCond
}

// Columns names the feed columns that carry each incident field.
type Columns struct {
	ID       string `yaml:"id"`
	Date     string `yaml:"date"`
	DateTime string `yaml:"datetime"`
	Time     string `yaml:"time"`
	Lat      string `yaml:"lat"`
	Lon      string `yaml:"lon"`
	// LatLon is a combined point column: "(lat, lon)", "POINT (lon lat)"
	// or a GeoJSON/Socrata point object.
	LatLon   string `yaml:"latlon"`
	Address  string `yaml:"address"`
	Agency   string `yaml:"agency"`
	Victims  string `yaml:"victims"`
	Naloxone string `yaml:"naloxone"`
}

// KeyConfig says which columns identify an incident. Victim-based feeds
// write one row per victim; with Merge, rows sharing a key are one incident
// whose Victims is the number of rows (or the sum of the victims column).
type KeyConfig struct {
	Columns []string `yaml:"columns"`
	Merge   bool     `yaml:"merge"`
	// KindPrecedence picks the merged incident's kind when its rows
	// disagree: the first listed kind present wins (fatal before non-fatal).
	KindPrecedence []geo.Kind `yaml:"kind_precedence"`
	// NoVictims leaves Victims at 0 for feeds that count no victims
	// (arrests), instead of counting rows.
	NoVictims bool `yaml:"no_victims"`
}

// Condition tests one column. Equals and In compare case-insensitively
// after trimming and collapsing white space, because call-takers type
// "PEACE  ORDER" and "pEACE ORDER"; Matches is a regular expression.
type Condition struct {
	Column  string   `yaml:"column"`
	Equals  *string  `yaml:"equals"`
	In      []string `yaml:"in"`
	Matches string   `yaml:"matches"`
	Empty   *bool    `yaml:"empty"`
	// Not negates the whole condition.
	Not bool `yaml:"not"`
}

// Rule classifies a row: when every condition holds, the row gets Kind, or
// is filtered out when Skip is set (911 call types that are not tracked).
type Rule struct {
	When []Condition `yaml:"when"`
	Kind geo.Kind    `yaml:"kind"`
	Skip bool        `yaml:"skip"`
}

// JoinConfig joins each row to a row of a second file by key, as the Trace
// persons file joins its case addresses. File is relative to the input.
type JoinConfig struct {
	File string `yaml:"file"`
	On   string `yaml:"on"`
	To   string `yaml:"to"`
	// Required quarantines rows without a partner; otherwise they pass
	// with the joined columns empty.
	Required bool `yaml:"required"`
}

// PollConfig configures scheduled pulls: where from and how often, and the
// date field whose largest value is the source's watermark.
type PollConfig struct {
	URL      string        `yaml:"url"`
	Every    time.Duration `yaml:"every"`
	Since    string        `yaml:"since_field"`
	PageSize int           `yaml:"page_size"`
	// Layer is the ArcGIS layer query path suffix ("0/query").
	Where string `yaml:"where"`
}

type compiledCond struct {
	Condition
	equals []string
	re     *regexp.Regexp
}

type compiledRule struct {
	when []compiledCond
	kind geo.Kind
	skip bool
}

// ParseMapping decodes and validates a mapping. Unknown keys are errors, so
// a typo in a column name key does not silently leave a field unmapped.
func ParseMapping(b []byte) (*Mapping, error) {
	var m Mapping
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	if err := m.compile(); err != nil {
		return nil, fmt.Errorf("mapping %s: %w", m.ID, err)
	}
	return &m, nil
}

// LoadMapping reads and parses a mapping file from fsys.
func LoadMapping(fsys fs.FS, name string) (*Mapping, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", name, err)
	}
	m, err := ParseMapping(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

func (m *Mapping) compile() error {
	var errs []error
	if !idPattern.MatchString(m.ID) {
		errs = append(errs, fmt.Errorf("id %q: lower-case letters, digits, '-', '_' and '.' only", m.ID))
	}
	switch m.Format {
	case FormatCSV, FormatGeoJSON, FormatArcGIS, FormatSocrata, FormatPush:
	default:
		errs = append(errs, fmt.Errorf("format %q: want csv, geojson, arcgis, socrata or push", m.Format))
	}
	if m.TimeZone != "" {
		loc, err := time.LoadLocation(m.TimeZone)
		if err != nil {
			errs = append(errs, fmt.Errorf("time_zone %q: %w", m.TimeZone, err))
		}
		m.loc = loc
	}
	if m.Start != "" {
		t, err := time.Parse(time.DateOnly, m.Start)
		if err != nil {
			errs = append(errs, fmt.Errorf("start %q: want YYYY-MM-DD", m.Start))
		}
		m.start = t
	}
	errs = append(errs, m.compileWhen()...)
	if m.Geocode == "" {
		m.Geocode = GeocodeNever
	}
	switch m.Geocode {
	case GeocodeNever, GeocodeFallback, GeocodeAlways:
	default:
		errs = append(errs, fmt.Errorf("geocode %q: want never, fallback or always", m.Geocode))
	}
	if m.Geocode != GeocodeNever && m.Columns.Address == "" {
		errs = append(errs, fmt.Errorf("geocode %s needs columns.address", m.Geocode))
	}
	if m.Precision == "" {
		m.Precision = geo.PrecisionExact
	}
	for _, f := range m.Filters {
		c, err := compileCond(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("filter: %w", err))
		}
		m.filter = append(m.filter, c)
	}
	if len(m.Classify) == 0 {
		errs = append(errs, errors.New("classify: at least one rule is required"))
	}
	for i, r := range m.Classify {
		cr := compiledRule{kind: r.Kind, skip: r.Skip}
		if r.Skip == (r.Kind != "") {
			errs = append(errs, fmt.Errorf("classify rule %d: set exactly one of kind and skip", i+1))
		} else if r.Kind != "" {
			if err := r.Kind.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("classify rule %d: %w", i+1, err))
			}
		}
		for _, c := range r.When {
			cc, err := compileCond(c)
			if err != nil {
				errs = append(errs, fmt.Errorf("classify rule %d: %w", i+1, err))
			}
			cr.when = append(cr.when, cc)
		}
		m.rules = append(m.rules, cr)
	}
	if m.Key.Merge && len(m.Key.Columns) == 0 {
		errs = append(errs, errors.New("key.merge needs key.columns"))
	}
	if m.Join != nil && (m.Join.File == "" || m.Join.On == "" || m.Join.To == "") {
		errs = append(errs, errors.New("join needs file, on and to"))
	}
	return errors.Join(errs...)
}

func (m *Mapping) compileWhen() []error {
	var errs []error
	c := m.Columns
	if m.Format == FormatPush {
		return nil
	}
	switch {
	case c.Date == "" && c.DateTime == "":
		errs = append(errs, errors.New("columns: date or datetime is required"))
	case c.Date != "" && c.DateTime != "":
		errs = append(errs, errors.New("columns: date and datetime are exclusive"))
	case c.Date != "" && len(m.DateFormats) == 0:
		errs = append(errs, errors.New("columns.date needs date_formats"))
	case c.DateTime != "" && len(m.DateTimeFormats) == 0:
		errs = append(errs, errors.New("columns.datetime needs datetime_formats"))
	}
	if c.Time != "" && len(m.TimeFormats) == 0 {
		errs = append(errs, errors.New("columns.time needs time_formats"))
	}
	if (c.Lat == "") != (c.Lon == "") {
		errs = append(errs, errors.New("columns: lat and lon go together"))
	}
	return errs
}

func compileCond(c Condition) (compiledCond, error) {
	cc := compiledCond{Condition: c}
	if c.Column == "" {
		return cc, errors.New("condition without column")
	}
	n := 0
	if c.Equals != nil {
		cc.equals = append(cc.equals, normValue(*c.Equals))
		n++
	}
	if c.In != nil {
		for _, v := range c.In {
			cc.equals = append(cc.equals, normValue(v))
		}
		n++
	}
	if c.Matches != "" {
		re, err := regexp.Compile(c.Matches)
		if err != nil {
			return cc, fmt.Errorf("column %s: matches: %w", c.Column, err)
		}
		cc.re = re
		n++
	}
	if c.Empty != nil {
		n++
	}
	if n != 1 {
		return cc, fmt.Errorf("column %s: set exactly one of equals, in, matches, empty", c.Column)
	}
	return cc, nil
}

// normValue upper-cases, trims and collapses inner white space.
func normValue(s string) string {
	if valueIsNormal(s) {
		return s
	}
	return normValueGeneral(s)
}

// normValueGeneral is normValue for any value.
func normValueGeneral(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), " "))
}

// valueIsNormal reports whether normValue would return s unchanged: ASCII
// without lower case or control characters, words separated by single
// spaces. Classify rules test every row's description, which usually is
// ("SHOOTING"), and normalizing allocated twice per test.
func valueIsNormal(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c > '~' || 'a' <= c && c <= 'z' || c == ' ' && s[i-1] == ' ' {
			return false
		}
	}
	return true
}

func (c *compiledCond) test(r *Record) bool {
	v := r.Get(c.Column)
	var ok bool
	switch {
	case c.equals != nil:
		nv := normValue(v)
		for _, e := range c.equals {
			if nv == e {
				ok = true
				break
			}
		}
	case c.re != nil:
		ok = c.re.MatchString(strings.TrimSpace(v))
	case c.Empty != nil:
		ok = (strings.TrimSpace(v) == "") == *c.Empty
	}
	return ok != c.Not
}

// Location returns the source's time zone, or fallback when it has none.
func (m *Mapping) Location(fallback *time.Location) *time.Location {
	if m.loc != nil {
		return m.loc
	}
	return fallback
}

// classify returns the kind of the first matching rule; skip reports a row
// that a rule filters out; ok is false when no rule matched.
func (m *Mapping) classify(r *Record) (kind geo.Kind, skip, ok bool) {
	for i := range m.rules {
		cr := &m.rules[i]
		all := true
		for j := range cr.when {
			if !cr.when[j].test(r) {
				all = false
				break
			}
		}
		if all {
			return cr.kind, cr.skip, true
		}
	}
	return "", false, false
}

// keep reports whether the row passes every filter, and names the first
// filter that rejected it.
func (m *Mapping) keep(r *Record) (bool, string) {
	for i := range m.filter {
		if !m.filter[i].test(r) {
			return false, m.filter[i].Column
		}
	}
	return true, ""
}

// KindOf returns the kind a row of this mapping's feed gets, for tests and
// the methods page; skip reports rows a rule filters out.
func (m *Mapping) KindOf(r *Record) (kind geo.Kind, skip, ok bool) { return m.classify(r) }

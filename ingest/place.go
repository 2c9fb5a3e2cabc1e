package ingest

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"hotspots/cities"
	"hotspots/geo"
)

// sentinelTolerance is how close (in degrees, ~50 m) a point must be to a
// sentinel to count as that placeholder; feeds write (39, -77) with varying
// trailing digits ("39.000000000000").
const sentinelTolerance = 0.0005

// coordStatus is what parsing a row's coordinates found.
type coordStatus int

const (
	coordOK coordStatus = iota
	coordMissing
	coordBad
	coordNullIsland
	coordSentinel
)

// latLonPair matches "(39.34782, -76.58727)" and "39.3,-76.5".
var latLonPair = regexp.MustCompile(`^\(?\s*(-?[0-9.]+)\s*,\s*(-?[0-9.]+)\s*\)?$`)

// wktPoint matches "POINT (-76.58 39.34)".
var wktPoint = regexp.MustCompile(`(?i)^POINT\s*\(\s*(-?[0-9.eE+-]+)\s+(-?[0-9.eE+-]+)\s*\)$`)

// parsePoint reads a combined point cell: "(lat, lon)", "POINT (lon lat)",
// a GeoJSON point or a Socrata location object. ok is false for an empty
// cell ("(,)" included); err for one that is not a point.
func parsePoint(v string) (p orb.Point, ok bool, err error) {
	v = strings.TrimSpace(v)
	if v == "" || strings.Trim(v, "(), ") == "" {
		return orb.Point{}, false, nil
	}
	if m := latLonPair.FindStringSubmatch(v); m != nil {
		lat, err1 := strconv.ParseFloat(m[1], 64)
		lon, err2 := strconv.ParseFloat(m[2], 64)
		if err1 != nil || err2 != nil {
			return orb.Point{}, false, fmt.Errorf("point %q: not numbers", v)
		}
		return orb.Point{lon, lat}, true, nil
	}
	if m := wktPoint.FindStringSubmatch(v); m != nil {
		lon, err1 := strconv.ParseFloat(m[1], 64)
		lat, err2 := strconv.ParseFloat(m[2], 64)
		if err1 != nil || err2 != nil {
			return orb.Point{}, false, fmt.Errorf("point %q: not numbers", v)
		}
		return orb.Point{lon, lat}, true, nil
	}
	if strings.HasPrefix(v, "{") {
		var obj struct {
			Coordinates []float64 `json:"coordinates"`
			Latitude    any       `json:"latitude"`
			Longitude   any       `json:"longitude"`
		}
		if err := json.Unmarshal([]byte(v), &obj); err != nil {
			return orb.Point{}, false, fmt.Errorf("point %q: %w", v, err)
		}
		if len(obj.Coordinates) == 2 {
			return orb.Point{obj.Coordinates[0], obj.Coordinates[1]}, true, nil
		}
		lat, err1 := strconv.ParseFloat(stringOf(obj.Latitude), 64)
		lon, err2 := strconv.ParseFloat(stringOf(obj.Longitude), 64)
		if err1 == nil && err2 == nil {
			return orb.Point{lon, lat}, true, nil
		}
	}
	return orb.Point{}, false, fmt.Errorf("point %q: not (lat, lon), WKT or GeoJSON", v)
}

// parseLatLon reads separate latitude and longitude cells.
func parseLatLon(lat, lon string) (p orb.Point, ok bool, err error) {
	lat, lon = strings.TrimSpace(lat), strings.TrimSpace(lon)
	if lat == "" && lon == "" {
		return orb.Point{}, false, nil
	}
	y, err1 := strconv.ParseFloat(lat, 64)
	x, err2 := strconv.ParseFloat(lon, 64)
	if err1 != nil || err2 != nil || math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
		return orb.Point{}, false, fmt.Errorf("coordinates lat %q lon %q: not numbers", lat, lon)
	}
	return orb.Point{x, y}, true, nil
}

// placeCheck validates points against one city: boundary with tolerance,
// placeholders, swapped axes and treatment locations.
type placeCheck struct {
	boundary   orb.MultiPolygon
	bound      orb.Bound
	inside     *pip
	toleranceM float64
	sentinels  []orb.Point
	treatment  []treatmentSite
	// treatmentAddr maps a normalized address to the first treatment site
	// that lists it: one lookup per row instead of one per site.
	treatmentAddr map[string]int
}

type treatmentSite struct {
	name    string
	point   orb.Point
	radiusM float64
	addrs   map[string]bool
}

func newPlaceCheck(c *cities.City, m *Mapping) *placeCheck {
	pc := &placeCheck{boundary: c.BoundaryPolygon(), toleranceM: c.Boundary.ToleranceM}
	pc.bound = pc.boundary.Bound()
	pc.inside = newPIP(pc.boundary, 256)
	for _, s := range c.Sentinels {
		pc.sentinels = append(pc.sentinels, orb.Point{s[0], s[1]})
	}
	for _, s := range m.Sentinels {
		pc.sentinels = append(pc.sentinels, orb.Point{s[0], s[1]})
	}
	pc.treatmentAddr = map[string]int{}
	for i, t := range c.TreatmentLocations {
		ts := treatmentSite{name: t.Name, point: orb.Point{t.Point[0], t.Point[1]}, radiusM: t.RadiusM, addrs: map[string]bool{}}
		for _, a := range t.Addresses {
			na := normAddress(a)
			ts.addrs[na] = true
			if _, ok := pc.treatmentAddr[na]; !ok {
				pc.treatmentAddr[na] = i
			}
		}
		pc.treatment = append(pc.treatment, ts)
	}
	return pc
}

// status classifies a parsed point before any city test.
func (pc *placeCheck) status(p orb.Point) coordStatus {
	if p[0] == 0 && p[1] == 0 {
		return coordNullIsland
	}
	for _, s := range pc.sentinels {
		if math.Abs(p[0]-s[0]) < sentinelTolerance && math.Abs(p[1]-s[1]) < sentinelTolerance {
			return coordSentinel
		}
	}
	return coordOK
}

// locate decides whether p is in the city: inside, within the tolerance
// (kept, flagged), or not, in which case it tells a swapped pair from a
// point that is simply elsewhere.
func (pc *placeCheck) locate(p orb.Point) (flag string, reason geo.Reason, detail string) {
	if inRange(p) && pc.contains(p) {
		return "", "", ""
	}
	if inRange(p) {
		if d := pc.distanceM(p); d <= pc.toleranceM {
			return geo.FlagShoreline, "", ""
		}
	}
	sw := orb.Point{p[1], p[0]}
	if inRange(sw) && pc.contains(sw) {
		return "", geo.ReasonSwappedLatLon, fmt.Sprintf("lat %v lon %v: inside the city only when swapped", p[1], p[0])
	}
	if !inRange(p) {
		return "", geo.ReasonOutsideCity, fmt.Sprintf("lat %v lon %v: out of range", p[1], p[0])
	}
	return "", geo.ReasonOutsideCity, fmt.Sprintf("lat %v lon %v: %.0f m outside the city", p[1], p[0], pc.distanceM(p))
}

func inRange(p orb.Point) bool {
	return p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90
}

func (pc *placeCheck) contains(p orb.Point) bool {
	return pc.inside.contains(p)
}

// distanceM is the distance in metres from p to the city's boundary, in a
// local equirectangular projection (exact enough within a city).
func (pc *placeCheck) distanceM(p orb.Point) float64 {
	best := math.Inf(1)
	kx := metresPerDegLon(p[1])
	for _, poly := range pc.boundary {
		for _, ring := range poly {
			for i := 1; i < len(ring); i++ {
				d := segDistM(p, ring[i-1], ring[i], kx)
				if d < best {
					best = d
				}
			}
		}
	}
	return best
}

const metresPerDegLat = 110_574.0

func metresPerDegLon(lat float64) float64 { return 111_320.0 * math.Cos(lat*math.Pi/180) }

// distM is the distance in metres between two nearby points.
func distM(a, b orb.Point) float64 {
	dx := (a[0] - b[0]) * metresPerDegLon((a[1]+b[1])/2)
	dy := (a[1] - b[1]) * metresPerDegLat
	return math.Hypot(dx, dy)
}

func segDistM(p, a, b orb.Point, kx float64) float64 {
	ax, ay := (a[0]-p[0])*kx, (a[1]-p[1])*metresPerDegLat
	bx, by := (b[0]-p[0])*kx, (b[1]-p[1])*metresPerDegLat
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l2))
	}
	return math.Hypot(ax+t*dx, ay+t*dy)
}

// treatmentAt returns the treatment location p or the address falls at,
// "" when none: hospitals where victims are recorded instead of the scene.
// The first site in configuration order that either matches wins.
func (pc *placeCheck) treatmentAt(p orb.Point, addr string) string {
	if len(pc.treatment) == 0 {
		return ""
	}
	// first is the first site the address names; a site before it can
	// still win by distance.
	first := len(pc.treatment)
	if na := normAddress(addr); na != "" {
		if i, ok := pc.treatmentAddr[na]; ok {
			first = i
		}
	}
	for _, t := range pc.treatment[:first] {
		if t.near(p) {
			return t.name
		}
	}
	if first < len(pc.treatment) {
		return pc.treatment[first].name
	}
	return ""
}

// near reports whether p is within the site's radius. The distance is at
// least its north-south part, so a point further than the radius in
// latitude alone is out without the cosine and the square root (most rows
// of a load).
func (t *treatmentSite) near(p orb.Point) bool {
	if t.radiusM <= 0 {
		return false
	}
	if math.Abs((p[1]-t.point[1])*metresPerDegLat) > t.radiusM {
		return false
	}
	return distM(p, t.point) <= t.radiusM
}

// normAddress upper-cases an address, drops punctuation and a trailing city
// or state part, and unifies AVE/AV, so "1800 E. Orleans St." and
// "1800 E ORLEANS ST" compare equal.
func normAddress(a string) string {
	if addressIsNormal(a) {
		return a
	}
	return normAddressGeneral(a)
}

// normAddressGeneral is normAddress for any address.
func normAddressGeneral(a string) string {
	a = strings.ToUpper(a)
	if i := strings.IndexByte(a, ','); i >= 0 {
		a = a[:i]
	}
	a = addrPunct.Replace(a)
	f := strings.Fields(a)
	for i, w := range f {
		switch w {
		case "AVENUE", "AVE":
			f[i] = "AV"
		case "STREET":
			f[i] = "ST"
		case "ROAD":
			f[i] = "RD"
		}
		if i == 0 {
			f[i] = strings.TrimLeft(w, "0")
			if f[i] == "" && w != "" {
				f[i] = "0"
			}
		}
	}
	return strings.Join(f, " ")
}

// addressIsNormal reports whether normAddress would return a unchanged,
// which is what most addresses of a load are ("3300 N TEST ST"): ASCII
// without lower case, commas, periods or '#', words separated by single
// spaces, none of them a spelling normAddress replaces, and no leading zero
// on the first. Checking takes one pass and no allocation; normalizing took
// five allocations per row.
func addressIsNormal(a string) bool {
	if a == "" || a[0] == ' ' || a[0] == '0' || a[len(a)-1] == ' ' {
		return a == ""
	}
	word := 0
	for i := 0; i <= len(a); i++ {
		if i < len(a) {
			c := a[i]
			if c < '!' && c != ' ' || c > '~' || 'a' <= c && c <= 'z' || c == ',' || c == '.' || c == '#' {
				return false
			}
			if c != ' ' {
				continue
			}
			if a[i-1] == ' ' {
				return false // two spaces
			}
		}
		switch a[word:i] {
		case "AVENUE", "AVE", "STREET", "ROAD":
			return false
		}
		word = i + 1
	}
	return true
}

// addrPunct drops periods and turns "#" into a space in addresses.
var addrPunct = strings.NewReplacer(".", "", "#", " ")

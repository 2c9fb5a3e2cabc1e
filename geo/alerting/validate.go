package alerting

import (
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"hotspots/geo"
)

// Subscription limits: generous for real use, small enough that one
// subscription cannot make matching slow.
const (
	MaxPolygonVertices = 2000
	MaxCells           = 5000
	MinRadiusM         = 25
	MaxRadiusM         = 10000
	MaxRecipients      = 20
)

// ValidateSubscription checks a subscription against the city and its areas
// and normalises it (sorted, deduplicated lists; outreach view by default).
// Every error is a geo.FieldErrorf naming the field and saying what is wrong,
// so the API answers 400 with the reason.
func (m *Matcher) ValidateSubscription(s *geo.Subscription) error {
	s.Name = strings.TrimSpace(s.Name)
	switch {
	case s.Name == "" || len(s.Name) > 200:
		return geo.FieldErrorf("name", "a name of 1 to 200 characters is required")
	case s.Team == "":
		return geo.FieldErrorf("team", "a team is required")
	}
	if s.View == "" {
		s.View = geo.ViewOutreach
	}
	if s.View != geo.ViewOutreach && s.View != geo.ViewAnalyst {
		return geo.FieldErrorf("view", "unknown view %q (outreach, analyst)", s.View)
	}
	if _, err := geo.ParseSeverity(string(s.MinSeverity)); err != nil {
		return geo.FieldErrorf("min_severity", "%s", geo.ErrorMessage(err))
	}
	for _, k := range s.Kinds {
		if err := k.Validate(); err != nil {
			return geo.FieldErrorf("kinds", "%s", geo.ErrorMessage(err))
		}
	}
	s.Kinds = sortedUnique(s.Kinds)
	for _, r := range s.Rules {
		if _, err := geo.ParseAlertRule(string(r)); err != nil {
			return geo.FieldErrorf("rules", "%s", geo.ErrorMessage(err))
		}
	}
	s.Rules = sortedUnique(s.Rules)
	for _, check := range []func(*geo.Subscription) error{m.validateAreas, m.validatePolygon, m.validateCircle, m.validateCells, validateChannels} {
		if err := check(s); err != nil {
			return err
		}
	}
	return nil
}

func sortedUnique[T ~string](in []T) []T {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

func (m *Matcher) validateAreas(s *geo.Subscription) error {
	for _, id := range s.Areas {
		layer, code, ok := strings.Cut(id, ":")
		if !ok || layer == "" || code == "" {
			return geo.FieldErrorf("areas", "area %q: want \"layer:code\", e.g. \"neighborhood:sandtown_winchester\"", id)
		}
		if _, ok := m.areas[id]; !ok {
			if _, known := m.layers[layer]; !known {
				return geo.FieldErrorf("areas", "area %q: unknown layer %q", id, layer)
			}
			return geo.FieldErrorf("areas", "area %q: no area %q in layer %q", id, code, layer)
		}
	}
	s.Areas = sortedUnique(s.Areas)
	return nil
}

func (m *Matcher) validatePolygon(s *geo.Subscription) error {
	if len(s.Polygon) == 0 {
		return nil
	}
	n := 0
	for pi, p := range s.Polygon {
		if len(p) == 0 {
			return geo.FieldErrorf("polygon", "polygon %d has no rings", pi)
		}
		for ri, r := range p {
			n += len(r)
			if err := checkRing(r); err != nil {
				return geo.FieldErrorf("polygon", "polygon %d ring %d: %v", pi, ri, err)
			}
		}
	}
	if n > MaxPolygonVertices {
		return geo.FieldErrorf("polygon", "%d vertices: at most %d", n, MaxPolygonVertices)
	}
	if m.boundary != nil && !m.overlapsCity(s.Polygon) {
		return geo.FieldErrorf("polygon", "the polygon lies outside the city")
	}
	return nil
}

// checkRing reports why a ring is not a closed, simple ring of valid
// longitude/latitude points.
func checkRing(r orb.Ring) error {
	if len(r) < 4 {
		return fmt.Errorf("%d points: a ring needs at least 4 (3 corners and the first point again)", len(r))
	}
	if r[0] != r[len(r)-1] {
		return fmt.Errorf("does not close: the last point %v must repeat the first %v", r[len(r)-1], r[0])
	}
	for _, p := range r {
		if p.Lon() < -180 || p.Lon() > 180 || p.Lat() < -90 || p.Lat() > 90 {
			return fmt.Errorf("point %v is not [longitude, latitude]", p)
		}
	}
	// Self-intersection: O(n²) is fine at MaxPolygonVertices.
	n := len(r) - 1
	if n <= MaxPolygonVertices {
		for i := 0; i < n; i++ {
			for j := i + 2; j < n; j++ {
				if i == 0 && j == n-1 {
					continue // adjacent through the closing point
				}
				if segmentsCross(r[i], r[i+1], r[j], r[j+1]) {
					return fmt.Errorf("crosses itself between points %d and %d", i, j)
				}
			}
		}
	}
	if planar.Area(r) == 0 {
		return fmt.Errorf("has no area")
	}
	return nil
}

func orient(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

// segmentsCross reports a proper crossing or touching of two segments.
func segmentsCross(a, b, c, d orb.Point) bool {
	d1, d2 := orient(c, d, a), orient(c, d, b)
	d3, d4 := orient(a, b, c), orient(a, b, d)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	on := func(p, q, r orb.Point) bool { // r on segment pq, given collinear
		return min(p[0], q[0]) <= r[0] && r[0] <= max(p[0], q[0]) && min(p[1], q[1]) <= r[1] && r[1] <= max(p[1], q[1])
	}
	return (d1 == 0 && on(c, d, a)) || (d2 == 0 && on(c, d, b)) || (d3 == 0 && on(a, b, c)) || (d4 == 0 && on(a, b, d))
}

// overlapsCity reports whether mp and the city share any ground: a vertex of
// one inside the other, or a filled cell centre inside the city.
func (m *Matcher) overlapsCity(mp orb.MultiPolygon) bool {
	for _, p := range mp {
		if containsAny(m.boundary, p[0]...) {
			return true
		}
	}
	for _, cp := range m.boundary {
		if containsAny(mp, cp[0]...) {
			return true
		}
	}
	for c := range polygonCells(mp, m.res, false) {
		if planar.MultiPolygonContains(m.boundary, c.Center()) {
			return true
		}
	}
	return false
}

func (m *Matcher) validateCircle(s *geo.Subscription) error {
	c := s.Circle
	if c == nil {
		return nil
	}
	if c.RadiusM < MinRadiusM || c.RadiusM > MaxRadiusM {
		return geo.FieldErrorf("circle", "radius %.0f m: want %d to %d m", c.RadiusM, MinRadiusM, MaxRadiusM)
	}
	if c.Center.Lon() < -180 || c.Center.Lon() > 180 || c.Center.Lat() < -90 || c.Center.Lat() > 90 {
		return geo.FieldErrorf("circle", "centre %v is not [longitude, latitude]", c.Center)
	}
	if m.boundary != nil && !containsAny(m.boundary, c.Center) && !m.overlapsCity(orb.MultiPolygon{circlePolygon(*c)}) {
		return geo.FieldErrorf("circle", "the circle lies outside the city")
	}
	return nil
}

func (m *Matcher) validateCells(s *geo.Subscription) error {
	if len(s.Cells) > MaxCells {
		return geo.FieldErrorf("cells", "%d cells: at most %d", len(s.Cells), MaxCells)
	}
	for _, c := range s.Cells {
		if !c.Valid() {
			return geo.FieldErrorf("cells", "invalid H3 cell %s", c)
		}
		if c.Res() < 6 {
			return geo.FieldErrorf("cells", "cell %s has resolution %d: use 6 or finer", c, c.Res())
		}
		if m.boundary != nil && !containsAny(m.boundary, append(c.Boundary(), c.Center())...) {
			return geo.FieldErrorf("cells", "cell %s lies outside the city", c)
		}
	}
	slices.Sort(s.Cells)
	s.Cells = slices.Compact(s.Cells)
	return nil
}

func validateChannels(s *geo.Subscription) error {
	if len(s.Channels) == 0 {
		return geo.FieldErrorf("channels", "at least one channel (webhook, email, sse) is required")
	}
	seen := map[geo.ChannelType]bool{}
	for i := range s.Channels {
		ch := &s.Channels[i]
		if seen[ch.Type] {
			return geo.FieldErrorf("channels", "channel %q given twice: one per type (list several email recipients in one)", ch.Type)
		}
		seen[ch.Type] = true
		switch ch.Type {
		case geo.ChannelWebhook:
			u, err := url.Parse(ch.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return geo.FieldErrorf("channels", "webhook url %q: want an absolute http(s) URL", ch.URL)
			}
			if len(ch.Secret) < 16 {
				return geo.FieldErrorf("channels", "webhook secret: at least 16 characters")
			}
		case geo.ChannelEmail:
			if len(ch.To) == 0 || len(ch.To) > MaxRecipients {
				return geo.FieldErrorf("channels", "email: 1 to %d recipients", MaxRecipients)
			}
			for _, to := range ch.To {
				if a, err := mail.ParseAddress(to); err != nil || a.Name != "" {
					return geo.FieldErrorf("channels", "email recipient %q is not a plain address", to)
				}
			}
		case geo.ChannelSSE:
		default:
			return geo.FieldErrorf("channels", "unknown channel type %q (webhook, email, sse)", ch.Type)
		}
	}
	return nil
}

package cluster

import (
	"math"
	"slices"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
	"hotspots/geo/spatial"
)

// NearRepeatConfig sets the extent of a near-repeat risk zone: the space
// and time within which a Knox table shows elevated risk of a follow-on
// incident. The defaults, about one city block (150 m) and two weeks, are
// the classic near-repeat finding for shootings (Ratcliffe and Rengert
// 2008, Philadelphia).
type NearRepeatConfig struct {
	RadiusM float64
	Days    int
}

// DefaultNearRepeat returns one block (150 m) and 14 days.
func DefaultNearRepeat() NearRepeatConfig { return NearRepeatConfig{RadiusM: 150, Days: 14} }

// RiskZone is the area and period of elevated risk after one incident.
type RiskZone struct {
	Incident int64     // the triggering incident's ID
	Center   orb.Point // lon, lat
	RadiusM  float64
	// From is the incident's day and Until the first day after the zone:
	// the zone covers the incident day and Days more, matching the inclusive
	// day threshold of the Knox test.
	From, Until time.Time
}

// NearRepeatZone returns the risk zone around a new incident (a shooting,
// typically): cfg.RadiusM around its location from its day through
// cfg.Days days later.
func NearRepeatZone(inc geo.Incident, cfg NearRepeatConfig) (RiskZone, error) {
	if !(cfg.RadiusM > 0) || math.IsInf(cfg.RadiusM, 0) || cfg.Days < 0 {
		return RiskZone{}, geo.Errorf(geo.EINVALID, "near repeat: radius %g m, %d days; want a positive radius and days >= 0", cfg.RadiusM, cfg.Days)
	}
	if inc.Day.IsZero() {
		return RiskZone{}, geo.Errorf(geo.EINVALID, "near repeat: incident %d has no day", inc.ID)
	}
	return RiskZone{
		Incident: inc.ID, Center: inc.Location, RadiusM: cfg.RadiusM,
		From: inc.Day, Until: inc.Day.AddDate(0, 0, cfg.Days+1),
	}, nil
}

// Contains reports whether a point on a day falls in the zone; the distance
// is great-circle and inclusive.
func (z RiskZone) Contains(p orb.Point, day time.Time) bool {
	return !day.Before(z.From) && day.Before(z.Until) &&
		spatial.GreatCircleM(z.Center.Lat(), z.Center.Lon(), p.Lat(), p.Lon()) <= z.RadiusM
}

// Active reports whether the zone is in force on day.
func (z RiskZone) Active(day time.Time) bool { return !day.Before(z.From) && day.Before(z.Until) }

// Cells returns the H3 cells at res that draw the zone on a map: the cell
// holding the centre and every cell whose centre lies within the radius.
func (z RiskZone) Cells(res int) ([]geo.Cell, error) {
	c0, err := geo.CellFromPoint(z.Center, res)
	if err != nil {
		return nil, geo.Errorf(geo.EINVALID, "near repeat zone: %v", err)
	}
	k := int(z.RadiusM/(centreSpacingM(res)*0.5)) + 1 // cells vary in size; search wide
	if k > 200 {
		return nil, geo.Errorf(geo.ETOOLARGE, "near repeat zone: %g m is too wide for resolution %d", z.RadiusM, res)
	}
	out := []geo.Cell{c0}
	for _, c := range c0.Disk(k) {
		p := c.Center()
		if c != c0 && spatial.GreatCircleM(z.Center.Lat(), z.Center.Lon(), p.Lat(), p.Lon()) <= z.RadiusM {
			out = append(out, c)
		}
	}
	slices.Sort(out[1:])
	return out, nil
}

// EventsFromIncidents turns incidents into Knox events: locations projected
// to metres on a local equirectangular plane through the incidents' mean
// latitude (distortion well under 0.1% across a city), and days counted
// from the earliest incident day, which is returned as day0.
func EventsFromIncidents(incs []geo.Incident) (events []Event, day0 time.Time, err error) {
	if len(incs) == 0 {
		return nil, time.Time{}, nil
	}
	var lat0, lon0 float64
	day0 = incs[0].Day
	for i, inc := range incs {
		if inc.Day.IsZero() {
			return nil, time.Time{}, geo.Errorf(geo.EINVALID, "knox events: incident %d (index %d) has no day", inc.ID, i)
		}
		lat0 += inc.Location.Lat()
		lon0 += inc.Location.Lon()
		if inc.Day.Before(day0) {
			day0 = inc.Day
		}
	}
	lat0 /= float64(len(incs))
	lon0 /= float64(len(incs))
	const rad = math.Pi / 180
	kx := spatial.EarthRadiusM * rad * math.Cos(lat0*rad)
	ky := spatial.EarthRadiusM * rad
	events = make([]Event, len(incs))
	for i, inc := range incs {
		events[i] = Event{
			X:   (inc.Location.Lon() - lon0) * kx,
			Y:   (inc.Location.Lat() - lat0) * ky,
			Day: int(math.Round(inc.Day.Sub(day0).Hours() / 24)),
		}
	}
	return events, day0, nil
}

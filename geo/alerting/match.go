package alerting

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"hotspots/geo"
)

// Matcher knows the city's areas and decides which subscriptions an alert
// goes to. Everything is compared as sets of H3 cells at the zone resolution
// (named areas, drawn polygons, circles, cell lists, alert zones), plus
// area names directly, so a small area that no cell centre falls in still
// matches by name. It is safe for concurrent use.
type Matcher struct {
	res      int
	boundary orb.MultiPolygon
	layers   map[string]geo.AreaLayer
	areas    map[string]*areaEntry
	order    []string

	mu   sync.Mutex
	subs map[int64]subFootprint
}

type areaEntry struct {
	area  geo.Area
	bound orb.Bound
	once  sync.Once
	cells cellSet
}

type subFootprint struct {
	updated time.Time
	cells   cellSet
}

// AreaID is the "layer:code" name of an area.
func AreaID(layer, code string) string { return layer + ":" + code }

// NewMatcher indexes the areas of the given layers. res is the zone
// resolution (Config.ZoneRes).
func NewMatcher(layers []geo.AreaLayer, areas []geo.Area, boundary orb.MultiPolygon, res int) *Matcher {
	m := &Matcher{res: res, boundary: boundary, layers: map[string]geo.AreaLayer{},
		areas: map[string]*areaEntry{}, subs: map[int64]subFootprint{}}
	for _, l := range layers {
		m.layers[l.ID] = l
	}
	for _, a := range areas {
		id := AreaID(a.Layer, a.Code)
		m.areas[id] = &areaEntry{area: a, bound: a.Geometry.Bound()}
		m.order = append(m.order, id)
	}
	sort.Strings(m.order)
	return m
}

// Area returns the area named "layer:code".
func (m *Matcher) Area(id string) (geo.Area, bool) {
	e, ok := m.areas[id]
	if !ok {
		return geo.Area{}, false
	}
	return e.area, true
}

// AreaName returns an area's display name, or the id when unknown.
func (m *Matcher) AreaName(id string) string {
	if e, ok := m.areas[id]; ok && e.area.Name != "" {
		return e.area.Name
	}
	return id
}

func (m *Matcher) areaCells(e *areaEntry) cellSet {
	e.once.Do(func() {
		e.cells = polygonCells(e.area.Geometry, m.res, false)
		if len(e.cells) == 0 && len(e.area.Geometry) > 0 {
			// Smaller than a cell: use the cell of its centroid.
			c, _ := planar.CentroidArea(e.area.Geometry)
			e.cells.add(pointCell(c, m.res))
		}
	})
	return e.cells
}

// layerValid reports whether a layer applies at t (redrawn districts).
func (m *Matcher) layerValid(layer string, t time.Time) bool {
	l, ok := m.layers[layer]
	if !ok || t.IsZero() {
		return true
	}
	return (l.ValidFrom == nil || !t.Before(*l.ValidFrom)) && (l.ValidTo == nil || t.Before(*l.ValidTo))
}

// AreasAt returns the "layer:code" areas, of every layer valid at t, that
// contain the centre of any of the cells, sorted.
func (m *Matcher) AreasAt(cells []geo.Cell, t time.Time) []string {
	var out []string
	for _, id := range m.order {
		e := m.areas[id]
		if e.area.Excluded || !m.layerValid(e.area.Layer, t) {
			continue
		}
		for _, c := range cells {
			p := c.Center()
			if e.bound.Contains(p) && planar.MultiPolygonContains(e.area.Geometry, p) {
				out = append(out, id)
				break
			}
		}
	}
	return out
}

// SubscriptionCells is the subscription's footprint at the zone resolution;
// nil when it has no "where" (the whole city).
func (m *Matcher) SubscriptionCells(s geo.Subscription) cellSet {
	if !s.HasWhere() {
		return nil
	}
	if s.ID != 0 {
		m.mu.Lock()
		f, ok := m.subs[s.ID]
		m.mu.Unlock()
		if ok && f.updated.Equal(s.UpdatedAt) {
			return f.cells
		}
	}
	set := cellSet{}
	for _, id := range s.Areas {
		if e, ok := m.areas[id]; ok {
			for c := range m.areaCells(e) {
				set.add(c)
			}
		}
	}
	for c := range polygonCells(s.Polygon, m.res, true) {
		set.add(c)
	}
	if s.Circle != nil {
		for c := range circleCells(*s.Circle, m.res) {
			set.add(c)
		}
	}
	for _, c := range s.Cells {
		set.normalize(c, m.res)
	}
	if s.ID != 0 {
		m.mu.Lock()
		m.subs[s.ID] = subFootprint{updated: s.UpdatedAt, cells: set}
		m.mu.Unlock()
	}
	return set
}

// AlertCells is an alert's footprint at the zone resolution. Zone alerts
// (clusters, near-repeat zones) are their cells; area alerts (thresholds,
// EARS/CUSUM flags) are about a whole area, so their footprint is the area,
// as it is for any alert without cells.
func (m *Matcher) AlertCells(a geo.Alert) cellSet {
	set := cellSet{}
	for _, c := range a.Cells {
		set.normalize(c, m.res)
	}
	if len(set) > 0 && a.Rule != geo.RuleThreshold && a.Rule != geo.RuleAberration {
		return set
	}
	for _, id := range a.Areas {
		if e, ok := m.areas[id]; ok {
			for c := range m.areaCells(e) {
				set.add(c)
			}
		}
	}
	return set
}

// Match reports whether the alert is one the subscription asked for.
func (m *Matcher) Match(s geo.Subscription, a geo.Alert) bool {
	if !s.Active || !a.HasKind(s.Kinds) || !a.Severity.AtLeast(s.MinSeverity) {
		return false
	}
	if len(s.Rules) > 0 && !slices.Contains(s.Rules, a.Rule) {
		return false
	}
	if !s.HasWhere() {
		return true
	}
	for _, id := range a.Areas {
		if slices.Contains(s.Areas, id) {
			return true
		}
	}
	return m.SubscriptionCells(s).intersects(m.AlertCells(a))
}

// Targets returns the queued channels of the subscriptions the alert
// matches.
func (m *Matcher) Targets(subs []geo.Subscription, a geo.Alert) []geo.DeliveryTarget {
	var out []geo.DeliveryTarget
	for _, s := range subs {
		if !m.Match(s, a) {
			continue
		}
		seen := map[geo.ChannelType]bool{}
		for _, ch := range s.Channels {
			if ch.Type.Queued() && !seen[ch.Type] {
				seen[ch.Type] = true
				out = append(out, geo.DeliveryTarget{SubscriptionID: s.ID, Channel: ch.Type})
			}
		}
	}
	return out
}

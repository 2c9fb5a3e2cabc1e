package alerting

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"hotspots/geo"
)

// Finding kinds the rules raise alerts from; detectors set Finding.Kind to
// one of these (see geo.Finding). Other findings (hot-spot cells, EHSA
// categories) are for maps, not pages.
const (
	FindingCluster    = "cluster"
	FindingAreaAlarm  = "area_alarm"
	FindingNearRepeat = "near_repeat"
)

// DetectorShootingResponse names the built-in near-repeat rule in alerts.
const DetectorShootingResponse = "shooting_response"

// DetectorThreshold names the built-in area threshold rule in alerts.
const DetectorThreshold = "threshold"

func kindsKey(kinds []geo.Kind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	slices.Sort(s)
	return strings.Join(s, "+")
}

// kindLabels are how shipped kinds read in titles.
var kindLabels = map[geo.Kind]string{
	geo.KindOverdoseFatal: "fatal overdose", geo.KindOverdoseNonFatal: "non-fatal overdose",
	geo.KindOverdoseSuspected: "suspected overdose", geo.KindShootingFatal: "fatal shooting",
	geo.KindShootingNonFatal: "non-fatal shooting", geo.KindHomicide: "homicide",
	geo.KindShotsFired: "shots-fired call", geo.KindDrugArrest: "drug arrest", geo.KindCall911Other: "911 call",
}

// kindsLabel is how kinds read in a title: "non-fatal shooting", or the
// family ("overdose") for several kinds of one family.
func kindsLabel(kinds []geo.Kind) string {
	if len(kinds) == 1 {
		if l, ok := kindLabels[kinds[0]]; ok {
			return l
		}
		return strings.ReplaceAll(string(kinds[0]), "_", " ")
	}
	fams := map[string]bool{}
	for _, k := range kinds {
		fams[k.Family()] = true
	}
	if len(fams) == 1 {
		for f := range fams {
			return strings.ReplaceAll(f, "_", " ")
		}
	}
	return "incident"
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// zone reduces cells to the zone resolution.
func zone(cells []geo.Cell, res int) []geo.Cell {
	s := cellSet{}
	for _, c := range cells {
		s.normalize(c, res)
	}
	return s.sorted()
}

// rules builds drafts; it holds the configuration and the city's areas.
type rules struct {
	cfg Config
	m   *Matcher
}

// finding turns one detector finding into a draft, or false when it does
// not warrant an alert (too weak, stale, or not an alerting kind).
func (r rules) finding(run geo.DetectionRun, f geo.Finding, idx int, now time.Time) (geo.AlertDraft, bool) {
	switch f.Kind {
	case FindingCluster:
		return r.cluster(run, f, idx, now)
	case FindingAreaAlarm:
		return r.aberration(run, f, idx, now)
	case FindingNearRepeat:
		return r.nearRepeatZone(run, f, idx, now)
	}
	return geo.AlertDraft{}, false
}

func (r rules) cluster(run geo.DetectionRun, f geo.Finding, idx int, now time.Time) (geo.AlertDraft, bool) {
	sc := r.cfg.Severity
	var sev geo.Severity
	a := geo.Alert{Rule: geo.RuleCluster, Detector: f.Detector, Kinds: run.Kinds}
	if ri, ok := recurrenceDays(f, r.cfg.Cluster.AnalysisIntervalDays); ok {
		sev = sc.FromRI(ri)
		if !math.IsInf(ri, 1) {
			a.RecurrenceDays = &ri
		}
	}
	if f.PValue != nil {
		p := *f.PValue
		a.PValue, a.Colour = &p, sc.Colour(p)
		sev = stronger(sev, sc.FromP(p))
	}
	a.ExpiresAt = now.Add(r.cfg.Cluster.TTL)
	if sev == "" || len(f.Cells) == 0 || !f.End.Add(r.cfg.Cluster.TTL).After(now) {
		return geo.AlertDraft{}, false
	}
	a.Severity = sev
	a.Cells = zone(f.Cells, r.cfg.ZoneRes)
	a.Areas = r.m.AreasAt(a.Cells, f.End)
	a.WindowFrom, a.WindowTo = f.Start, f.End
	a.Count, a.Expected = int(math.Round(f.Observed)), f.Expected
	a.Stats = f.Stats
	a.Key = geo.AlertKey(geo.RuleCluster, f.Detector, kindsKey(run.Kinds), a.Cells[0], f.Start.Format("20060102"))
	days := int(math.Round(f.End.Sub(f.Start).Hours()/24)) + 1
	a.Title = fmt.Sprintf("Cluster of %s (%.1f expected) over %s", plural(a.Count, kindsLabel(run.Kinds)), f.Expected, plural(days, "day"))
	if a.RecurrenceDays != nil {
		a.Title += fmt.Sprintf(", expected by chance once in %.0f days", *a.RecurrenceDays)
	}
	if len(a.Areas) > 0 {
		a.Title += " in " + r.m.AreaName(r.primaryArea(a.Areas))
	}
	return geo.AlertDraft{Alert: a, Finding: idx}, true
}

func (r rules) aberration(run geo.DetectionRun, f geo.Finding, idx int, now time.Time) (geo.AlertDraft, bool) {
	if f.Layer == "" || f.Area == "" || !f.End.Add(r.cfg.AberrationTTL).After(now) {
		return geo.AlertDraft{}, false
	}
	sc := r.cfg.Severity
	a := geo.Alert{Rule: geo.RuleAberration, Detector: f.Detector, Kinds: run.Kinds, Severity: sc.Aberration}
	if f.PValue != nil {
		p := *f.PValue
		a.PValue, a.Colour = &p, sc.Colour(p)
		a.Severity = stronger(a.Severity, sc.FromP(p))
	}
	id := AreaID(f.Layer, f.Area)
	a.Areas = []string{id}
	a.Cells = zone(f.Cells, r.cfg.ZoneRes)
	a.WindowFrom, a.WindowTo = f.Start, f.End
	a.Count, a.Expected = int(math.Round(f.Observed)), f.Expected
	a.Stats = f.Stats
	a.ExpiresAt = f.End.Add(r.cfg.AberrationTTL)
	a.Key = geo.AlertKey(geo.RuleAberration, f.Detector, kindsKey(run.Kinds), f.Layer, f.Area)
	a.Title = fmt.Sprintf("Unusual count of %s in %s: %d against %.1f expected (%s)",
		kindsLabel(run.Kinds)+"s", r.m.AreaName(id), a.Count, f.Expected, strings.ToUpper(f.Detector))
	return geo.AlertDraft{Alert: a, Finding: idx}, true
}

func (r rules) nearRepeatZone(run geo.DetectionRun, f geo.Finding, idx int, now time.Time) (geo.AlertDraft, bool) {
	nr := r.cfg.NearRepeat
	if len(f.Cells) == 0 || !f.End.Add(nr.Window).After(now) {
		return geo.AlertDraft{}, false
	}
	a := geo.Alert{Rule: geo.RuleNearRepeat, Detector: f.Detector, Kinds: run.Kinds, Severity: nr.Severity}
	if f.PValue != nil {
		p := *f.PValue
		a.PValue, a.Colour = &p, r.cfg.Severity.Colour(p)
		a.Severity = stronger(a.Severity, r.cfg.Severity.FromP(p))
	}
	a.Cells = zone(f.Cells, r.cfg.ZoneRes)
	a.Areas = r.m.AreasAt(a.Cells, f.End)
	a.WindowFrom, a.WindowTo = f.Start, f.End.Add(nr.Window)
	a.Count, a.Expected = int(math.Round(f.Observed)), f.Expected
	a.Stats = f.Stats
	a.ExpiresAt = a.WindowTo
	a.Key = geo.AlertKey(geo.RuleNearRepeat, f.Detector, kindsKey(run.Kinds), a.Cells[0].Parent(nr.KeyRes))
	a.Title = fmt.Sprintf("Near-repeat zone: %s close in space and time", plural(a.Count, kindsLabel(run.Kinds)))
	if len(a.Areas) > 0 {
		a.Title += " in " + r.m.AreaName(r.primaryArea(a.Areas))
	}
	return geo.AlertDraft{Alert: a, Finding: idx}, true
}

// shooting turns one new incident of a near-repeat kind into the draft of its
// risk zone, or false when its window has already passed (a backfill).
func (r rules) shooting(inc geo.Incident, now time.Time) (geo.AlertDraft, bool) {
	nr := r.cfg.NearRepeat
	if !nr.Enabled || !slices.Contains(nr.Kinds, inc.Kind) || !inc.OccurredAt.Add(nr.Window).After(now) || !inc.Cell.Valid() {
		return geo.AlertDraft{}, false
	}
	origin := inc.Location
	if origin.Lon() == 0 && origin.Lat() == 0 {
		origin = inc.Cell.Center() // point purged: the fine cell is all there is
	}
	a := geo.Alert{Rule: geo.RuleNearRepeat, Detector: DetectorShootingResponse, Kinds: []geo.Kind{inc.Kind},
		Severity: nr.Severity, Count: 1}
	a.Cells = circleCells(geo.Circle{Center: origin, RadiusM: nr.RadiusM}, r.cfg.ZoneRes).sorted()
	for layer, code := range inc.Areas {
		if code != "" {
			a.Areas = append(a.Areas, AreaID(layer, code))
		}
	}
	if len(a.Areas) == 0 {
		a.Areas = r.m.AreasAt([]geo.Cell{inc.Cell}, inc.OccurredAt)
	}
	slices.Sort(a.Areas)
	a.Cases = []geo.AlertCase{{IncidentID: inc.ID, Kind: inc.Kind, OccurredAt: inc.OccurredAt, Point: &origin}}
	a.Origin = &origin
	a.WindowFrom, a.WindowTo = inc.OccurredAt, inc.OccurredAt.Add(nr.Window)
	a.ExpiresAt = a.WindowTo
	a.Key = geo.AlertKey(geo.RuleNearRepeat, inc.Kind.Family(), inc.Cell.Parent(nr.KeyRes))
	a.Title = fmt.Sprintf("Near-repeat risk zone (~%.0f m) after a %s", nr.RadiusM, kindsLabel(a.Kinds))
	if len(a.Areas) > 0 {
		a.Title += " in " + r.m.AreaName(r.primaryArea(a.Areas))
	}
	return geo.AlertDraft{Alert: a, Finding: -1}, true
}

// threshold evaluates the area threshold rules on incidents (all incidents
// of the threshold kinds in the longest window), for the (layer, area, kind)
// triples in touched, or every one when touched is nil.
func (r rules) threshold(incs []geo.Incident, touched map[string]bool, now time.Time) []geo.AlertDraft {
	var out []geo.AlertDraft
	for _, t := range r.cfg.Thresholds {
		from := now.Add(-t.Window)
		byArea := map[string][]geo.Incident{}
		for _, inc := range incs {
			code := inc.Areas[t.Layer]
			if inc.Kind != t.Kind || code == "" || !inc.OccurredAt.After(from) || inc.OccurredAt.After(now) {
				continue
			}
			if len(t.Areas) > 0 && !slices.Contains(t.Areas, code) {
				continue
			}
			byArea[code] = append(byArea[code], inc)
		}
		codes := make([]string, 0, len(byArea))
		for c := range byArea {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for _, code := range codes {
			cases := byArea[code]
			if len(cases) < t.Min || (touched != nil && !touched[touchKey(t.Layer, code, t.Kind)]) {
				continue
			}
			out = append(out, r.thresholdDraft(t, code, cases, from, now))
		}
	}
	return out
}

func touchKey(layer, code string, k geo.Kind) string { return layer + ":" + code + ":" + string(k) }

func (r rules) thresholdDraft(t Threshold, code string, cases []geo.Incident, from, now time.Time) geo.AlertDraft {
	sort.Slice(cases, func(i, j int) bool { return cases[i].OccurredAt.Before(cases[j].OccurredAt) })
	id := AreaID(t.Layer, code)
	a := geo.Alert{Rule: geo.RuleThreshold, Detector: DetectorThreshold, Kinds: []geo.Kind{t.Kind},
		Areas: []string{id}, Count: len(cases), Threshold: t.Min,
		Severity: r.cfg.Severity.FromRatio(len(cases), t.Min), WindowFrom: from, WindowTo: now}
	cells := cellSet{}
	for _, inc := range cases {
		p := inc.Location
		c := geo.AlertCase{IncidentID: inc.ID, Kind: inc.Kind, OccurredAt: inc.OccurredAt}
		if p.Lon() != 0 || p.Lat() != 0 {
			c.Point = &p
		}
		a.Cases = append(a.Cases, c)
		if inc.Cell.Valid() {
			cells.normalize(inc.Cell, r.cfg.ZoneRes)
		}
	}
	a.Cells = cells.sorted()
	// The count stays at or above the threshold until the case that keeps
	// it there leaves the window.
	a.ExpiresAt = cases[len(cases)-t.Min].OccurredAt.Add(t.Window)
	a.Key = geo.AlertKey(geo.RuleThreshold, t.Kind, t.Layer, code, t.Window)
	a.Title = fmt.Sprintf("%s in %s in %s (threshold %d)", plural(len(cases), kindsLabel(a.Kinds)),
		windowLabel(t.Window), r.m.AreaName(id), t.Min)
	return geo.AlertDraft{Alert: a, Finding: -1}
}

func windowLabel(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if d == 24*time.Hour {
			return "24 hours"
		}
		return plural(int(d/(24*time.Hour)), "day")
	}
	return d.String()
}

// primaryArea picks the area a title names: the first of the finest layer
// kind present (neighborhood before CSA before district).
func (r rules) primaryArea(ids []string) string {
	rank := func(id string) int {
		l := r.m.layers[strings.SplitN(id, ":", 2)[0]]
		switch l.Kind {
		case "neighborhood":
			return 0
		case "csa":
			return 1
		case "police_district", "council_district":
			return 2
		}
		return 3
	}
	best := ids[0]
	for _, id := range ids[1:] {
		if rank(id) < rank(best) {
			best = id
		}
	}
	return best
}

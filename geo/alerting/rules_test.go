package alerting

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

func testRules(t *testing.T, mutate func(*Config)) rules {
	cfg := DefaultConfig()
	cfg.Boundary = testCity
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return rules{cfg: cfg, m: testMatcher(t)}
}

func TestShootingRule(t *testing.T) {
	r := testRules(t, nil)
	now := t0.Add(time.Hour)
	west := map[string]string{"nsa": "west", "csa": "downtown"}
	tests := map[string]struct {
		inc  geo.Incident
		want bool
	}{
		"fresh shooting":          {incident(t, 1, geo.KindShootingNonFatal, westPoint, t0, west), true},
		"fatal shooting":          {incident(t, 2, geo.KindShootingFatal, westPoint, t0, west), true},
		"overdose":                {incident(t, 3, geo.KindOverdoseFatal, westPoint, t0, west), false},
		"backfilled, window over": {incident(t, 4, geo.KindShootingNonFatal, westPoint, now.Add(-15*24*time.Hour), west), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, ok := r.shooting(tc.inc, now)
			if ok != tc.want {
				t.Fatalf("raised = %v, want %v", ok, tc.want)
			}
			if !ok {
				return
			}
			a := d.Alert
			if a.Rule != geo.RuleNearRepeat || a.Count != 1 || len(a.Cases) != 1 || a.Origin == nil {
				t.Fatalf("draft = %+v", a)
			}
			if !a.WindowTo.Equal(tc.inc.OccurredAt.Add(14*24*time.Hour)) || !a.ExpiresAt.Equal(a.WindowTo) {
				t.Fatalf("window to %v expires %v: want 14 days after the shooting", a.WindowTo, a.ExpiresAt)
			}
			if strings.Join(a.Areas, ",") != "csa:downtown,nsa:west" {
				t.Fatalf("areas = %v", a.Areas)
			}
			own := mustCell(t, westPoint, 9)
			found := false
			for _, c := range a.Cells {
				if c.Res() != 9 {
					t.Fatalf("zone cell %s at resolution %d, want 9", c, c.Res())
				}
				found = found || c == own
				// Every zone cell must come within ~150 m (+ a res-9 cell radius) of the shooting.
				if d := distM(c.Center(), westPoint); d > 150+200 {
					t.Fatalf("zone cell %s is %.0f m away", c, d)
				}
			}
			if !found || len(a.Cells) < 3 {
				t.Fatalf("zone %v must hold the shooting's own cell and its neighbours", a.Cells)
			}
			if !strings.HasPrefix(a.Key, "near_repeat:shooting:") || !strings.Contains(a.Key, tc.inc.Cell.Parent(8).String()) {
				t.Fatalf("key = %s", a.Key)
			}
		})
	}
}

// distM is an equirectangular distance, plenty at city scale.
func distM(a, b orb.Point) float64 {
	dx := (a.Lon() - b.Lon()) * metresPerDegreeLat * 0.7738 // cos 39.3°
	dy := (a.Lat() - b.Lat()) * metresPerDegreeLat
	return sqrt(dx*dx + dy*dy)
}

func sqrt(x float64) float64 {
	z := x / 2
	for i := 0; i < 50 && z > 0; i++ {
		z -= (z*z - x) / (2 * z)
	}
	return z
}

func TestThresholdRule(t *testing.T) {
	r := testRules(t, func(c *Config) {
		c.Thresholds = []Threshold{
			{Layer: "nsa", Kind: geo.KindOverdoseNonFatal, Window: 24 * time.Hour, Min: 3},
			{Layer: "nsa", Areas: []string{"east"}, Kind: geo.KindOverdoseFatal, Window: 24 * time.Hour, Min: 2},
		}
	})
	now := t0
	west := map[string]string{"nsa": "west"}
	east := map[string]string{"nsa": "east"}
	od := func(id int64, hoursAgo float64, areas map[string]string) geo.Incident {
		return incident(t, id, geo.KindOverdoseNonFatal, westPoint, now.Add(-time.Duration(hoursAgo*float64(time.Hour))), areas)
	}
	fatal := func(id int64, areas map[string]string) geo.Incident {
		return incident(t, id, geo.KindOverdoseFatal, eastPoint, now.Add(-time.Hour), areas)
	}
	tests := map[string]struct {
		incs    []geo.Incident
		touched map[string]bool
		keys    []string
		counts  []int
	}{
		"below threshold":    {[]geo.Incident{od(1, 1, west), od(2, 2, west)}, nil, nil, nil},
		"at threshold":       {[]geo.Incident{od(1, 1, west), od(2, 2, west), od(3, 23, west)}, nil, []string{"threshold:overdose_nonfatal:nsa:west:24h0m0s"}, []int{3}},
		"one out of window":  {[]geo.Incident{od(1, 1, west), od(2, 2, west), od(3, 25, west)}, nil, nil, nil},
		"split across areas": {[]geo.Incident{od(1, 1, west), od(2, 2, west), od(3, 3, east)}, nil, nil, nil},
		"not touched": {[]geo.Incident{od(1, 1, west), od(2, 2, west), od(3, 3, west)},
			map[string]bool{touchKey("nsa", "east", geo.KindOverdoseNonFatal): true}, nil, nil},
		"per-area threshold": {[]geo.Incident{fatal(1, east), fatal(2, east), fatal(3, west), fatal(4, west)}, nil,
			[]string{"threshold:overdose_fatal:nsa:east:24h0m0s"}, []int{2}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ds := r.threshold(tc.incs, tc.touched, now)
			if len(ds) != len(tc.keys) {
				t.Fatalf("got %d drafts, want %d", len(ds), len(tc.keys))
			}
			for i, d := range ds {
				if d.Alert.Key != tc.keys[i] || d.Alert.Count != tc.counts[i] || len(d.Alert.Cases) != tc.counts[i] {
					t.Fatalf("draft %d = key %s count %d", i, d.Alert.Key, d.Alert.Count)
				}
			}
		})
	}
	t.Run("expires when the count would fall below", func(t *testing.T) {
		// Four cases, threshold 3: it holds until the second-oldest leaves.
		ds := r.threshold([]geo.Incident{od(1, 20, west), od(2, 10, west), od(3, 5, west), od(4, 1, west)}, nil, now)
		if len(ds) != 1 {
			t.Fatalf("got %d drafts", len(ds))
		}
		a := ds[0].Alert
		if want := now.Add(-10 * time.Hour).Add(24 * time.Hour); !a.ExpiresAt.Equal(want) {
			t.Fatalf("expires %v, want %v", a.ExpiresAt, want)
		}
		if a.Severity != geo.SeverityModerate || a.Threshold != 3 || !strings.Contains(a.Title, "West Side") {
			t.Fatalf("alert = severity %s threshold %d title %q", a.Severity, a.Threshold, a.Title)
		}
	})
}

func TestFindingRules(t *testing.T) {
	r := testRules(t, nil)
	now := t0
	run := geo.DetectionRun{Detector: "stpscan", Kinds: []geo.Kind{geo.KindOverdoseNonFatal, geo.KindOverdoseFatal}}
	cells := []geo.Cell{mustCell(t, westPoint, 9), mustCell(t, westPoint, 9).Disk(1)[1]}
	cluster := func(p *float64, stats map[string]float64, end time.Time) geo.Finding {
		return geo.Finding{Detector: "stpscan", Kind: FindingCluster, Cells: cells, Start: end.Add(-48 * time.Hour),
			End: end, Observed: 12, Expected: 3.5, PValue: p, Stats: stats}
	}
	tests := map[string]struct {
		f        geo.Finding
		ok       bool
		rule     geo.AlertRule
		severity geo.Severity
		colour   string
	}{
		"red cluster, RI 1000 days": {cluster(ptr(0.001), nil, now), true, geo.RuleCluster, geo.SeverityStrong, "red"},
		"RI 10000 days":             {cluster(ptr(0.0001), nil, now), true, geo.RuleCluster, geo.SeverityVeryStrong, "red"},
		"yellow cluster":            {cluster(ptr(0.03), nil, now), true, geo.RuleCluster, geo.SeverityModerate, "yellow"},
		"long RI, weak p":           {cluster(ptr(0.2), map[string]float64{"ri_days": 400}, now), true, geo.RuleCluster, geo.SeverityStrong, ""},
		"not significant":           {cluster(ptr(0.4), nil, now), false, "", "", ""},
		"stale cluster":             {cluster(ptr(0.001), nil, now.Add(-72*time.Hour)), false, "", "", ""},
		"hot spot (map only)":       {geo.Finding{Kind: "hotspot", Cells: cells, End: now}, false, "", "", ""},
		"EARS flag":                 {geo.Finding{Detector: "ears_c2", Kind: FindingAreaAlarm, Layer: "nsa", Area: "east", Start: now, End: now, Observed: 9, Expected: 2}, true, geo.RuleAberration, geo.SeverityModerate, ""},
		"EARS flag with p":          {geo.Finding{Detector: "cusum", Kind: FindingAreaAlarm, Layer: "nsa", Area: "east", Start: now, End: now, PValue: ptr(0.001)}, true, geo.RuleAberration, geo.SeverityStrong, "red"},
		"EARS flag no area":         {geo.Finding{Detector: "ears_c2", Kind: FindingAreaAlarm, Start: now, End: now}, false, "", "", ""},
		"knox near-repeat zone":     {geo.Finding{Detector: "knox", Kind: FindingNearRepeat, Cells: cells, Start: now.Add(-7 * 24 * time.Hour), End: now, Observed: 4}, true, geo.RuleNearRepeat, geo.SeverityStrong, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, ok := r.finding(run, tc.f, 3, now)
			if ok != tc.ok {
				t.Fatalf("raised = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			a := d.Alert
			if a.Rule != tc.rule || a.Severity != tc.severity || a.Colour != tc.colour || d.Finding != 3 {
				t.Fatalf("alert = rule %s severity %s colour %q finding %d; want %s %s %q", a.Rule, a.Severity, a.Colour, d.Finding, tc.rule, tc.severity, tc.colour)
			}
			if len(a.Kinds) != 2 || a.Key == "" || a.Title == "" || !a.ExpiresAt.After(now) {
				t.Fatalf("alert = %+v", a)
			}
		})
	}
}

// TestOutreachViewHidesPoints is the privacy rule: the outreach view of a
// near-repeat zone carries areas, cells and counts, but nothing that locates
// the victim more finely than an H3 resolution-9 cell.
func TestOutreachViewHidesPoints(t *testing.T) {
	r := testRules(t, nil)
	victim := orb.Point{-76.621234, 39.291234}
	inc := incident(t, 42, geo.KindShootingNonFatal, victim, t0, map[string]string{"nsa": "west"})
	d, ok := r.shooting(inc, t0.Add(time.Minute))
	if !ok {
		t.Fatal("no draft")
	}
	a := d.Alert
	a.ID = 5
	rd := Renderer{AreaName: r.m.AreaName, MapURL: "https://map.example.org/"}
	out, err := json.Marshal(rd.Outreach(a))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, banned := range []string{"-76.62", "39.29", `"point"`, `"origin"`, `"cases"`, `"incident_id"`, `"key"`, inc.Cell.String(), mustCell(t, victim, 10).String()} {
		if strings.Contains(s, banned) {
			t.Fatalf("outreach view contains %q: %s", banned, s)
		}
	}
	for _, want := range []string{`"West Side"`, `"map_url":"https://map.example.org/#alert=5"`, mustCell(t, victim, 9).String(), `"count":1`} {
		if !strings.Contains(s, want) {
			t.Fatalf("outreach view lacks %s: %s", want, s)
		}
	}
	an, _ := json.Marshal(rd.Analyst(a))
	for _, want := range []string{strconv.FormatFloat(victim.Lon(), 'f', -1, 64), `"incident_id":42`, `"view":"analyst"`} {
		if !strings.Contains(string(an), want) {
			t.Fatalf("analyst view lacks %s: %s", want, an)
		}
	}
}

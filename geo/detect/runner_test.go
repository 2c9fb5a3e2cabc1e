package detect_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"hotspots/geo"
	"hotspots/geo/alerting"
	"hotspots/geo/detect"
)

// asOfDay is a fixed as-of date for the tests that do not raise alerts.
var asOfDay = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

// outbreakCells are the resolution-res cells of the outbreak and their
// rings: a cluster or hot spot there is the planted one.
func outbreakCells(w world, res int) map[geo.Cell]bool {
	out := map[geo.Cell]bool{}
	for _, inc := range w.outbreak {
		for _, c := range inc.Cell.Parent(res).Disk(1) {
			out[c] = true
		}
	}
	return out
}

func overlaps(f geo.Finding, cells map[geo.Cell]bool) bool {
	return slices.ContainsFunc(f.Cells, func(c geo.Cell) bool { return cells[c] })
}

// checkPlanted asserts that the detectors found what plantWorld planted.
func checkPlanted(t *testing.T, w world, sum detect.Summary, c *capture) {
	t.Helper()
	for _, r := range sum.Runs {
		if r.Err != nil {
			t.Errorf("%s %s failed: %v", r.Group, r.Detector, r.Err)
		}
	}
	hot := outbreakCells(w, geo.DefaultDetectRes)
	spike := func(f geo.Finding) bool {
		return f.Category == "spike" && f.PValue != nil && *f.PValue < 0.05 && overlaps(f, hot)
	}
	if fs := c.fs["stpscan/overdose"]; !slices.ContainsFunc(fs, spike) {
		t.Errorf("stpscan: no spike over the outbreak among %d findings: %+v", len(fs), fs)
	}
	westAlarm := func(f geo.Finding) bool {
		return f.Kind == "area_alarm" && f.Layer == districtLayer && f.Area == "west" && f.Start.Equal(w.day)
	}
	for _, d := range []string{"ears_c1", "ears_c2", "cusum"} {
		if fs := c.fs[d+"/overdose"]; !slices.ContainsFunc(fs, westAlarm) {
			t.Errorf("%s: no alarm in the west district on %s: %+v", d, w.day.Format(time.DateOnly), fs)
		}
	}
	hotspot := func(f geo.Finding) bool {
		return (f.Category == "hot_99" || f.Category == "hot_95") && overlaps(f, hot)
	}
	if fs := c.fs["gistar/overdose"]; !slices.ContainsFunc(fs, hotspot) {
		t.Errorf("gistar: no hot spot at the outbreak among %d findings", len(fs))
	}
	kx := c.fs["knox/shooting"]
	if len(kx) != 1 || kx[0].PValue == nil || *kx[0].PValue >= 0.05 || kx[0].Score <= 1 {
		t.Errorf("knox: want one significant finding with a ratio > 1, got %+v", kx)
	}
	recent := 0
	for _, inc := range w.incs {
		if inc.Kind.Family() != "overdose" && !inc.Day.Before(w.day.AddDate(0, 0, -14)) {
			recent++
		}
	}
	if nr := c.fs["nearrepeat/shooting"]; len(nr) != recent || recent == 0 {
		t.Errorf("nearrepeat: %d zones, want one per shooting of the last 15 days (%d)", len(nr), recent)
	}
	for _, run := range c.runs {
		if !run.WindowTo.Equal(w.day.AddDate(0, 0, 1)) || !run.WindowFrom.Before(run.WindowTo) {
			t.Errorf("%s: window %s..%s, want one ending after %s", run.Detector, run.WindowFrom, run.WindowTo, w.day)
		}
		var p map[string]any
		if err := json.Unmarshal(run.Params, &p); err != nil || p["base_seed"] == nil || p["settings"] == nil {
			t.Errorf("%s: params %s lack base_seed or settings (%v)", run.Detector, run.Params, err)
		}
	}
}

// TestRunFindsPlantedAndIsReproducible runs every default detector on both
// stores over two years of planted data, checks the planted outbreak and
// near repeats are found, then runs again and wants identical runs and
// findings.
func TestRunFindsPlantedAndIsReproducible(t *testing.T) {
	w := plantWorld(t, asOfDay, 2*365+7, 1)
	var first map[string][]geo.Finding
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			st := sk.open(t)
			w.load(t, st)
			ctx := context.Background()
			var c1, c2 capture
			r1, err := detect.New(st, mustBaltimore(t), testConfig(), c1.sink)
			if err != nil {
				t.Fatal(err)
			}
			r1.Log = quiet
			sum, err := r1.Run(ctx, w.asOf)
			if err != nil {
				t.Fatal(err)
			}
			if !sum.Day.Equal(w.day) {
				t.Errorf("summary day %s, want %s", sum.Day, w.day)
			}
			checkPlanted(t, w, sum, &c1)

			r2, err := detect.New(st, mustBaltimore(t), testConfig(), c2.sink)
			if err != nil {
				t.Fatal(err)
			}
			r2.Log = quiet
			if _, err := r2.Run(ctx, w.asOf); err != nil {
				t.Fatal(err)
			}
			if len(c1.runs) != len(c2.runs) {
				t.Fatalf("%d runs, then %d", len(c1.runs), len(c2.runs))
			}
			for i := range c1.runs {
				a, b := c1.runs[i], c2.runs[i]
				if a.Detector != b.Detector || a.Seed != b.Seed || string(a.Params) != string(b.Params) ||
					!a.WindowFrom.Equal(b.WindowFrom) || !a.WindowTo.Equal(b.WindowTo) {
					t.Errorf("run %d differs: %+v then %+v", i, a, b)
				}
			}
			if !reflect.DeepEqual(c1.fs, c2.fs) {
				t.Error("same data, parameters and seed gave different findings")
			}
			// The two stores must agree too: the detectors see the same
			// counts whichever store holds them. Only the incident IDs a
			// risk zone names are the store's own.
			got := withoutIncidentIDs(c1.fs)
			if first == nil {
				first = got
			} else {
				for k := range first {
					if !reflect.DeepEqual(first[k], got[k]) {
						t.Errorf("%s: findings differ between stores", k)
					}
				}
			}
		})
	}
}

// withoutIncidentIDs copies findings without the incident_id stat.
func withoutIncidentIDs(in map[string][]geo.Finding) map[string][]geo.Finding {
	out := map[string][]geo.Finding{}
	for k, fs := range in {
		for _, f := range fs {
			st := map[string]float64{}
			for n, v := range f.Stats {
				if n != "incident_id" {
					st[n] = v
				}
			}
			f.Stats = st
			out[k] = append(out[k], f)
		}
	}
	return out
}

// TestSeedChangesOnlyMonteCarlo: another seed is recorded on the Monte
// Carlo runs and leaves deterministic detectors' findings alone.
func TestSeedChangesOnlyMonteCarlo(t *testing.T) {
	w := plantWorld(t, asOfDay, 120, 2)
	src := &detect.MemSource{Incidents: w.incs}
	run := func(seed uint64) *capture {
		cfg := testConfig()
		cfg.Seed = seed
		cfg.Detectors = []string{detect.STPScan, detect.EARSC1, detect.GiStar}
		cfg.GiStarDays = []int{30}
		var c capture
		r, err := detect.New(src, mustBaltimore(t), cfg, c.sink)
		if err != nil {
			t.Fatal(err)
		}
		r.Log = quiet
		if _, err := r.Run(context.Background(), w.asOf); err != nil {
			t.Fatal(err)
		}
		return &c
	}
	a, b := run(1), run(2)
	for i := range a.runs {
		ra, rb := a.runs[i], b.runs[i]
		mc := ra.Detector == detect.STPScan
		if mc && ra.Seed == rb.Seed {
			t.Errorf("%s: seeds 1 and 2 recorded the same run seed %d", ra.Detector, ra.Seed)
		}
		if !mc && !reflect.DeepEqual(a.fs[runKey(ra)], b.fs[runKey(rb)]) {
			t.Errorf("%s: findings depend on the seed", ra.Detector)
		}
	}
	sa, sb := a.fs["stpscan/overdose"], b.fs["stpscan/overdose"]
	if len(sa) == 0 || len(sb) == 0 || !slices.Equal(sa[0].Cells, sb[0].Cells) || sa[0].Score != sb[0].Score {
		t.Errorf("the most likely cluster must not depend on the seed: %+v vs %+v", sa, sb)
	}
}

// TestEngineSinkRaisesAlerts wires the alerting engine as the sink, as
// `hotspots detect` does, on today's data: the runs are stored and the
// outbreak raises a cluster alert.
func TestEngineSinkRaisesAlerts(t *testing.T) {
	st := mustOpenSQLite(t)
	city := mustBaltimore(t)
	today := time.Now().In(city.Location)
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	w := plantWorld(t, day, 100, 3)
	w.load(t, st)
	eng, err := alerting.NewEngine(st, alerting.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Detectors = []string{detect.STPScan, detect.EARSC1}
	raised := 0
	r, err := detect.New(st, city, cfg, detect.EngineSink(eng, func(res geo.AlertBatchResult) { raised += len(res.Alerts) }))
	if err != nil {
		t.Fatal(err)
	}
	r.Log = quiet
	sum, err := r.Run(t.Context(), today)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := st.ListRuns(t.Context(), detect.STPScan, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != len(cfg.Groups) {
		t.Fatalf("%d stpscan runs stored, want one per group (%d)", len(runs), len(cfg.Groups))
	}
	for _, rs := range sum.Runs {
		if rs.Detector == detect.STPScan && !slices.ContainsFunc(runs, func(r geo.DetectionRun) bool { return r.Seed == rs.Seed }) {
			t.Errorf("run seed %d not stored", rs.Seed)
		}
	}
	alerts, err := st.FindAlerts(t.Context(), geo.AlertFilter{Rule: geo.RuleCluster})
	if err != nil {
		t.Fatal(err)
	}
	if raised == 0 {
		t.Error("the sink's result callback saw no alerts")
	}
	hot := outbreakCells(w, geo.DefaultDetectRes)
	if !slices.ContainsFunc(alerts, func(a geo.Alert) bool {
		return slices.ContainsFunc(a.Cells, func(c geo.Cell) bool { return hot[c] })
	}) {
		t.Errorf("no cluster alert over the outbreak among %d alerts", len(alerts))
	}
	aberr, err := st.FindAlerts(t.Context(), geo.AlertFilter{Rule: geo.RuleAberration})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(aberr, func(a geo.Alert) bool { return slices.Contains(a.Areas, districtLayer+":west") }) {
		t.Errorf("no EARS alert for the west district among %+v", aberr)
	}
}

func TestConfigValidate(t *testing.T) {
	for name, mod := range map[string]func(*detect.Config){
		"unknown detector": func(c *detect.Config) { c.Detectors = []string{"nope"} },
		"too fine res":     func(c *detect.Config) { c.Res = 12 },
		"too coarse res":   func(c *detect.Config) { c.Res = 3 },
		"no groups":        func(c *detect.Config) { c.Groups = nil },
		"window > study":   func(c *detect.Config) { c.Scan.MaxWindow = 40 },
		"zero gistar days": func(c *detect.Config) { c.GiStarDays = []int{0} },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := detect.DefaultConfig()
			mod(&cfg)
			if _, err := detect.New(&detect.MemSource{}, nil, cfg, func(context.Context, geo.DetectionRun, []geo.Finding) error { return nil }); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
	if err := detect.DefaultConfig().Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
}

// TestEveryDetectorRuns runs all fourteen detectors, the optional ones
// included, on the planted world in memory: each stores a run without
// error, and the expectation-based scan finds the outbreak too.
func TestEveryDetectorRuns(t *testing.T) {
	w := plantWorld(t, asOfDay, 2*365+7, 4)
	cfg := testConfig()
	for i := range cfg.Groups {
		cfg.Groups[i].Detectors = detect.AllDetectors
	}
	var c capture
	r, err := detect.New(&detect.MemSource{Incidents: w.incs}, mustBaltimore(t), cfg, c.sink)
	if err != nil {
		t.Fatal(err)
	}
	r.Log = quiet
	sum, err := r.Run(context.Background(), w.asOf)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range cfg.Groups {
		for _, d := range detect.AllDetectors {
			if !slices.ContainsFunc(sum.Runs, func(rs detect.RunSummary) bool { return rs.Group == g.Name && rs.Detector == d }) {
				t.Errorf("%s: no %s run", g.Name, d)
			}
		}
	}
	hot := outbreakCells(w, geo.DefaultDetectRes)
	if fs := c.fs["ebpscan/overdose"]; !slices.ContainsFunc(fs, func(f geo.Finding) bool { return f.Category == "spike" && overlaps(f, hot) }) {
		t.Errorf("ebpscan: no spike over the outbreak: %+v", fs)
	}
	if fs := c.fs["localmoran/overdose"]; !slices.ContainsFunc(fs, func(f geo.Finding) bool { return f.Category == "HH" }) {
		t.Errorf("localmoran: no high-high cluster among %d findings", len(fs))
	}
}

// TestAreaLayersOnePerKind: of two neighborhood vintages only the latest
// alarms, a layer no longer valid is skipped, custom layers are kept, and
// without a city layer a city-wide series is added.
func TestAreaLayersOnePerKind(t *testing.T) {
	w := plantWorld(t, asOfDay, 60, 5)
	ended := asOfDay.AddDate(-1, 0, 0)
	layers := []geo.AreaLayer{
		{ID: "nbhd_2010", Kind: "neighborhood", Vintage: "2010"},
		{ID: "nbhd_2020", Kind: "neighborhood", Vintage: "2020"},
		{ID: "pd_old", Kind: "police_district", Vintage: "1959", ValidTo: &ended},
		{ID: "my_zones", Kind: "custom"},
	}
	incs := slices.Clone(w.incs)
	for i := range incs {
		code := incs[i].Areas[districtLayer]
		incs[i].Areas = map[string]string{"nbhd_2010": code, "nbhd_2020": code, "pd_old": code, "my_zones": code}
	}
	cfg := testConfig()
	cfg.Detectors = []string{detect.EARSC1}
	var c capture
	r, err := detect.New(&detect.MemSource{Incidents: incs, AreaLayers: layers}, mustBaltimore(t), cfg, c.sink)
	if err != nil {
		t.Fatal(err)
	}
	r.Log = quiet
	if _, err := r.Run(context.Background(), w.asOf); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range c.fs["ears_c1/overdose"] {
		got[f.Layer] = true
	}
	want := map[string]bool{"nbhd_2020": true, "my_zones": true, "city": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EARS C1 alarmed in layers %v, want %v", got, want)
	}
}

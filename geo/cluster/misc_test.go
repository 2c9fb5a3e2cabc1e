package cluster

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
	"hotspots/geo/internal/oracle"
	"hotspots/geo/spatial"
)

func TestConcentration(t *testing.T) {
	one := make([]int64, 100)
	one[37] = 10
	flat := make([]int64, 100)
	for i := range flat {
		flat[i] = 1
	}
	tests := []struct {
		name               string
		counts             []int64
		top1, top5         int
		share1, share5, gi float64
	}{
		{"hand 0,0,1,3", []int64{3, 0, 1, 0}, 1, 1, 0.75, 0.75, 0.625},
		{"all in one of 100", one, 1, 5, 1, 1, 0.99},
		{"even", flat, 1, 5, 0.01, 0.05, 0},
		{"250 cells", append(make([]int64, 247), 5, 4, 1), 3, 13, 1, 1, (245.*1 + 247*4 + 249*5) / (250 * 10)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ConcentrationOfCounts(tc.counts)
			if err != nil {
				t.Fatal(err)
			}
			if c.Top1Cells != tc.top1 || c.Top5Cells != tc.top5 {
				t.Errorf("top cells %d/%d, want %d/%d", c.Top1Cells, c.Top5Cells, tc.top1, tc.top5)
			}
			for _, v := range [][2]float64{{c.Top1Share, tc.share1}, {c.Top5Share, tc.share5}, {c.Gini, tc.gi}} {
				if math.Abs(v[0]-v[1]) > 1e-12 {
					t.Errorf("got %+v, want shares %g %g gini %g", c, tc.share1, tc.share5, tc.gi)
					break
				}
			}
		})
	}
	c, err := ConcentrationOfCounts(make([]int64, 10))
	if err != nil || !math.IsNaN(c.Gini) || !math.IsNaN(c.Top1Share) {
		t.Errorf("no incidents: %+v, %v; want NaN figures", c, err)
	}
	if _, err := ConcentrationOfCounts([]int64{1, -1}); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("negative count: %v", err)
	}
}

func TestConcentrationOfCells(t *testing.T) {
	c0, err := geo.CellFromPoint(orb.Point{-76.6122, 39.2904}, 9)
	if err != nil {
		t.Fatal(err)
	}
	study := c0.Disk(1) // 7 cells
	got, err := ConcentrationOf(study, map[geo.Cell]int{study[0]: 6, study[3]: 1})
	if err != nil {
		t.Fatal(err)
	}
	// zero-count study cells are included: 7 cells, not 2
	if got.Cells != 7 || got.Incidents != 7 || got.Top1Share != 6.0/7 {
		t.Errorf("got %+v", got)
	}
	if want := (4.0*1 + 6*6) / (7 * 7); math.Abs(got.Gini-want) > 1e-12 {
		t.Errorf("gini %g, want %g", got.Gini, want)
	}
	outside := c0.Disk(2)[10]
	if _, err := ConcentrationOf(study, map[geo.Cell]int{outside: 1}); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("count outside the study area: %v", err)
	}
}

func TestNearRepeatZone(t *testing.T) {
	day := time.Date(2025, 7, 4, 0, 0, 0, 0, time.UTC)
	inc := geo.Incident{ID: 42, Day: day, Location: orb.Point{-76.6122, 39.2904}}
	z, err := NearRepeatZone(inc, DefaultNearRepeat())
	if err != nil {
		t.Fatal(err)
	}
	north := func(m float64) orb.Point { return orb.Point{-76.6122, 39.2904 + m/(spatial.EarthRadiusM*math.Pi/180)} }
	tests := []struct {
		name string
		p    orb.Point
		day  time.Time
		in   bool
	}{
		{"same place, same day", inc.Location, day, true},
		{"100 m, day 14", north(100), day.AddDate(0, 0, 14), true},
		{"149 m, day 7", north(149), day.AddDate(0, 0, 7), true},
		{"100 m, day 15", north(100), day.AddDate(0, 0, 15), false},
		{"151 m, day 1", north(151), day.AddDate(0, 0, 1), false},
		{"the day before", inc.Location, day.AddDate(0, 0, -1), false},
	}
	for _, tc := range tests {
		if got := z.Contains(tc.p, tc.day); got != tc.in {
			t.Errorf("%s: contains = %v, want %v", tc.name, got, tc.in)
		}
	}
	if !z.Until.Equal(day.AddDate(0, 0, 15)) || z.Incident != 42 {
		t.Errorf("zone %+v", z)
	}
	cells, err := z.Cells(11) // about 50 m cells
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) < 19 || len(cells) > 40 {
		t.Errorf("%d cells of resolution 11 in a 150 m zone", len(cells))
	}
	for _, c := range cells[1:] {
		p := c.Center()
		if d := spatial.GreatCircleM(39.2904, -76.6122, p.Lat(), p.Lon()); d > 150 {
			t.Errorf("cell %s centre %g m away", c, d)
		}
	}
	if _, err := NearRepeatZone(inc, NearRepeatConfig{RadiusM: 0, Days: 14}); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("zero radius: %v", err)
	}
}

func TestEventsFromIncidents(t *testing.T) {
	d := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	incs := []geo.Incident{
		{Day: d.AddDate(0, 0, 3), Location: orb.Point{-76.61, 39.29}},
		{Day: d, Location: orb.Point{-76.60, 39.30}},
	}
	ev, day0, err := EventsFromIncidents(incs)
	if err != nil {
		t.Fatal(err)
	}
	if !day0.Equal(d) || ev[0].Day != 3 || ev[1].Day != 0 {
		t.Errorf("days %v %+v", day0, ev)
	}
	got := math.Hypot(ev[0].X-ev[1].X, ev[0].Y-ev[1].Y)
	want := spatial.GreatCircleM(39.29, -76.61, 39.30, -76.60)
	if math.Abs(got-want) > 0.001*want {
		t.Errorf("projected distance %g m, great circle %g m", got, want)
	}
}

func TestZones(t *testing.T) {
	if k, err := KForRadius(9, 0.75*MileM); err != nil || k != 3 {
		t.Errorf("KForRadius(9, 0.75 mile) = %d, %v; want 3", k, err)
	}
	if k, _ := KForRadius(9, 100); k != 0 {
		t.Errorf("KForRadius(9, 100 m) = %d, want 0", k)
	}
	if _, err := KForRadius(16, 100); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("resolution 16: %v", err)
	}
	c0, err := geo.CellFromPoint(orb.Point{-76.6122, 39.2904}, 9)
	if err != nil {
		t.Fatal(err)
	}
	cells := c0.Disk(6)
	rings, err := H3Zones(cells, ZoneRings, 0.75*MileM)
	if err != nil {
		t.Fatal(err)
	}
	if rings.Count() != 4*len(cells) {
		t.Fatalf("%d ring zones, want %d", rings.Count(), 4*len(cells))
	}
	for id := range rings.Count() {
		info := rings.Info(id)
		if cells[info.Center] != c0 {
			continue
		}
		var want []geo.Cell
		want = append(want, c0.Disk(info.K)...)
		var got []geo.Cell
		for _, j := range rings.Members(id) {
			got = append(got, cells[j])
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) || info.Size != len(want) {
			t.Errorf("ring zone k=%d of the centre: %d cells, want Disk(%d) = %d", info.K, len(got), info.K, len(want))
		}
	}
	circles, err := H3Zones(cells, ZoneCircles, 700)
	if err != nil {
		t.Fatal(err)
	}
	prev := -1.0
	for id := range circles.Count() {
		info := circles.Info(id)
		if info.Level == 0 {
			prev = -1
			if info.Size != 1 || circles.Members(id)[0] != int32(info.Center) || info.K != -1 {
				t.Fatalf("circle zone %d level 0: %+v", id, info)
			}
		}
		if info.RadiusM <= prev || info.RadiusM > 700 {
			t.Fatalf("circle zone %d radius %g after %g", id, info.RadiusM, prev)
		}
		prev = info.RadiusM
		cc := cells[info.Center].Center()
		for _, j := range circles.Members(id) {
			p := cells[j].Center()
			if d := spatial.GreatCircleM(cc.Lat(), cc.Lon(), p.Lat(), p.Lon()); d > info.RadiusM+1e-6 {
				t.Fatalf("circle zone %d: member %g m away, radius %g", id, d, info.RadiusM)
			}
		}
	}
}

func TestBandZones(t *testing.T) {
	c0, err := geo.CellFromPoint(orb.Point{-76.6122, 39.2904}, 9)
	if err != nil {
		t.Fatal(err)
	}
	cells := c0.Disk(5)
	radii := []float64{0, 350, 700}
	z, err := BandZones(cells, radii)
	if err != nil {
		t.Fatal(err)
	}
	if z.Count() != 3*len(cells) {
		t.Fatalf("%d zones, want %d", z.Count(), 3*len(cells))
	}
	for id := range z.Count() {
		info := z.Info(id)
		if info.RadiusM != radii[info.Level] {
			t.Fatalf("zone %d level %d radius %g", id, info.Level, info.RadiusM)
		}
		cc := cells[info.Center].Center()
		within := 0
		for _, c := range cells {
			p := c.Center()
			if spatial.GreatCircleM(cc.Lat(), cc.Lon(), p.Lat(), p.Lon()) <= info.RadiusM {
				within++
			}
		}
		if info.Size != within {
			t.Fatalf("zone %d (%g m): %d cells, %d centroids within", id, info.RadiusM, info.Size, within)
		}
	}
	if _, err := BandZones(cells, []float64{700, 350}); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("descending radii: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"defaults", func(*Config) {}, ""},
		{"window longer than study", func(c *Config) { c.MaxWindow = 31 }, "max_window"},
		{"no window", func(c *Config) { c.MaxWindow = 0 }, "max_window"},
		{"negative replications", func(c *Config) { c.Replications = -1 }, "replications"},
		{"report p 0", func(c *Config) { c.ReportP = 0 }, "report_p"},
		{"radius NaN", func(c *Config) { c.MaxRadiusM = math.NaN() }, "max_radius_m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			var ge *geo.Error
			switch {
			case tc.field == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.field != "" && (err == nil || !asGeo(err, &ge) || ge.Field != tc.field):
				t.Errorf("error %v, want field %s", err, tc.field)
			}
		})
	}
}

func asGeo(err error, ge **geo.Error) bool {
	e, ok := err.(*geo.Error)
	*ge = e
	return ok
}

// TestSTPScanMinCases: cylinders with fewer cases than MinCases never score,
// in the data or the replicates.
func TestSTPScanMinCases(t *testing.T) {
	f := loadSTP(t, oracle.Dirs(t)[0])
	z, err := BallZones(f.graph, f.maxK)
	if err != nil {
		t.Fatal(err)
	}
	for _, minCases := range []int{3, 20, 1 << 20} {
		cfg := f.config(49)
		cfg.MinCases = minCases
		s, err := NewScanner(f.cube, z, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range s.Cylinders() {
			if c.Observed < int64(minCases) && c.LLR != 0 {
				t.Fatalf("min %d: cylinder with %d cases scores %g", minCases, c.Observed, c.LLR)
			}
		}
		res, err := s.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if minCases == 1<<20 && (len(res.Clusters) != 0 || res.Statistic != 0 || slices.Max(res.ReplicateMax) != 0) {
			t.Errorf("nothing can reach %d cases, got %d clusters", minCases, len(res.Clusters))
		}
		for _, c := range res.Clusters {
			if c.Observed < int64(minCases) {
				t.Errorf("min %d: cluster with %d cases", minCases, c.Observed)
			}
		}
	}
}

func TestScanFindings(t *testing.T) {
	cells := []geo.Cell{0x89283082803ffff, 0x89283082807ffff, 0x8928308280bffff}
	day0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	res := &Result{Detector: DetectorSTPScan, Cases: 40, Replications: 999, Clusters: []Cluster{
		{Cylinder: Cylinder{K: 1, Size: 2, Window: 3, StartDay: 27, EndDay: 29, Observed: 9, Expected: 3, ObsOverExp: 3, LLR: 5.5},
			Rank: 1, Cells: []int{0, 2}, P: 0.01, RecurrenceDays: 100, Reported: true, Spike: true},
		{Cylinder: Cylinder{K: 0, Size: 1, Window: 1, StartDay: 29, EndDay: 29, Observed: 3, Expected: 1, LLR: 1.2},
			Rank: 2, Cells: []int{1}, P: 0.3, RecurrenceDays: 3.33, Reported: true},
		{Cylinder: Cylinder{K: 0, LLR: 0.4}, Rank: 3, Cells: []int{1}, P: 0.8},
	}}
	fs, err := ScanFindings(res, cells, day0)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 {
		t.Fatalf("%d findings, want the 2 reported clusters", len(fs))
	}
	f := fs[0]
	if f.Detector != "stpscan" || f.Kind != KindCluster || f.Category != CategorySpike || *f.PValue != 0.01 ||
		!slices.Equal(f.Cells, []geo.Cell{cells[0], cells[2]}) || f.Score != 5.5 ||
		!f.Start.Equal(day0.AddDate(0, 0, 27)) || !f.End.Equal(day0.AddDate(0, 0, 30)) || f.Stats["recurrence_days"] != 100 {
		t.Errorf("finding %+v", f)
	}
	if fs[1].Category != CategoryWatch {
		t.Errorf("second finding category %q", fs[1].Category)
	}
	res.Clusters[0].Cells = []int{5}
	if _, err := ScanFindings(res, cells, day0); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("cell out of range: %v", err)
	}
	kf := KnoxFindings(&KnoxResult{CloseBoth: 75, Expected: 30, Ratio: 2.5, PEventPerm: math.NaN(), PPoissonGE: 1e-12,
		PPoisson: 1e-13, PPairPerm: math.NaN()}, day0, day0.AddDate(1, 0, 0))
	if len(kf) != 1 || kf[0].Detector != "knox" || *kf[0].PValue != 1e-12 || kf[0].Score != 2.5 {
		t.Errorf("knox finding %+v", kf)
	}
	if _, ok := kf[0].Stats["p_event_perm"]; ok {
		t.Error("NaN statistic stored")
	}
}

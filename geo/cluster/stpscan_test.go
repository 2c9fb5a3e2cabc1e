package cluster

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"hotspots/geo/internal/oracle"
)

// stpFixture is an oracle case: the hex graph, the cube and the scan
// parameters read back from the fixture itself, so unseen seeds with other
// parameters run unchanged.
type stpFixture struct {
	ids        []string
	idx        map[string]int
	graph      *Graph
	cube       *Cube
	firstDay   int // calendar day number of cube day 0
	maxK, maxW int
	reps       int
}

func loadSTP(t *testing.T, dir string) *stpFixture {
	t.Helper()
	f := &stpFixture{idx: map[string]int{}}
	for _, r := range oracle.Read(t, dir, "nodes.csv").Rows {
		f.idx[r["cell_id"]] = len(f.ids)
		f.ids = append(f.ids, r["cell_id"])
	}
	var edges [][2]string
	for _, r := range oracle.Read(t, dir, "edges_k1.csv").Rows {
		edges = append(edges, [2]string{r["from"], r["to"]})
	}
	g, err := EdgeListGraph(f.ids, edges)
	if err != nil {
		t.Fatal(err)
	}
	f.graph = g
	rows := oracle.Read(t, dir, "cube.csv").Rows
	lo, hi := math.MaxInt, math.MinInt
	for _, r := range rows {
		d := r.Int(t, "day")
		lo, hi = min(lo, d), max(hi, d)
	}
	f.firstDay = lo
	if f.cube, err = NewCube(len(f.ids), hi-lo+1); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := f.cube.Add(f.idx[r["cell_id"]], r.Int(t, "day")-lo, r.Int(t, "count")); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range oracle.Read(t, dir, "stpscan_cylinders.csv").Rows {
		f.maxK, f.maxW = max(f.maxK, r.Int(t, "k")), max(f.maxW, r.Int(t, "window_days"))
	}
	f.reps = oracle.Read(t, dir, "stpscan_clusters.csv").Rows[0].Int(t, "R")
	return f
}

// oracleConfig is the oracle's scan: whole cube, no minimum, 5 clusters
// whatever their p.
func (f *stpFixture) config(reps int) Config {
	cfg := DefaultConfig()
	cfg.StudyDays, cfg.MaxWindow, cfg.Replications = 0, f.maxW, reps
	cfg.MinCases, cfg.ReportP, cfg.Seed = 0, 1, 20240601
	return cfg
}

func (f *stpFixture) scanner(t *testing.T, reps int) *Scanner {
	t.Helper()
	z, err := BallZones(f.graph, f.maxK)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScanner(f.cube, z, f.config(reps))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSTPScanOracle(t *testing.T) {
	for _, dir := range oracle.Dirs(t) {
		t.Run(oracle.Name(dir), func(t *testing.T) {
			f := loadSTP(t, dir)
			s := f.scanner(t, 999)
			res, err := s.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			t.Run("cylinders", func(t *testing.T) { checkCylinders(t, dir, f, s, res) })
			t.Run("clusters", func(t *testing.T) { checkClusters(t, dir, f, res) })
			t.Run("replicate_counts", func(t *testing.T) { checkReplicateCounts(t, dir, f, s) })
		})
	}
}

func checkCylinders(t *testing.T, dir string, f *stpFixture, s *Scanner, res *Result) {
	rows := oracle.Read(t, dir, "stpscan_cylinders.csv").Rows
	got := s.Cylinders()
	if len(got) != len(rows) {
		t.Fatalf("%d cylinders, oracle has %d", len(got), len(rows))
	}
	bad := 0
	for i, r := range rows {
		g := got[i]
		key := r["center"] + "/" + r["k"] + "/" + r["window_days"]
		ints := []struct {
			name      string
			got, want int
		}{
			{"center", g.Center, f.idx[r["center"]]},
			{"k", g.K, r.Int(t, "k")},
			{"window_days", g.Window, r.Int(t, "window_days")},
			{"zone_size", g.Size, r.Int(t, "zone_size")},
			{"start_day", g.StartDay + f.firstDay, r.Int(t, "start_day")},
			{"end_day", g.EndDay + f.firstDay, r.Int(t, "end_day")},
			{"observed", int(g.Observed), r.Int(t, "observed")},
		}
		for _, c := range ints {
			if c.got != c.want {
				t.Errorf("%s %s = %d, want %d", key, c.name, c.got, c.want)
				bad++
			}
		}
		floats := []struct {
			name string
			got  float64
		}{{"expected", g.Expected}, {"obs_over_exp", g.ObsOverExp}, {"llr", g.LLR}}
		for _, c := range floats {
			if want := r.Float(t, c.name); !oracle.Close(c.got, want, 1e-9) {
				t.Errorf("%s %s = %.17g, want %.17g", key, c.name, c.got, want)
				bad++
			}
		}
		if want, p := r.Float(t, "p_value"), res.PValue(g.LLR); !oracle.MonteCarloCloseClamped(p, want, res.Replications, f.reps) {
			t.Errorf("%s p = %g, oracle %g (Monte Carlo bound)", key, p, want)
			bad++
		}
		if bad > 20 {
			t.Fatal("too many mismatches")
		}
	}
}

func checkClusters(t *testing.T, dir string, f *stpFixture, res *Result) {
	rows := oracle.Read(t, dir, "stpscan_clusters.csv").Rows
	if len(res.Clusters) != len(rows) {
		t.Fatalf("%d clusters, oracle has %d", len(res.Clusters), len(rows))
	}
	if total := rows[0].Int(t, "total_cases"); res.Cases != int64(total) {
		t.Errorf("cases %d, want %d", res.Cases, total)
	}
	for i, r := range rows {
		c := res.Clusters[i]
		var cells []string
		for _, j := range c.Cells {
			cells = append(cells, f.ids[j])
		}
		slices.Sort(cells)
		if c.Rank != r.Int(t, "rank") || f.ids[c.Center] != r["center"] || c.K != r.Int(t, "k") ||
			c.Window != r.Int(t, "window_days") || c.Observed != int64(r.Int(t, "observed")) ||
			strings.Join(cells, ";") != r["cells"] || c.StartDay+f.firstDay != r.Int(t, "start_day") {
			t.Errorf("cluster %d = %s k%d w%d obs %d cells %v, want %s k%s w%s obs %s cells %s", i+1,
				f.ids[c.Center], c.K, c.Window, c.Observed, cells, r["center"], r["k"], r["window_days"], r["observed"], r["cells"])
		}
		if !oracle.Close(c.Expected, r.Float(t, "expected"), 1e-9) || !oracle.Close(c.LLR, r.Float(t, "llr"), 1e-9) {
			t.Errorf("cluster %d expected %.17g llr %.17g, want %s %s", i+1, c.Expected, c.LLR, r["expected"], r["llr"])
		}
		want := r.Float(t, "p_value")
		if !oracle.MonteCarloCloseClamped(c.P, want, res.Replications, f.reps) {
			t.Errorf("cluster %d p = %g, oracle %g", i+1, c.P, want)
		}
		if c.RecurrenceDays != 1/c.P {
			t.Errorf("cluster %d recurrence %g days, want 1/p = %g", i+1, c.RecurrenceDays, 1/c.P)
		}
	}
	if res.Statistic != res.Clusters[0].LLR {
		t.Errorf("statistic %g, MLC LLR %g", res.Statistic, res.Clusters[0].LLR)
	}
}

// checkReplicateCounts scores the oracle's permuted counts with the
// original expectations: the permutation path without a shared RNG.
func checkReplicateCounts(t *testing.T, dir string, f *stpFixture, s *Scanner) {
	want := map[int]float64{}
	for _, r := range oracle.Read(t, dir, "stpscan_replicates.csv").Rows {
		want[r.Int(t, "replicate")] = r.Float(t, "max_llr")
	}
	cubes := map[int]*Cube{}
	for _, r := range oracle.Read(t, dir, "stpscan_replicate_counts.csv").Rows {
		b := r.Int(t, "replicate")
		if cubes[b] == nil {
			c, err := NewCube(f.cube.Cells(), f.cube.Days())
			if err != nil {
				t.Fatal(err)
			}
			cubes[b] = c
		}
		if err := cubes[b].Set(f.idx[r["cell_id"]], r.Int(t, "day")-f.firstDay, r.Int(t, "count")); err != nil {
			t.Fatal(err)
		}
	}
	if len(cubes) == 0 {
		t.Fatal("no replicate counts")
	}
	for b, c := range cubes {
		got, err := s.MaxLLR(c)
		if err != nil {
			t.Fatal(err)
		}
		if !oracle.Close(got, want[b], 1e-9) {
			t.Errorf("replicate %d max LLR %.17g, want %.17g", b, got, want[b])
		}
	}
}

// TestSTPScanDeterministic: the replicates depend on the seed only, not on
// how many CPUs drew them.
func TestSTPScanDeterministic(t *testing.T) {
	f := loadSTP(t, oracle.Dirs(t)[0])
	run := func(procs int, seed uint64) []float64 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		s := f.scanner(t, 199)
		s.cfg.Seed = seed
		res, err := s.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return res.ReplicateMax
	}
	a, b := run(1, 7), run(4, 7)
	if !slices.Equal(a, b) {
		t.Error("replicates differ between GOMAXPROCS 1 and 4")
	}
	if slices.Equal(a, run(4, 8)) {
		t.Error("replicates identical for different seeds")
	}
}

// TestSTPScanPermutationMargins: a replicate keeps every window day's total
// and never puts more cases in a cell than the cell has. With ball zones,
// level 0 of each family is its centre alone, so those zones hold the
// per-cell counts.
func TestSTPScanPermutationMargins(t *testing.T) {
	f := loadSTP(t, oracle.Dirs(t)[0])
	s := f.scanner(t, 1)
	w := newWorker(s.eng)
	rp := &permReplicator{s: s, cases: slices.Clone(s.caseCell), swaps: make([]int, len(s.labels))}
	pcg := rand.NewPCG(1, 2)
	r := rand.New(pcg)
	last, W := f.cube.Days()-1, s.eng.w
	for rep := range 20 {
		pcg.Seed(1, uint64(rep))
		rp.draw(r, w)
		if !slices.Equal(rp.cases, s.caseCell) {
			t.Fatal("case order not restored after a replicate")
		}
		for off := range W {
			day := 0
			for i := range f.cube.Cells() {
				id := int(s.eng.zones.famZone[i]) // level 0: the cell alone
				v := int(w.acc[id*W+off])
				day += v
				if v > cellTotal(f.cube, i) {
					t.Fatalf("replicate %d: cell %d got %d cases, has %d", rep, i, v, cellTotal(f.cube, i))
				}
			}
			if want := dayTotal(f.cube, last-off); day != want {
				t.Fatalf("replicate %d offset %d: %d cases, day total %d", rep, off, day, want)
			}
		}
		w.reset()
	}
}

func cellTotal(c *Cube, i int) int {
	t := 0
	for d := range c.Days() {
		t += c.At(i, d)
	}
	return t
}

func dayTotal(c *Cube, d int) int {
	t := 0
	for _, v := range c.Day(d) {
		t += int(v)
	}
	return t
}

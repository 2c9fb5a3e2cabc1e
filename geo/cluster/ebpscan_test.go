package cluster

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// gridGraph is a w x h lattice with 4-neighbour adjacency; cell (x, y) is
// index y*w + x.
func gridGraph(t *testing.T, w, h int) *Graph {
	t.Helper()
	nodes := make([]int, w*h)
	var edges [][2]int
	for y := range h {
		for x := range w {
			i := y*w + x
			nodes[i] = i
			if x+1 < w {
				edges = append(edges, [2]int{i, i + 1})
			}
			if y+1 < h {
				edges = append(edges, [2]int{i, i + w})
			}
		}
	}
	g, err := EdgeListGraph(nodes, edges)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestEBPScanByHand checks expectations and LLRs against values worked out
// by hand on a three-cell path 0-1-2 with a 4-day baseline and 2-day
// windows. Baseline totals 2, 0 and 4 give daily rates 0.5, 0.125 (the
// 0.5 floor) and 1; the windows hold cell 0: 1 then 3, cell 1: 0 then 1.
func TestEBPScanByHand(t *testing.T) {
	g := gridGraph(t, 3, 1)
	cube, err := NewCube(3, 6)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][3]int{{0, 0, 1}, {0, 2, 1}, {2, 1, 4}, {0, 4, 1}, {0, 5, 3}, {1, 5, 1}} {
		if err := cube.Set(c[0], c[1], c[2]); err != nil {
			t.Fatal(err)
		}
	}
	zones, err := BallZones(g, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultEBPConfig()
	cfg.BaselineDays, cfg.MaxWindow, cfg.MinCases, cfg.Replications = 4, 2, 0, 0
	s, err := NewEBPScanner(cube, zones, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{0.5, 0.125, 1}; !slices.Equal(s.Rates(), want) {
		t.Fatalf("rates %v, want %v", s.Rates(), want)
	}
	tests := []struct {
		name          string
		center, k, w  int
		observed      int64
		expected, llr float64
	}{
		{"cell 0, last day", 0, 0, 1, 3, 0.5, 3*math.Log(3/0.5) + 0.5 - 3},
		{"cells 0-1, two days", 0, 1, 2, 5, 1.25, 5*math.Log(5/1.25) + 1.25 - 5},
		{"all cells, two days", 1, 1, 2, 5, 3.25, 5*math.Log(5/3.25) + 3.25 - 5},
		{"cell 2, nothing", 2, 0, 2, 0, 2, 0},
		{"cells 1-2, last day", 2, 1, 1, 1, 1.125, 0}, // c < b: does not score
		{"cells 0-1, last day", 0, 1, 1, 4, 0.625, 4*math.Log(4/0.625) + 0.625 - 4},
	}
	cyl := s.Cylinders()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i := slices.IndexFunc(cyl, func(c Cylinder) bool { return c.Center == tc.center && c.K == tc.k && c.Window == tc.w })
			if i < 0 {
				t.Fatal("cylinder missing")
			}
			c := cyl[i]
			if c.Observed != tc.observed || math.Abs(c.Expected-tc.expected) > 1e-12 || math.Abs(c.LLR-tc.llr) > 1e-12 {
				t.Errorf("got obs %d exp %g llr %.15g, want %d %g %.15g", c.Observed, c.Expected, c.LLR, tc.observed, tc.expected, tc.llr)
			}
		})
	}
	res, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if mlc := res.Clusters[0]; mlc.Center != 0 || mlc.K != 1 || mlc.Window != 1 || !math.IsNaN(mlc.P) {
		t.Errorf("MLC %+v, want cells 0-1 on the last day with p NaN (no replicates)", mlc)
	}
	if len(res.Clusters) != 1 {
		t.Errorf("%d clusters; every other scoring zone overlaps the MLC", len(res.Clusters))
	}
}

// plantedCube is a 20 x 20 lattice with Poisson(0.3) counts per cell-day
// for the default baseline plus 7 days; with plant, the 5 cells around
// (12, 7) get Poisson(2.5) extra on each of the last 3 days.
func plantedCube(t *testing.T, seed uint64, plant bool) (*Cube, []int) {
	t.Helper()
	days := DefaultEBPConfig().BaselineDays + 7
	cube, err := NewCube(400, days)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 99))
	for d := range days {
		for i := range 400 {
			if err := cube.Add(i, d, poisson(r, 0.3)); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := 7*20 + 12
	hot := []int{c, c - 1, c + 1, c - 20, c + 20}
	if plant {
		for d := days - 3; d < days; d++ {
			for _, i := range hot {
				if err := cube.Add(i, d, poisson(r, 2.5)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return cube, hot
}

func TestEBPScanPlanted(t *testing.T) {
	g := gridGraph(t, 20, 20)
	zones, err := BallZones(g, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultEBPConfig()
	cfg.Replications, cfg.Seed = 199, 5
	tests := []struct {
		name  string
		plant bool
	}{{"planted cluster", true}, {"null", false}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(3) {
				cube, hot := plantedCube(t, seed, tc.plant)
				res, err := EBPScan(context.Background(), cube, zones, cfg)
				if err != nil {
					t.Fatal(err)
				}
				mlc := res.Clusters[0]
				if !tc.plant {
					if mlc.P < 0.05 {
						t.Errorf("seed %d: null data gave p = %g (cluster %+v)", seed, mlc.P, mlc.Cylinder)
					}
					continue
				}
				if mlc.P > 0.01 || !mlc.Spike {
					t.Errorf("seed %d: planted cluster p = %g, want <= 0.01", seed, mlc.P)
				}
				if !slices.Contains(hot, mlc.Center) || mlc.Window > 4 {
					t.Errorf("seed %d: MLC centre %d window %d, want a planted cell and <= 4 days", seed, mlc.Center, mlc.Window)
				}
			}
		})
	}
}

func TestPoissonSampler(t *testing.T) {
	for _, lam := range []float64{0.3, 4, 29.5, 30, 250} {
		r := rand.New(rand.NewPCG(3, uint64(lam*10)))
		const n = 40000
		var s, s2 float64
		for range n {
			k := float64(poisson(r, lam))
			s += k
			s2 += k * k
		}
		mean := s / n
		v := s2/n - mean*mean
		if se := math.Sqrt(lam / n); math.Abs(mean-lam) > 5*se {
			t.Errorf("lambda %g: mean %g", lam, mean)
		}
		if math.Abs(v-lam) > 0.05*lam+0.02 {
			t.Errorf("lambda %g: variance %g", lam, v)
		}
	}
}

func TestAliasTable(t *testing.T) {
	wt := []float64{0.1, 0, 3, 1, 0.9}
	tab := newAliasTable(wt)
	r := rand.New(rand.NewPCG(1, 1))
	const n = 100000
	got := make([]float64, len(wt))
	for range n {
		got[tab.draw(r)]++
	}
	for i, w := range wt {
		p := w / 5
		if se := math.Sqrt(p * (1 - p) / n); math.Abs(got[i]/n-p) > 5*se+1e-12 {
			t.Errorf("index %d: frequency %g, want %g", i, got[i]/n, p)
		}
	}
}

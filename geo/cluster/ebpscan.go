package cluster

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"hotspots/geo"
)

// EBPConfig configures the expectation-based Poisson scan.
type EBPConfig struct {
	// BaselineDays is the number of days before the longest window whose
	// counts set each cell's expected daily rate. The rates are treated as
	// known, so a short baseline makes the scan anti-conservative: on a
	// lattice with 0.3 incidents per cell-day, null data gave p < 0.05 in
	// about half of trials with 28 baseline days and in none of twelve with
	// 84. Trends longer than the baseline leak into the clusters instead.
	BaselineDays int
	// MaxWindow, Replications, MinCases, MaxClusters, ReportP, SpikeP and
	// Seed mean what they mean in Config.
	MaxWindow    int
	Replications int
	MinCases     int
	MaxClusters  int
	ReportP      float64
	SpikeP       float64
	// MinBaselineCount floors each cell's baseline count: a cell without
	// incidents in the baseline is expected to have had this many, so one
	// incident there is not an infinitely surprising cluster. 0.5 is half an
	// incident over the whole baseline.
	MinBaselineCount float64
	Seed             uint64
}

// DefaultEBPConfig matches DefaultConfig: twelve weeks of baseline (see
// BaselineDays for why not four) before windows of up to 7 days.
func DefaultEBPConfig() EBPConfig {
	d := DefaultConfig()
	return EBPConfig{
		BaselineDays: 84, MaxWindow: d.MaxWindow, Replications: d.Replications, MinCases: d.MinCases,
		MaxClusters: d.MaxClusters, ReportP: d.ReportP, SpikeP: d.SpikeP, MinBaselineCount: 0.5,
	}
}

// Validate checks the fields.
func (c EBPConfig) Validate() error {
	switch {
	case c.BaselineDays < 1:
		return geo.FieldErrorf("baseline_days", "baseline %d days, want >= 1", c.BaselineDays)
	case c.MaxWindow < 1 || c.MaxWindow > maxWindow:
		return geo.FieldErrorf("max_window", "max window %d days, want 1..%d", c.MaxWindow, maxWindow)
	case !(c.MinBaselineCount > 0) || math.IsInf(c.MinBaselineCount, 0):
		return geo.FieldErrorf("min_baseline_count", "min baseline count %g, want > 0", c.MinBaselineCount)
	}
	return validateCommon(c.Replications, c.MinCases, c.MaxClusters, c.ReportP, c.SpikeP, 0)
}

// EBPScanner is a prepared expectation-based Poisson scan (Neill, Moore,
// Sabhnani and Daniel 2005): each cell's expected daily count b_j is its
// baseline count (floored at MinBaselineCount) divided by BaselineDays, the
// expectation of a cylinder is the sum of b_j over its cells times the
// window length, and
//
//	LLR = c ln(c/b) + b - c   if c > b, else 0
//
// (the Poisson likelihood ratio of rate c/b against rate 1 inside the
// cylinder, with nothing conditioned on the total). Unlike the permutation
// scan it flags a citywide surge too, since nothing is conditioned on the
// day totals. Replicates draw every cell-day of the windows as independent
// Poisson(b_j): a Poisson total for all windows, spread over cells in
// proportion to b_j and uniformly over days.
type EBPScanner struct {
	scan
	cfg     EBPConfig
	rates   []float64 // b_j, per day
	lambda  float64   // expected cases in all windows
	alias   *aliasTable
	windowN int64 // observed cases in the longest window
}

// NewEBPScanner checks the inputs, derives the baseline rates and folds the
// observed window counts. The cube needs BaselineDays + MaxWindow days; the
// last MaxWindow are scanned and the BaselineDays before them are the
// baseline.
func NewEBPScanner(cube *Cube, zones *Zones, cfg EBPConfig) (*EBPScanner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ebpscan: %w", err)
	}
	if zones.Cells() != cube.Cells() {
		return nil, geo.Errorf(geo.EINVALID, "ebpscan: zones over %d cells, cube has %d", zones.Cells(), cube.Cells())
	}
	need := cfg.BaselineDays + cfg.MaxWindow
	if cube.Days() < need {
		return nil, geo.Errorf(geo.EINVALID, "ebpscan: cube has %d days, baseline and windows need %d", cube.Days(), need)
	}
	n, W := cube.Cells(), cfg.MaxWindow
	s := &EBPScanner{cfg: cfg, rates: make([]float64, n)}
	s.firstDay, s.lastDay = cube.Days()-need, cube.Days()-1
	for d := s.firstDay; d < s.firstDay+cfg.BaselineDays; d++ {
		for i, v := range cube.Day(d) {
			s.rates[i] += float64(v)
		}
	}
	for i, v := range s.rates {
		s.rates[i] = math.Max(v, cfg.MinBaselineCount) / float64(cfg.BaselineDays)
		s.lambda += s.rates[i] * float64(W)
	}
	e := &engine{zones: zones, w: W, model: poissonModel, minCases: int32(cfg.MinCases),
		a: zoneSums(zones, func(j int) float64 { return s.rates[j] }), b: make([]float64, W)}
	for wi := range W {
		e.b[wi] = float64(wi + 1)
	}
	for d := s.lastDay - W + 1; d <= s.lastDay; d++ {
		for _, v := range cube.Day(d) {
			s.windowN += int64(v)
		}
	}
	e.prepare(int(max(s.windowN, int64(4*s.lambda+100))))
	s.eng = e
	s.alias = newAliasTable(s.rates)
	s.obs = newWorker(e)
	loadWindow(s.obs, cube, W)
	return s, nil
}

// Rates returns the expected daily count of every cell. The slice belongs
// to the scanner.
func (s *EBPScanner) Rates() []float64 { return s.rates }

// EBPScan runs an expectation-based Poisson scan: NewEBPScanner then Run.
func EBPScan(ctx context.Context, cube *Cube, zones *Zones, cfg EBPConfig) (*Result, error) {
	s, err := NewEBPScanner(cube, zones, cfg)
	if err != nil {
		return nil, err
	}
	return s.Run(ctx)
}

// Run draws the replicates on all CPUs and returns the clusters.
func (s *EBPScanner) Run(ctx context.Context) (*Result, error) {
	reps, err := s.eng.replicate(ctx, s.cfg.Replications, s.cfg.Seed, func() replicator { return (*poissonReplicator)(s) })
	if err != nil {
		return nil, fmt.Errorf("ebpscan: %w", err)
	}
	return s.result(DetectorEBPScan, reps, s.cfg.Seed, s.windowN, s.cfg.MaxClusters, s.cfg.ReportP, s.cfg.SpikeP), nil
}

// poissonReplicator draws a replicate under the baseline rates. It only
// reads the scanner, so all goroutines share it.
type poissonReplicator EBPScanner

func (p *poissonReplicator) draw(r *rand.Rand, w *worker) {
	n := poisson(r, p.lambda)
	for range n {
		w.add(int32(p.alias.draw(r)), r.IntN(p.eng.w), 1)
	}
}

// aliasTable samples an index with probability proportional to its weight
// in constant time (Vose's alias method).
type aliasTable struct {
	prob  []float64
	alias []int32
}

func newAliasTable(wt []float64) *aliasTable {
	n := len(wt)
	t := &aliasTable{prob: make([]float64, n), alias: make([]int32, n)}
	sum := 0.0
	for _, v := range wt {
		sum += v
	}
	scaled := make([]float64, n)
	var small, large []int32
	for i, v := range wt {
		scaled[i] = v * float64(n) / sum
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small, large = small[:len(small)-1], large[:len(large)-1]
		t.prob[s], t.alias[s] = scaled[s], l
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			small = append(small, l)
		} else {
			large = append(large, l)
		}
	}
	for _, i := range append(small, large...) { // rounding leftovers
		t.prob[i], t.alias[i] = 1, i
	}
	return t
}

func (t *aliasTable) draw(r *rand.Rand) int {
	i := r.IntN(len(t.prob))
	if r.Float64() < t.prob[i] {
		return i
	}
	return int(t.alias[i])
}

// poisson draws a Poisson(lam) variate: by inversion for small means and by
// Hörmann's transformed rejection (PTRS, 1993) for large ones.
func poisson(r *rand.Rand, lam float64) int {
	if lam <= 0 {
		return 0
	}
	if lam < 30 {
		p := math.Exp(-lam)
		f, u, k := p, r.Float64(), 0
		for u > f && p > 0 {
			k++
			p *= lam / float64(k)
			f += p
		}
		return k
	}
	slam, loglam := math.Sqrt(lam), math.Log(lam)
	b := 0.931 + 2.53*slam
	a := -0.059 + 0.02483*b
	invAlpha := 1.1239 + 1.1328/(b-3.4)
	vr := 0.9277 - 3.6224/(b-2)
	for {
		u := r.Float64() - 0.5
		v := r.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*a/us+b)*u + lam + 0.43)
		if us >= 0.07 && v <= vr {
			return int(k)
		}
		if k < 0 || (us < 0.013 && v > us) {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+math.Log(invAlpha)-math.Log(a/(us*us)+b) <= -lam+k*loglam-lg {
			return int(k)
		}
	}
}

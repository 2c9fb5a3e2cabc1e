package cluster

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"hotspots/geo"
)

// Detector names stored with findings and detection runs.
const (
	DetectorSTPScan = "stpscan"
	DetectorEBPScan = "ebpscan"
	DetectorKnox    = "knox"
)

// Config configures the prospective space-time permutation scan. The
// defaults (DefaultConfig) are the Baltimore City Health Department's daily
// overdose surveillance settings.
type Config struct {
	// StudyDays is the length of the study period: the scan uses the last
	// StudyDays days of the cube, and expectations come from their margins.
	// 0 uses the whole cube.
	StudyDays int
	// MaxWindow is the longest window in days. Every window ends on the last
	// day (prospective surveillance): lengths 1..MaxWindow.
	MaxWindow int
	// Replications is the number of Monte Carlo replicates (999 gives p to
	// 0.001). 0 skips inference: p-values are NaN.
	Replications int
	// MinCases is the fewest cases a cylinder needs to score, in the data
	// and in every replicate alike, so one or two incidents in a quiet cell
	// cannot make a cluster.
	MinCases int
	// MaxClusters caps the most likely plus secondary clusters reported.
	MaxClusters int
	// ReportP is the largest p-value a cluster is reported (shown) with;
	// SpikeP the p-value below which it is a spike to act on.
	ReportP, SpikeP float64
	// MaxRadiusM is the largest zone radius in metres, turned into zones on
	// H3 cells by H3Zones with the Zones shape.
	MaxRadiusM float64
	Zones      ZoneShape
	// Seed seeds the replicates; record it with the run to reproduce it.
	Seed uint64
}

// MileM is one statute mile in metres.
const MileM = 1609.344

// DefaultConfig returns the Baltimore City Health Department's settings: 30
// days of data, windows of up to 7 days, 999 replicates, clusters reported
// up to p = 0.4 and spikes below p = 0.05, zones up to 0.75 mile across the
// radius, and at least 3 cases in a cluster.
func DefaultConfig() Config {
	return Config{
		StudyDays: 30, MaxWindow: 7, Replications: 999, MinCases: 3, MaxClusters: 5,
		ReportP: 0.4, SpikeP: 0.05, MaxRadiusM: 0.75 * MileM, Zones: ZoneRings,
	}
}

// Validate checks the fields against each other.
func (c Config) Validate() error {
	switch {
	case c.StudyDays < 0:
		return geo.FieldErrorf("study_days", "study days %d, want >= 0", c.StudyDays)
	case c.MaxWindow < 1 || c.MaxWindow > maxWindow:
		return geo.FieldErrorf("max_window", "max window %d days, want 1..%d", c.MaxWindow, maxWindow)
	case c.StudyDays > 0 && c.MaxWindow > c.StudyDays:
		return geo.FieldErrorf("max_window", "max window %d days is longer than the %d-day study", c.MaxWindow, c.StudyDays)
	}
	return validateCommon(c.Replications, c.MinCases, c.MaxClusters, c.ReportP, c.SpikeP, c.MaxRadiusM)
}

const maxWindow = 366

func validateCommon(reps, minCases, maxClusters int, reportP, spikeP, radius float64) error {
	switch {
	case reps < 0 || reps > 1_000_000:
		return geo.FieldErrorf("replications", "replications %d, want 0..1000000", reps)
	case minCases < 0:
		return geo.FieldErrorf("min_cases", "min cases %d, want >= 0", minCases)
	case maxClusters < 1:
		return geo.FieldErrorf("max_clusters", "max clusters %d, want >= 1", maxClusters)
	case !(reportP > 0 && reportP <= 1):
		return geo.FieldErrorf("report_p", "report p %g, want 0 < p <= 1", reportP)
	case !(spikeP > 0 && spikeP <= 1):
		return geo.FieldErrorf("spike_p", "spike p %g, want 0 < p <= 1", spikeP)
	case !(radius >= 0) || math.IsInf(radius, 0):
		return geo.FieldErrorf("max_radius_m", "max radius %g m, want a finite distance >= 0", radius)
	}
	return nil
}

// Scanner is a prepared space-time permutation scan (Kulldorff et al. 2005,
// PLoS Med 2(3):e59) in its prospective form, exactly as the oracle's
// stpscan.R defines it:
//
//	c_zd  = cases in cell z on day d;  C = the study total
//	mu_zd = C_z * C_d / C   (cell total over the study times day total)
//	A     = zone Z x window W (the last w days), c_A and mu_A sums over A
//	LLR   = c ln(c/mu) + (C-c) ln((C-c)/(C-mu))  if c > mu, else 0
//
// The statistic is the largest LLR; the most likely cluster is the first
// maximum in (centre, level, window) order. A replicate shuffles the day
// labels of the C individual cases, keeping their cells, so every C_z and
// C_d, and so every mu, is unchanged; p = (1 + #{replicate max >= LLR})/(R+1).
//
// It differs from SaTScan in the oracle's ways: zones are the given Zones
// (k-rings by default) rather than circles, and there is no cap of half the
// cases per cluster. Unlike the oracle, cylinders need MinCases cases.
type Scanner struct {
	scan
	cfg      Config
	cube     *Cube
	total    int64
	caseCell []int32  // the cell of every case in the study, in a fixed order
	labels   []uint16 // window offsets of the cases in the windows, in a fixed order
}

// NewScanner checks the inputs, computes the expectations and folds the
// observed counts. zones must be over the cube's cells.
func NewScanner(cube *Cube, zones *Zones, cfg Config) (*Scanner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("stpscan: %w", err)
	}
	if zones.Cells() != cube.Cells() {
		return nil, geo.Errorf(geo.EINVALID, "stpscan: zones over %d cells, cube has %d", zones.Cells(), cube.Cells())
	}
	study := cfg.StudyDays
	if study == 0 {
		study = cube.Days()
	}
	if study > cube.Days() || cfg.MaxWindow > study {
		return nil, geo.Errorf(geo.EINVALID, "stpscan: cube has %d days; study needs %d with windows up to %d", cube.Days(), study, cfg.MaxWindow)
	}
	n, W := cube.Cells(), cfg.MaxWindow
	s := &Scanner{cfg: cfg, cube: cube}
	s.firstDay, s.lastDay = cube.Days()-study, cube.Days()-1
	cellTot := make([]int64, n)
	dayTot := make([]int64, study)
	for d := range study {
		for i, v := range cube.Day(s.firstDay + d) {
			cellTot[i] += int64(v)
			dayTot[d] += int64(v)
			s.total += int64(v)
		}
	}
	if s.total > math.MaxInt32 {
		return nil, geo.Errorf(geo.ETOOLARGE, "stpscan: %d cases, the permutation keeps at most %d", s.total, math.MaxInt32)
	}
	e := &engine{zones: zones, w: W, model: permModel, total: float64(s.total), minCases: int32(cfg.MinCases),
		a: zoneSums(zones, func(j int) float64 { return float64(cellTot[j]) }), b: make([]float64, W)}
	var win int64
	for wi := range W {
		k := dayTot[study-1-wi]
		win += k
		// mu_A = C_Z * C_W / C; with no cases at all every mu is 0 and
		// nothing scores
		if s.total > 0 {
			e.b[wi] = float64(win) / float64(s.total)
		}
		for range k {
			s.labels = append(s.labels, uint16(wi))
		}
	}
	s.caseCell = make([]int32, 0, s.total)
	for d := range study {
		for i, v := range cube.Day(s.firstDay + d) {
			for range v {
				s.caseCell = append(s.caseCell, int32(i))
			}
		}
	}
	e.prepare(len(s.labels))
	s.eng = e
	s.obs = newWorker(e)
	loadWindow(s.obs, cube, W)
	return s, nil
}

// zoneSums sums a per-cell value over every zone, level by level.
func zoneSums(z *Zones, v func(j int) float64) []float64 {
	out := make([]float64, z.Count())
	for f := range z.center {
		sum := 0.0
		for id := int(z.famZone[f]); id < int(z.famZone[f+1]); id++ {
			for _, j := range z.newMembers(id) {
				sum += v(int(j))
			}
			out[id] = sum
		}
	}
	return out
}

// loadWindow adds the last W days of cube to a worker.
func loadWindow(w *worker, cube *Cube, W int) {
	last := cube.Days() - 1
	for off := range W {
		for i, v := range cube.Day(last - off) {
			if v > 0 {
				w.add(int32(i), off, v)
			}
		}
	}
}

// Scan runs a space-time permutation scan: NewScanner then Run.
func Scan(ctx context.Context, cube *Cube, zones *Zones, cfg Config) (*Result, error) {
	s, err := NewScanner(cube, zones, cfg)
	if err != nil {
		return nil, err
	}
	return s.Run(ctx)
}

// Run draws the replicates on all CPUs and returns the clusters.
func (s *Scanner) Run(ctx context.Context) (*Result, error) {
	reps, err := s.eng.replicate(ctx, s.cfg.Replications, s.cfg.Seed, func() replicator {
		return &permReplicator{s: s, cases: append([]int32(nil), s.caseCell...), swaps: make([]int, len(s.labels))}
	})
	if err != nil {
		return nil, fmt.Errorf("stpscan: %w", err)
	}
	return s.result(DetectorSTPScan, reps, s.cfg.Seed, s.total, s.cfg.MaxClusters, s.cfg.ReportP, s.cfg.SpikeP), nil
}

// MaxLLR scores other counts under this scan's expectations: the largest
// LLR over the cylinders when the last MaxWindow days hold c's counts. A
// permutation of the cases keeps both margins, so a permuted cube is scored
// with the original mu, as the replicates are; c must have the scanned
// cube's shape, and only its last MaxWindow days are read.
func (s *Scanner) MaxLLR(c *Cube) (float64, error) {
	if c.Cells() != s.cube.Cells() || c.Days() != s.cube.Days() {
		return 0, geo.Errorf(geo.EINVALID, "stpscan: cube %d x %d, scan has %d x %d", c.Cells(), c.Days(), s.cube.Cells(), s.cube.Days())
	}
	w := newWorker(s.eng)
	loadWindow(w, c, s.eng.w)
	return w.max(), nil
}

// permReplicator draws one permutation replicate. Which cases land in the
// windows after shuffling all day labels is a uniform sample of len(labels)
// cases in random order, so a partial Fisher-Yates shuffle of the first
// len(labels) positions, paired with the window labels in a fixed order,
// has exactly the distribution of the full shuffle at a fraction of its
// cost. The swaps are undone so each replicate starts from the same order.
type permReplicator struct {
	s     *Scanner
	cases []int32
	swaps []int
}

func (p *permReplicator) draw(r *rand.Rand, w *worker) {
	m, total := len(p.s.labels), len(p.cases)
	for i := range m {
		j := i + r.IntN(total-i)
		p.cases[i], p.cases[j] = p.cases[j], p.cases[i]
		p.swaps[i] = j
	}
	for i, off := range p.s.labels {
		w.add(p.cases[i], int(off), 1)
	}
	for i := m - 1; i >= 0; i-- {
		j := p.swaps[i]
		p.cases[i], p.cases[j] = p.cases[j], p.cases[i]
	}
}

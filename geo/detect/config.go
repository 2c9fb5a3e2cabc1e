package detect

import (
	"fmt"
	"slices"
	"strings"

	"hotspots/geo"
	"hotspots/geo/cluster"
)

// Detector names a runner knows. They are the DetectionRun.Detector of the
// runs it hands to the sink, and every finding of a run carries its run's
// name, so "the latest gistar run" on the map means the same thing as the
// run list.
const (
	STPScan    = cluster.DetectorSTPScan // prospective space-time permutation scan
	EBPScan    = cluster.DetectorEBPScan // expectation-based Poisson scan
	EARSC1     = "ears_c1"
	EARSC2     = "ears_c2"
	EARSC3     = "ears_c3"
	CUSUM      = "cusum"   // Lucas's Poisson CUSUM per area
	GLRPois    = "glrpois" // likelihood-ratio Poisson CUSUM per area
	EWMA       = "ewma"    // Poisson EWMA chart per area
	GiStar     = "gistar"  // Gi* over the first GiStarDays window; others are gistar_<N>d
	LocalMoran = "localmoran"
	EHSA       = "ehsa"
	Knox       = cluster.DetectorKnox
	NearRepeat = "nearrepeat"
	// Concentration is the share of incidents in the top 1 and 5 percent
	// of cells and the Gini coefficient, per period.
	Concentration = "concentration"
)

// AllDetectors lists every detector in the order a run executes them.
var AllDetectors = []string{STPScan, EBPScan, EARSC1, EARSC2, EARSC3, CUSUM, GLRPois, EWMA,
	GiStar, LocalMoran, EHSA, Knox, NearRepeat, Concentration}

// DefaultDetectors are the detectors run when none are named: the health
// department's scan and EARS, the CUSUM, the hot-spot maps, and, for
// shootings, the near-repeat analysis. The expectation-based scan, the
// other charts and local Moran's I are available by name; they answer the
// same questions as a default detector and would page twice for one event.
var DefaultDetectors = []string{STPScan, EARSC1, EARSC2, EARSC3, CUSUM, GiStar, EHSA, Knox, NearRepeat, Concentration}

// Group is a set of kinds analysed together, and the detectors that run on
// it (nil: Config.Detectors). Overdoses of all severities form one group
// because an overdose spike is one event whatever the outcome of each case.
type Group struct {
	Name      string     `json:"name"`
	Kinds     []geo.Kind `json:"kinds"`
	Detectors []string   `json:"detectors,omitempty"`
}

// DefaultGroups are overdoses, and shootings with homicides: near repeats
// are a gun-violence pattern, so Knox and the risk zones run on shootings
// only.
func DefaultGroups() []Group {
	all := slices.Clone(DefaultDetectors)
	noNR := slices.DeleteFunc(slices.Clone(all), func(d string) bool { return d == Knox || d == NearRepeat })
	return []Group{
		{Name: "overdoses", Kinds: []geo.Kind{geo.KindOverdoseFatal, geo.KindOverdoseNonFatal, geo.KindOverdoseSuspected}, Detectors: noNR},
		{Name: "shootings", Kinds: []geo.Kind{geo.KindShootingFatal, geo.KindShootingNonFatal, geo.KindHomicide}, Detectors: all},
	}
}

// Config is everything a run can be tuned with. It is stored (in part) as
// the params of every run, so a finding can be reproduced from its run.
// Start from DefaultConfig.
type Config struct {
	// Res is the H3 resolution of the count cube (geo.DefaultDetectRes).
	Res int `json:"res"`
	// Seed seeds every Monte Carlo detector. 0 derives one from the as-of
	// date, so a daily run is still reproducible from its recorded seed.
	Seed uint64 `json:"seed"`
	// Detectors restricts every group to these detectors (nil: each group's
	// own list, or DefaultDetectors).
	Detectors []string `json:"detectors,omitempty"`
	Groups    []Group  `json:"groups"`

	// Scan is the space-time permutation scan: Baltimore City Health
	// Department's settings by default (cluster.DefaultConfig). Its Seed is
	// ignored: runs draw theirs from Seed.
	Scan cluster.Config `json:"scan"`
	// EBP is the expectation-based Poisson scan.
	EBP cluster.EBPConfig `json:"ebp"`

	// Layers are the area layers of the temporal detectors; nil: of the
	// layers in the store valid on the as-of day, the latest vintage of
	// each kind and every custom layer. A city-wide series is added under
	// layer "city" when no chosen layer is of kind city.
	Layers []string `json:"layers,omitempty"`
	// EARSBaseline is the EARS baseline in days (7, surveillance's default).
	EARSBaseline int `json:"ears_baseline"`
	// EARSMinSigma floors the baseline SD. The package default is 0, which
	// makes a single incident in a neighbourhood with an empty week an
	// alarm; 0.5 asks for at least two there.
	EARSMinSigma float64 `json:"ears_min_sigma"`
	// MonitorDays is how many of the latest days the temporal detectors
	// report alarms for: 1 reports the as-of day only, so a daily run
	// reports each alarm day once.
	MonitorDays int `json:"monitor_days"`
	// ChartTrainingDays estimate the in-control mean of the CUSUMs and the
	// EWMA; the charts then run over ChartDays days up to the as-of day.
	ChartTrainingDays int `json:"chart_training_days"`
	ChartDays         int `json:"chart_days"`

	// GiStarDays are the windows (days up to the as-of day) of the Gi* maps.
	GiStarDays []int `json:"gistar_days"`
	// RingK is the k-ring of the Gi*, local Moran and EHSA neighbourhoods.
	RingK int `json:"ring_k"`
	// FDR applies the Benjamini-Hochberg correction to Gi* and EHSA bins.
	FDR bool `json:"fdr"`
	// MoranAlpha is the p-value cut of local Moran's I findings.
	MoranAlpha float64 `json:"moran_alpha"`
	// EHSAWeeks is the number of weekly steps of the emerging hot spot cube.
	EHSAWeeks int `json:"ehsa_weeks"`

	// Knox is the near-repeat test; KnoxDays the days of incidents it uses.
	Knox     cluster.KnoxConfig `json:"knox"`
	KnoxDays int                `json:"knox_days"`
	// NearRepeat shapes the risk zone around each recent incident. Zones
	// are only drawn when the Knox test finds near repeats (p <=
	// NearRepeatP) in the same data, so the zone follows evidence.
	NearRepeat  cluster.NearRepeatConfig `json:"near_repeat"`
	NearRepeatP float64                  `json:"near_repeat_p"`

	// ConcentrationDays are the periods of the concentration figures.
	ConcentrationDays []int `json:"concentration_days"`
}

// DefaultConfig returns the shipped settings: the health department's scan
// (30 days, clusters up to 7 days and 0.75 mile, at least 3 cases, 999
// replications), EARS C1-C3 with a 7-day baseline, Poisson CUSUM trained on
// 8 weeks, Gi* with FDR over the last 30 and 365 days, two years of weekly
// EHSA, a year of Knox (200 m, 7 days) and 150 m, 14-day risk zones.
func DefaultConfig() Config {
	return Config{
		Res:               geo.DefaultDetectRes,
		Groups:            DefaultGroups(),
		Scan:              cluster.DefaultConfig(),
		EBP:               cluster.DefaultEBPConfig(),
		EARSBaseline:      7,
		EARSMinSigma:      0.5,
		MonitorDays:       1,
		ChartTrainingDays: 56,
		ChartDays:         28,
		GiStarDays:        []int{30, 365},
		RingK:             1,
		FDR:               true,
		MoranAlpha:        0.05,
		EHSAWeeks:         104,
		Knox:              cluster.DefaultKnoxConfig(),
		KnoxDays:          365,
		NearRepeat:        cluster.DefaultNearRepeat(),
		NearRepeatP:       0.05,
		ConcentrationDays: []int{30, 365},
	}
}

// WithReplications sets the Monte Carlo replications of every detector
// that draws them (both scans and Knox).
func (c Config) WithReplications(n int) Config {
	c.Scan.Replications, c.EBP.Replications, c.Knox.Replications = n, n, n
	return c
}

// Validate checks the settings, so a bad flag fails before any data is read.
func (c Config) Validate() error {
	switch {
	case c.Res < 4 || c.Res > 10:
		// Finer than 10 turns a city into millions of study cells and a
		// 0.75-mile zone into a k-ring of dozens; coarser than 4 is a
		// region, not a hot spot.
		return geo.FieldErrorf("res", "resolution %d, want 4..10", c.Res)
	case len(c.Groups) == 0:
		return geo.FieldErrorf("groups", "no kind groups")
	case c.EARSBaseline < 2:
		return geo.FieldErrorf("ears_baseline", "EARS baseline %d days, want >= 2", c.EARSBaseline)
	case c.MonitorDays < 1:
		return geo.FieldErrorf("monitor_days", "monitor days %d, want >= 1", c.MonitorDays)
	case c.ChartTrainingDays < 1 || c.ChartDays < c.MonitorDays:
		return geo.FieldErrorf("chart_days", "chart training %d days and chart %d days, want >= 1 and >= monitor days", c.ChartTrainingDays, c.ChartDays)
	case c.RingK < 1:
		return geo.FieldErrorf("ring_k", "ring k %d, want >= 1", c.RingK)
	case c.EHSAWeeks < 2:
		return geo.FieldErrorf("ehsa_weeks", "EHSA weeks %d, want >= 2", c.EHSAWeeks)
	case c.KnoxDays < 1:
		return geo.FieldErrorf("knox_days", "Knox days %d, want >= 1", c.KnoxDays)
	case !(c.MoranAlpha > 0 && c.MoranAlpha < 1) || !(c.NearRepeatP > 0 && c.NearRepeatP <= 1):
		return geo.FieldErrorf("alpha", "moran alpha %g and near-repeat p %g, want in (0, 1)", c.MoranAlpha, c.NearRepeatP)
	}
	for _, d := range append(slices.Clone(c.GiStarDays), c.ConcentrationDays...) {
		if d < 1 {
			return geo.FieldErrorf("days", "window of %d days, want >= 1", d)
		}
	}
	if err := checkDetectors(c.Detectors); err != nil {
		return err
	}
	for _, g := range c.Groups {
		if g.Name == "" || len(g.Kinds) == 0 {
			return geo.FieldErrorf("groups", "group %q needs a name and kinds", g.Name)
		}
		if err := checkDetectors(g.Detectors); err != nil {
			return err
		}
	}
	if err := c.Scan.Validate(); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if c.Scan.StudyDays == 0 {
		return geo.FieldErrorf("study_days", "the scan needs a study period in days")
	}
	if err := c.EBP.Validate(); err != nil {
		return fmt.Errorf("ebp: %w", err)
	}
	if err := c.Knox.Validate(); err != nil {
		return fmt.Errorf("knox: %w", err)
	}
	return nil
}

func checkDetectors(ds []string) error {
	for _, d := range ds {
		if !slices.Contains(AllDetectors, d) {
			return geo.FieldErrorf("detectors", "unknown detector %q (known: %s)", d, strings.Join(AllDetectors, ", "))
		}
	}
	return nil
}

// detectors returns what runs on g, in AllDetectors order.
func (c Config) detectors(g Group) []string {
	want := g.Detectors
	if len(want) == 0 {
		want = DefaultDetectors
	}
	var out []string
	for _, d := range AllDetectors {
		if slices.Contains(want, d) && (len(c.Detectors) == 0 || slices.Contains(c.Detectors, d)) {
			out = append(out, d)
		}
	}
	return out
}

// temporalDetector reports whether d reads the area series.
func temporalDetector(d string) bool {
	switch d {
	case EARSC1, EARSC2, EARSC3, CUSUM, GLRPois, EWMA:
		return true
	}
	return false
}

// spanDays is how many days up to the as-of day a group's detectors read.
func (c Config) spanDays(ds []string) int {
	span := 1
	for _, d := range ds {
		switch d {
		case STPScan:
			span = max(span, c.Scan.StudyDays)
		case EBPScan:
			span = max(span, c.EBP.BaselineDays+c.EBP.MaxWindow)
		case EARSC1, EARSC2, EARSC3:
			span = max(span, c.EARSBaseline+4+c.MonitorDays)
		case CUSUM, GLRPois, EWMA:
			span = max(span, c.ChartTrainingDays+c.ChartDays)
		case GiStar, LocalMoran:
			span = max(span, slices.Max(append([]int{1}, c.GiStarDays...)))
		case EHSA:
			span = max(span, 7*c.EHSAWeeks)
		case Knox, NearRepeat:
			span = max(span, c.KnoxDays)
		case Concentration:
			span = max(span, slices.Max(append([]int{1}, c.ConcentrationDays...)))
		}
	}
	return span
}

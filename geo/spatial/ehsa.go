package spatial

import (
	"math"

	"hotspots/geo"
	"hotspots/geo/trend"
)

// State is the significance of one bin: a statistically significant hot spot
// (Gi* z > 0), cold spot (z < 0), or neither.
type State int8

// Bin states.
const (
	Cold           State = -1
	NotSignificant State = 0
	Hot            State = 1
)

// Pattern is an Emerging Hot Spot Analysis category of one location, named
// as ArcGIS Pro names them. Its string is the finding category.
//
// The definitions below are ArcGIS Pro's ("How Emerging Hot Spot Analysis
// works"), made exact where the prose leaves room. "At least 90 percent"
// counts steps: 10*hot >= 9*T for T time steps. "Final step" is the last time
// step of the cube. The trend is the Mann-Kendall test of the location's Gi*
// z-score series, significant when its p-value is at most TrendAlpha.
//
// Patterns are decided by the final step first: a location that is hot now
// gets a hot pattern, one that is cold now a cold pattern, and only a location
// that is neither now can be historical. Among the hot patterns, "new" and
// "consecutive" (never hot before the current run) take precedence over
// "oscillating" (earlier cold steps), which the ArcGIS definitions both
// allow. Cold patterns mirror the hot ones with hot and cold swapped and the
// trend reversed (an intensifying cold spot has a significant downward trend).
type Pattern string

// The 17 Emerging Hot Spot Analysis categories.
const (
	// NoPattern: none of the hot or cold spot patterns below.
	NoPattern Pattern = "no_pattern"
	// NewHotSpot: a significant hot spot at the final step that has never been
	// a significant hot spot before.
	NewHotSpot Pattern = "new_hot_spot"
	// ConsecutiveHotSpot: a single uninterrupted run of at least two
	// significant hot-spot steps ending at the final step, never a hot spot
	// before that run, and less than 90 percent of all steps hot.
	ConsecutiveHotSpot Pattern = "consecutive_hot_spot"
	// IntensifyingHotSpot: a significant hot spot for at least 90 percent of
	// the steps including the final step, with a significant upward trend in
	// the intensity of clustering (Gi* z).
	IntensifyingHotSpot Pattern = "intensifying_hot_spot"
	// PersistentHotSpot: a significant hot spot for at least 90 percent of the
	// steps including the final step, with no significant trend.
	PersistentHotSpot Pattern = "persistent_hot_spot"
	// DiminishingHotSpot: a significant hot spot for at least 90 percent of
	// the steps including the final step, with a significant downward trend.
	DiminishingHotSpot Pattern = "diminishing_hot_spot"
	// SporadicHotSpot: a significant hot spot at the final step, on and off
	// before (hot before the final run, or only a single-step run after
	// earlier hot steps), less than 90 percent of steps hot and never a
	// significant cold spot.
	SporadicHotSpot Pattern = "sporadic_hot_spot"
	// OscillatingHotSpot: a significant hot spot at the final step that has
	// been a significant cold spot at some earlier step, with less than 90
	// percent of steps hot (and hot before its final run, else it is new or
	// consecutive).
	OscillatingHotSpot Pattern = "oscillating_hot_spot"
	// HistoricalHotSpot: not a significant hot or cold spot at the final
	// step, but a significant hot spot for at least 90 percent of the steps.
	HistoricalHotSpot Pattern = "historical_hot_spot"

	// NewColdSpot mirrors NewHotSpot.
	NewColdSpot Pattern = "new_cold_spot"
	// ConsecutiveColdSpot mirrors ConsecutiveHotSpot.
	ConsecutiveColdSpot Pattern = "consecutive_cold_spot"
	// IntensifyingColdSpot: cold for at least 90 percent of the steps
	// including the final one, with a significant downward trend (ever
	// colder).
	IntensifyingColdSpot Pattern = "intensifying_cold_spot"
	// PersistentColdSpot mirrors PersistentHotSpot.
	PersistentColdSpot Pattern = "persistent_cold_spot"
	// DiminishingColdSpot: cold for at least 90 percent of the steps including
	// the final one, with a significant upward trend (warming up).
	DiminishingColdSpot Pattern = "diminishing_cold_spot"
	// SporadicColdSpot mirrors SporadicHotSpot (never a significant hot spot).
	SporadicColdSpot Pattern = "sporadic_cold_spot"
	// OscillatingColdSpot mirrors OscillatingHotSpot (an earlier hot spot).
	OscillatingColdSpot Pattern = "oscillating_cold_spot"
	// HistoricalColdSpot mirrors HistoricalHotSpot.
	HistoricalColdSpot Pattern = "historical_cold_spot"
)

// Patterns lists every category, hot then cold, for legends and tests.
var Patterns = []Pattern{
	NoPattern,
	NewHotSpot, ConsecutiveHotSpot, IntensifyingHotSpot, PersistentHotSpot,
	DiminishingHotSpot, SporadicHotSpot, OscillatingHotSpot, HistoricalHotSpot,
	NewColdSpot, ConsecutiveColdSpot, IntensifyingColdSpot, PersistentColdSpot,
	DiminishingColdSpot, SporadicColdSpot, OscillatingColdSpot, HistoricalColdSpot,
}

// patternSet is one side's eight patterns, so the hot rules serve both sides.
type patternSet struct {
	new, consecutive, intensifying, persistent, diminishing, sporadic, oscillating Pattern
}

var (
	hotSet  = patternSet{NewHotSpot, ConsecutiveHotSpot, IntensifyingHotSpot, PersistentHotSpot, DiminishingHotSpot, SporadicHotSpot, OscillatingHotSpot}
	coldSet = patternSet{NewColdSpot, ConsecutiveColdSpot, IntensifyingColdSpot, PersistentColdSpot, DiminishingColdSpot, SporadicColdSpot, OscillatingColdSpot}
)

// Classify returns the pattern of one location from its bin states in time
// order and the direction of its significant Gi* trend (+1 significantly
// upward, -1 significantly downward, 0 none). See Pattern for the rules.
func Classify(states []State, trendDir int) Pattern {
	T := len(states)
	if T == 0 {
		return NoPattern
	}
	hot, cold := 0, 0
	for _, s := range states {
		switch s {
		case Hot:
			hot++
		case Cold:
			cold++
		}
	}
	switch states[T-1] {
	case Hot:
		return classifySide(states, Hot, hot, cold, trendDir, hotSet)
	case Cold:
		return classifySide(states, Cold, cold, hot, -trendDir, coldSet)
	}
	switch {
	case 10*hot >= 9*T:
		return HistoricalHotSpot
	case 10*cold >= 9*T:
		return HistoricalColdSpot
	}
	return NoPattern
}

// classifySide applies the hot-spot rules to the side the final step is on:
// same counts the steps on that side, other the opposite side, and trendDir
// is positive when the trend intensifies that side.
func classifySide(states []State, side State, same, other, trendDir int, p patternSet) Pattern {
	T := len(states)
	run := 0
	for t := T - 1; t >= 0 && states[t] == side; t-- {
		run++
	}
	mostly := 10*same >= 9*T
	switch {
	case same == 1:
		return p.new
	case run == same && !mostly: // run >= 2 here
		return p.consecutive
	case mostly && trendDir > 0:
		return p.intensifying
	case mostly && trendDir < 0:
		return p.diminishing
	case mostly:
		return p.persistent
	case other > 0:
		return p.oscillating
	}
	return p.sporadic
}

// EHSAOptions configures Emerging Hot Spot Analysis.
type EHSAOptions struct {
	SpaceTime SpaceTimeOptions
	// Alpha is the significance level of a hot or cold bin: p <= Alpha (or
	// the FDR threshold at Alpha).
	Alpha float64
	// FDR applies Benjamini-Hochberg over all bins of the cube before bins are
	// called significant, as ArcGIS Pro does.
	FDR bool
	// TrendAlpha is the significance level of the Mann-Kendall trend.
	TrendAlpha float64
	// TrendUncorrected uses the Mann-Kendall p-value without continuity
	// correction. By default the continuity-corrected p-value is used, the
	// one Kendall::MannKendall (and so R's sfdep) reports.
	TrendUncorrected bool
}

// DefaultEHSAOptions mirrors ArcGIS Pro's defaults: one previous time step in
// the neighbourhood, the entire cube as the global window, FDR correction,
// hot and cold bins at 90 percent confidence (any non-zero Gi_Bin). The trend
// is judged at the conventional 0.05.
func DefaultEHSAOptions() EHSAOptions {
	return EHSAOptions{
		SpaceTime:  SpaceTimeOptions{Lags: 1, Window: EntireCube},
		Alpha:      0.10,
		FDR:        true,
		TrendAlpha: 0.05,
	}
}

func (o EHSAOptions) validate() error {
	if !(o.Alpha > 0 && o.Alpha < 1) {
		return geo.Errorf(geo.EINVALID, "ehsa: alpha %g, want 0 < alpha < 1", o.Alpha)
	}
	if !(o.TrendAlpha > 0 && o.TrendAlpha < 1) {
		return geo.Errorf(geo.EINVALID, "ehsa: trend alpha %g, want 0 < alpha < 1", o.TrendAlpha)
	}
	return o.SpaceTime.validate()
}

// Location is the Emerging Hot Spot Analysis result of one study cell.
type Location struct {
	Pattern Pattern
	// Trend is the Mann-Kendall test of the cell's Gi* z-scores over time,
	// each rounded to trend.TieDigits significant digits first so that equal
	// z-scores tie. A step whose z-score is undefined (a constant global
	// window) enters the series as 0, no clustering.
	Trend trend.Result
	// TrendDir is +1 or -1 for a significant upward or downward trend, else 0.
	TrendDir            int
	HotSteps, ColdSteps int
	// Final is the state of the final step, with its z-score and p-value.
	Final          State
	FinalZ, FinalP float64
}

// EHSA is the result of Emerging Hot Spot Analysis.
type EHSA struct {
	Gi *GiCube
	// States holds each bin's significance, step-major like the cube.
	States []State
	// Threshold is the p-value at or below which a bin was significant:
	// Alpha, or the Benjamini-Hochberg threshold (-1 when no bin passed).
	Threshold float64
	// Locations holds one result per study cell, in graph order.
	Locations []Location
}

// EmergingHotSpots runs Emerging Hot Spot Analysis on a space-time cube:
// space-time Gi* for every bin, significance of each bin, the Mann-Kendall
// trend of each cell's Gi* series, and the pattern of each cell. The cube
// needs at least 2 time steps; ArcGIS asks for 10, below which the 90 percent
// rules are coarse.
func EmergingHotSpots(g *Graph, c *Cube, opt EHSAOptions) (*EHSA, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	if c.steps < 2 {
		return nil, geo.Errorf(geo.EINVALID, "ehsa: %d time steps, need at least 2", c.steps)
	}
	gc, err := SpaceTimeGiStar(g, c, opt.SpaceTime)
	if err != nil {
		return nil, err
	}
	res := &EHSA{Gi: gc, States: make([]State, len(gc.Z)), Threshold: opt.Alpha}
	if opt.FDR {
		res.Threshold = FDRThreshold(gc.P, opt.Alpha)
	}
	for k, z := range gc.Z {
		res.States[k] = stateOf(z, gc.P[k], res.Threshold)
	}
	n, steps := c.cells, c.steps
	res.Locations = make([]Location, n)
	parallel(n, func(lo, hi int) {
		var tester trend.Tester
		series := make([]float64, steps)
		states := make([]State, steps)
		for i := lo; i < hi; i++ {
			for t := range steps {
				series[t] = trendValue(gc.Z[t*n+i])
				states[t] = res.States[t*n+i]
			}
			res.Locations[i] = locate(&tester, series, states, opt)
			res.Locations[i].FinalZ, res.Locations[i].FinalP = gc.At(steps-1, i)
		}
	})
	return res, nil
}

// ClassifySeries classifies one location from its Gi* z-scores and p-values
// in time order, as EmergingHotSpots does for each cell, with a bin
// significant when p <= opt.Alpha. opt.FDR is ignored: a false discovery
// rate needs all bins of the cube. Undefined (NaN) z-scores count as
// not significant and enter the trend as 0.
func ClassifySeries(z, p []float64, opt EHSAOptions) (Location, error) {
	if err := opt.validate(); err != nil {
		return Location{}, err
	}
	if len(z) != len(p) || len(z) < 2 {
		return Location{}, geo.Errorf(geo.EINVALID, "ehsa: %d z-scores and %d p-values, want equal lengths >= 2", len(z), len(p))
	}
	series := make([]float64, len(z))
	states := make([]State, len(z))
	for t := range z {
		states[t] = stateOf(z[t], p[t], opt.Alpha)
		series[t] = trendValue(z[t])
	}
	var tester trend.Tester
	loc := locate(&tester, series, states, opt)
	loc.FinalZ, loc.FinalP = z[len(z)-1], p[len(p)-1]
	return loc, nil
}

// stateOf is the state of a bin with p-value cutoff thr; NaN is not
// significant.
func stateOf(z, p, thr float64) State {
	switch {
	case !(p <= thr):
		return NotSignificant
	case z > 0:
		return Hot
	case z < 0:
		return Cold
	}
	return NotSignificant
}

// trendValue is a z-score as it enters the Mann-Kendall series: NaN (no
// z-score) as 0, no clustering.
func trendValue(z float64) float64 {
	if math.IsNaN(z) {
		return 0
	}
	return z
}

// locate tests one cell's trend and classifies it.
func locate(tester *trend.Tester, series []float64, states []State, opt EHSAOptions) Location {
	var loc Location
	// z-scores are rounded to trend.TieDigits so that equal ones tie;
	// >= 2 values, no NaN: cannot fail
	loc.Trend, _ = tester.TestRounded(series, trend.TieDigits)
	p := loc.Trend.PCC
	if opt.TrendUncorrected {
		p = loc.Trend.P
	}
	if p <= opt.TrendAlpha { // NaN (a constant series) never passes
		switch {
		case loc.Trend.S > 0:
			loc.TrendDir = 1
		case loc.Trend.S < 0:
			loc.TrendDir = -1
		}
	}
	for _, s := range states {
		switch s {
		case Hot:
			loc.HotSteps++
		case Cold:
			loc.ColdSteps++
		}
	}
	loc.Final = states[len(states)-1]
	loc.Pattern = Classify(states, loc.TrendDir)
	return loc
}

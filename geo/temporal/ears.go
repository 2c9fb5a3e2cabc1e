package temporal

import (
	"fmt"
	"math"

	"hotspots/geo"
)

// EARSMethod is one of CDC's Early Aberration Reporting System methods.
type EARSMethod string

// EARS methods.
const (
	C1 EARSMethod = "C1"
	C2 EARSMethod = "C2"
	C3 EARSMethod = "C3"
)

// Detector returns the finding detector name: "ears_c1", "ears_c2" or
// "ears_c3".
func (m EARSMethod) Detector() string {
	switch m {
	case C1:
		return "ears_c1"
	case C2:
		return "ears_c2"
	}
	return "ears_c3"
}

// EARSConfig configures surveillance::earsC.
type EARSConfig struct {
	Method EARSMethod
	// Baseline is the number of baseline days (7, the package default).
	Baseline int
	// MinSigma floors the baseline SD, C3's C2 values included. 0 (the
	// package default) lets a constant baseline give sigma 0.
	MinSigma float64
	// Alpha sets the threshold z = qnorm(1 - Alpha), a one-sided quantile
	// although the package's help calls it two-sided. 0 takes the package
	// default: 0.001 for C1 and C2 (z = 3.09), 0.025 for C3 (z = 1.96).
	// CDCAlpha gives CDC's thresholds of 3 and 2.
	Alpha float64
}

// DefaultAlpha is surveillance::earsC's default alpha for a method.
func DefaultAlpha(m EARSMethod) float64 {
	if m == C3 {
		return 0.025
	}
	return 0.001
}

// CDCAlpha is the alpha that makes the threshold CDC's: pnorm(-3) for C1
// and C2, pnorm(-2) for C3. Through qnorm(1 - alpha) the thresholds come
// out as 2.9999999999999969 and 2, exactly as in R.
func CDCAlpha(m EARSMethod) float64 {
	if m == C3 {
		return pnormUpper(2)
	}
	return pnormUpper(3)
}

// Threshold is the z the method compares with: qnorm(1 - alpha).
func (c EARSConfig) Threshold() float64 {
	a := c.Alpha
	if a == 0 {
		a = DefaultAlpha(c.Method)
	}
	return qnorm(1 - a)
}

func (c EARSConfig) validate() error {
	switch {
	case c.Method != C1 && c.Method != C2 && c.Method != C3:
		return geo.FieldErrorf("method", "EARS method %q, want C1, C2 or C3", c.Method)
	case c.Baseline < 2:
		return geo.FieldErrorf("baseline", "baseline %d days, want >= 2 (a sample SD needs two)", c.Baseline)
	case !(c.MinSigma >= 0) || math.IsInf(c.MinSigma, 0):
		return geo.FieldErrorf("min_sigma", "min sigma %g, want a finite value >= 0", c.MinSigma)
	case !(c.Alpha >= 0 && c.Alpha < 1):
		return geo.FieldErrorf("alpha", "alpha %g, want 0 <= alpha < 1", c.Alpha)
	}
	return nil
}

// FirstDay is the first day index the method can monitor: Baseline for C1,
// Baseline+2 for C2 (two guard days) and Baseline+4 for C3 (it needs C2 two
// days back).
func (c EARSConfig) FirstDay() int {
	switch c.Method {
	case C1:
		return c.Baseline
	case C2:
		return c.Baseline + 2
	}
	return c.Baseline + 4
}

// EARSPoint is the result of one monitored day.
type EARSPoint struct {
	Day      int
	Observed float64
	// Mean and SD are the baseline's mean and unfloored sample SD (n-1);
	// for C3 they are the C2 baseline of this day. Sigma is max(SD,
	// MinSigma).
	Mean, SD, Sigma float64
	// Stat is C1 or C2 = (Observed - Mean)/Sigma, or for C3 the textbook
	// C3 = sum over i = t-2..t of max(0, C2(i) - 1). With Sigma 0 it is
	// +-Inf or NaN (0/0), as in R.
	Stat float64
	// C2 holds C2(t), C2(t-1), C2(t-2) and C3Lag the package's C3 test
	// quantity max(0, C2(t-1) - 1) + max(0, C2(t-2) - 1); NaN for C1, C2.
	C2    [3]float64
	C3Lag float64
	// UpperBound and Alarm are the package's: for C1 and C2 Mean +
	// z*Sigma, for C3 max(0, Observed + Sigma*(z - C3Lag)); Alarm is
	// Observed > UpperBound, strict, so a value on the bound (a constant
	// baseline, or C3 exactly at z) does not alarm.
	UpperBound float64
	Alarm      bool
	// AlarmNA is true when the package returns NA: the C3 bound is NaN
	// (a zero-SD baseline with MinSigma 0); Alarm is then false.
	AlarmNA bool
	// TextbookAlarm is C3's documented rule, Stat > z (strict), which the
	// package does not apply; TextbookNA when Stat is NaN. Both false for
	// C1 and C2.
	TextbookAlarm, TextbookNA bool
}

// EARS runs surveillance::earsC over a series, returning one point per day
// from cfg.FirstDay() on. It reproduces surveillance 1.20.3 (unchanged in
// 1.26.0):
//
//   - C1's baseline is days t-7..t-1, C2's t-9..t-3 (2 guard days).
//   - The mean is arithmetic, the SD the sample SD computed in two passes
//     (a one-pass formula returns tiny non-zero variances on constant
//     baselines), floored at MinSigma.
//   - The alarm is strict: Observed > UpperBound.
//   - C3 quirk: the package's bound is centred on y_t and subtracts only the
//     two lagged C2 terms, so its alarm asks whether C2(t-1) and C2(t-2)
//     alone exceed z (and y_t > 0); the current day's C2(t) never enters, and
//     the package's C3 alarm typically lags the textbook C3 by a day. Both
//     are returned: Alarm (package) and TextbookAlarm.
func EARS(y []float64, cfg EARSConfig) ([]EARSPoint, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("ears: %w", err)
	}
	if err := checkSeries(y); err != nil {
		return nil, fmt.Errorf("ears: %w", err)
	}
	z, B := cfg.Threshold(), cfg.Baseline
	base := func(t int, m EARSMethod) (mean, sd, sigma float64) {
		lag := 0
		if m != C1 {
			lag = 2
		}
		mean, sd = meanSD(y[t-B-lag : t-lag])
		return mean, sd, math.Max(sd, cfg.MinSigma)
	}
	c2 := func(t int) float64 {
		mean, _, sigma := base(t, C2)
		return (y[t] - mean) / sigma
	}
	nan := math.NaN()
	var out []EARSPoint
	for t := cfg.FirstDay(); t < len(y); t++ {
		p := EARSPoint{Day: t, Observed: y[t], C2: [3]float64{nan, nan, nan}, C3Lag: nan}
		p.Mean, p.SD, p.Sigma = base(t, cfg.Method)
		if cfg.Method != C3 {
			p.Stat = (y[t] - p.Mean) / p.Sigma
			p.UpperBound = p.Mean + z*p.Sigma
		} else {
			p.C2 = [3]float64{c2(t), c2(t - 1), c2(t - 2)}
			p.C3Lag = math.Max(0, p.C2[1]-1) + math.Max(0, p.C2[2]-1)
			// summed in R's order, so a C3 of exactly z stays exact
			p.Stat = math.Max(0, p.C2[0]-1) + math.Max(0, p.C2[1]-1) + math.Max(0, p.C2[2]-1)
			p.UpperBound = math.Max(0, y[t]+p.Sigma*(z-p.C3Lag))
			p.TextbookNA = math.IsNaN(p.Stat)
			p.TextbookAlarm = p.Stat > z
		}
		p.AlarmNA = math.IsNaN(p.UpperBound)
		p.Alarm = y[t] > p.UpperBound
		out = append(out, p)
	}
	return out, nil
}

// meanSD returns the mean and the sample SD (n-1) in two passes.
func meanSD(x []float64) (mean, sd float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	ss := 0.0
	for _, v := range x {
		d := v - mean
		ss += d * d
	}
	return mean, math.Sqrt(ss / float64(len(x)-1))
}

// checkSeries rejects series a detector cannot read.
func checkSeries(y []float64) error {
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return geo.Errorf(geo.EINVALID, "day %d has no finite count (%g); a day without incidents is 0", i, v)
		}
	}
	return nil
}

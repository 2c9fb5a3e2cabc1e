package temporal

import (
	"fmt"
	"math"

	"hotspots/geo"
)

// TrainingMean is the in-control mean mu0 of the CUSUMs: the mean of the
// days before the first monitored day, y[:from], which is algo.cusum's
// default m.
func TrainingMean(y []float64, from int) (float64, error) {
	if from < 1 || from > len(y) {
		return 0, geo.Errorf(geo.EINVALID, "training: %d days of a %d-day series", from, len(y))
	}
	if err := checkSeries(y[:from]); err != nil {
		return 0, fmt.Errorf("training: %w", err)
	}
	m := 0.0
	for _, v := range y[:from] {
		m += v
	}
	return m / float64(from), nil
}

// CUSUMConfig configures surveillance::algo.cusum.
type CUSUMConfig struct {
	// Mu0 is the in-control mean (TrainingMean); it must be positive.
	Mu0 float64
	// K is the reference value and H the decision boundary, on the scale
	// of the transformed counts.
	K, H float64
	// Standardize selects trans = "standard": z_t = (x_t - Mu0)/sqrt(Mu0),
	// the package default. Without it (trans = "none") the chart runs on the
	// counts themselves, Lucas's Poisson CUSUM when K = LucasK(Mu0, Mu1).
	Standardize bool
}

// StandardCUSUM is algo.cusum's default chart: standardised counts, k =
// 1.04, h = 2.26.
func StandardCUSUM(mu0 float64) CUSUMConfig {
	return CUSUMConfig{Mu0: mu0, K: 1.04, H: 2.26, Standardize: true}
}

// LucasK is the optimal reference value of a Poisson CUSUM on counts that
// detects a shift from mu0 to mu1: (mu1 - mu0)/(ln mu1 - ln mu0) (Lucas
// 1985).
func LucasK(mu0, mu1 float64) float64 { return (mu1 - mu0) / (math.Log(mu1) - math.Log(mu0)) }

// PoissonCUSUM is Lucas's count-scale chart for a doubling (mu1 = 2 mu0)
// with h = 5/ln 2, the decision interval that makes it the LR chart of
// GLRPois with c.ARL = 5 (apart from that chart's restart and strict
// alarm).
func PoissonCUSUM(mu0 float64) CUSUMConfig {
	return CUSUMConfig{Mu0: mu0, K: LucasK(mu0, 2*mu0), H: 5 / math.Ln2}
}

// CUSUMPoint is one monitored day of a CUSUM chart.
type CUSUMPoint struct {
	Day      int
	Observed float64
	Z        float64 // the transformed count: standardised, or the count
	S        float64 // the CUSUM after this day
	Alarm    bool    // S >= H
	// UpperBound is the package's: for standardised charts the smallest
	// count that would have alarmed today, max(0, ceil(sqrt(Mu0)(H + K -
	// S_{t-1}) + Mu0)); for trans = "none" the package returns H - S_t
	// (floored at 0), a distance to the boundary rather than a count.
	UpperBound float64
}

// CUSUM runs surveillance::algo.cusum over y[from:], starting at S = 0:
//
//	S_t = max(0, S_{t-1} + z_t - K),  alarm when S_t >= H
//
// The comparison is >= and the chart never resets: after a spike S stays
// high and keeps alarming until it drains below H (compare GLRPois).
func CUSUM(y []float64, from int, cfg CUSUMConfig) ([]CUSUMPoint, error) {
	if err := checkChart(y, from, cfg.Mu0); err != nil {
		return nil, fmt.Errorf("cusum: %w", err)
	}
	if !(cfg.K >= 0) || !(cfg.H > 0) || math.IsInf(cfg.K, 0) || math.IsInf(cfg.H, 0) {
		return nil, geo.Errorf(geo.EINVALID, "cusum: k %g, h %g; want k >= 0 and h > 0", cfg.K, cfg.H)
	}
	out := make([]CUSUMPoint, 0, len(y)-from)
	s, sd := 0.0, math.Sqrt(cfg.Mu0)
	for t := from; t < len(y); t++ {
		p := CUSUMPoint{Day: t, Observed: y[t], Z: y[t]}
		if cfg.Standardize {
			p.Z = (y[t] - cfg.Mu0) / sd
			p.UpperBound = math.Ceil(sd*(cfg.H+cfg.K-s) + cfg.Mu0)
		}
		s = math.Max(0, s+(p.Z-cfg.K))
		p.S, p.Alarm = s, s >= cfg.H
		if !cfg.Standardize {
			p.UpperBound = cfg.H - s
		}
		if !(p.UpperBound >= 0) { // negative or NaN, as the package
			p.UpperBound = 0
		}
		out = append(out, p)
	}
	return out, nil
}

func checkChart(y []float64, from int, mu0 float64) error {
	if from < 0 || from > len(y) {
		return geo.Errorf(geo.EINVALID, "monitoring from day %d of a %d-day series", from, len(y))
	}
	if !(mu0 > 0) || math.IsInf(mu0, 0) {
		return geo.Errorf(geo.EINVALID, "in-control mean %g, want > 0 (a series without incidents in training cannot be charted)", mu0)
	}
	return checkSeries(y[from:])
}

// GLRPoisConfig configures surveillance::algo.glrpois with a known shift.
type GLRPoisConfig struct {
	Mu0 float64
	// Theta is the log rate ratio to detect, ln(mu1/mu0): ln 2 for a
	// doubling. The package passes it to its C code as kappa.
	Theta float64
	// CARL is the threshold c.ARL on the log-likelihood ratio (5, the
	// package default).
	CARL float64
}

// DefaultGLRPois detects a doubling with c.ARL = 5.
func DefaultGLRPois(mu0 float64) GLRPoisConfig {
	return GLRPoisConfig{Mu0: mu0, Theta: math.Ln2, CARL: 5}
}

// GLRPoint is one monitored day of the LR CUSUM.
type GLRPoint struct {
	Day      int
	Observed float64
	// L is the log-likelihood-ratio CUSUM after this day (the package's
	// upperbound with ret = "value"); on an alarm day it is the value that
	// alarmed, and the next day starts again from 0.
	L     float64
	Alarm bool // L > CARL, strict
}

// GLRPois runs surveillance::algo.glrpois (dir = "inc", known theta) over
// y[from:]:
//
//	L_t = max(0, L_{t-1} + theta x_t + (1 - e^theta) Mu0),  alarm when L_t > CARL
//
// Unlike CUSUM the comparison is strict and the chart restarts at 0 after
// every alarm. L/theta is the PoissonCUSUM chart with h = CARL/theta.
func GLRPois(y []float64, from int, cfg GLRPoisConfig) ([]GLRPoint, error) {
	if err := checkChart(y, from, cfg.Mu0); err != nil {
		return nil, fmt.Errorf("glrpois: %w", err)
	}
	if !(cfg.Theta > 0) || !(cfg.CARL > 0) || math.IsInf(cfg.Theta, 0) || math.IsInf(cfg.CARL, 0) {
		return nil, geo.Errorf(geo.EINVALID, "glrpois: theta %g, c.ARL %g; want both > 0", cfg.Theta, cfg.CARL)
	}
	drift := (1 - math.Exp(cfg.Theta)) * cfg.Mu0
	out := make([]GLRPoint, 0, len(y)-from)
	prev := 0.0
	for t := from; t < len(y); t++ {
		l := math.Max(0, prev+cfg.Theta*y[t]+drift)
		p := GLRPoint{Day: t, Observed: y[t], L: l, Alarm: l > cfg.CARL}
		prev = l
		if p.Alarm {
			prev = 0
		}
		out = append(out, p)
	}
	return out, nil
}

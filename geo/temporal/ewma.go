package temporal

import (
	"fmt"
	"math"

	"hotspots/geo"
)

// EWMAConfig configures the Poisson EWMA chart.
type EWMAConfig struct {
	// Mu0 is the in-control mean (TrainingMean).
	Mu0 float64
	// Lambda is the weight of the newest day, 0 < Lambda <= 1: small values
	// remember longer and catch small sustained rises, 1 is a Shewhart
	// chart. 0.2 is the usual choice for counts.
	Lambda float64
	// L is the width of the limit in standard deviations of the EWMA (3).
	L float64
}

// DefaultEWMA uses lambda = 0.2 and L = 3, the common Poisson EWMA design
// (Borror, Champ and Rigdon 1998; Montgomery's recommended lambda range
// 0.05-0.25 with L near 3).
func DefaultEWMA(mu0 float64) EWMAConfig { return EWMAConfig{Mu0: mu0, Lambda: 0.2, L: 3} }

// EWMAPoint is one monitored day of the chart.
type EWMAPoint struct {
	Day      int
	Observed float64
	Z        float64 // the EWMA after this day
	UCL      float64 // the upper control limit for this day
	Alarm    bool    // Z > UCL, strict as EARS
}

// EWMA runs an upper Poisson EWMA chart over y[from:]:
//
//	Z_0 = Mu0,  Z_t = Lambda x_t + (1 - Lambda) Z_{t-1}
//	UCL_t = Mu0 + L sqrt(Mu0 Lambda/(2 - Lambda) (1 - (1 - Lambda)^(2t)))
//
// t counting monitored days from 1. The limit uses the exact variance of
// Z_t for independent Poisson(Mu0) counts, so early days are not held to
// the wider steady-state limit. The chart does not reset after an alarm.
func EWMA(y []float64, from int, cfg EWMAConfig) ([]EWMAPoint, error) {
	if err := checkChart(y, from, cfg.Mu0); err != nil {
		return nil, fmt.Errorf("ewma: %w", err)
	}
	if !(cfg.Lambda > 0 && cfg.Lambda <= 1) || !(cfg.L > 0) || math.IsInf(cfg.L, 0) {
		return nil, geo.Errorf(geo.EINVALID, "ewma: lambda %g, L %g; want 0 < lambda <= 1 and L > 0", cfg.Lambda, cfg.L)
	}
	out := make([]EWMAPoint, 0, len(y)-from)
	z, decay := cfg.Mu0, 1.0
	steady := cfg.Mu0 * cfg.Lambda / (2 - cfg.Lambda)
	for t := from; t < len(y); t++ {
		z = cfg.Lambda*y[t] + (1-cfg.Lambda)*z
		decay *= (1 - cfg.Lambda) * (1 - cfg.Lambda)
		ucl := cfg.Mu0 + cfg.L*math.Sqrt(steady*(1-decay))
		out = append(out, EWMAPoint{Day: t, Observed: y[t], Z: z, UCL: ucl, Alarm: z > ucl})
	}
	return out, nil
}

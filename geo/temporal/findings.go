package temporal

import (
	"math"
	"time"

	"hotspots/geo"
)

// Detector names of the charts; EARS methods name themselves
// (EARSMethod.Detector).
const (
	DetectorCUSUM   = "cusum"
	DetectorGLRPois = "glrpois"
	DetectorEWMA    = "ewma"
)

// FindingKind is the geo.Finding kind of every alarm here: one series (an
// area's or a set of cells') alarming on one day.
const FindingKind = "area_alarm"

// Target says what a series counted: a set of cells, or an area of a layer
// (or both), copied onto every finding.
type Target struct {
	Cells []geo.Cell
	Layer string
	Area  string
}

// alarm builds the finding of one alarm day; day0 is the date of series
// day 0, and the finding covers [day, day+1).
func (tg Target) alarm(detector string, day0 time.Time, day int, obs, exp, score float64, kv ...any) geo.Finding {
	return geo.Finding{
		Detector: detector, Kind: FindingKind, Cells: tg.Cells, Layer: tg.Layer, Area: tg.Area,
		Start: day0.AddDate(0, 0, day), End: day0.AddDate(0, 0, day+1),
		Observed: obs, Expected: exp, Score: finite(score), Category: "alarm", Stats: stats(kv...),
	}
}

// EARSFindings turns the alarm days of an EARS run into findings. Expected
// is the baseline mean and Score the method's statistic; for C3 the
// package's alarm decides, and the textbook one is recorded in Stats.
func EARSFindings(cfg EARSConfig, pts []EARSPoint, tg Target, day0 time.Time) []geo.Finding {
	var out []geo.Finding
	for _, p := range pts {
		if !p.Alarm {
			continue
		}
		kv := []any{"stat", p.Stat, "upper_bound", p.UpperBound, "sigma", p.Sigma, "threshold", cfg.Threshold(),
			"baseline_sd", p.SD}
		if cfg.Method == C3 {
			kv = append(kv, "c3_lag", p.C3Lag, "textbook_alarm", b2f(p.TextbookAlarm))
		}
		out = append(out, tg.alarm(cfg.Method.Detector(), day0, p.Day, p.Observed, p.Mean, p.Stat, kv...))
	}
	return out
}

// CUSUMFindings turns the alarm days of a CUSUM chart into findings; Score
// is the CUSUM S.
func CUSUMFindings(cfg CUSUMConfig, pts []CUSUMPoint, tg Target, day0 time.Time) []geo.Finding {
	var out []geo.Finding
	for _, p := range pts {
		if p.Alarm {
			out = append(out, tg.alarm(DetectorCUSUM, day0, p.Day, p.Observed, cfg.Mu0, p.S,
				"s", p.S, "k", cfg.K, "h", cfg.H, "upper_bound", p.UpperBound))
		}
	}
	return out
}

// GLRPoisFindings turns the alarm days of the LR CUSUM into findings; Score
// is L.
func GLRPoisFindings(cfg GLRPoisConfig, pts []GLRPoint, tg Target, day0 time.Time) []geo.Finding {
	var out []geo.Finding
	for _, p := range pts {
		if p.Alarm {
			out = append(out, tg.alarm(DetectorGLRPois, day0, p.Day, p.Observed, cfg.Mu0, p.L,
				"l", p.L, "theta", cfg.Theta, "c_arl", cfg.CARL))
		}
	}
	return out
}

// EWMAFindings turns the alarm days of an EWMA chart into findings; Score
// is the EWMA and Expected Mu0.
func EWMAFindings(cfg EWMAConfig, pts []EWMAPoint, tg Target, day0 time.Time) []geo.Finding {
	var out []geo.Finding
	for _, p := range pts {
		if p.Alarm {
			out = append(out, tg.alarm(DetectorEWMA, day0, p.Day, p.Observed, cfg.Mu0, p.Z,
				"z", p.Z, "ucl", p.UCL, "lambda", cfg.Lambda, "l", cfg.L))
		}
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// finite returns v, or 0 when v is NaN or infinite, for the Score field.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// stats builds a Stats map from name, value pairs, leaving out NaN and
// infinite values, which stores and JSON cannot hold.
func stats(kv ...any) map[string]float64 {
	m := make(map[string]float64, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if v := kv[i+1].(float64); !math.IsNaN(v) && !math.IsInf(v, 0) {
			m[kv[i].(string)] = v
		}
	}
	return m
}

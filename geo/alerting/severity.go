package alerting

import (
	"math"

	"hotspots/geo"
)

// FromRI grades a recurrence interval in days: the strongest band it reaches,
// or "" below the weak band.
func (c SeverityConfig) FromRI(days float64) geo.Severity {
	var s geo.Severity
	for i, min := range c.RIBands {
		if days >= min {
			s = geo.Severities[i]
		}
	}
	return s
}

// Colour returns "red" for p < Red, "yellow" for p < Yellow, else "".
func (c SeverityConfig) Colour(p float64) string {
	switch {
	case p < c.Red:
		return "red"
	case p < c.Yellow:
		return "yellow"
	}
	return ""
}

// FromP grades a p-value by its colour, "" when it has none.
func (c SeverityConfig) FromP(p float64) geo.Severity {
	switch c.Colour(p) {
	case "red":
		return c.RedSeverity
	case "yellow":
		return c.YellowSeverity
	}
	return ""
}

// FromRatio grades a threshold alert by how far the count is over the
// threshold, so "twice the usual spike" pages harder than "just reached it".
func (c SeverityConfig) FromRatio(count, threshold int) geo.Severity {
	if threshold <= 0 {
		return geo.SeverityModerate
	}
	r := float64(count) / float64(threshold)
	s := geo.SeverityWeak
	for i, min := range c.ThresholdRatios {
		if r >= min {
			s = geo.Severities[i+1]
		}
	}
	return s
}

// stronger returns the stronger of two severities.
func stronger(a, b geo.Severity) geo.Severity {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}

// recurrenceDays returns the finding's recurrence interval: the detector's own
// when it reports one (Stats "ri_days", "recurrence_interval" or "ri"), else
// interval/p as in prospective scan surveillance, else +Inf for p = 0.
func recurrenceDays(f geo.Finding, intervalDays float64) (float64, bool) {
	for _, k := range []string{"ri_days", "recurrence_interval", "recurrence_interval_days", "ri"} {
		if v, ok := f.Stats[k]; ok && v > 0 {
			return v, true
		}
	}
	if f.PValue == nil {
		return 0, false
	}
	if *f.PValue <= 0 {
		return math.Inf(1), true
	}
	return intervalDays / *f.PValue, true
}

package cluster

import (
	"math"
	"time"

	"hotspots/geo"
)

// Finding kinds and categories produced here.
const (
	KindCluster    = "cluster"
	KindNearRepeat = "near_repeat"
	// CategorySpike marks a cluster with p < SpikeP, CategoryWatch one that
	// is only reported (p <= ReportP), and CategoryRiskZone a near-repeat
	// zone.
	CategorySpike    = "spike"
	CategoryWatch    = "watch"
	CategoryRiskZone = "risk_zone"
)

// ScanFindings turns a scan's reported clusters (P <= ReportP) into
// findings. cells are the study cells in the cube's order and day0 the date
// of cube day 0; Start is the window's first day and End the day after the
// last (exclusive, as geo's day filters). Score is the LLR.
func ScanFindings(res *Result, cells []geo.Cell, day0 time.Time) ([]geo.Finding, error) {
	var out []geo.Finding
	for _, c := range res.Reported() {
		fc := make([]geo.Cell, len(c.Cells))
		for i, j := range c.Cells {
			if j < 0 || j >= len(cells) {
				return nil, geo.Errorf(geo.EINVALID, "%s findings: cluster cell %d outside %d study cells", res.Detector, j, len(cells))
			}
			fc[i] = cells[j]
		}
		cat := CategoryWatch
		if c.Spike {
			cat = CategorySpike
		}
		f := geo.Finding{
			Detector: res.Detector, Kind: KindCluster, Cells: fc,
			Start: day0.AddDate(0, 0, c.StartDay), End: day0.AddDate(0, 0, c.EndDay+1),
			Observed: float64(c.Observed), Expected: c.Expected, PValue: ptr(c.P), Score: c.LLR,
			Category: cat,
			Stats: stats(
				"llr", c.LLR, "obs_over_exp", c.ObsOverExp, "p", c.P, "recurrence_days", c.RecurrenceDays,
				"rank", float64(c.Rank), "zone_size", float64(c.Size), "window_days", float64(c.Window),
				"cases", float64(res.Cases), "replications", float64(res.Replications),
			),
		}
		if c.K >= 0 {
			f.Stats["k"] = float64(c.K)
		} else {
			f.Stats["radius_m"] = c.RadiusM
		}
		out = append(out, f)
	}
	return out, nil
}

// KnoxFindings turns a Knox test into one area-wide finding over the
// period [start, end) the events came from. PValue is the event-permutation
// p, or P(Y >= X) from the Poisson approximation when no permutations ran;
// Score is the Knox ratio.
func KnoxFindings(res *KnoxResult, start, end time.Time) []geo.Finding {
	p := res.PEventPerm
	if math.IsNaN(p) {
		p = res.PPoissonGE
	}
	return []geo.Finding{{
		Detector: DetectorKnox, Kind: KindNearRepeat, Start: start, End: end,
		Observed: float64(res.CloseBoth), Expected: res.Expected, PValue: ptr(p), Score: finite(res.Ratio),
		Stats: stats(
			"knox_ratio", res.Ratio, "p_event_perm", res.PEventPerm, "p_poisson", res.PPoisson,
			"p_poisson_ge", res.PPoissonGE, "p_hypergeom", res.PHypergeom, "p_pair_perm", res.PPairPerm,
			"events", float64(res.Events), "pairs", float64(res.Pairs),
			"distance_m", res.DistanceM, "days", float64(res.Days), "replications", float64(res.Replications),
		),
	}}
}

// NearRepeatFindings turns risk zones into findings drawn with H3 cells of
// resolution res, one per zone, from the incident day to Until.
func NearRepeatFindings(zones []RiskZone, res int) ([]geo.Finding, error) {
	out := make([]geo.Finding, 0, len(zones))
	for _, z := range zones {
		cells, err := z.Cells(res)
		if err != nil {
			return nil, err
		}
		out = append(out, geo.Finding{
			Detector: DetectorKnox, Kind: KindNearRepeat, Category: CategoryRiskZone, Cells: cells,
			Start: z.From, End: z.Until,
			Stats: stats("radius_m", z.RadiusM, "incident_id", float64(z.Incident),
				"lon", z.Center.Lon(), "lat", z.Center.Lat()),
		})
	}
	return out, nil
}

// ptr returns &v, or nil when v is NaN or infinite: stores and JSON take
// no NaN, and a missing p-value is "no value", not a number.
func ptr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// finite returns v, or 0 when v is NaN or infinite, for the Score field.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// stats builds a Stats map from name, value pairs, leaving out undefined
// values for the same reason as ptr.
func stats(kv ...any) map[string]float64 {
	m := make(map[string]float64, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if v := kv[i+1].(float64); !math.IsNaN(v) && !math.IsInf(v, 0) {
			m[kv[i].(string)] = v
		}
	}
	return m
}

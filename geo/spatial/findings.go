package spatial

import (
	"math"
	"time"

	"hotspots/geo"
)

// Detector names stored with findings and detection runs.
const (
	DetectorGiStar     = "gistar"
	DetectorLocalMoran = "localmoran"
	DetectorEHSA       = "ehsa"
)

// FindingKind is the geo.Finding kind of every cell-level result here.
const FindingKind = "hotspot"

// GiStarFindings turns binned Gi* results into findings, one per cell in a
// significant bin (not-significant cells are not findings). cells are the
// study cells in graph order; start and end bound the data the values were
// counted over. Observed is the Gi* lag (incidents in the cell and its ring),
// Expected the lag expected without clustering, Score the z-score and
// Category the bin, e.g. "hot_99".
func GiStarFindings(cells []geo.Cell, res []LocalG, bins []Bin, start, end time.Time) ([]geo.Finding, error) {
	if len(res) != len(cells) || len(bins) != len(cells) {
		return nil, geo.Errorf(geo.EINVALID, "gistar findings: %d cells, %d results, %d bins", len(cells), len(res), len(bins))
	}
	var out []geo.Finding
	for i, r := range res {
		if bins[i] == 0 {
			continue
		}
		out = append(out, geo.Finding{
			Detector: DetectorGiStar, Kind: FindingKind,
			Cells: []geo.Cell{cells[i]}, Start: start, End: end,
			Observed: r.Lag, Expected: r.ExpectedLag, PValue: ptr(r.P), Score: finite(r.Z),
			Category: bins[i].Category(),
			Stats: stats(
				"value", r.Value, "neighbours", float64(r.Neighbours), "w", r.W,
				"z", r.Z, "p", r.P, "z_gi", r.ZGi, "p_gi", r.PGi,
				"confidence", float64(bins[i].Confidence()),
			),
		})
	}
	return out, nil
}

// LocalMoranFindings turns local Moran's I results into findings, one per
// cell with p <= alpha, categorised by quadrant: "HH" and "LL" clusters, "HL"
// and "LH" outliers. Observed is the cell's value and Score its Z.
func LocalMoranFindings(cells []geo.Cell, res []LocalMoranI, alpha float64, start, end time.Time) ([]geo.Finding, error) {
	if len(res) != len(cells) {
		return nil, geo.Errorf(geo.EINVALID, "localmoran findings: %d cells, %d results", len(cells), len(res))
	}
	if !(alpha > 0 && alpha < 1) {
		return nil, geo.Errorf(geo.EINVALID, "localmoran findings: alpha %g, want 0 < alpha < 1", alpha)
	}
	var out []geo.Finding
	for i, r := range res {
		if !(r.P <= alpha) {
			continue
		}
		out = append(out, geo.Finding{
			Detector: DetectorLocalMoran, Kind: FindingKind,
			Cells: []geo.Cell{cells[i]}, Start: start, End: end,
			Observed: r.Value, PValue: ptr(r.P), Score: finite(r.Z),
			Category: string(r.Quadrant),
			Stats: stats(
				"i", r.I, "e_i", r.E, "var_i", r.V, "z", r.Z, "p", r.P,
				"lag_z", r.LagZ, "neighbours", float64(r.Neighbours),
			),
		})
	}
	return out, nil
}

// EHSAFindings turns Emerging Hot Spot Analysis results into findings, one per
// cell with a pattern (no_pattern cells are left out). start and end bound
// the whole cube. Score and PValue are the final step's Gi* z and p; the
// trend and step counts go in Stats.
func EHSAFindings(cells []geo.Cell, res *EHSA, start, end time.Time) ([]geo.Finding, error) {
	if len(res.Locations) != len(cells) {
		return nil, geo.Errorf(geo.EINVALID, "ehsa findings: %d cells, %d locations", len(cells), len(res.Locations))
	}
	var out []geo.Finding
	for i, l := range res.Locations {
		if l.Pattern == NoPattern {
			continue
		}
		out = append(out, geo.Finding{
			Detector: DetectorEHSA, Kind: FindingKind,
			Cells: []geo.Cell{cells[i]}, Start: start, End: end,
			PValue: ptr(l.FinalP), Score: finite(l.FinalZ),
			Category: string(l.Pattern),
			Stats: stats(
				"final_z", l.FinalZ, "final_p", l.FinalP,
				"hot_steps", float64(l.HotSteps), "cold_steps", float64(l.ColdSteps),
				"steps", float64(res.Gi.Steps()),
				"trend_s", float64(l.Trend.S), "trend_tau", l.Trend.TauB,
				"trend_z", l.Trend.ZCC, "trend_p", l.Trend.PCC, "trend_dir", float64(l.TrendDir),
			),
		})
	}
	return out, nil
}

// ptr returns a pointer to v, or nil for NaN or an infinity: findings are
// stored and served as JSON, which has no such numbers.
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
// (NaN or infinite) values for the same reason as ptr.
func stats(kv ...any) map[string]float64 {
	m := make(map[string]float64, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1].(float64)
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			m[kv[i].(string)] = v
		}
	}
	return m
}

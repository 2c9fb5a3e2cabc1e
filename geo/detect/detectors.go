package detect

import (
	"context"
	"fmt"
	"math"
	"time"

	"hotspots/geo"
	"hotspots/geo/cluster"
	"hotspots/geo/spatial"
	"hotspots/geo/temporal"
)

// run runs one detector on the group's data.
func (gd *groupData) run(ctx context.Context, d string) ([]output, error) {
	switch d {
	case STPScan:
		return gd.stpscan(ctx)
	case EBPScan:
		return gd.ebpscan(ctx)
	case EARSC1:
		return gd.ears(ctx, temporal.C1)
	case EARSC2:
		return gd.ears(ctx, temporal.C2)
	case EARSC3:
		return gd.ears(ctx, temporal.C3)
	case CUSUM, GLRPois, EWMA:
		return gd.chart(ctx, d)
	case GiStar:
		return gd.gistar()
	case LocalMoran:
		return gd.localMoran()
	case EHSA:
		return gd.ehsa()
	case Knox:
		return gd.knoxTest(ctx)
	case NearRepeat:
		return gd.nearRepeat(ctx)
	case Concentration:
		return gd.concentration()
	}
	return nil, geo.Errorf(geo.EINVALID, "unknown detector %q", d)
}

func (gd *groupData) seedFor(d string) uint64 { return subSeed(gd.seed, gd.g.Name, d) }

// scanZones builds the scan zones over the study cells.
func (gd *groupData) scanZones(shape cluster.ZoneShape, radiusM float64) (*cluster.Zones, error) {
	return cluster.H3Zones(gd.cells, shape, radiusM)
}

func (gd *groupData) stpscan(ctx context.Context) ([]output, error) {
	cfg := gd.cfg.Scan
	cfg.Seed = gd.seedFor(STPScan)
	cube, from, err := gd.cube(cfg.StudyDays)
	if err != nil {
		return nil, err
	}
	zones, err := gd.scanZones(cfg.Zones, cfg.MaxRadiusM)
	if err != nil {
		return nil, err
	}
	res, err := cluster.Scan(ctx, cube, zones, cfg)
	if err != nil {
		return nil, err
	}
	fs, err := cluster.ScanFindings(res, gd.cells, from)
	if err != nil {
		return nil, err
	}
	_, _, to := gd.lastDays(cfg.StudyDays)
	return []output{{name: STPScan, findings: fs, from: from, to: to, seed: cfg.Seed, settings: cfg}}, nil
}

func (gd *groupData) ebpscan(ctx context.Context) ([]output, error) {
	cfg := gd.cfg.EBP
	cfg.Seed = gd.seedFor(EBPScan)
	n := cfg.BaselineDays + cfg.MaxWindow
	cube, from, err := gd.cube(n)
	if err != nil {
		return nil, err
	}
	zones, err := gd.scanZones(gd.cfg.Scan.Zones, gd.cfg.Scan.MaxRadiusM)
	if err != nil {
		return nil, err
	}
	res, err := cluster.EBPScan(ctx, cube, zones, cfg)
	if err != nil {
		return nil, err
	}
	fs, err := cluster.ScanFindings(res, gd.cells, from)
	if err != nil {
		return nil, err
	}
	_, _, to := gd.lastDays(n)
	return []output{{name: EBPScan, findings: fs, from: from, to: to, seed: cfg.Seed,
		settings: map[string]any{"ebp": cfg, "max_radius_m": gd.cfg.Scan.MaxRadiusM}}}, nil
}

// monitoredPoints keeps, in place, the points of the last MonitorDays days
// of an n-day series: earlier days were reported by earlier daily runs.
func monitoredPoints[P any](gd *groupData, pts []P, day func(P) int, n int) []P {
	kept := pts[:0]
	for _, p := range pts {
		if day(p) >= n-gd.cfg.MonitorDays {
			kept = append(kept, p)
		}
	}
	return kept
}

func (gd *groupData) ears(ctx context.Context, m temporal.EARSMethod) ([]output, error) {
	cfg := temporal.EARSConfig{Method: m, Baseline: gd.cfg.EARSBaseline, MinSigma: gd.cfg.EARSMinSigma}
	n := cfg.FirstDay() + gd.cfg.MonitorDays
	ss, err := gd.areaSeries(ctx, n)
	if err != nil {
		return nil, err
	}
	_, from, to := gd.lastDays(n)
	var fs []geo.Finding
	for _, s := range ss {
		pts, err := temporal.EARS(s.y, cfg)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", s.layer, s.area, err)
		}
		kept := monitoredPoints(gd, pts, func(p temporal.EARSPoint) int { return p.Day }, n)
		fs = append(fs, temporal.EARSFindings(cfg, kept, temporal.Target{Layer: s.layer, Area: s.area}, from)...)
	}
	return []output{{name: m.Detector(), findings: fs, from: from, to: to,
		settings: map[string]any{"ears": cfg, "threshold": cfg.Threshold(), "monitor_days": gd.cfg.MonitorDays, "areas": len(ss)}}}, nil
}

// chart runs a CUSUM, LR CUSUM or EWMA per area: trained on the
// ChartTrainingDays before the chart, which starts ChartDays before the
// as-of day. The in-control mean is floored at one incident over the
// training period, so an area quiet in training still has a chart.
func (gd *groupData) chart(ctx context.Context, d string) ([]output, error) {
	train, chart := gd.cfg.ChartTrainingDays, gd.cfg.ChartDays
	n := train + chart
	ss, err := gd.areaSeries(ctx, n)
	if err != nil {
		return nil, err
	}
	_, from, to := gd.lastDays(n)
	var fs []geo.Finding
	for _, s := range ss {
		mu0, err := temporal.TrainingMean(s.y, train)
		if err != nil {
			return nil, err
		}
		mu0 = math.Max(mu0, 1/float64(train))
		tg := temporal.Target{Layer: s.layer, Area: s.area}
		switch d {
		case CUSUM:
			cfg := temporal.PoissonCUSUM(mu0)
			pts, err := temporal.CUSUM(s.y, train, cfg)
			if err != nil {
				return nil, err
			}
			kept := monitoredPoints(gd, pts, func(p temporal.CUSUMPoint) int { return p.Day }, n)
			fs = append(fs, temporal.CUSUMFindings(cfg, kept, tg, from)...)
		case GLRPois:
			cfg := temporal.DefaultGLRPois(mu0)
			pts, err := temporal.GLRPois(s.y, train, cfg)
			if err != nil {
				return nil, err
			}
			kept := monitoredPoints(gd, pts, func(p temporal.GLRPoint) int { return p.Day }, n)
			fs = append(fs, temporal.GLRPoisFindings(cfg, kept, tg, from)...)
		case EWMA:
			cfg := temporal.DefaultEWMA(mu0)
			pts, err := temporal.EWMA(s.y, train, cfg)
			if err != nil {
				return nil, err
			}
			kept := monitoredPoints(gd, pts, func(p temporal.EWMAPoint) int { return p.Day }, n)
			fs = append(fs, temporal.EWMAFindings(cfg, kept, tg, from)...)
		}
	}
	return []output{{name: d, findings: fs, from: from, to: to, settings: map[string]any{
		"training_days": train, "chart_days": chart, "monitor_days": gd.cfg.MonitorDays,
		"mu0_floor": 1 / float64(train), "areas": len(ss)}}}, nil
}

// gistarName is the run name of the Gi* window i: "gistar" for the first
// (the map's), gistar_<N>d for the others.
func gistarName(i, days int) string {
	if i == 0 {
		return GiStar
	}
	return fmt.Sprintf("%s_%dd", GiStar, days)
}

func (gd *groupData) gistar() ([]output, error) {
	g, err := gd.ring()
	if err != nil {
		return nil, err
	}
	var outs []output
	for i, n := range gd.cfg.GiStarDays {
		_, from, to := gd.lastDays(n)
		out := output{name: gistarName(i, n), from: from, to: to,
			settings: map[string]any{"days": n, "ring_k": gd.cfg.RingK, "fdr": gd.cfg.FDR}}
		if len(gd.cells) >= 3 {
			res, err := spatial.GetisOrd(g, gd.sums(n))
			if err != nil {
				return nil, err
			}
			out.findings, err = spatial.GiStarFindings(gd.cells, res, spatial.GiStarBins(res, gd.cfg.FDR), from, to)
			if err != nil {
				return nil, err
			}
		}
		outs = append(outs, out)
	}
	return outs, nil
}

// localMoran runs local Moran's I over the first Gi* window with
// conditional permutation p-values (the scan's replications).
func (gd *groupData) localMoran() ([]output, error) {
	g, err := gd.ring()
	if err != nil {
		return nil, err
	}
	n := gd.cfg.GiStarDays[0]
	_, from, to := gd.lastDays(n)
	perm := spatial.PermOptions{NSim: max(99, gd.cfg.Scan.Replications), Seed: gd.seedFor(LocalMoran)}
	out := output{name: LocalMoran, from: from, to: to, seed: perm.Seed,
		settings: map[string]any{"days": n, "ring_k": gd.cfg.RingK, "alpha": gd.cfg.MoranAlpha, "nsim": perm.NSim}}
	x := gd.sums(n)
	if len(gd.cells) < 3 || constant(x) {
		return []output{out}, nil
	}
	res, err := spatial.LocalMoran(g, x, spatial.MoranOptions{})
	if err != nil {
		return nil, err
	}
	pr, err := spatial.LocalMoranPermutation(g, x, spatial.MoranOptions{}, perm)
	if err != nil {
		return nil, err
	}
	for i := range res {
		res[i].P = pr[i].PFolded
	}
	out.findings, err = spatial.LocalMoranFindings(gd.cells, res, gd.cfg.MoranAlpha, from, to)
	return []output{out}, err
}

func constant(x []float64) bool {
	for _, v := range x {
		if v != x[0] {
			return false
		}
	}
	return true
}

// ehsa runs Emerging Hot Spot Analysis on weekly steps ending on the as-of
// day, so the last step is the latest week.
func (gd *groupData) ehsa() ([]output, error) {
	weeks := gd.cfg.EHSAWeeks
	first, from, to := gd.lastDays(7 * weeks)
	opt := spatial.DefaultEHSAOptions()
	opt.FDR = gd.cfg.FDR
	out := output{name: EHSA, from: from, to: to, settings: map[string]any{"weeks": weeks, "ring_k": gd.cfg.RingK, "options": opt}}
	if len(gd.cells) < 3 {
		return []output{out}, nil
	}
	g, err := gd.ring()
	if err != nil {
		return nil, err
	}
	cube, err := spatial.NewCube(len(gd.cells), weeks)
	if err != nil {
		return nil, err
	}
	for _, cd := range gd.counts {
		if d := int(cd.day) - first; d >= 0 {
			cube.Add(d/7, int(cd.cell), float64(cd.n))
		}
	}
	res, err := spatial.EmergingHotSpots(g, cube, opt)
	if err != nil {
		return nil, err
	}
	out.findings, err = spatial.EHSAFindings(gd.cells, res, from, to)
	return []output{out}, err
}

// incidents returns the group's incidents of the last n days, with their
// cell centre standing in for a purged point.
func (gd *groupData) incidents(ctx context.Context, n int) ([]geo.Incident, time.Time, time.Time, error) {
	_, from, to := gd.lastDays(n)
	loc := gd.r.location()
	// OccurredAt is an instant; widen by a day each side and keep by Day,
	// which is what the counts use.
	lo := time.Date(from.Year(), from.Month(), from.Day()-1, 0, 0, 0, 0, loc)
	hi := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc)
	incs, err := gd.r.src.FindIncidents(ctx, geo.IncidentFilter{Kinds: gd.g.Kinds, From: &lo, To: &hi})
	if err != nil {
		return nil, from, to, fmt.Errorf("incidents: %w", err)
	}
	out := incs[:0]
	for _, inc := range incs {
		if inc.Day.Before(from) || !inc.Day.Before(to) {
			continue
		}
		if inc.Location.Lon() == 0 && inc.Location.Lat() == 0 && inc.Cell.Valid() {
			inc.Location = inc.Cell.Center()
		}
		out = append(out, inc)
	}
	return out, from, to, nil
}

// knoxResult runs the Knox test once per group; the risk zones reuse it.
func (gd *groupData) knoxResult(ctx context.Context) (*cluster.KnoxResult, cluster.KnoxConfig, time.Time, time.Time, error) {
	cfg := gd.cfg.Knox
	cfg.Seed = gd.seedFor(Knox)
	_, from, to := gd.lastDays(gd.cfg.KnoxDays)
	if gd.knox != nil {
		return gd.knox, cfg, from, to, nil
	}
	incs, _, _, err := gd.incidents(ctx, gd.cfg.KnoxDays)
	if err != nil {
		return nil, cfg, from, to, err
	}
	if len(incs) < 2 {
		return nil, cfg, from, to, nil
	}
	ev, _, err := cluster.EventsFromIncidents(incs)
	if err != nil {
		return nil, cfg, from, to, err
	}
	res, err := cluster.Knox(ctx, ev, cfg)
	if err != nil {
		return nil, cfg, from, to, err
	}
	gd.knox = res
	return res, cfg, from, to, nil
}

func (gd *groupData) knoxTest(ctx context.Context) ([]output, error) {
	res, cfg, from, to, err := gd.knoxResult(ctx)
	if err != nil {
		return nil, err
	}
	out := output{name: Knox, from: from, to: to, seed: cfg.Seed, settings: map[string]any{"knox": cfg, "days": gd.cfg.KnoxDays}}
	if res != nil {
		out.findings = cluster.KnoxFindings(res, from, to)
	}
	return []output{out}, nil
}

// nearRepeat draws the risk zone of every incident of the last
// NearRepeat.Days days, when the Knox test over the year shows near
// repeats (p <= NearRepeatP). Each zone carries the test's p-value and
// ratio, so alerts grade it by the evidence.
func (gd *groupData) nearRepeat(ctx context.Context) ([]output, error) {
	res, kcfg, _, _, err := gd.knoxResult(ctx)
	if err != nil {
		return nil, err
	}
	nr := gd.cfg.NearRepeat
	incs, from, to, err := gd.incidents(ctx, nr.Days+1)
	if err != nil {
		return nil, err
	}
	out := output{name: NearRepeat, from: from, to: to, seed: kcfg.Seed,
		settings: map[string]any{"near_repeat": nr, "knox_p_max": gd.cfg.NearRepeatP}}
	p := math.NaN()
	if res != nil {
		p = res.PEventPerm
		if math.IsNaN(p) {
			p = res.PPoissonGE
		}
	}
	if !(p <= gd.cfg.NearRepeatP) {
		return []output{out}, nil
	}
	var zones []cluster.RiskZone
	for _, inc := range incs {
		z, err := cluster.NearRepeatZone(inc, nr)
		if err != nil {
			return nil, err
		}
		zones = append(zones, z)
	}
	fs, err := cluster.NearRepeatFindings(zones, gd.cfg.Res)
	if err != nil {
		return nil, err
	}
	for i := range fs {
		pv := p
		fs[i].PValue = &pv
		fs[i].Observed = 1
		fs[i].Stats["knox_p"] = p
		if !math.IsNaN(res.Ratio) && !math.IsInf(res.Ratio, 0) {
			fs[i].Stats["knox_ratio"] = res.Ratio
		}
	}
	out.findings = fs
	return []output{out}, nil
}

// concentration reports, per period, the share of incidents in the top 1
// and 5 percent of study cells and the Gini coefficient: one finding of
// kind "concentration" each, with the period as its category.
func (gd *groupData) concentration() ([]output, error) {
	var fs []geo.Finding
	lo := gd.days
	for _, n := range gd.cfg.ConcentrationDays {
		x := gd.sums(n)
		v := make([]int64, len(x))
		for i, f := range x {
			v[i] = int64(f)
		}
		_, from, to := gd.lastDays(n)
		lo = min(lo, gd.days-n)
		if len(v) == 0 {
			continue
		}
		c, err := cluster.ConcentrationOfCounts(v)
		if err != nil {
			return nil, err
		}
		st := map[string]float64{"cells": float64(c.Cells), "top1_cells": float64(c.Top1Cells), "top5_cells": float64(c.Top5Cells)}
		for k, v := range map[string]float64{"top1_share": c.Top1Share, "top5_share": c.Top5Share, "gini": c.Gini} {
			if !math.IsNaN(v) {
				st[k] = v
			}
		}
		score := c.Gini
		if math.IsNaN(score) {
			score = 0
		}
		fs = append(fs, geo.Finding{Kind: Concentration, Category: fmt.Sprintf("%dd", n), Start: from, End: to,
			Observed: float64(c.Incidents), Score: score, Stats: st})
	}
	return []output{{name: Concentration, findings: fs, from: gd.day0.AddDate(0, 0, lo), to: gd.day0.AddDate(0, 0, gd.days),
		settings: map[string]any{"days": gd.cfg.ConcentrationDays}}}, nil
}

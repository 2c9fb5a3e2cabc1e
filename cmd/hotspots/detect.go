package main

import (
	"context"
	"fmt"
	"time"

	"hotspots/geo"
	"hotspots/geo/detect"
)

// DetectCmd runs every configured detector once, as of a day, stores the
// runs and their findings, and raises the alerts they warrant. serve runs
// the same runner daily and after each ingest; this is the same thing on
// demand, for a backfill, a cron job or an analyst checking a day.
type DetectCmd struct {
	AsOf         string   `name:"as-of" env:"HOTSPOTS_DETECT_AS_OF" placeholder:"DATE" help:"Last day analysed, YYYY-MM-DD or an RFC 3339 time, taken in the city's time zone. Default: now (today so far)."`
	Detectors    []string `name:"detectors" env:"HOTSPOTS_DETECTORS" sep:"," placeholder:"NAME" help:"Detectors to run (default: each group's defaults). Known: stpscan, ebpscan, ears_c1, ears_c2, ears_c3, cusum, glrpois, ewma, gistar, localmoran, ehsa, knox, nearrepeat, concentration."`
	Groups       []string `name:"groups" env:"HOTSPOTS_DETECT_GROUPS" sep:"," placeholder:"NAME" help:"Kind groups to analyse: overdoses, shootings (default: both)."`
	Seed         uint64   `name:"seed" env:"HOTSPOTS_DETECT_SEED" placeholder:"N" help:"Base seed of the Monte Carlo detectors; each run records the seed it used. 0 derives one from the as-of date, so re-running a day reproduces it."`
	Replications int      `name:"replications" env:"HOTSPOTS_DETECT_REPLICATIONS" default:"999" help:"Monte Carlo replications of the scans and the Knox test (999 gives p-values to 0.001)."`
	Res          int      `name:"res" env:"HOTSPOTS_DETECT_RES" default:"9" help:"H3 resolution of the count cube, 4..10 (9: about 0.1 km2 cells, block scale)."`
	NoAlerts     bool     `name:"no-alerts" help:"Store runs and findings without evaluating the alert rules (e.g. for a backfill of past days)."`
	DryRun       bool     `name:"dry-run" help:"Run and print the summary without storing anything."`
}

// config turns the flags into a detect.Config and the as-of instant.
func (c DetectCmd) config(loc *time.Location, now time.Time) (detect.Config, time.Time, error) {
	cfg := detect.DefaultConfig().WithReplications(c.Replications)
	cfg.Res, cfg.Seed, cfg.Detectors = c.Res, c.Seed, c.Detectors
	if len(c.Groups) > 0 {
		var gs []detect.Group
		for _, name := range c.Groups {
			i := -1
			for j, g := range cfg.Groups {
				if g.Name == name {
					i = j
				}
			}
			if i < 0 {
				return cfg, now, fmt.Errorf("--groups: unknown group %q (overdoses, shootings)", name)
			}
			gs = append(gs, cfg.Groups[i])
		}
		cfg.Groups = gs
	}
	if err := cfg.Validate(); err != nil {
		return cfg, now, fmt.Errorf("detect: %w", err)
	}
	asOf, err := parseAsOf(c.AsOf, loc, now)
	return cfg, asOf, err
}

// parseAsOf reads a date (local noon of that day, so no zone shift moves
// it) or an RFC 3339 time; empty means now.
func parseAsOf(s string, loc *time.Location, now time.Time) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return d.Add(12 * time.Hour), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--as-of %q: want YYYY-MM-DD or an RFC 3339 time", s)
	}
	return t, nil
}

// Run detects, stores and prints the summary table.
func (c DetectCmd) Run(ctx context.Context, a *App) error {
	city, err := a.OpenCity()
	if err != nil {
		return err
	}
	cfg, asOf, err := c.config(city.Location, time.Now())
	if err != nil {
		return err
	}
	st, err := a.OpenStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	if !c.DryRun { // a dry run writes nothing, area layers included
		if err := a.ensureAreas(ctx, st, city); err != nil {
			return err
		}
	}
	alerts := 0
	var sink detect.Sink
	switch {
	case c.DryRun:
		sink = func(context.Context, geo.DetectionRun, []geo.Finding) error { return nil }
	case c.NoAlerts:
		sink = detect.StoreSink(st)
	default:
		eng, err := a.newAlertEngine(st, city, 0)
		if err != nil {
			return err
		}
		sink = detect.EngineSink(eng, func(res geo.AlertBatchResult) { alerts += len(res.Alerts) })
	}
	r, err := detect.New(st, city, cfg, sink)
	if err != nil {
		return err
	}
	r.Log = a.Log
	sum, runErr := r.Run(ctx, asOf)
	if err := sum.WriteTable(a.Stdout); err != nil {
		return err
	}
	switch {
	case c.DryRun:
		fmt.Fprintln(a.Stdout, "dry run: nothing stored")
	case c.NoAlerts:
		fmt.Fprintf(a.Stdout, "%d runs stored (%s store), alert rules not evaluated\n", len(sum.Runs), a.StoreKind())
	default:
		fmt.Fprintf(a.Stdout, "%d runs stored (%s store), %d alerts raised or updated\n", len(sum.Runs), a.StoreKind(), alerts)
	}
	return runErr
}

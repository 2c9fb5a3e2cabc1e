package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"hotspots/ingest"
)

// IngestCmd loads incident feeds: one input through one mapping, a
// re-process of a source's quarantine after a mapping fix, or (with
// --watch) the city's polled sources until stopped.
type IngestCmd struct {
	Mapping   string `name:"mapping" short:"m" env:"HOTSPOTS_INGEST_MAPPING" help:"Source mapping: a YAML file, or a path inside the city folder (e.g. mappings/bpd-part1-2020.yaml). See --list."`
	Input     string `arg:"" optional:"" help:"Input: a CSV or GeoJSON file, a path inside the city folder (sample/...), or an http(s) URL. ArcGIS and Socrata mappings may leave it out to pull their configured URL."`
	Reprocess bool   `name:"reprocess" help:"Re-run the source's quarantined rows through the (fixed) mapping instead of loading an input."`
	Watch     bool   `name:"watch" env:"HOTSPOTS_INGEST_WATCH" help:"Poll every source of the city that has a poll URL, on its schedule, until SIGINT/SIGTERM. Watermarks are kept in the store, so a restart continues where it stopped."`
	List      bool   `name:"list" help:"List the city's source mappings and exit."`
	NoAlerts  bool   `name:"no-alerts" help:"Do not evaluate the incident alert rules (near-repeat, area thresholds) on the loaded rows, e.g. for a historical backfill."`
}

// Validate rejects flag combinations that cannot mean anything.
func (c IngestCmd) Validate() error {
	switch {
	case c.List:
		return nil
	case c.Watch && (c.Mapping != "" || c.Input != "" || c.Reprocess):
		return errors.New("--watch polls the city's configured sources: give no mapping, input or --reprocess with it")
	case c.Watch:
		return nil
	case c.Mapping == "":
		return errors.New("--mapping is required (see --list for the city's mappings)")
	case c.Reprocess && c.Input != "":
		return errors.New("--reprocess re-runs the quarantine of the mapping's source: give no input with it")
	}
	return nil
}

// Run loads, re-processes or watches; it prints a summary by reason and
// fails when the load failed, so scripts and schedulers notice.
func (c IngestCmd) Run(ctx context.Context, a *App) error {
	city, err := a.OpenCity()
	if err != nil {
		return err
	}
	if c.List {
		ms, err := ingest.CityMappings(city)
		if err != nil {
			return err
		}
		for i, m := range ms {
			poll := ""
			if m.Poll != nil && m.Poll.URL != "" {
				poll = " (polled)"
			}
			fmt.Fprintf(a.Stdout, "%-40s %s%s\n", city.Sources[i], m.ID, poll)
		}
		return nil
	}
	st, err := a.OpenStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := a.ensureAreas(ctx, st, city); err != nil {
		return err
	}
	var opts ingest.Options
	if c.NoAlerts {
		opts, err = a.ingestOptions(city, nil)
	} else {
		eng, eerr := a.newAlertEngine(st, city, 0)
		if eerr != nil {
			return eerr
		}
		opts, err = a.ingestOptions(city, eng)
	}
	if err != nil {
		return err
	}
	switch {
	case c.Watch:
		p, err := ingest.NewPoller(st, city, ingest.PollerOptions{Options: opts})
		if err != nil {
			return err
		}
		a.Log.Info("watching", "sources", strings.Join(p.Sources(), ","))
		return p.Run(ctx)
	case c.Reprocess:
		m, err := ingest.OpenMapping(city, c.Mapping)
		if err != nil {
			return err
		}
		sum, err := ingest.Reprocess(ctx, st, city, m, opts)
		if perr := sum.Print(a.Stdout); perr != nil && err == nil {
			err = perr
		}
		return err
	}
	// Progress draws a bar on a terminal and logs a line every few seconds
	// elsewhere.
	ro := ingest.RunOptions{Options: opts, ProgressOut: os.Stderr}
	sum, err := ingest.Run(ctx, st, city, c.Mapping, c.Input, ro)
	if perr := sum.Print(a.Stdout); perr != nil && err == nil {
		err = perr
	}
	return err
}

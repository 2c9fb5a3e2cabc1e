package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"hotspots/geo"
	"hotspots/ingest/geocode"
)

// GeocodeCmd looks addresses up with the city's offline street geocoder and
// measures its accuracy against reference coordinates.
type GeocodeCmd struct {
	Accuracy GeocodeAccuracyCmd `cmd:"" help:"Geocode reference addresses whose coordinates are known and print matched %, median and p90 error by precision."`
	Lookup   GeocodeLookupCmd   `cmd:"" default:"withargs" help:"Geocode addresses given as arguments and print point, precision and score."`
}

// GeocodeAccuracyCmd measures the offline geocoder.
type GeocodeAccuracyCmd struct {
	Cases []string `name:"cases" type:"existingfile" help:"CSV files of address,lon,lat reference cases (e.g. a feed's rows that carry both). Default: the bundled Baltimore cases (Trace case addresses, BPD Part 1 rows)."`
}

// Run geocodes the cases and prints the table.
func (c GeocodeAccuracyCmd) Run(ctx context.Context, a *App) error {
	if len(c.Cases) == 0 {
		if a.City != "baltimore" {
			return errors.New("geocode accuracy: the bundled reference cases are Baltimore's; give --cases FILE for another city")
		}
		return geocode.RunBundledAccuracy(ctx, a.Stdout)
	}
	g, err := a.offlineGeocoder()
	if err != nil {
		return err
	}
	var cases []geocode.Case
	for _, path := range c.Cases {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		cs, err := geocode.ReadCases(f, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		cases = append(cases, cs...)
	}
	rep := geocode.Accuracy(ctx, g, cases)
	if rep.Errors > 0 {
		return fmt.Errorf("geocode accuracy: %d errors, first: %s", rep.Errors, rep.FirstError)
	}
	return rep.WriteTable(a.Stdout)
}

// GeocodeLookupCmd geocodes addresses from the command line.
type GeocodeLookupCmd struct {
	Addresses []string `arg:"" help:"Addresses, e.g. '1200 N MILTON AVE' or 'N MILTON AVE & E NORTH AVE'."`
}

// Run prints one line per address; unmatched addresses say why.
func (c GeocodeLookupCmd) Run(ctx context.Context, a *App) error {
	g, err := a.offlineGeocoder()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "address\tlon\tlat\tprecision\tscore\tmatched")
	for _, addr := range c.Addresses {
		r, err := g.Geocode(ctx, addr)
		if err != nil {
			fmt.Fprintf(tw, "%s\t\t\t%s\t\t\n", addr, oneLine(err))
			continue
		}
		if r.Precision == geo.PrecisionUnmatched {
			fmt.Fprintf(tw, "%s\t\t\t%s\t\t\n", addr, r.Precision)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.6f\t%.6f\t%s\t%.2f\t%s\n", addr, r.Point[0], r.Point[1], r.Precision, r.Score, r.Matched)
	}
	return tw.Flush()
}

// offlineGeocoder loads the city's street geocoder.
func (a *App) offlineGeocoder() (*geocode.Offline, error) {
	city, err := a.OpenCity()
	if err != nil {
		return nil, err
	}
	dir := city.Streets
	if dir == "" {
		dir = "streets"
	}
	g, err := geocode.LoadOffline(city.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("%s has no street data for the offline geocoder: %w", city.Name, err)
	}
	return g, nil
}

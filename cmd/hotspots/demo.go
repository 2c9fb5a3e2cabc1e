package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"hotspots/geo"
	"hotspots/ingest"
)

// DemoCmd is the main job on a fresh machine: load the bundled real sample
// of the city and (where no overdose feed is public) a simulated overdose
// stream, run detection, and serve the map and API.
type DemoCmd struct {
	Listen   string        `name:"listen" env:"HOTSPOTS_LISTEN" default:"localhost:8080" help:"Address to serve on, host:port (port 0 picks a free one)."`
	Grace    time.Duration `name:"grace" env:"HOTSPOTS_SHUTDOWN_GRACE" default:"5s" help:"How long in-flight requests get to finish on SIGINT/SIGTERM."`
	Seed     uint64        `name:"seed" default:"1" help:"Seed of the simulated overdose stream (same seed, same stream)."`
	LoadOnly bool          `name:"load-only" help:"Load and detect, print the summary, and exit without serving."`
	Live     bool          `name:"live" default:"true" negatable:"" help:"Date the simulated overdose stream over the two years up to yesterday, with its last spike on the final days, so detection and spike alerts are live. --no-live keeps it in 2023-2024."`
}

// Validate checks the listen address up front.
func (d DemoCmd) Validate() error { return validateListen(d.Listen) }

// Run loads, detects and serves. Loading twice changes nothing, so the demo
// can be restarted on the same data folder.
func (d DemoCmd) Run(ctx context.Context, a *App) error {
	city, st, err := a.openForWork(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	o := ServiceOptions{Listen: d.Listen, Grace: d.Grace, Simulated: []string{ingest.SimulatedSource}, Metrics: true}
	svc, err := a.newService(ctx, st, city, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "Loading the %s demo into the %s store (%s)...\n", city.Name, a.StoreKind(), a.where())
	do := ingest.DemoOptions{RunOptions: ingest.RunOptions{Options: svc.ingest}, Seed: d.Seed}
	if d.Live {
		// Simulated incidents may be dated anywhere: ending yesterday (the
		// city's date) keeps every one in the past and the last spike
		// inside the alert rules' windows.
		l := time.Now().In(city.Location)
		do.SimTo = time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
		do.SimFrom = do.SimTo.AddDate(-2, 0, 0)
		do.SimLastSpikeAtEnd = true
	}
	sums, spikes, err := ingest.LoadDemo(ctx, st, city, do)
	if err != nil {
		return err
	}
	for _, s := range sums {
		fmt.Fprintf(a.Stdout, "  %-24s %7d rows: %6d incidents (%d new), %d quarantined\n",
			s.Source, s.RowsRead, s.Added+s.Changed+s.Unchanged, s.Added, s.Quarantined)
	}
	if len(spikes) > 0 {
		fmt.Fprintf(a.Stdout, "  the simulated overdose stream (labelled simulated on the map) has %d planted spikes\n", len(spikes))
	}
	n, err := st.CountIncidents(ctx, geo.IncidentFilter{})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "%d incidents stored.\n", n)
	if err := a.demoDetect(ctx, svc); err != nil {
		return err
	}
	if d.LoadOnly {
		return nil
	}
	key, err := a.demoKey(ctx, st)
	if err != nil {
		return err
	}
	o.OnReady = func(url string) {
		fmt.Fprintf(a.Stdout, "\nThe %s hotspot map is at %s  (API: %sapi/v1/, health: %shealthz). Ctrl-C stops.\n", city.Name, url, url, url)
		fmt.Fprintf(a.Stdout, "Anonymous visitors see what the public may: aggregates with small counts hidden.\n")
		fmt.Fprintf(a.Stdout, "Signed in as the demo analyst (points, all counts, alerts): %s#key=%s\n", url, key)
	}
	return svc.run(ctx, o)
}

// demoKey returns the secret of the demo's analyst key, creating the key on
// the first run. The secret is kept in the data folder (mode 0600) because
// the store keeps only its hash; a revoked or lost key is replaced.
func (a *App) demoKey(ctx context.Context, st geo.Store) (string, error) {
	path := filepath.Join(a.DataDir, "demo-analyst.key")
	if a.DatabaseURL != "" {
		path = filepath.Join(a.DataDir, "demo-analyst-postgis.key")
	}
	if b, err := os.ReadFile(path); err == nil {
		secret := strings.TrimSpace(string(b))
		if _, err := st.LookupKey(ctx, geo.HashKeySecret(secret)); err == nil {
			return secret, nil
		}
	}
	_, secret, err := st.CreateKey(ctx, geo.APIKey{Name: "demo analyst", Role: geo.RoleAnalyst, Team: "demo"})
	if err != nil {
		return "", fmt.Errorf("demo key: %w", err)
	}
	if err := os.MkdirAll(a.DataDir, 0o750); err != nil {
		return "", fmt.Errorf("demo key: %w", err)
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("demo key: %w", err)
	}
	return secret, nil
}

// where names the store's location for the user.
func (a *App) where() string {
	if a.DatabaseURL != "" {
		return "HOTSPOTS_DATABASE_URL"
	}
	return a.DataDir + "/hotspots.db"
}

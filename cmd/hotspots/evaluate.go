package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/detect"
	"hotspots/geo/detect/evaluate"
	"hotspots/geo/sqlite"
	"hotspots/ingest"
	"hotspots/ingest/areas"
)

// EvalCmd is `hotspots evaluate`: how well each detector finds synthetic
// outbreaks injected into the city's real background data, so an analyst
// can choose detectors and thresholds before relying on their alerts.
type EvalCmd struct {
	Background   []string `name:"background" env:"HOTSPOTS_EVAL_BACKGROUND" sep:"," default:"shootings,overdoses" placeholder:"NAME" help:"Backgrounds to inject into: shootings (the city's bundled shooting sample, or the store's shootings) and overdoses (a simulated stream on real geography, or the store's overdoses)."`
	Source       string   `name:"source" env:"HOTSPOTS_EVAL_SOURCE" enum:"bundled,store" default:"bundled" help:"Background data: bundled (the sample files and simulated stream, loaded into a temporary store) or store (the incidents in the configured store)."`
	Detectors    []string `name:"detectors" env:"HOTSPOTS_EVAL_DETECTORS" sep:"," placeholder:"NAME" help:"Detectors to evaluate (default: stpscan, ears_c1, ears_c2, ears_c3, cusum, gistar)."`
	Trials       int      `name:"trials" env:"HOTSPOTS_EVAL_TRIALS" default:"10" help:"Outbreaks injected per background; more trials, tighter sensitivity."`
	Size         int      `name:"size" env:"HOTSPOTS_EVAL_SIZE" default:"6" help:"Extra cases per outbreak."`
	RadiusM      float64  `name:"radius" env:"HOTSPOTS_EVAL_RADIUS" default:"300" help:"Outbreak radius in metres."`
	Duration     int      `name:"duration" env:"HOTSPOTS_EVAL_DURATION" default:"7" help:"Outbreak length in days."`
	Lag          int      `name:"lag" env:"HOTSPOTS_EVAL_LAG" default:"3" help:"Days after an outbreak's end a detection still counts."`
	Days         int      `name:"days" env:"HOTSPOTS_EVAL_DAYS" default:"30" help:"Evaluation period in days, ending on the background's last day (false alarms are counted over it)."`
	Replications int      `name:"replications" env:"HOTSPOTS_EVAL_REPLICATIONS" default:"99" help:"Monte Carlo replications of the scans (99 decides p < 0.05; 999 as in production is slower)."`
	Seed         uint64   `name:"seed" env:"HOTSPOTS_EVAL_SEED" default:"1" placeholder:"N" help:"Seed of the outbreaks, the simulated stream and the Monte Carlo runs: same seed, same evaluation."`
	Res          int      `name:"res" env:"HOTSPOTS_EVAL_RES" default:"9" help:"H3 resolution of the count cube."`
	SimOverdoses int      `name:"sim-overdoses" env:"HOTSPOTS_EVAL_SIM_OVERDOSES" default:"6000" help:"Size of the simulated overdose stream (two years) for --source bundled."`
	PNG          string   `name:"png" env:"HOTSPOTS_EVAL_PNG" default:"evaluation.png" type:"path" help:"Where to write the plot (PNG); empty: no plot."`
}

// Validate checks the backgrounds and the detectors before any data is
// loaded.
func (c EvalCmd) Validate() error {
	for _, b := range c.Background {
		if b != "shootings" && b != "overdoses" {
			return fmt.Errorf("--background: unknown background %q (shootings, overdoses)", b)
		}
	}
	cfg := detect.DefaultConfig()
	cfg.Detectors = c.Detectors
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("--detectors: %w", err)
	}
	if c.Trials < 1 || c.Size < 1 || c.Duration < 1 || c.Days < 1 || c.Lag < 0 || c.RadiusM <= 0 {
		return fmt.Errorf("--trials, --size, --duration, --days and --radius must be positive, --lag >= 0")
	}
	return nil
}

// Run loads the backgrounds, evaluates, prints the table and writes the plot.
func (c EvalCmd) Run(ctx context.Context, a *App) error {
	city, err := a.OpenCity()
	if err != nil {
		return err
	}
	var st geo.Store
	if c.Source == "store" {
		s, err := a.OpenStore(ctx, false)
		if err != nil {
			return err
		}
		defer s.Close()
		st = s
	} else {
		tmp, err := os.MkdirTemp("", "hotspots-evaluate-")
		if err != nil {
			return fmt.Errorf("evaluate: %w", err)
		}
		defer os.RemoveAll(tmp)
		s, err := c.bundledStore(ctx, a, city, filepath.Join(tmp, "evaluate.db"))
		if err != nil {
			return err
		}
		defer s.Close()
		st = s
	}
	groups := detect.DefaultGroups()
	var results []*evaluate.Result
	for _, name := range c.Background {
		var g detect.Group
		for _, gg := range groups {
			if gg.Name == name {
				g = gg
			}
		}
		bg, err := c.background(ctx, st, g)
		if err != nil {
			return err
		}
		lag := c.Lag
		if lag == 0 {
			lag = -1 // evaluate.Options reads 0 as its default and negative as none
		}
		a.Log.Info("evaluate_background", slog.String("background", name), slog.Int("incidents", len(bg.Incidents)))
		res, err := evaluate.Run(ctx, city, bg, evaluate.Options{
			Detectors: c.Detectors, Trials: c.Trials, Size: c.Size, RadiusM: c.RadiusM, Duration: c.Duration,
			Lag: lag, Days: c.Days, Replications: c.Replications, Seed: c.Seed, Res: c.Res,
		})
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	if err := evaluate.WriteTable(a.Stdout, results...); err != nil {
		return err
	}
	if c.PNG == "" {
		return nil
	}
	f, err := os.Create(c.PNG)
	if err != nil {
		return fmt.Errorf("evaluate: plot: %w", err)
	}
	if err := evaluate.WritePNG(f, results...); err != nil {
		f.Close()
		return fmt.Errorf("evaluate: plot: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("evaluate: plot: %w", err)
	}
	fmt.Fprintf(a.Stdout, "plot written to %s\n", c.PNG)
	return nil
}

// bundledStore loads the city's areas, the bundled samples the shootings
// background needs and the simulated overdose stream (without planted
// spikes: the harness plants its own) into a temporary embedded store.
func (c EvalCmd) bundledStore(ctx context.Context, a *App, city *cities.City, path string) (*sqlite.DB, error) {
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, path, sqlite.Options{Logger: quiet})
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	fail := func(err error) (*sqlite.DB, error) { st.Close(); return nil, fmt.Errorf("evaluate: %w", err) }
	if err := st.Migrate(ctx); err != nil {
		return fail(err)
	}
	if err := areas.LoadCity(ctx, st, city); err != nil {
		return fail(err)
	}
	g, err := ingest.CityGeocoder(city)
	if err != nil {
		return fail(err)
	}
	opts := ingest.Options{Geocoder: g, Logger: quiet}
	for _, b := range c.Background {
		switch b {
		case "shootings":
			for _, d := range city.Demo.Loads {
				fmt.Fprintf(a.Stdout, "loading %s...\n", d.File)
				if _, err := ingest.Run(ctx, st, city, d.Mapping, d.File, ingest.RunOptions{Options: opts}); err != nil {
					return fail(err)
				}
			}
		case "overdoses":
			fmt.Fprintf(a.Stdout, "simulating %d overdoses...\n", c.SimOverdoses)
			if _, _, err := ingest.SimulateOverdoses(ctx, st, city, ingest.SimOptions{Seed: c.Seed, N: c.SimOverdoses, Spikes: -1}, opts); err != nil {
				return fail(err)
			}
		}
	}
	return st, nil
}

// background reads a group's incidents from the store. From bundled data
// it keeps the source with the most incidents of the group, so the
// evaluation period is a stretch that source covers rather than the tail
// of a sparser list (Baltimore: the Trace shootings, not the 2020
// homicides).
func (c EvalCmd) background(ctx context.Context, st geo.Store, g detect.Group) (evaluate.Background, error) {
	incs, err := st.FindIncidents(ctx, geo.IncidentFilter{Kinds: g.Kinds})
	if err != nil {
		return evaluate.Background{}, fmt.Errorf("evaluate %s: %w", g.Name, err)
	}
	if c.Source == "bundled" {
		per := map[string]int{}
		best := ""
		for _, inc := range incs {
			per[inc.Source]++
			if per[inc.Source] > per[best] || (per[inc.Source] == per[best] && inc.Source < best) {
				best = inc.Source
			}
		}
		kept := incs[:0]
		for _, inc := range incs {
			if inc.Source == best {
				inc.Raw = nil
				kept = append(kept, inc)
			}
		}
		incs = kept
	}
	if len(incs) == 0 {
		return evaluate.Background{}, geo.Errorf(geo.ENOTFOUND, "evaluate %s: no incidents of %v in the %s data", g.Name, g.Kinds, c.Source)
	}
	layers, err := st.Layers(ctx)
	if err != nil {
		return evaluate.Background{}, fmt.Errorf("evaluate %s: %w", g.Name, err)
	}
	return evaluate.Background{Name: g.Name, Kinds: g.Kinds, Incidents: incs, Layers: layers}, nil
}

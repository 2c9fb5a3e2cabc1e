// Command hotspots runs the hotspots service: ingest incident feeds into H3
// cells, detect space-time spikes and hot spots, and serve vector tiles,
// alerts and per-area indicators.
//
// This is the only package where storage, ingest, detection and the API
// meet: it parses flags and environment into plain structs, opens the store,
// wires the parts and handles signals.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
)

// CLI is the whole command line. Every flag can also be set from the
// environment variable named in its help.
type CLI struct {
	Globals

	Serve   ServeCmd   `cmd:"" help:"Serve the map, tiles, alerts and indicators API (runs migrations first)."`
	Demo    DemoCmd    `cmd:"" help:"Load the bundled sample of the city (and a simulated overdose stream), detect, and serve the map and API: the main job on a fresh machine."`
	Ingest  IngestCmd  `cmd:"" help:"Load an incident feed through a source mapping, re-process its quarantine, or poll the city's sources."`
	Detect  DetectCmd  `cmd:"" help:"Run the detectors once as of a day (default now), store runs and findings, and raise their alerts."`
	Eval    EvalCmd    `cmd:"" name:"evaluate" help:"Inject synthetic outbreaks into real background data and report each detector's sensitivity, days to detection and false alarms (table and PNG plot)."`
	Purge   PurgeCmd   `cmd:"" help:"Purge point-level data (locations, addresses, raw rows) older than a retention age; counts and indicators stay."`
	Keys    KeysCmd    `cmd:"" help:"Create, list and revoke API keys (roles admin, analyst, outreach, public); a created key's secret is printed once."`
	Migrate MigrateCmd `cmd:"" help:"Apply database migrations (safe to run concurrently and repeatedly)."`
	Geocode GeocodeCmd `cmd:"" help:"Look addresses up with the city's offline street geocoder, or measure its accuracy."`
	Version VersionCmd `cmd:"" help:"Print the version."`
}

// Globals are the settings every subcommand shares.
type Globals struct {
	DatabaseURL string `name:"database-url" env:"HOTSPOTS_DATABASE_URL" help:"PostgreSQL/PostGIS connection URL. Empty: use the embedded single-file store in --data-dir."`
	DataDir     string `name:"data-dir" env:"HOTSPOTS_DATA_DIR" default:".hotspots" help:"Folder of the embedded store and caches."`
	City        string `name:"city" env:"HOTSPOTS_CITY" default:"baltimore" help:"Builtin city name (baltimore, tempe, philadelphia) or a folder holding a city.yaml."`
	LogLevel    string `name:"log-level" env:"HOTSPOTS_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Log level: debug, info, warn, error."`
	LogFormat   string `name:"log-format" env:"HOTSPOTS_LOG_FORMAT" default:"text" enum:"text,json" help:"Log format: text or json."`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, runs the chosen command and returns the exit code. Errors
// are printed as one line naming the problem, as operators grep for them.
// ctx ends on SIGINT/SIGTERM: serving stops gracefully and loads stop
// between batches.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			c, ok := r.(exitCode)
			if !ok {
				panic(r)
			}
			code = int(c)
		}
	}()
	var cli CLI
	parser, err := kong.New(&cli,
		kong.Name("hotspots"),
		kong.Description("Overdose and shooting hotspot detection, maps, alerts and indicators."),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Writers(stdout, stderr),
		// --help and --version end parsing through Exit; turn that into a
		// return so tests can call run.
		kong.Exit(func(code int) { panic(exitCode(code)) }),
	)
	if err != nil {
		fmt.Fprintln(stderr, "hotspots:", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintln(stderr, "hotspots:", oneLine(err))
		return 2
	}
	logger := newLogger(cli.Globals, stderr)
	slog.SetDefault(logger)

	app := &App{Globals: cli.Globals, Log: logger, Stdout: stdout}
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(app); err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return 130
		}
		fmt.Fprintln(stderr, "hotspots:", oneLine(err))
		return 1
	}
	return 0
}

// exitCode carries kong's exit request out of parsing.
type exitCode int

func newLogger(g Globals, w io.Writer) *slog.Logger {
	var lvl slog.LevelVar
	_ = lvl.UnmarshalText([]byte(g.LogLevel))
	opts := &slog.HandlerOptions{Level: &lvl}
	if g.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

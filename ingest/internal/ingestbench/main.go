// Command ingestbench generates the synthetic benchmark CSV and, when the
// hotspots binary has no ingest command to time, loads it through the
// same ingest.Run the command calls. scripts/bench-ingest.sh drives it.
//
//	ingestbench -gen 1000000 > rows.csv
//	ingestbench -mapping synthetic.yaml -load rows.csv -database-url URL
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"time"

	"hotspots/cities"
	"hotspots/geo/postgis"
	"hotspots/ingest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

func run() error {
	gen := flag.Int("gen", 0, "write this many synthetic rows to stdout and exit")
	seed := flag.Uint64("seed", 1, "generator seed")
	mappingOut := flag.String("write-mapping", "", "write the synthetic mapping to this file and exit")
	load := flag.String("load", "", "CSV file to load")
	mapping := flag.String("mapping", "", "mapping file for -load")
	dbURL := flag.String("database-url", os.Getenv("HOTSPOTS_DATABASE_URL"), "PostGIS URL")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of -load to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile of -load to this file (what a load allocates is what its collector scans)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	switch {
	case *mappingOut != "":
		return os.WriteFile(*mappingOut, []byte(ingest.SyntheticMapping), 0o644)
	case *gen > 0:
		return ingest.WriteSyntheticCSV(os.Stdout, *gen, *seed)
	case *load == "":
		return fmt.Errorf("nothing to do: use -gen, -write-mapping or -load")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	st, err := postgis.Open(ctx, *dbURL, postgis.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	city, err := cities.Open("baltimore")
	if err != nil {
		return err
	}
	start := time.Now()
	s, err := ingest.Run(ctx, st, city, *mapping, *load, ingest.RunOptions{Options: ingest.Options{Logger: log}, ProgressOut: os.Stderr})
	if err != nil {
		return err
	}
	el := time.Since(start)
	if err := s.Print(os.Stdout); err != nil {
		return err
	}
	fmt.Printf("%d rows in %s: %.0f rows/s\n", s.RowsRead, el.Round(time.Millisecond), float64(s.RowsRead)/el.Seconds())
	if *memProfile != "" {
		if err := writeAllocs(*memProfile); err != nil {
			return fmt.Errorf("memory profile: %w", err)
		}
	}
	return nil
}

// writeAllocs writes the allocations since the start of the process.
func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

package geocode

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"

	"hotspots/cities/baltimore/streets"
)

// The bundled reference cases (origin in testdata/README.md). They are
// embedded so the CLI can report accuracy from any working directory.
var (
	//go:embed testdata/cases_trace.csv
	casesTrace []byte
	//go:embed testdata/cases_bpd_part1.csv
	casesPart1 []byte
)

// Bundled case sources.
const (
	SourceTrace = "trace"
	SourcePart1 = "bpd-part1"
)

// BundledCases returns the Baltimore reference cases shipped with the
// package: 3,479 Trace/BuzzFeed case addresses with Google geocodes and 805
// BPD Part 1 rows (2018, 2020) with BPD's own coordinates.
func BundledCases() ([]Case, error) {
	trace, err := ReadCases(bytes.NewReader(casesTrace), SourceTrace)
	if err != nil {
		return nil, err
	}
	part1, err := ReadCases(bytes.NewReader(casesPart1), SourcePart1)
	if err != nil {
		return nil, err
	}
	return append(trace, part1...), nil
}

// LoadBaltimore loads the offline geocoder from the embedded Baltimore streets.
func LoadBaltimore() (*Offline, error) {
	return LoadOffline(streets.FS, ".")
}

// RunBundledAccuracy geocodes the bundled cases with the embedded Baltimore
// streets and prints the accuracy table to w. It backs the
// `hotspots geocode accuracy` subcommand.
func RunBundledAccuracy(ctx context.Context, w io.Writer) error {
	g, err := LoadBaltimore()
	if err != nil {
		return err
	}
	cases, err := BundledCases()
	if err != nil {
		return err
	}
	rep := Accuracy(ctx, g, cases)
	if rep.Errors > 0 {
		return fmt.Errorf("geocode: accuracy: %d errors, first: %s", rep.Errors, rep.FirstError)
	}
	return rep.WriteTable(w)
}

package main

import (
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvaluateHelpNamesItsFlags(t *testing.T) {
	code, out, errOut := hs(t, context.Background(), t.TempDir(), "evaluate", "--help")
	if code != 0 {
		t.Fatalf("evaluate --help: exit %d: %s", code, errOut)
	}
	for _, w := range []string{"--background", "--source", "--detectors", "--trials", "--size", "--radius", "--duration",
		"--lag", "--days", "--replications", "--seed", "--png", "HOTSPOTS_EVAL_TRIALS"} {
		if !strings.Contains(out, w) {
			t.Errorf("evaluate --help does not mention %s:\n%s", w, out)
		}
	}
}

func TestEvaluateRejectsBadFlags(t *testing.T) {
	for name, args := range map[string][]string{
		"unknown background": {"evaluate", "--background", "burglaries"},
		"unknown detector":   {"evaluate", "--detectors", "magic"},
		"no trials":          {"evaluate", "--trials", "-2"},
	} {
		t.Run(name, func(t *testing.T) {
			if code, _, errOut := hs(t, context.Background(), t.TempDir(), args...); code == 0 || !strings.HasPrefix(strings.TrimSpace(errOut), "hotspots: ") {
				t.Fatalf("exit %d, stderr %q: want a one-line failure", code, errOut)
			}
		})
	}
}

// TestEvaluateOnTheBundledShootings runs the harness with tiny parameters
// on the bundled shooting sample: an outbreak of 25 shootings within 150 m
// in three days must be found by the scan, and the plot must decode.
func TestEvaluateOnTheBundledShootings(t *testing.T) {
	if testing.Short() {
		t.Skip("geocodes the bundled shooting sample")
	}
	dir := t.TempDir()
	plot := filepath.Join(dir, "eval.png")
	code, out, errOut := hs(t, context.Background(), dir, "evaluate", "--background", "shootings",
		"--detectors", "stpscan,ears_c1", "--trials", "2", "--size", "25", "--radius", "150", "--duration", "3",
		"--lag", "1", "--days", "8", "--replications", "49", "--seed", "4", "--png", plot)
	if code != 0 {
		t.Fatalf("evaluate: exit %d: %s\n%s", code, errOut, out)
	}
	var scan []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "stpscan" {
			scan = f
		}
	}
	if len(scan) < 5 || scan[1] == "0%" {
		t.Errorf("stpscan row %q: want the big outbreaks detected:\n%s", scan, out)
	}
	f, err := os.Open(plot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("plot: %v", err)
	}
}

package main

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"hotspots/geo"
	"hotspots/geo/detect"
	"hotspots/geo/sqlite"
)

func TestDetectHelpNamesEveryFlagAndDetector(t *testing.T) {
	code, out, errOut := hs(t, context.Background(), t.TempDir(), "detect", "--help")
	if code != 0 {
		t.Fatalf("detect --help: exit %d: %s", code, errOut)
	}
	words := []string{"--as-of", "--detectors", "--groups", "--seed", "--replications", "--res", "--dry-run", "--no-alerts",
		"HOTSPOTS_DETECT_AS_OF", "HOTSPOTS_DETECTORS", "HOTSPOTS_DETECT_SEED", "HOTSPOTS_DETECT_REPLICATIONS", "HOTSPOTS_DETECT_RES"}
	words = append(words, detect.AllDetectors...)
	for _, w := range words {
		if !strings.Contains(out, w) {
			t.Errorf("detect --help does not mention %s:\n%s", w, out)
		}
	}
}

func TestDetectRejectsBadFlagsWithOneLine(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"unknown detector": {[]string{"detect", "--detectors", "stpscan,nope"}, "nope"},
		"unknown group":    {[]string{"detect", "--groups", "burglaries"}, "burglaries"},
		"bad as-of":        {[]string{"detect", "--as-of", "yesterday"}, "--as-of"},
		"bad resolution":   {[]string{"detect", "--res", "12"}, "resolution"},
		"bad replications": {[]string{"detect", "--replications", "-1"}, "replications"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := hs(t, context.Background(), t.TempDir(), tc.args...)
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if code == 0 || !strings.HasPrefix(lines[len(lines)-1], "hotspots: ") || !strings.Contains(lines[len(lines)-1], tc.want) {
				t.Fatalf("exit %d, stderr %q: want a failure naming %q", code, errOut, tc.want)
			}
		})
	}
}

// TestDetectCommandOnTheBundledShootings loads the bundled Trace shooting
// sample through the ingest command, runs detect twice with one seed as of
// a day inside the sample, and checks the table, the stored runs, and that
// the two runs stored identical findings; a dry run stores nothing.
func TestDetectCommandOnTheBundledShootings(t *testing.T) {
	if testing.Short() {
		t.Skip("geocodes the bundled shooting sample")
	}
	ctx := context.Background()
	dir := t.TempDir()
	if code, _, errOut := hs(t, ctx, dir, "ingest", "--no-alerts", "--mapping", "mappings/trace-shootings.yaml", "sample/trace-persons.csv"); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errOut)
	}
	args := []string{"detect", "--as-of", "2017-06-30", "--groups", "shootings", "--seed", "11", "--replications", "99"}
	var outs [2]string
	for i := range outs {
		a := args
		if i == 0 {
			a = append(slices.Clip(args), "--no-alerts") // StoreSink; then the alerting engine's sink
		}
		code, out, errOut := hs(t, ctx, dir, a...)
		if code != 0 {
			t.Fatalf("detect: exit %d: %s\n%s", code, errOut, out)
		}
		outs[i] = out
	}
	for _, d := range []string{"stpscan", "ears_c1", "ears_c2", "ears_c3", "cusum", "gistar", "gistar_365d", "ehsa", "knox", "nearrepeat", "concentration"} {
		if !strings.Contains(outs[0], "shootings  "+d+" ") {
			t.Errorf("table has no row for %s:\n%s", d, outs[0])
		}
	}
	if !strings.Contains(outs[0], "as of 2017-06-30 (seed 11)") || !strings.Contains(outs[0], "alert rules not evaluated") ||
		!strings.Contains(outs[1], "alerts raised") {
		t.Errorf("table header or footer missing:\n%s", outs[0])
	}
	if strings.Contains(outs[0], "failed") {
		t.Errorf("a detector failed:\n%s", outs[0])
	}

	st, err := sqlite.Open(ctx, filepath.Join(dir, "hotspots.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, d := range []string{"stpscan", "knox", "gistar_365d", "ehsa"} {
		runs, err := st.ListRuns(ctx, d, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 2 || runs[0].Seed != runs[1].Seed || string(runs[0].Params) != string(runs[1].Params) {
			t.Fatalf("%s: want two runs with one seed and params, got %+v", d, runs)
		}
		var fs [2][]geo.Finding
		for i, r := range runs {
			fs[i], err = st.ListFindings(ctx, geo.FindingFilter{Detector: d, RunID: r.ID})
			if err != nil {
				t.Fatal(err)
			}
			for j := range fs[i] {
				fs[i][j].ID, fs[i][j].RunID = 0, 0
			}
		}
		if d != "stpscan" && len(fs[0]) == 0 {
			t.Errorf("%s: no findings on 2.5 years of shootings", d)
		}
		if !reflect.DeepEqual(fs[0], fs[1]) {
			t.Errorf("%s: the same seed stored different findings", d)
		}
	}
	before, _ := st.ListRuns(ctx, "", 1000)
	code, out, errOut := hs(t, ctx, dir, append(args, "--dry-run")...)
	if code != 0 || !strings.Contains(out, "nothing stored") {
		t.Fatalf("dry run: exit %d: %s\n%s", code, errOut, out)
	}
	after, _ := st.ListRuns(ctx, "", 1000)
	if len(after) != len(before) {
		t.Errorf("dry run stored %d runs", len(after)-len(before))
	}
}

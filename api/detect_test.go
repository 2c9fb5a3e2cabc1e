package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/detect"
)

// runnerDetector runs a real detect.Runner as of a fixed day, as serve's
// scheduler runs it as of now.
type runnerDetector struct {
	r    *detect.Runner
	asOf time.Time
}

func (d runnerDetector) RunNow(ctx context.Context) (detect.Summary, error) {
	return d.r.Run(ctx, d.asOf)
}

// storeDetector is a detector over st storing runs with Store.SaveRun, as
// of the last day of the access fixture, with few replications.
func storeDetector(t testing.TB, st geo.Store) Detector {
	t.Helper()
	city, err := cities.Open("baltimore")
	if err != nil {
		t.Fatal(err)
	}
	cfg := detect.DefaultConfig().WithReplications(99)
	cfg.Seed = 7
	r, err := detect.New(st, city, cfg, detect.StoreSink(st))
	if err != nil {
		t.Fatal(err)
	}
	return runnerDetector{r: r, asOf: mapFixEnd.Add(12 * time.Hour)}
}

func TestDetectOnDemandStoresTraceableRuns(t *testing.T) {
	st := openEmbedded(t)
	env := newAccessEnv(t, st, Config{Detector: storeDetector(t, st)})

	code, body := env.do("analyst", http.MethodPost, "/api/v1/detect", "")
	if code != http.StatusOK {
		t.Fatalf("POST /api/v1/detect: %d %s", code, body)
	}
	var got struct {
		Day      string    `json:"day"`
		Findings int       `json:"findings"`
		Runs     []runView `json:"runs"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Day != mapFixEnd.Format(time.DateOnly) || len(got.Runs) == 0 {
		t.Fatalf("detect answered day %s with %d runs, want %s and some runs", got.Day, len(got.Runs), mapFixEnd.Format(time.DateOnly))
	}
	// The fixture's overdoses sit in one cell every other day: the Gi* map
	// of the overdose group must find that cell.
	gi := 0
	for _, r := range got.Runs {
		if r.Error != "" {
			t.Errorf("run %s/%s failed: %s", r.Group, r.Detector, r.Error)
		}
		if r.Group == "overdoses" && r.Detector == detect.GiStar {
			gi += r.Findings
		}
	}
	if gi == 0 {
		t.Errorf("no Gi* findings for the overdose cluster: %+v", got.Runs)
	}

	code, body = env.do("analyst", http.MethodGet, "/api/v1/detect/runs?detector=stpscan", "")
	if code != http.StatusOK {
		t.Fatalf("runs: %d %s", code, body)
	}
	var runs []geo.DetectionRun
	if err := json.Unmarshal([]byte(body), &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) == 0 || runs[0].Detector != "stpscan" || len(runs[0].Params) == 0 || runs[0].Seed == 0 {
		t.Fatalf("stpscan runs %+v: want the run with its parameters and seed", runs)
	}
	if code, body = env.do("analyst", http.MethodGet, "/api/v1/detect/runs?limit=0", ""); code != http.StatusBadRequest {
		t.Errorf("limit=0: %d %s, want 400", code, body)
	}

	// Without a detector (serve --no-detect) the route says so.
	off := newAccessEnv(t, openEmbedded(t), Config{})
	if code, body = off.do("analyst", http.MethodPost, "/api/v1/detect", ""); code != http.StatusServiceUnavailable {
		t.Errorf("no detector: %d %s, want 503", code, body)
	}
}

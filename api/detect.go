package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"hotspots/geo"
	"hotspots/geo/detect"
)

// Detector runs detection on demand: the serve process passes its
// scheduler, so an on-demand run is serialised with the daily and
// after-ingest runs and raises alerts the same way.
type Detector interface {
	RunNow(ctx context.Context) (detect.Summary, error)
}

// runView is one detector run in the detect response.
type runView struct {
	Group    string    `json:"group"`
	Detector string    `json:"detector"`
	Findings int       `json:"findings"`
	Signals  int       `json:"signals"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Seed     int64     `json:"seed"`
	Millis   int64     `json:"duration_ms"`
	Error    string    `json:"error,omitempty"`
}

// detectHandler runs every configured detector now (POST /api/v1/detect)
// and answers with what ran. An analyst who has just loaded a late batch
// does not have to wait for the schedule. A detector that failed is
// reported in its row while the others' results stand.
func (s *Server) detectHandler(c echo.Context) error {
	if s.cfg.Detector == nil {
		return geo.Errorf(geo.EUNAVAILABLE, "detection does not run in this process (serve --no-detect)")
	}
	sum, err := s.cfg.Detector.RunNow(c.Request().Context())
	if err != nil && len(sum.Runs) == 0 {
		return geo.Errorf(geo.EINTERNAL, "detection failed: %v", err)
	}
	runs := make([]runView, 0, len(sum.Runs))
	for _, r := range sum.Runs {
		v := runView{Group: r.Group, Detector: r.Detector, Findings: r.Findings, Signals: r.Signals,
			From: r.From, To: r.To, Seed: r.Seed, Millis: r.Duration.Milliseconds()}
		if r.Err != nil {
			v.Error = r.Err.Error()
		}
		runs = append(runs, v)
	}
	return c.JSON(http.StatusOK, map[string]any{
		"as_of": sum.AsOf, "day": sum.Day.Format(time.DateOnly), "seed": strconv.FormatUint(sum.Seed, 10),
		"findings": sum.Findings(), "signals": sum.Signals(), "duration_ms": sum.Duration.Milliseconds(), "runs": runs,
	})
}

// runsHandler lists recent detector runs with their parameters, seed and
// data window (GET /api/v1/detect/runs[?detector=stpscan&limit=50]), so any
// finding on the map can be traced to the run that produced it and
// reproduced.
func (s *Server) runsHandler(c echo.Context) error {
	limit := 50
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return geo.FieldErrorf("limit", "limit must be a number from 1 to 1000, got %q", v)
		}
		limit = n
	}
	runs, err := s.cfg.Store.ListRuns(c.Request().Context(), c.QueryParam("detector"), limit)
	if err != nil {
		return err
	}
	if runs == nil {
		runs = []geo.DetectionRun{}
	}
	return c.JSON(http.StatusOK, runs)
}

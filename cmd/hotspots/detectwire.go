package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"hotspots/geo"
	"hotspots/geo/detect"
)

// newRunner returns the detection runner of this process; its runs go
// through the alerting engine, so findings and the alerts they raise are
// stored together.
func (s *service) newRunner(cfg detect.Config) (*detect.Runner, error) {
	return detect.New(s.st, s.city, cfg, detect.EngineSink(s.engine, nil))
}

// demoDetect runs detection as of the last day of each kind group's data:
// the bundled sample ends years ago, and a run as of today would analyse
// empty windows. Each group runs alone so its as-of day is its own.
func (a *App) demoDetect(ctx context.Context, svc *service) error {
	for _, g := range detect.DefaultGroups() {
		last, ok, err := lastDay(ctx, svc.st, g.Kinds)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		cfg := detect.DefaultConfig()
		cfg.Groups = []detect.Group{g}
		r, err := svc.newRunner(cfg)
		if err != nil {
			return err
		}
		sum, err := r.Run(ctx, last.Add(12*time.Hour))
		if err != nil {
			return fmt.Errorf("detect %s: %w", g.Name, err)
		}
		fmt.Fprintf(a.Stdout, "Detection on %s as of %s: %d runs, %d findings, %d signals (%s).\n",
			g.Name, last.Format(time.DateOnly), len(sum.Runs), sum.Findings(), sum.Signals(), sum.Duration.Round(time.Millisecond))
	}
	return nil
}

// lastDay is the latest local day with an incident of kinds.
func lastDay(ctx context.Context, st geo.Store, kinds []geo.Kind) (time.Time, bool, error) {
	rows, err := st.CellDayCounts(ctx, geo.CellCountFilter{Res: 0, Kinds: kinds})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("last day of %v: %w", kinds, err)
	}
	var last time.Time
	for _, r := range rows {
		if r.Day.After(last) {
			last = r.Day
		}
	}
	if last.IsZero() {
		return last, false, nil
	}
	// Day is a local date at 00:00 UTC; as of that date in the city.
	return last, true, nil
}

// scheduler runs detection daily at a local time and soon after new data:
// it watches the store's data version, so loads by this process, by the
// push API or by a separate ingest worker all trigger a run.
type scheduler struct {
	svc    *service
	runner *detect.Runner
	// At is the local time of day of the daily run; Settle is how long the
	// data must stay unchanged before an after-ingest run starts, so a large
	// load triggers one run, not one per batch; Check is the polling period.
	At, Settle, Check time.Duration
	log               *slog.Logger

	mu      sync.Mutex
	last    detect.Summary
	lastErr error
}

// RunNow runs detection as of now; the API's on-demand endpoint calls it.
func (s *scheduler) RunNow(ctx context.Context) (detect.Summary, error) {
	sum, err := s.runner.Run(ctx, time.Now())
	s.mu.Lock()
	s.last, s.lastErr = sum, err
	s.mu.Unlock()
	if err != nil {
		s.log.Error("detect_failed", slog.Any("error", err))
	} else {
		s.log.Info("detect_done", slog.Int("runs", len(sum.Runs)), slog.Int("findings", sum.Findings()),
			slog.Int("signals", sum.Signals()), slog.Duration("took", sum.Duration))
	}
	return sum, err
}

// Run loops until ctx ends. A failed run is logged and retried at the next
// trigger; it never stops the service.
func (s *scheduler) Run(ctx context.Context) error {
	loc := s.svc.city.Location
	nextDaily := func(now time.Time) time.Time {
		l := now.In(loc)
		t := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc).Add(s.At)
		if !t.After(l) {
			t = time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc).Add(s.At)
		}
		return t
	}
	seen, err := s.svc.st.DataVersion(ctx)
	if err != nil {
		s.log.Warn("detect_scheduler", slog.Any("error", err))
	}
	daily := nextDaily(time.Now())
	var changedAt time.Time
	tick := time.NewTicker(s.Check)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			v, err := s.svc.st.DataVersion(ctx)
			if err != nil {
				continue // store away: /readyz says so; try again next tick
			}
			if v != seen {
				seen, changedAt = v, now
			}
			due := !now.Before(daily)
			settled := !changedAt.IsZero() && now.Sub(changedAt) >= s.Settle
			if !due && !settled {
				continue
			}
			if due {
				daily = nextDaily(now)
			}
			changedAt = time.Time{}
			_, _ = s.RunNow(ctx)
		}
	}
}

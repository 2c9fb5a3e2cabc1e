package main

import (
	"context"
	"log/slog"
	"time"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/alerting"
	"hotspots/ingest"
)

// alertConfig is the shipped alerting configuration with the city's
// boundary (subscriptions are validated against it), its area count rules
// and the retention of alert case points (0 keeps them): serve passes its
// --retention, so alerts drop their points at the same age as incidents.
func alertConfig(city *cities.City, pointsRetention time.Duration) alerting.Config {
	cfg := alerting.DefaultConfig()
	cfg.Boundary = city.BoundaryPolygon()
	cfg.PointsRetention = pointsRetention
	for _, t := range city.Alerts.Thresholds {
		cfg.Thresholds = append(cfg.Thresholds, alerting.Threshold{
			Layer: t.Layer, Areas: t.Areas, Kind: geo.Kind(t.Kind), Window: t.Window, Min: t.Min,
		})
	}
	return cfg
}

// newAlertEngine builds the process's alerting engine over st; its sweep
// purges alert case points older than pointsRetention (0: never).
func (a *App) newAlertEngine(st geo.Store, city *cities.City, pointsRetention time.Duration) (*alerting.Engine, error) {
	return alerting.NewEngine(st, alertConfig(city, pointsRetention), a.Log)
}

// alertHook returns the ingest hook that evaluates the incident rules
// (near-repeat zones after shootings, area thresholds) on every committed
// batch. A failure is logged, not returned: the rows are stored, and the
// next detection run still sees them.
func alertHook(e *alerting.Engine, log *slog.Logger) func(context.Context, []geo.Incident) {
	return func(ctx context.Context, incs []geo.Incident) {
		start := time.Now()
		res, err := e.AfterLoad(ctx, incs)
		if err != nil {
			log.Error("alerts_after_load", slog.Int("incidents", len(incs)), slog.Any("error", err))
			return
		}
		if len(res.Alerts) > 0 {
			log.Info("alerts_after_load", slog.Int("incidents", len(incs)), slog.Int("alerts", len(res.Alerts)),
				slog.Int("deliveries", res.Enqueued), slog.Duration("took", time.Since(start)))
		}
	}
}

// ingestOptions are the options every load of this process uses: the
// city's offline geocoder and the alert hook.
func (a *App) ingestOptions(city *cities.City, e *alerting.Engine) (ingest.Options, error) {
	g, err := ingest.CityGeocoder(city)
	if err != nil {
		return ingest.Options{}, err
	}
	o := ingest.Options{Geocoder: g, Logger: a.Log}
	if e != nil {
		o.AfterUpsert = alertHook(e, a.Log)
	}
	return o, nil
}

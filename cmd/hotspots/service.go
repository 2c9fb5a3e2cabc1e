package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"hotspots/api"
	"hotspots/cities"
	"hotspots/cmd/internal/gctune"
	"hotspots/geo"
	"hotspots/geo/alerting"
	"hotspots/geo/detect"
	"hotspots/geo/notify"
	"hotspots/ingest"
	"hotspots/metrics"
	"hotspots/ops"
)

// ServiceOptions are the knobs of a running service (serve and demo).
type ServiceOptions struct {
	Listen string
	Grace  time.Duration
	// PublicURL is the address alert links point at; "" uses the bound
	// address.
	PublicURL string
	// Poll runs the city's polled sources in this process.
	Poll bool
	// Simulated lists simulated sources for the map's label.
	Simulated []string
	// SMTP enables the email channel when Addr is set.
	SMTP notify.SMTPConfig
	// OnReady is called with the map URL once the server listens.
	OnReady func(url string)
	// Detect schedules detection: daily at DetectAt (local time of day)
	// and DetectSettle after the data last changed.
	Detect                 bool
	DetectAt, DetectSettle time.Duration
	// Metrics serves Prometheus metrics at /metrics.
	Metrics bool
	// Retention, when positive, purges point-level data older than it
	// once a day (aggregates stay).
	Retention time.Duration
	// HTTP are the API's limits and cross-origin settings.
	HTTP HTTPOptions
}

// HTTPOptions are the API's hardening settings (see api.Config).
type HTTPOptions struct {
	MaxBodyBytes, MaxUploadBytes int64
	RateLimit                    float64
	RateBurst                    int
	CORSOrigins                  []string
	TrustProxy                   bool
}

// service is everything a serving process runs besides HTTP: the alerting
// engine and its sweeper, the delivery workers, the alert stream broker and
// the pollers. All of them stop when ctx ends.
type service struct {
	a       *App
	st      geo.Store
	city    *cities.City
	engine  *alerting.Engine
	pool    *notify.Pool
	broker  *notify.Broker
	ingest  ingest.Options
	metrics *metrics.Metrics // nil when off
}

func (a *App) newService(ctx context.Context, st geo.Store, city *cities.City, o ServiceOptions) (*service, error) {
	eng, err := a.newAlertEngine(st, city, o.Retention)
	if err != nil {
		return nil, err
	}
	opts, err := a.ingestOptions(city, eng)
	if err != nil {
		return nil, err
	}
	var m *metrics.Metrics
	if o.Metrics {
		m = metrics.New(nil)
		opts.Observer = m
		eng.Wrote = m.AlertsWritten
	}
	senders := map[geo.ChannelType]notify.Sender{geo.ChannelWebhook: notify.NewWebhookSender(20 * time.Second)}
	if o.SMTP.Addr != "" {
		o.SMTP.Location = city.Location
		es, err := notify.NewEmailSender(o.SMTP)
		if err != nil {
			return nil, fmt.Errorf("smtp: %w", err)
		}
		senders[geo.ChannelEmail] = es
	}
	render, err := eng.Renderer(ctx, o.PublicURL)
	if err != nil {
		return nil, err
	}
	pool, err := notify.NewPool(st, senders, render, notify.PoolConfig{}, a.Log)
	if err != nil {
		return nil, err
	}
	eng.Enqueued = pool.Wake
	if m != nil {
		if err := m.WatchPool(pool.Stats); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	return &service{a: a, st: st, city: city, engine: eng, pool: pool,
		broker: notify.NewBroker(st, 0, a.Log), ingest: opts, metrics: m}, nil
}

// run serves HTTP and runs the background jobs until ctx ends; it returns
// the first error of any of them, after all have stopped.
func (s *service) run(ctx context.Context, o ServiceOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// From here the process is a server: see gctune for why the
	// collector is set differently than for one-shot commands.
	gc := gctune.Apply()
	s.a.Log.Info("gc_settings", slog.Int("gogc", gc.Percent), slog.Int64("memory_limit_bytes", gc.Limit))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	spawn := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && !errors.Is(err, context.Canceled) {
				s.a.Log.Error("job_failed", slog.String("job", name), slog.Any("error", err))
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				mu.Unlock()
				cancel()
			}
		}()
	}
	// Build everything that can fail before any job starts.
	var poller *ingest.Poller
	if o.Poll {
		p, err := ingest.NewPoller(s.st, s.city, ingest.PollerOptions{Options: s.ingest})
		if err != nil {
			return err
		}
		poller = p
	}
	var sch *scheduler
	if o.Detect {
		r, err := s.newRunner(detect.DefaultConfig())
		if err != nil {
			return err
		}
		sch = &scheduler{svc: s, runner: r, At: o.DetectAt, Settle: o.DetectSettle,
			Check: min(15*time.Second, max(o.DetectSettle/2, 100*time.Millisecond)), log: s.a.Log}
	}

	spawn("deliveries", s.pool.Run)
	spawn("alert sweep", func(ctx context.Context) error { return s.engine.Run(ctx, time.Minute) })
	if poller != nil {
		spawn("poller", poller.Run)
	}
	if o.Retention > 0 {
		spawn("retention", func(ctx context.Context) error {
			return ops.RunRetention(ctx, s.st, o.Retention, 24*time.Hour, s.a.Log)
		})
	}
	var detector api.Detector
	if sch != nil {
		spawn("detection", sch.Run)
		detector = sch
	}
	cfg := api.Config{
		Store: s.st, City: s.city, Logger: s.a.Log, Version: Version(), Simulated: o.Simulated,
		Alerts: api.AlertsConfig{Engine: s.engine, Broker: s.broker, MapURL: o.PublicURL},
		Ingest: s.ingest, Detector: detector,
		MaxBodyBytes: o.HTTP.MaxBodyBytes, MaxUploadBytes: o.HTTP.MaxUploadBytes,
		RateLimit: o.HTTP.RateLimit, RateBurst: o.HTTP.RateBurst, CORSOrigins: o.HTTP.CORSOrigins, TrustProxy: o.HTTP.TrustProxy,
	}
	if s.metrics != nil { // a nil *Metrics in the interface would not be nil
		cfg.Metrics = s.metrics
	}
	srv := api.New(cfg)
	spawn("http", func(ctx context.Context) error {
		return srv.Serve(ctx, o.Listen, o.Grace, func(addr net.Addr) {
			url := "http://" + hostForURL(addr) + "/"
			s.a.Log.Info("serving", slog.String("url", url), slog.String("store", s.a.StoreKind()), slog.String("city", s.city.Slug))
			if o.OnReady != nil {
				o.OnReady(url)
			}
		})
	})
	wg.Wait()
	return errors.Join(errs...)
}

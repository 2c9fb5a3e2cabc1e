// Package api is the HTTP interface of hotspots: Echo v4 routes and handlers
// for health, tiles, the analyst map, alerts, indicators and ingest push.
//
// Handlers return errors; one HTTPErrorHandler turns geo error codes into
// application/problem+json responses, so every 4xx names what was wrong.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/ingest"
)

// Config is what the API needs from the process that runs it.
type Config struct {
	Store  geo.Store
	City   *cities.City
	Logger *slog.Logger
	// Version is reported by /healthz.
	Version string
	// Simulated lists the sources that are simulated; the map labels them.
	Simulated []string
	// Alerts wires alerting (engine, stream broker, map URL); zero works.
	Alerts AlertsConfig
	// Ingest are the options of pushed loads: the geocoder for rows sent
	// with an address, and the alert hook. Its Logger is replaced.
	Ingest ingest.Options
	// Metrics, when set, measures every request, tile and push and is
	// served at GET /metrics; nil: no metrics and no /metrics route.
	Metrics Metrics
}

// Server is the hotspots HTTP server.
type Server struct {
	cfg  Config
	echo *echo.Echo
	log  *slog.Logger
}

// New builds the server and registers every route.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	s := &Server{cfg: cfg, echo: e, log: cfg.Logger}
	e.HTTPErrorHandler = s.errorHandler
	if cfg.Metrics != nil {
		e.Use(s.metricsMiddleware)
	}
	s.routes()
	return s
}

// Handler returns the server as an http.Handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.echo }

// Serve listens on addr until ctx is cancelled, then shuts down gracefully:
// in-flight requests get up to grace to finish. ready, if not nil, receives
// the bound address once listening (useful with ":0").
func (s *Server) Serve(ctx context.Context, addr string, grace time.Duration, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

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
	"sync"
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
	// Detector runs detection on demand (POST /api/v1/detect); nil: the
	// route answers 503.
	Detector Detector
	// Ingest are the options of pushed loads: the geocoder for rows sent
	// with an address, and the alert hook. Its Logger is replaced.
	Ingest ingest.Options
	// Metrics, when set, measures every request, tile and push and is
	// served at GET /metrics; nil: no metrics and no /metrics route.
	Metrics Metrics
	// TileCacheBytes bounds the encoded tile cache: zero means the tile
	// service's default, below zero disables it (cmd/tilebench measures
	// uncached tiles that way).
	TileCacheBytes int

	// MaxBodyBytes bounds request bodies; a larger one is a 413. Zero
	// means DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
	// MaxUploadBytes bounds area layer uploads and pushes instead. Zero
	// means DefaultMaxUploadBytes (32 MiB).
	MaxUploadBytes int64
	// RateLimit is the sustained requests per second allowed per API key
	// (per client address for callers without a key); over it is a 429
	// with Retry-After. Zero disables rate limiting.
	RateLimit float64
	// RateBurst is how many requests may come at once above the rate.
	// Zero means twice RateLimit (a map view loads a screenful of tiles).
	RateBurst int
	// CORSOrigins lists the origins whose pages may call the API ("*" for
	// any). Empty: no CORS headers, so only the map's own origin can.
	CORSOrigins []string
	// TrustProxy takes the client address from X-Forwarded-For, for the
	// rate limit and the access log. Set it only behind a reverse proxy
	// that overwrites the header; otherwise callers could pick their own.
	TrustProxy bool
}

// Server is the hotspots HTTP server.
type Server struct {
	cfg  Config
	echo *echo.Echo
	log  *slog.Logger
	// guarded records the audience of every route registered through
	// guardedRouter, so tests can prove no route escaped the matrix.
	guarded map[string]audience
	// pushAreas is the area index pushes assign areas with (see
	// pushAreaIndex).
	pushAreas struct {
		sync.Mutex
		idx *ingest.AreaIndex
		at  time.Time
	}
}

// New builds the server and registers every route.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	s := &Server{cfg: cfg, echo: e, log: cfg.Logger, guarded: map[string]audience{}}
	e.HTTPErrorHandler = s.errorHandler
	if cfg.Metrics != nil {
		e.Use(s.metricsMiddleware)
	}
	s.useHardening()
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

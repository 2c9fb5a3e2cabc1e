package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"hotspots/ingest"
	"hotspots/tiles"
)

// Metrics is what the API reports to and serves at GET /metrics. It is an
// interface so api does not import the Prometheus client: metrics.Metrics
// implements it, and cmd passes one in Config.Metrics.
type Metrics interface {
	// Handler serves the metrics in the Prometheus text format.
	Handler() http.Handler
	// ObserveRequest records one request by route pattern and status.
	ObserveRequest(method, route string, status int, d time.Duration)
	tiles.Observer
	ingest.Observer
}

// unmatchedRoute labels requests that matched no route, so scanners
// probing random paths cannot create one series per path.
const unmatchedRoute = "unmatched"

// metricsMiddleware measures every request by its route pattern. An error
// is rendered here (c.Error) rather than by Echo afterwards, so the status
// recorded is the one the client got.
func (s *Server) metricsMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		if errors.Is(err, context.Canceled) {
			status = 499 // client closed the request, as nginx logs it
		}
		route := c.Path()
		if route == "" || (status == http.StatusNotFound && c.Request().URL.Path != route && isAnyRoute(route)) {
			route = unmatchedRoute
		}
		s.cfg.Metrics.ObserveRequest(c.Request().Method, route, status, time.Since(start))
		return nil
	}
}

// isAnyRoute reports Echo's catch-all pattern, which it reports for paths
// that matched nothing.
func isAnyRoute(route string) bool { return route == "/*" }

// metricsHandler serves the process's metrics.
func (s *Server) metricsHandler(c echo.Context) error {
	s.cfg.Metrics.Handler().ServeHTTP(c.Response(), c.Request())
	return nil
}

// pushObserver is the metrics as an ingest.Observer, or nil: a nil
// Metrics must not become a non-nil interface holding nil.
func (s *Server) pushObserver() ingest.Observer {
	if s.cfg.Metrics == nil {
		return nil
	}
	return s.cfg.Metrics
}

package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// healthzHandler answers as long as the process runs: it never touches the
// store, so an orchestrator does not restart the API because PostGIS is down.
func (s *Server) healthzHandler(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}

// readyzHandler answers 200 only when the store answers and its schema is
// current, so a load balancer stops sending traffic while the database is
// away and resumes by itself when it comes back.
func (s *Server) readyzHandler(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ready(ctx); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "not_ready", "error": err.Error()})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

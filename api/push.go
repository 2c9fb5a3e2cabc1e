package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"hotspots/geo"
	"hotspots/ingest"
)

// pushIngestHandler accepts a batch of overdose reports pushed by an agency
// (POST /api/v1/ingest/push[?source=id]) and answers with one result per
// item: accepted, or quarantined with the reason. The body is decoded
// strictly (an unknown member is a 400 naming it) and bounded in size.
// Only admins and analysts may push: pushed rows hold exact locations.
func (s *Server) pushIngestHandler(c echo.Context) error {
	p := principal(c)
	switch {
	case p.KeyID == 0 && p.Role == geo.RolePublic:
		return geo.Errorf(geo.EUNAUTHORIZED, "pushing incidents needs an API key")
	case !p.IsAdmin() && p.Role != geo.RoleAnalyst:
		return geo.Errorf(geo.EFORBIDDEN, "role %s may not push incidents", p.Role)
	}
	if s.cfg.Store == nil || s.cfg.City == nil {
		return geo.Errorf(geo.EUNAVAILABLE, "no store or city configured")
	}
	m, err := ingest.PushMapping(s.cfg.City, c.QueryParam("source"))
	if err != nil {
		return err
	}
	req := c.Request()
	body, err := ingest.ParsePush(http.MaxBytesReader(c.Response(), req.Body, ingest.PushMaxBytes))
	if err != nil {
		return err
	}
	opts := s.cfg.Ingest // geocoder and alert hook of this process
	opts.Logger, opts.Observer = s.log, s.pushObserver()
	resp, err := ingest.Push(req.Context(), s.cfg.Store, s.cfg.City, m, body, opts)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, resp)
}

package api

import (
	"context"
	"net/http"
	"time"

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
	if opts.Areas == nil {
		if opts.Areas, err = s.pushAreaIndex(req.Context()); err != nil {
			return err
		}
	}
	resp, err := ingest.Push(req.Context(), s.cfg.Store, s.cfg.City, m, body, opts)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, resp)
}

// pushAreaIndex returns the area index for pushes, loaded from the store at
// most once per areasTTL (the indicators' area cache has the same age) and
// again at once after an area layer is uploaded through this server.
// Building it reads every layer's polygons and grids them; doing that for
// each pushed batch was most of a small push's time. A layer reloaded by
// another process (hotspots migrate --reload-areas) is picked up within
// the TTL.
func (s *Server) pushAreaIndex(ctx context.Context) (*ingest.AreaIndex, error) {
	c := &s.pushAreas
	c.Lock()
	defer c.Unlock()
	if c.idx != nil && time.Since(c.at) < areasTTL {
		return c.idx, nil
	}
	idx, err := ingest.LoadAreaIndex(ctx, s.cfg.Store)
	if err != nil {
		return nil, err
	}
	c.idx, c.at = idx, time.Now()
	return idx, nil
}

// forgetPushAreas drops the cached push area index after an upload.
func (s *Server) forgetPushAreas() {
	s.pushAreas.Lock()
	s.pushAreas.idx = nil
	s.pushAreas.Unlock()
}

package api

import (
	"fmt"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/paulmach/orb/encoding/mvt"

	"hotspots/geo"
	"hotspots/geo/alerting"
	"hotspots/tiles"
)

// recordPoints appends the access log entry of a response about to carry
// point-level data. It runs before the response is written, so when the
// record cannot be kept the points are not sent either.
func (s *Server) recordPoints(c echo.Context, e geo.AccessEntry) error {
	p := principal(c)
	e.KeyID, e.KeyName, e.Role = p.KeyID, p.Name, p.Role
	e.Route = c.Request().Method + " " + c.Path()
	e.RemoteAddr = c.RealIP()
	if s.cfg.Store == nil {
		return geo.Errorf(geo.EUNAVAILABLE, "no store for the access log")
	}
	if err := s.cfg.Store.AppendAccess(c.Request().Context(), e); err != nil {
		return fmt.Errorf("access log: %w", err)
	}
	return nil
}

// recordTile logs an incidents tile: its z/x/y and box, the time window
// asked for and how many points it holds.
func (h *mapHandler) recordTile(c echo.Context, req tiles.Request, t *tiles.Tile) error {
	b := req.Tile.Bound()
	e := geo.AccessEntry{Layer: req.Layer, BBox: &b, Rows: countFeatures(t.Raw),
		Tile: fmt.Sprintf("%d/%d/%d", req.Tile.Z, req.Tile.X, req.Tile.Y), Area: req.Query.AreaLayer}
	end, err := h.tiles.DataEnd(c.Request().Context())
	if err != nil {
		return err
	}
	e.WindowFrom, e.WindowTo = req.Query.Days(end)
	return h.s.recordPoints(c, e)
}

// countFeatures counts the features of an encoded tile; 0 if it does not
// decode (it was just encoded here, so it does).
func countFeatures(raw []byte) int {
	if len(raw) == 0 {
		return 0
	}
	layers, err := mvt.Unmarshal(raw)
	if err != nil {
		return 0
	}
	n := 0
	for _, l := range layers {
		n += len(l.Features)
	}
	return n
}

// recordAlerts logs alerts about to be sent in the analyst view when they
// carry case points. Outreach and public views hold none and are not
// logged.
func (h *alertsHandler) recordAlerts(c echo.Context, alerts ...geo.Alert) error {
	if h.audit == nil || alerting.ViewFor(principal(c)) != geo.ViewAnalyst {
		return nil
	}
	e := geo.AccessEntry{Layer: "alerts"}
	var areas []string
	for _, a := range alerts {
		n := 0
		for _, cs := range a.Cases {
			if cs.Point != nil {
				n++
			}
		}
		if n == 0 {
			continue
		}
		e.Rows += n
		areas = append(areas, a.Areas...)
		if e.WindowFrom == nil || a.WindowFrom.Before(*e.WindowFrom) {
			from := a.WindowFrom
			e.WindowFrom = &from
		}
		if e.WindowTo == nil || a.WindowTo.After(*e.WindowTo) {
			to := a.WindowTo
			e.WindowTo = &to
		}
	}
	if e.Rows == 0 {
		return nil
	}
	e.Area = strings.Join(areas, ",")
	if len(e.Area) > 1000 {
		e.Area = e.Area[:1000]
	}
	return h.audit(c, e)
}

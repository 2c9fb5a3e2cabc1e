package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"hotspots/geo"
)

// Me is the caller as the API sees it: the principal of the key sent, or
// the anonymous public. It never carries the secret or its hash.
type Me struct {
	// Authenticated is true when the request carried a valid API key.
	Authenticated bool     `json:"authenticated"`
	KeyID         int64    `json:"key_id,omitempty"`
	Name          string   `json:"name"`
	Role          geo.Role `json:"role"`
	Team          string   `json:"team,omitempty"`
	Areas         []string `json:"areas,omitempty"`
	// SeesPoints: exact incident locations (the incidents layer).
	SeesPoints bool `json:"sees_points"`
	// Suppressed: small counts are hidden from this caller.
	Suppressed bool `json:"suppressed"`
	// ReceivesAlerts: the alerts list and stream answer this caller.
	ReceivesAlerts bool `json:"receives_alerts"`
}

// meHandler answers GET /api/v1/me. A wrong or revoked key never gets here:
// authentication answers 401 first, so a client can check a key with it.
func (s *Server) meHandler(c echo.Context) error {
	p := principal(c)
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Authorization, X-API-Key")
	return c.JSON(http.StatusOK, Me{
		Authenticated: p.KeyID != 0, KeyID: p.KeyID, Name: p.Name, Role: p.Role, Team: p.Team, Areas: p.Areas,
		SeesPoints: p.SeesPoints(), Suppressed: !p.SeesUnsuppressed(), ReceivesAlerts: canSeeAlerts(p) == nil,
	})
}

package api

import (
	"github.com/labstack/echo/v4"

	"hotspots/geo"
)

// principal returns the authenticated caller of the request, or
// geo.Anonymous when no authentication middleware set one: every privacy
// decision starts from the least trusted caller.
func principal(c echo.Context) geo.Principal {
	if p, ok := c.Get("principal").(geo.Principal); ok {
		return p
	}
	if p, ok := c.Get("principal").(*geo.Principal); ok && p != nil {
		return *p
	}
	return geo.Anonymous
}

package api

import (
	"github.com/labstack/echo/v4"

	"hotspots/geo"
)

// principal returns the authenticated caller of the request, or
// geo.Anonymous when no authentication middleware set one: every privacy
// decision starts from the least trusted caller.
func principal(c echo.Context) geo.Principal {
	switch p := c.Get(principalKey).(type) {
	case geo.Principal:
		return p
	case *geo.Principal:
		if p != nil {
			return *p
		}
	}
	return geo.Anonymous
}

package api

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"hotspots/geo"
)

// principalKey is the echo.Context key the authenticated caller is kept
// under; principal reads it.
const principalKey = "principal"

// authenticate resolves the API key of the request, if any, into its
// principal. A request without a key is anonymous (the public view); a key
// that is unknown or revoked is a 401, never a silent downgrade to public,
// so a client with a bad key learns it at once. The store is read on every
// request and nothing is cached: a revoked key stops working on the very
// next request, across every replica. With a limiter, failed attempts are
// rate limited per client address, so guessing keys costs the guesser.
func (s *Server) authenticate(failures *keyLimiter) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return s.authenticateNext(next, failures)
	}
}

func (s *Server) authenticateNext(next echo.HandlerFunc, failures *keyLimiter) echo.HandlerFunc {
	return func(c echo.Context) error {
		secret, err := presentedKey(c.Request())
		if err != nil {
			return challenge(c, err)
		}
		if secret == "" {
			// Nothing is stored: principal() already answers
			// geo.Anonymous for a request without one, and the public
			// map's requests are most of the traffic (a Set costs each
			// of them a map and a boxed Principal).
			return next(c)
		}
		if s.cfg.Store == nil {
			return geo.Errorf(geo.EUNAVAILABLE, "no store configured to check API keys")
		}
		k, err := s.cfg.Store.LookupKey(c.Request().Context(), geo.HashKeySecret(secret))
		if geo.ErrorCode(err) == geo.ENOTFOUND {
			if failures != nil {
				if err := tooMany(c, failures, "badkey:"+c.RealIP()); err != nil {
					return err
				}
			}
			return challenge(c, geo.Errorf(geo.EUNAUTHORIZED, "unknown or revoked API key"))
		} else if err != nil {
			return err
		}
		c.Set(principalKey, k.Principal())
		return next(c)
	}
}

// presentedKey returns the key of "Authorization: Bearer <key>" or
// "X-API-Key: <key>", "" when there is none. Two different keys, or another
// authorization scheme, are refused rather than guessed between.
func presentedKey(r *http.Request) (string, error) {
	// The headers are read under their canonical keys (what Header.Get
	// looks up), so "X-API-Key" is not canonicalised again on every request.
	var bearer string
	if h := firstHeader(r.Header, "Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return "", geo.Errorf(geo.EUNAUTHORIZED, "use Authorization: Bearer <API key>")
		}
		bearer = strings.TrimSpace(token)
	}
	header := strings.TrimSpace(firstHeader(r.Header, "X-Api-Key"))
	if bearer != "" && header != "" && bearer != header {
		return "", geo.Errorf(geo.EUNAUTHORIZED, "Authorization and X-API-Key name different keys")
	}
	if bearer != "" {
		return bearer, nil
	}
	return header, nil
}

// firstHeader is h.Get(key) for a key already in canonical form.
func firstHeader(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// challenge adds the WWW-Authenticate header a 401 must carry.
func challenge(c echo.Context, err error) error {
	c.Response().Header().Set("WWW-Authenticate", `Bearer realm="hotspots"`)
	return err
}

// audience is who may call a route at all. Handlers narrow further (an
// outreach key sees its team's areas and subscriptions only; the public
// gets suppressed counts), but a route outside the caller's audience is
// refused before its handler runs.
type audience int

const (
	// everyone includes anonymous callers: aggregated, suppressed outputs,
	// health and the map page.
	everyone audience = iota
	// staff are outreach, analysts and admins: alerts and subscriptions.
	staff
	// analysts are analysts and admins: exact points and pushing them.
	analysts
	// admins manage keys, area layers and read the access log.
	admins
)

func (a audience) String() string {
	return [...]string{"everyone", "outreach, analysts and admins", "analysts and admins", "admins"}[a]
}

// allows reports whether p is in the audience.
func (a audience) allows(p geo.Principal) bool {
	switch a {
	case everyone:
		return true
	case staff:
		return p.Role == geo.RoleOutreach || p.SeesPoints()
	case analysts:
		return p.SeesPoints()
	}
	return p.IsAdmin()
}

// deny is the refusal for p: 401 when the caller sent no key (a key might
// help), 403 when its key's role is not enough.
func deny(c echo.Context, p geo.Principal, format string, args ...any) error {
	if p.KeyID == 0 && p.Role == geo.RolePublic {
		return challenge(c, geo.Errorf(geo.EUNAUTHORIZED, "this needs an API key: "+format, args...))
	}
	return geo.Errorf(geo.EFORBIDDEN, "role %s may not: "+format, append([]any{p.Role}, args...)...)
}

// routeAudience is the access matrix: who may call each route, by method
// and route template. docs/access.md explains each row, and the matrix test
// fails when a registered route is missing here. A route registered
// without an entry is admin-only, so a forgotten entry fails closed.
var routeAudience = map[string]audience{
	"GET /healthz":                          everyone,
	"GET /readyz":                           everyone,
	"GET /metrics":                          everyone, // operational counters only; no health data
	"GET /":                                 everyone,
	"GET /static/*":                         everyone,
	"GET /map/config.json":                  everyone,
	"GET /api/v1/me":                        everyone, // who the map is signed in as
	"GET /tiles/:layer":                     everyone, // incidents layer: analysts (in the handler)
	"GET /tiles/:layer/:z/:x/:y":            everyone, // incidents layer: analysts (in the handler)
	"GET /api/v1/cells/:cell/series":        everyone, // fine cells: not public (in the handler)
	"GET /api/v1/areas/:layer/:code/series": everyone, // outreach: own areas (in the handler)
	"GET /api/v1/indicators":                everyone, // outreach: own areas
	"GET /api/v1/indicators/:layer/:code":   everyone, // outreach: own areas
	"GET /api/v1/methods":                   everyone,
	"GET /methods":                          everyone,
	"GET /api/v1/changelog":                 everyone, // load errors: analysts
	"GET /api/v1/openapi.json":              everyone,
	"GET /api/v1/areas/layers":              everyone,
	"POST /api/v1/areas/layers":             admins,
	"POST /api/v1/ingest/push":              analysts,
	"POST /api/v1/detect":                   analysts,
	"GET /api/v1/detect/runs":               analysts, // parameters, no health data, but internal

	"GET /api/v1/alerts":                       staff, // outreach: own areas, no points
	"GET /api/v1/alerts/stream":                staff,
	"GET /api/v1/alerts/:id":                   staff,
	"POST /api/v1/alerts/:id/ack":              staff,
	"POST /api/v1/alerts/:id/resolve":          staff,
	"GET /api/v1/subscriptions":                staff, // own team; admins any
	"POST /api/v1/subscriptions":               staff,
	"POST /api/v1/subscriptions/preview":       staff,
	"GET /api/v1/subscriptions/:id":            staff,
	"PUT /api/v1/subscriptions/:id":            staff,
	"DELETE /api/v1/subscriptions/:id":         staff,
	"GET /api/v1/subscriptions/:id/deliveries": staff,
	"POST /api/v1/deliveries/:id/retry":        staff,
	"GET /api/v1/admin/keys":                   admins,
	"POST /api/v1/admin/keys":                  admins,
	"DELETE /api/v1/admin/keys/:id":            admins,
	"GET /api/v1/admin/access-log":             admins,
}

// authorize returns the route middleware enforcing routeAudience for one
// route. It runs after every global middleware, on the principal the
// request ends up with.
func (s *Server) authorize(method, path string) echo.MiddlewareFunc {
	route := method + " " + path
	aud, ok := routeAudience[route]
	if !ok {
		s.log.Error("route_without_audience", slog.String("route", route))
		aud = admins
	}
	s.guarded[route] = aud
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if p := principal(c); !aud.allows(p) {
				return deny(c, p, "%s is for %s", route, aud)
			}
			return next(c)
		}
	}
}

// guardedRouter registers routes with their audience check. routes() and
// alertRoutes() register through it instead of *echo.Echo, so no route can
// be added without passing through the access matrix.
type guardedRouter struct{ s *Server }

func (g guardedRouter) add(method, path string, h echo.HandlerFunc, m []echo.MiddlewareFunc) *echo.Route {
	return g.s.echo.Add(method, path, h, append([]echo.MiddlewareFunc{g.s.authorize(method, path)}, m...)...)
}

// GET registers a GET route.
func (g guardedRouter) GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return g.add(http.MethodGet, path, h, m)
}

// POST registers a POST route.
func (g guardedRouter) POST(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return g.add(http.MethodPost, path, h, m)
}

// PUT registers a PUT route.
func (g guardedRouter) PUT(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return g.add(http.MethodPut, path, h, m)
}

// DELETE registers a DELETE route.
func (g guardedRouter) DELETE(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return g.add(http.MethodDelete, path, h, m)
}

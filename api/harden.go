package api

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"hotspots/geo"
)

// Defaults of the hardening settings in Config.
const (
	// DefaultMaxBodyBytes bounds ordinary request bodies (subscriptions,
	// keys): far above any legitimate one, far below what hurts.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultMaxUploadBytes bounds area layer uploads and pushes.
	DefaultMaxUploadBytes = MaxLayerUploadBytes
)

// apiContentSecurityPolicy goes on every response that does not set its
// own (the map page and the methods page do): JSON, tiles and errors load
// nothing and may not be framed.
const apiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"

// useHardening installs the global middleware, outermost first: browser
// headers and CORS (so even refusals carry them), the body limit, the key
// check and the per-key rate limit. Route audiences are checked per route,
// after all of these (see authorize).
func (s *Server) useHardening() {
	e := s.echo
	if s.cfg.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	} else {
		// Echo would otherwise believe X-Forwarded-For from anyone, and a
		// caller could pick the address it is rate limited and logged by.
		e.IPExtractor = echo.ExtractIPDirect()
	}
	e.Use(securityHeadersMiddleware)
	if len(s.cfg.CORSOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  s.cfg.CORSOrigins,
			AllowMethods:  []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete},
			AllowHeaders:  []string{"Authorization", "X-API-Key", "Content-Type", "Last-Event-ID", "If-None-Match"},
			ExposeHeaders: []string{"ETag", "Location", "Retry-After"},
			MaxAge:        600,
		}))
	}
	e.Use(s.limitBody)
	if s.cfg.RateLimit > 0 {
		l := newKeyLimiter(s.cfg.RateLimit, s.cfg.RateBurst)
		tl := newKeyLimiter(s.cfg.RateLimit*tileRateFactor, l.burst*tileRateFactor)
		e.Use(s.authenticate(l))
		e.Use(s.rateLimit(l, tl))
	} else {
		e.Use(s.authenticate(nil))
	}
}

// The hardening headers' values, shared by every response rather than
// allocated per request (Header.Set makes a new slice each time). A
// handler that changes one (a page's own CSP) replaces the slice with Set,
// never writes into it; Add would append to a copy (capacity 1).
var (
	hdrNosniff    = []string{"nosniff"}
	hdrNoReferrer = []string{"no-referrer"}
	hdrDeny       = []string{"DENY"}
	hdrAPICSP     = []string{apiContentSecurityPolicy}
)

// securityHeadersMiddleware sets the browser hardening headers on every
// response; pages replace the CSP with their own.
func securityHeadersMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h["X-Content-Type-Options"] = hdrNosniff
		h["Referrer-Policy"] = hdrNoReferrer
		h["X-Frame-Options"] = hdrDeny
		h["Content-Security-Policy"] = hdrAPICSP
		return next(c)
	}
}

// uploadRoutes take bodies up to MaxUploadBytes rather than MaxBodyBytes.
var uploadRoutes = map[string]bool{
	"POST /api/v1/areas/layers": true,
	"POST /api/v1/ingest/push":  true,
}

// limitBody refuses bodies over the route's limit with a 413: at once when
// Content-Length says so, else when the handler reads past it.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Body == nil || r.Body == http.NoBody {
			return next(c)
		}
		limit := s.cfg.MaxBodyBytes
		if limit <= 0 {
			limit = DefaultMaxBodyBytes
		}
		if uploadRoutes[r.Method+" "+c.Path()] {
			limit = s.cfg.MaxUploadBytes
			if limit <= 0 {
				limit = DefaultMaxUploadBytes
			}
		}
		if r.ContentLength > limit {
			return geo.Errorf(geo.ETOOLARGE, "request body of %d bytes is over the limit of %d", r.ContentLength, limit)
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
		return next(c)
	}
}

// unlimitedRoutes are never rate limited: probes and scrapers must see the
// process as it is, not a 429.
var unlimitedRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// tileRateFactor is how many times the API rate and burst a caller gets for
// tiles, in a bucket of their own. One map view asks for a screenful of
// tiles of each visible layer (hex, streets, areas, hot spots, clusters: 60
// or more requests) at every pan and zoom, and a tile is cheap (from the
// cache, or cut from an in-memory aggregate in tens of microseconds), so
// under the API's limit a quick zoom would leave holes in the map; a flood
// of tiles still meets a limit, and never eats into the API's budget.
const tileRateFactor = 10

// rateLimit refuses requests over the caller's rate with a 429 and a
// Retry-After: tiles (paths under /tiles/) against tiles, everything else
// against api. Callers are told apart by key; callers without a key by
// client address.
func (s *Server) rateLimit(api, tiles *keyLimiter) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if unlimitedRoutes[c.Path()] {
				return next(c)
			}
			who := "ip:" + c.RealIP()
			if p := principal(c); p.KeyID != 0 {
				who = "key:" + strconv.FormatInt(p.KeyID, 10)
			}
			l := api
			if strings.HasPrefix(c.Path(), "/tiles/") {
				l = tiles
			}
			if err := tooMany(c, l, who); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// tooMany takes a token from who's bucket, or returns the 429 with the
// Retry-After the caller should honour.
func tooMany(c echo.Context, l *keyLimiter, who string) error {
	wait := l.reserve(who, time.Now())
	if wait <= 0 {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return geo.Errorf(geo.ERATELIMIT, "over %g requests per second; retry in %d s", float64(l.limit), secs)
}

// keyLimiter holds one token bucket per caller. Buckets that have refilled
// completely carry no state worth keeping and are swept, so a scan from
// many addresses cannot grow the map without bound.
type keyLimiter struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

func newKeyLimiter(perSecond float64, burst int) *keyLimiter {
	if burst <= 0 {
		burst = max(1, int(math.Ceil(2*perSecond)))
	}
	return &keyLimiter{limit: rate.Limit(perSecond), burst: burst, buckets: map[string]*rate.Limiter{}}
}

// reserve takes a token for who and returns 0, or how long until one would
// be available (taking none).
func (l *keyLimiter) reserve(who string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute || len(l.buckets) > 100_000 {
		for k, b := range l.buckets {
			if b.TokensAt(now) >= float64(l.burst) {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b, ok := l.buckets[who]
	if !ok {
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[who] = b
	}
	r := b.ReserveN(now, 1)
	if !r.OK() {
		return time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

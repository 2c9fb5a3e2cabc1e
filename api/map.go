package api

import (
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/paulmach/orb/maptile"

	"hotspots/geo"
	"hotspots/tiles"
)

// contentSecurityPolicy allows only this origin. MapLibre starts its worker
// from a blob: URL and draws images through data:/blob: URLs; nothing else
// is loaded from anywhere.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"worker-src blob:; child-src blob:; connect-src 'self'; font-src 'self'; object-src 'none'; " +
	"base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// securityHeaders sets the map page's browser hardening headers.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// indexHandler serves the analyst map page at GET /.
func (h *mapHandler) indexHandler(c echo.Context) error {
	b, err := fs.ReadFile(h.static, "index.html")
	if err != nil {
		return err
	}
	securityHeaders(c.Response().Header())
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.HTMLBlob(http.StatusOK, b)
}

// staticHandler serves GET /static/* from the embedded assets.
func (h *mapHandler) staticHandler(c echo.Context) error {
	name := strings.TrimPrefix(c.Param("*"), "/")
	if name == "" || strings.HasSuffix(name, "/") || !fs.ValidPath(name) {
		return geo.Errorf(geo.ENOTFOUND, "no such asset")
	}
	if _, err := fs.Stat(h.static, name); err != nil {
		return geo.Errorf(geo.ENOTFOUND, "no such asset %q", name)
	}
	securityHeaders(c.Response().Header())
	// Asset names are not versioned, so caches revalidate after an hour.
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeFileFS(c.Response(), c.Request(), h.static, name)
	return nil
}

// MapConfig is what the map page needs to start: where to look, what can
// be filtered, and what this caller may see.
type MapConfig struct {
	City          string          `json:"city"`
	Center        [2]float64      `json:"center"`
	Zoom          float64         `json:"zoom"`
	Bounds        []float64       `json:"bounds,omitempty"`
	Families      []string        `json:"families"`
	Kinds         []string        `json:"kinds"`
	Windows       []string        `json:"windows"`
	DefaultWindow string          `json:"default_window"`
	DataEnd       string          `json:"data_end,omitempty"`
	AreaLayers    []MapAreaLayer  `json:"area_layers"`
	Simulated     []string        `json:"simulated"`
	SuppressBelow int             `json:"suppress_below"`
	Principal     MapPrincipal    `json:"principal"`
	Resolutions   []MapResolution `json:"resolutions"`
	AlertsStream  string          `json:"alerts_stream"`
}

// MapAreaLayer is one area layer the map can draw.
type MapAreaLayer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// MapPrincipal tells the page what the caller may see, so it does not offer
// layers that would answer 403.
type MapPrincipal struct {
	Role       geo.Role `json:"role"`
	SeesPoints bool     `json:"sees_points"`
	Suppressed bool     `json:"suppressed"`
}

// MapResolution documents the hex resolution served at a zoom range.
type MapResolution struct {
	MinZoom int `json:"minzoom"`
	MaxZoom int `json:"maxzoom"`
	Res     int `json:"res"`
}

// mapConfigHandler serves GET /map/config.json.
func (h *mapHandler) mapConfigHandler(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	cfg := MapConfig{
		City: "hotspots", Families: tiles.Query{}.Families(h.kinds), Windows: []string{"7d", "30d", "90d", "365d", "all"},
		DefaultWindow: "365d", Simulated: h.s.cfg.Simulated, SuppressBelow: h.suppressBelow(),
		Principal:    MapPrincipal{Role: p.Role, SeesPoints: p.SeesPoints(), Suppressed: h.mapSuppressFor(p) > 0},
		AlertsStream: "/api/v1/alerts/stream",
	}
	if cfg.Simulated == nil {
		cfg.Simulated = []string{}
	}
	for _, k := range h.kinds.Sorted() {
		cfg.Kinds = append(cfg.Kinds, string(k))
	}
	for z := 0; z <= tiles.MaxZoom; z++ {
		res := tiles.ResForZoom(maptile.Zoom(z))
		if cfg.Principal.Suppressed {
			res = min(res, tiles.PublicMaxRes)
		}
		if n := len(cfg.Resolutions); n > 0 && cfg.Resolutions[n-1].Res == res {
			cfg.Resolutions[n-1].MaxZoom = z
		} else {
			cfg.Resolutions = append(cfg.Resolutions, MapResolution{MinZoom: z, MaxZoom: z, Res: res})
		}
	}
	if city := h.s.cfg.City; city != nil {
		cfg.City, cfg.Center, cfg.Zoom = city.Name, city.Center, city.Zoom
		b := city.Bound()
		cfg.Bounds = []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
	}
	end, err := h.tiles.DataEnd(ctx)
	if err != nil {
		return err
	}
	if !end.IsZero() {
		cfg.DataEnd = end.Format(time.DateOnly)
	}
	layers, err := h.s.cfg.Store.Layers(ctx)
	if err != nil {
		return err
	}
	cfg.AreaLayers = []MapAreaLayer{}
	for _, l := range layers {
		cfg.AreaLayers = append(cfg.AreaLayers, MapAreaLayer{ID: l.ID, Name: l.Name})
	}
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.JSON(http.StatusOK, cfg)
}

// Series is a trend of counts for a popup's sparkline.
type Series struct {
	Cell  string `json:"cell,omitempty"`
	Layer string `json:"layer,omitempty"`
	Area  string `json:"area,omitempty"`
	From  string `json:"from,omitempty"` // first day
	To    string `json:"to,omitempty"`   // last day, inclusive
	Step  string `json:"step"`           // "day" or "week" (weeks start on Monday)
	// Total is nil when suppressed.
	Total      *int          `json:"total"`
	Suppressed bool          `json:"suppressed,omitempty"`
	Series     []SeriesPoint `json:"series"`
}

// SeriesPoint is one bin; Count is nil when suppressed.
type SeriesPoint struct {
	Start      string `json:"start"`
	Count      *int   `json:"count"`
	Suppressed bool   `json:"suppressed,omitempty"`
}

// cellSeriesHandler serves GET /api/v1/cells/{cell}/series.
func (h *mapHandler) cellSeriesHandler(c echo.Context) error {
	cell, err := geo.ParseCell(c.Param("cell"))
	if err != nil {
		return geo.FieldErrorf("cell", "%s", geo.ErrorMessage(err))
	}
	q, err := tiles.ParseQuery(c.QueryParams(), h.kinds)
	if err != nil {
		return err
	}
	p := principal(c)
	if !p.SeesUnsuppressed() && cell.Res() > tiles.PublicMaxRes {
		return geo.Errorf(geo.EFORBIDDEN, "series of cells finer than resolution %d are for analysts", tiles.PublicMaxRes)
	}
	ctx := c.Request().Context()
	if err := h.cellInScope(ctx, p, cell); err != nil {
		return err
	}
	end, err := h.tiles.DataEnd(ctx)
	if err != nil {
		return err
	}
	from, to := q.Days(end)
	rows, err := h.s.cfg.Store.CellDayCounts(ctx, geo.CellCountFilter{Res: cell.Res(), Kinds: q.Kinds, From: from, To: to, Cells: []geo.Cell{cell}})
	if err != nil {
		return err
	}
	days := map[time.Time]int{}
	for _, r := range rows {
		if r.Cell == cell {
			days[r.Day] += r.Count
		}
	}
	s, err := binSeries(days, from, to, end, c.QueryParam("step"), h.suppressFor(p))
	if err != nil {
		return err
	}
	s.Cell = cell.String()
	return c.JSON(http.StatusOK, s)
}

// areaSeriesHandler serves GET /api/v1/areas/{layer}/{code}/series.
func (h *mapHandler) areaSeriesHandler(c echo.Context) error {
	layer, code := c.Param("layer"), c.Param("code")
	q, err := tiles.ParseQuery(c.QueryParams(), h.kinds)
	if err != nil {
		return err
	}
	p := principal(c)
	if !p.CoversArea(layer + ":" + code) {
		return geo.Errorf(geo.EFORBIDDEN, "area %s:%s is outside your team's areas", layer, code)
	}
	ctx := c.Request().Context()
	areas, err := h.s.cfg.Store.Areas(ctx, layer)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(areas, func(a geo.Area) bool { return a.Code == code }) {
		return geo.Errorf(geo.ENOTFOUND, "no area %q in layer %q", code, layer)
	}
	end, err := h.tiles.DataEnd(ctx)
	if err != nil {
		return err
	}
	from, to := q.Days(end)
	rows, err := h.s.cfg.Store.AreaDayCounts(ctx, geo.AreaCountFilter{Layer: layer, Kinds: q.Kinds, From: from, To: to})
	if err != nil {
		return err
	}
	days := map[time.Time]int{}
	for _, r := range rows {
		if r.Area == code {
			days[r.Day] += r.Count
		}
	}
	s, err := binSeries(days, from, to, end, c.QueryParam("step"), h.suppressFor(p))
	if err != nil {
		return err
	}
	s.Layer, s.Area = layer, code
	return c.JSON(http.StatusOK, s)
}

// binSeries bins daily counts into a gap-free series from from (or the
// first day with data) to the day before to (or the data end). The step is
// "day" or "week"; by default weeks once the span passes 120 days, so a
// sparkline stays readable. Small bins are suppressed for the public, and
// then so is the total, which would otherwise give their sum back.
func binSeries(days map[time.Time]int, from, to *time.Time, dataEnd time.Time, step string, below int) (Series, error) {
	var first, last time.Time
	if from != nil {
		first = *from
	}
	if to != nil {
		last = to.AddDate(0, 0, -1)
	} else {
		last = dataEnd
	}
	for d := range days {
		if first.IsZero() || d.Before(first) {
			first = d
		}
	}
	s := Series{Step: step, Series: []SeriesPoint{}}
	span := 0
	if !first.IsZero() && !last.IsZero() {
		span = int(last.Sub(first).Hours()/24) + 1
	}
	switch step {
	case "":
		s.Step = "day"
		if span > 120 {
			s.Step = "week"
		}
	case "day":
		if span > 3700 {
			return s, geo.FieldErrorf("step", "daily series are limited to ten years; use step=week")
		}
	case "week":
	default:
		return s, geo.FieldErrorf("step", "step %q must be day or week", step)
	}
	total := 0
	for _, n := range days {
		total += n
	}
	if span <= 0 {
		s.Total = &total
		return s, nil
	}
	s.From, s.To = first.Format(time.DateOnly), last.Format(time.DateOnly)
	start := first
	if s.Step == "week" {
		start = first.AddDate(0, 0, -((int(first.Weekday()) + 6) % 7)) // back to Monday
	}
	hidden := false
	for b := start; !b.After(last); {
		next := b.AddDate(0, 0, 1)
		if s.Step == "week" {
			next = b.AddDate(0, 0, 7)
		}
		n := 0
		for d := b; d.Before(next); d = d.AddDate(0, 0, 1) {
			n += days[d]
		}
		pt := SeriesPoint{Start: b.Format(time.DateOnly)}
		if tiles.Suppressed(n, below) {
			pt.Suppressed, hidden = true, true
		} else {
			pt.Count = &n
		}
		s.Series = append(s.Series, pt)
		b = next
	}
	if hidden || tiles.Suppressed(total, below) {
		s.Suppressed = true
	} else {
		s.Total = &total
	}
	return s, nil
}

package api

import (
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"hotspots/geo"
	"hotspots/tiles"
	"hotspots/web"
)

// mapHandler serves the vector tiles, the analyst map and the map's small
// JSON endpoints. It holds the tile service, whose caches live as long as
// the server.
type mapHandler struct {
	s      *Server
	tiles  *tiles.Service
	kinds  geo.KindSet
	static fs.FS
}

// newMapHandler builds the tile service from the server's store and city.
func (s *Server) newMapHandler() *mapHandler {
	// BackgroundRebuild: while a load moves the data version every batch,
	// tiles keep coming from the last built aggregates instead of waiting
	// for each rebuild (RELIABILITY.md, the load under ingest).
	cfg := tiles.Config{Store: s.cfg.Store, Logger: s.log, Kinds: geo.DefaultKinds(), CacheBytes: s.cfg.TileCacheBytes,
		BackgroundRebuild: true}
	if s.cfg.Metrics != nil {
		cfg.Observer = s.cfg.Metrics
	}
	if c := s.cfg.City; c != nil {
		cfg.Location = c.Location
		cfg.Boundary = c.BoundaryPolygon()
		dir := c.Streets
		if dir == "" {
			dir = "streets"
		}
		cityFS := c.FS
		cfg.Streets = func() ([]tiles.Street, error) {
			if cityFS == nil {
				return nil, nil
			}
			st, err := tiles.LoadStreets(cityFS, path.Join(dir, "centerlines.csv.gz"))
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil // a city without street data gets an outline-only basemap
			}
			return st, err
		}
	}
	return &mapHandler{s: s, tiles: tiles.NewService(cfg), kinds: cfg.Kinds, static: web.Static()}
}

// suppressBelow is the public suppression threshold of the city.
func (h *mapHandler) suppressBelow() int {
	if h.s.cfg.City != nil && h.s.cfg.City.Privacy.SuppressBelow > 0 {
		return h.s.cfg.City.Privacy.SuppressBelow
	}
	return 11
}

// suppressFor is the threshold applied to a caller's figures of an area or
// cell it may see (the handlers check its scope first): none for those
// inside the data agreement, the city's for everyone else.
func (h *mapHandler) suppressFor(p geo.Principal) int {
	if p.SeesUnsuppressed() {
		return 0
	}
	return h.suppressBelow()
}

// mapSuppressFor is the threshold of the city-wide map tiles. An outreach
// key limited to some areas sees the rest of the city as the public does,
// since it is outside what the team was granted; its own areas come
// unsuppressed (see mapGrant), as through series, indicators and alerts.
func (h *mapHandler) mapSuppressFor(p geo.Principal) int {
	if p.Role == geo.RoleOutreach && len(p.Areas) > 0 {
		return h.suppressBelow()
	}
	return h.suppressFor(p)
}

// tileRequest parses and authorises a tile request. z/x/y are bounded
// before anything else is looked at.
func (h *mapHandler) tileRequest(c echo.Context) (tiles.Request, error) {
	ys, ok := strings.CutSuffix(c.Param("y"), ".mvt")
	if !ok {
		return tiles.Request{}, geo.Errorf(geo.ENOTFOUND, "tiles are served as {z}/{x}/{y}.mvt")
	}
	t, err := tiles.ParseTile(c.Param("z"), c.Param("x"), ys)
	if err != nil {
		return tiles.Request{}, err
	}
	layer := c.Param("layer")
	if !tiles.KnownLayer(layer) {
		return tiles.Request{}, geo.Errorf(geo.ENOTFOUND, "unknown tile layer %q (%s)", layer, strings.Join(tiles.LayerNames, ", "))
	}
	q, err := tiles.ParseRawQuery(c.Request().URL.RawQuery, h.kinds)
	if err != nil {
		return tiles.Request{}, err
	}
	p := principal(c)
	if layer == tiles.LayerIncidents && !p.SeesPoints() {
		return tiles.Request{}, deny(c, p, "see exact incident locations (analysts only)")
	}
	return tiles.Request{Layer: layer, Tile: t, Query: q, SuppressBelow: h.mapSuppressFor(p), Points: p.SeesPoints(),
		Grant: mapGrant(p)}, nil
}

// mapGrant is the areas shown unsuppressed on the map of a caller who
// otherwise gets the public view: an area-limited outreach key's own.
func mapGrant(p geo.Principal) []string {
	if p.Role != geo.RoleOutreach || len(p.Areas) == 0 {
		return nil
	}
	g := slices.Clone(p.Areas)
	slices.Sort(g) // one cache entry and ETag per grant, whatever its order
	return slices.Compact(g)
}

// getTileHandler serves GET /tiles/{layer}/{z}/{x}/{y}.mvt.
func (h *mapHandler) getTileHandler(c echo.Context) error {
	req, err := h.tileRequest(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	etag, err := h.tiles.ETag(ctx, req)
	if err != nil {
		return err
	}
	// Validators and caching go on 200 and 304 only, never on an error.
	// The values are assigned under their canonical keys (what Header.Set
	// does), the constant ones as shared slices: see hdrNosniff.
	setHeaders := func() {
		hd := c.Response().Header()
		hd["Etag"] = []string{etag}
		hd["Vary"] = hdrVaryTile
		if req.SuppressBelow > 1 {
			hd["Cache-Control"] = hdrTilePublic
		} else {
			hd["Cache-Control"] = hdrTilePrivate
		}
	}
	if etagMatch(c.Request().Header.Get("If-None-Match"), etag) {
		setHeaders()
		return c.NoContent(http.StatusNotModified)
	}
	t, err := h.tiles.TileTagged(ctx, req, etag)
	if err != nil {
		return err
	}
	if req.Layer == tiles.LayerIncidents {
		if err := h.recordTile(c, req, t); err != nil {
			return err
		}
	}
	setHeaders()
	body := t.Raw
	hd := c.Response().Header()
	if len(t.Gzip) > 0 && acceptsGzip(c.Request()) {
		hd["Content-Encoding"] = hdrGzip
		body = t.Gzip
	}
	// What c.Blob does, with the Content-Type shared. net/http adds the
	// length of a body that fits its 2 KB buffer; a larger one would go
	// out chunked, so it gets its length here (not on every tile: a ninth
	// header grows the header map out of its first group).
	hd["Content-Type"] = hdrMVT
	if len(body) > 2048 {
		hd["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	c.Response().WriteHeader(http.StatusOK)
	_, err = c.Response().Write(body)
	return err
}

// The tile responses' constant header values, shared (see hdrNosniff).
var (
	hdrVaryTile    = []string{"Accept-Encoding, Authorization"}
	hdrTilePublic  = []string{"public, max-age=30"}
	hdrTilePrivate = []string{"private, max-age=30"}
	hdrGzip        = []string{"gzip"}
	hdrMVT         = []string{"application/vnd.mapbox-vector-tile"}
)

// etagMatch implements If-None-Match's weak comparison.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether the client accepts gzip: listed (or "*")
// with a quality above zero.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.TrimSpace(name)
		if !strings.EqualFold(name, "gzip") && name != "*" {
			continue
		}
		if qv, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			if f, err := strconv.ParseFloat(qv, 64); err == nil && f <= 0 {
				return false
			}
		}
		return true
	}
	return false
}

// TileJSON is the TileJSON 3.0 description of one layer.
type TileJSON struct {
	TileJSON     string        `json:"tilejson"`
	Name         string        `json:"name"`
	Description  string        `json:"description,omitempty"`
	Tiles        []string      `json:"tiles"`
	MinZoom      int           `json:"minzoom"`
	MaxZoom      int           `json:"maxzoom"`
	Bounds       []float64     `json:"bounds,omitempty"`
	Center       []float64     `json:"center,omitempty"`
	VectorLayers []VectorLayer `json:"vector_layers"`
}

// VectorLayer describes one MVT layer of a tile and its fields.
type VectorLayer struct {
	ID     string            `json:"id"`
	Fields map[string]string `json:"fields"`
}

// layerDocs describes each tile layer's MVT layers and fields.
var layerDocs = map[string]struct {
	desc   string
	layers []VectorLayer
}{
	tiles.LayerHex: {"H3 hexagons with incident counts per kind family; resolution by zoom: z0-10 res 7, z11-12 res 8, z13-14 res 9, z15 res 10, z16+ res 11 (public views at most res 9)",
		[]VectorLayer{{ID: "hex", Fields: map[string]string{"cell": "H3 cell id (hex string)", "n_total": "all selected kinds", "n_<family>": "count of one kind family", "suppressed": "true when small counts are hidden"}}}},
	tiles.LayerHotspots: {"latest Gi* hot/cold spot bins and emerging hot spot categories",
		[]VectorLayer{{ID: "hotspots", Fields: map[string]string{"cell": "H3 cell id", "detector": "gistar or ehsa", "category": "bin or category", "z": "z-score", "p": "p-value"}}}},
	tiles.LayerClusters: {"latest space-time scan clusters as the union of their cells",
		[]VectorLayer{{ID: "clusters", Fields: map[string]string{"observed": "incidents in the cluster", "expected": "expected incidents", "o_e": "observed/expected", "p": "p-value", "ri": "recurrence interval (days)", "start": "first day", "end": "last day"}}}},
	tiles.LayerAreas: {"area polygons of area_layer with counts for the window",
		[]VectorLayer{{ID: "areas", Fields: map[string]string{"layer": "area layer", "code": "area code", "name": "area name", "n_total": "all selected kinds", "suppressed": "true when small counts are hidden"}}}},
	tiles.LayerIncidents: {"exact incident points (analysts only)",
		[]VectorLayer{{ID: "incidents", Fields: map[string]string{"id": "incident id", "kind": "kind", "day": "days since 1970-01-01", "precision": "location precision when not exact"}}}},
	tiles.LayerStreets: {"offline basemap from the city's street centerlines",
		[]VectorLayer{{ID: "streets", Fields: map[string]string{"class": "major, minor or alley"}}, {ID: "city", Fields: map[string]string{}}}},
}

// tileJSONHandler serves GET /tiles/{layer}.json.
func (h *mapHandler) tileJSONHandler(c echo.Context) error {
	layer, ok := strings.CutSuffix(c.Param("layer"), ".json")
	if !ok || !tiles.KnownLayer(layer) {
		return geo.Errorf(geo.ENOTFOUND, "no tile layer %q", c.Param("layer"))
	}
	if _, err := tiles.ParseQuery(c.QueryParams(), h.kinds); err != nil {
		return err
	}
	if p := principal(c); layer == tiles.LayerIncidents && !p.SeesPoints() {
		return deny(c, p, "see exact incident locations (analysts only)")
	}
	// Pass on only the parameters that were understood and validated.
	pass := url.Values{}
	for _, k := range []string{"kinds", "from", "to", "window", "area_layer"} {
		if v := c.QueryParam(k); v != "" {
			pass.Set(k, v)
		}
	}
	u := c.Scheme() + "://" + c.Request().Host + "/tiles/" + layer + "/{z}/{x}/{y}.mvt"
	if len(pass) > 0 {
		u += "?" + pass.Encode()
	}
	doc := layerDocs[layer]
	tj := TileJSON{TileJSON: "3.0.0", Name: layer, Description: doc.desc, Tiles: []string{u},
		MinZoom: 0, MaxZoom: tiles.MaxZoom, VectorLayers: doc.layers}
	if c := h.s.cfg.City; c != nil {
		b := c.Bound()
		tj.Bounds = []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
		tj.Center = []float64{c.Center[0], c.Center[1], c.Zoom}
	}
	return c.JSON(http.StatusOK, tj)
}

package api

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"hotspots/geo"
	"hotspots/ingest/areas"
)

// MaxLayerUploadBytes bounds an uploaded layer's GeoJSON.
const MaxLayerUploadBytes = 32 << 20

// LayerUploadResponse is the body of a successful layer upload.
type LayerUploadResponse struct {
	Layer layerJSON `json:"layer"`
	Areas int       `json:"areas"`
	// Note says what the upload does not do by itself.
	Note string `json:"note"`
}

// uploadLayerHandler serves POST /api/v1/areas/layers?id=&name=[&source=]
// [&replace=true]: an admin adds a custom area layer (outreach zones, a
// study area) as a GeoJSON FeatureCollection of polygons with a "name"
// property each. Invalid polygons are refused with a 400 naming the
// feature, ring and point; an existing layer is only replaced when asked.
func (h *indicatorHandler) uploadLayerHandler(c echo.Context) error {
	p := principal(c)
	if p.KeyID == 0 && !p.IsAdmin() {
		return geo.Errorf(geo.EUNAUTHORIZED, "uploading area layers needs an admin API key")
	}
	if !p.IsAdmin() {
		return geo.Errorf(geo.EFORBIDDEN, "only admins may upload area layers")
	}
	v := c.QueryParams()
	for name := range v {
		if !slices.Contains([]string{"id", "name", "source", "replace"}, name) {
			return invalid(name, "unknown parameter %q (allowed: id, name, source, replace)", name)
		}
	}
	replace := v.Get("replace")
	if replace != "" && replace != "true" && replace != "false" {
		return invalid("replace", "replace must be true or false")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, MaxLayerUploadBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return geo.Errorf(geo.ETOOLARGE, "layer upload over %d bytes", MaxLayerUploadBytes)
	} else if err != nil {
		return err
	}
	l, err := areas.ParseUpload(h.s.cfg.City, areas.Upload{ID: v.Get("id"), Name: v.Get("name"), Source: v.Get("source"), GeoJSON: body})
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	existing, err := h.s.cfg.Store.Layers(ctx)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(existing, func(x geo.AreaLayer) bool { return x.ID == l.ID }) && replace != "true" {
		return geo.Errorf(geo.ECONFLICT, "layer %q exists; add replace=true to replace it", l.ID)
	}
	if err := h.s.cfg.Store.PutLayer(ctx, l.AreaLayer, l.Areas); err != nil {
		return err
	}
	h.forgetAreas()
	h.s.forgetPushAreas()
	h.s.log.Info("area_layer_uploaded", slog.String("layer", l.ID), slog.Int("areas", len(l.Areas)), slog.Int64("key_id", p.KeyID))
	return c.JSON(http.StatusCreated, LayerUploadResponse{Layer: toLayerJSON(l.AreaLayer), Areas: len(l.Areas),
		Note: "incidents get areas of this layer when they are loaded or re-processed after the upload"})
}

// listLayersHandler serves GET /api/v1/areas/layers: the layers indicators
// can be asked for.
func (h *indicatorHandler) listLayersHandler(c echo.Context) error {
	layers, err := h.s.cfg.Store.Layers(c.Request().Context())
	if err != nil {
		return err
	}
	out := []layerJSON{}
	for _, l := range layers {
		out = append(out, toLayerJSON(l))
	}
	return c.JSON(http.StatusOK, map[string]any{"layers": out})
}

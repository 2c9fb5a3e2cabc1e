package api

// routes registers every route of the service in one readable list. Each
// goes through guardedRouter, which checks the caller against the route's
// row of the access matrix (routeAudience in auth.go).
func (s *Server) routes() {
	e := guardedRouter{s}
	e.GET("/healthz", s.healthzHandler)
	e.GET("/readyz", s.readyzHandler)
	if s.cfg.Metrics != nil {
		e.GET("/metrics", s.metricsHandler)
	}

	// Analyst map, vector tiles and the map's popups.
	m := s.newMapHandler()
	e.GET("/", m.indexHandler)
	e.GET("/static/*", m.staticHandler)
	e.GET("/map/config.json", m.mapConfigHandler)
	e.GET("/api/v1/me", s.meHandler) // who the map is signed in as (api/me.go)
	e.GET("/tiles/:layer", m.tileJSONHandler)
	e.GET("/tiles/:layer/:z/:x/:y", m.getTileHandler)
	e.GET("/api/v1/cells/:cell/series", m.cellSeriesHandler)
	e.GET("/api/v1/areas/:layer/:code/series", m.areaSeriesHandler)

	// Neighborhood Stat indicators, methods, data changelog, area layers.
	ind := s.newIndicatorHandler()
	e.GET("/api/v1/indicators", ind.indicatorsHandler)
	e.GET("/api/v1/indicators/:layer/:code", ind.areaIndicatorsHandler)
	e.GET("/api/v1/methods", ind.methodsHandler)
	e.GET("/methods", ind.methodsPageHandler)
	e.GET("/api/v1/changelog", ind.changelogHandler)
	e.GET("/api/v1/openapi.json", ind.openapiHandler)
	e.GET("/api/v1/areas/layers", ind.listLayersHandler)
	e.POST("/api/v1/areas/layers", ind.uploadLayerHandler)

	// Ingest push API for agencies reporting as incidents happen.
	e.POST("/api/v1/ingest/push", s.pushIngestHandler)

	// Detection on demand, and the record of runs behind every finding.
	e.POST("/api/v1/detect", s.detectHandler)
	e.GET("/api/v1/detect/runs", s.runsHandler)

	// Alerts for outreach teams, their live stream, and subscriptions.
	s.alertRoutes()

	// Administration: API keys and the access log of point-level reads.
	e.POST("/api/v1/admin/keys", s.createKeyHandler)
	e.GET("/api/v1/admin/keys", s.listKeysHandler)
	e.DELETE("/api/v1/admin/keys/:id", s.revokeKeyHandler)
	e.GET("/api/v1/admin/access-log", s.listAccessHandler)
}

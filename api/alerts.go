package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"hotspots/geo"
	"hotspots/geo/alerting"
	"hotspots/geo/notify"
)

// AlertsConfig wires alerting into the API. Its zero value works: the
// engine (for previews and validation) and the stream broker are built from
// Config.Store and Config.City.
type AlertsConfig struct {
	// Engine is the process's alerting engine, shared with ingest so both
	// see the same areas.
	Engine *alerting.Engine
	// Broker feeds GET /api/v1/alerts/stream.
	Broker *notify.Broker
	// MapURL is the public address of the map, for alert links.
	MapURL string
	// Heartbeat is how often an idle stream sends a comment so proxies keep
	// it open (15 s).
	Heartbeat time.Duration
}

// alertsHandler serves alerts, their stream and subscriptions.
type alertsHandler struct {
	store     geo.Store
	engine    *alerting.Engine
	broker    *notify.Broker
	mapURL    string
	heartbeat time.Duration
	log       *slog.Logger
	// audit appends to the access log (Server.recordPoints).
	audit func(echo.Context, geo.AccessEntry) error
}

// newAlertsHandler fills in what the AlertsConfig left out.
func (s *Server) newAlertsHandler() (*alertsHandler, error) {
	ac := s.cfg.Alerts
	h := &alertsHandler{store: s.cfg.Store, engine: ac.Engine, broker: ac.Broker, mapURL: ac.MapURL,
		heartbeat: ac.Heartbeat, log: s.log, audit: s.recordPoints}
	if h.heartbeat <= 0 {
		h.heartbeat = 15 * time.Second
	}
	if h.store == nil {
		return h, nil
	}
	if h.engine == nil {
		cfg := alerting.DefaultConfig()
		if s.cfg.City != nil {
			cfg.Boundary = s.cfg.City.BoundaryPolygon()
		}
		e, err := alerting.NewEngine(s.cfg.Store, cfg, s.log)
		if err != nil {
			return nil, fmt.Errorf("api: alerting engine: %w", err)
		}
		h.engine = e
	}
	if h.broker == nil {
		h.broker = notify.NewBroker(s.cfg.Store, time.Second, s.log)
	}
	return h, nil
}

// canSeeAlerts rejects callers without a role that receives alerts.
func canSeeAlerts(p geo.Principal) error {
	switch {
	case p.KeyID == 0 && p.Role == geo.RolePublic:
		return geo.Errorf(geo.EUNAUTHORIZED, "alerts need an API key")
	case p.Role != geo.RoleOutreach && !p.SeesPoints():
		return geo.Errorf(geo.EFORBIDDEN, "role %s does not receive alerts", p.Role)
	}
	return nil
}

// visible reports whether an alert touches the principal's areas.
func visible(p geo.Principal, a geo.Alert) bool {
	if p.Role != geo.RoleOutreach || len(p.Areas) == 0 {
		return true
	}
	for _, id := range a.Areas {
		if p.CoversArea(id) {
			return true
		}
	}
	return false
}

func (h *alertsHandler) ready() error {
	if h.store == nil {
		return geo.Errorf(geo.EUNAVAILABLE, "no store configured")
	}
	return nil
}

func (h *alertsHandler) renderer(ctx context.Context) (alerting.Renderer, error) {
	return h.engine.Renderer(ctx, h.mapURL)
}

// alertFilter parses the list query: status (comma list), rule, kind
// (comma list), since (RFC 3339), limit (1..500, default 100), offset.
func alertFilter(c echo.Context) (geo.AlertFilter, error) {
	f := geo.AlertFilter{Limit: 100}
	if v := c.QueryParam("status"); v != "" {
		for _, s := range strings.Split(v, ",") {
			st, err := geo.ParseAlertStatus(strings.TrimSpace(s))
			if err != nil {
				return f, invalid("status", "%s", geo.ErrorMessage(err))
			}
			f.Status = append(f.Status, st)
		}
	}
	if v := c.QueryParam("rule"); v != "" {
		r, err := geo.ParseAlertRule(v)
		if err != nil {
			return f, invalid("rule", "%s", geo.ErrorMessage(err))
		}
		f.Rule = r
	}
	if v := c.QueryParam("kind"); v != "" {
		kinds, err := geo.DefaultKinds().ParseKinds(v)
		if err != nil {
			return f, invalid("kind", "%s", geo.ErrorMessage(err))
		}
		f.Kinds = kinds
	}
	if v := c.QueryParam("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return f, invalid("since", "want an RFC 3339 time such as 2026-05-01T00:00:00Z")
		}
		f.Since = &t
	}
	var err error
	if f.Limit, err = intParam(c, "limit", 100, 1, 500); err != nil {
		return f, err
	}
	if f.Offset, err = intParam(c, "offset", 0, 0, 1_000_000); err != nil {
		return f, err
	}
	return f, nil
}

func intParam(c echo.Context, name string, def, lo, hi int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, invalid(name, "want an integer from %d to %d", lo, hi)
	}
	return n, nil
}

func idParam(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, invalid("id", "want a positive integer id")
	}
	return id, nil
}

// listAlertsHandler answers GET /api/v1/alerts with the alerts the caller
// may see, most recently updated first, in the caller's view.
func (h *alertsHandler) listAlertsHandler(c echo.Context) error {
	p := principal(c)
	if err := canSeeAlerts(p); err != nil {
		return err
	}
	if err := h.ready(); err != nil {
		return err
	}
	f, err := alertFilter(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	r, err := h.renderer(ctx)
	if err != nil {
		return err
	}
	want := f.Limit
	out := []any{}
	var sent []geo.Alert
	// Outreach scoping filters after the query, so read on until the page
	// is full or the alerts run out.
	for len(out) < want {
		alerts, err := h.store.FindAlerts(ctx, f)
		if err != nil {
			return err
		}
		for _, a := range alerts {
			if visible(p, a) && len(out) < want {
				out = append(out, r.Render(a, alerting.ViewFor(p)))
				sent = append(sent, a)
			}
		}
		if len(alerts) < f.Limit {
			break
		}
		f.Offset += f.Limit
	}
	if err := h.recordAlerts(c, sent...); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"alerts": out})
}

// loadVisible returns the alert named by :id if the caller may see it; an
// alert outside an outreach team's areas is "not found", not "forbidden",
// so its existence is not disclosed.
func (h *alertsHandler) loadVisible(c echo.Context) (geo.Alert, error) {
	p := principal(c)
	if err := canSeeAlerts(p); err != nil {
		return geo.Alert{}, err
	}
	if err := h.ready(); err != nil {
		return geo.Alert{}, err
	}
	id, err := idParam(c)
	if err != nil {
		return geo.Alert{}, err
	}
	a, err := h.store.FindAlertByID(c.Request().Context(), id)
	if err != nil {
		return geo.Alert{}, err
	}
	if !visible(p, a) {
		return geo.Alert{}, geo.Errorf(geo.ENOTFOUND, "no alert %d", id)
	}
	return a, nil
}

func (h *alertsHandler) renderOne(c echo.Context, a geo.Alert) error {
	r, err := h.renderer(c.Request().Context())
	if err != nil {
		return err
	}
	if err := h.recordAlerts(c, a); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r.Render(a, alerting.ViewFor(principal(c))))
}

// getAlertHandler answers GET /api/v1/alerts/:id.
func (h *alertsHandler) getAlertHandler(c echo.Context) error {
	a, err := h.loadVisible(c)
	if err != nil {
		return err
	}
	return h.renderOne(c, a)
}

// actor names the caller in an alert's history.
func actor(p geo.Principal) string {
	name := p.Name
	if name == "" {
		name = fmt.Sprintf("key %d", p.KeyID)
	}
	if p.Team != "" {
		name += " (" + p.Team + ")"
	}
	return name
}

// ackAlertHandler answers POST /api/v1/alerts/:id/ack: the team has taken
// the alert on. It stays live and is re-sent if it gains cases.
func (h *alertsHandler) ackAlertHandler(c echo.Context) error {
	a, err := h.loadVisible(c)
	if err != nil {
		return err
	}
	a, err = h.store.AckAlert(c.Request().Context(), a.ID, actor(principal(c)))
	if err != nil {
		return err
	}
	return h.renderOne(c, a)
}

// resolveAlertHandler answers POST /api/v1/alerts/:id/resolve.
func (h *alertsHandler) resolveAlertHandler(c echo.Context) error {
	a, err := h.loadVisible(c)
	if err != nil {
		return err
	}
	a, err = h.store.ResolveAlert(c.Request().Context(), a.ID, actor(principal(c)))
	if err != nil {
		return err
	}
	return h.renderOne(c, a)
}

// streamEvent is the data of one server-sent event.
type streamEvent struct {
	Type  string    `json:"type"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor,omitempty"`
	Alert any       `json:"alert"`
}

// streamBacklog caps how many missed events a reconnecting stream replays.
const streamBacklog = 1000

// streamAlertsHandler answers GET /api/v1/alerts/stream with server-sent
// events: every change of an alert the caller may see (raised, updated,
// reopened, acknowledged, resolved), in the caller's view. ?subscription=id
// narrows it to one of the caller's subscriptions. A client that reconnects
// with Last-Event-ID (browsers do this by themselves) gets what it missed.
func (h *alertsHandler) streamAlertsHandler(c echo.Context) error {
	p := principal(c)
	if err := canSeeAlerts(p); err != nil {
		return err
	}
	if err := h.ready(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	filter := func(geo.Alert) bool { return true }
	if v := c.QueryParam("subscription"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return invalid("subscription", "want a subscription id")
		}
		sub, err := h.store.FindSubscriptionByID(ctx, id)
		if err != nil {
			return err
		}
		if err := canManage(p, sub.Team); err != nil {
			return err
		}
		m, err := h.engine.Matcher(ctx)
		if err != nil {
			return err
		}
		sub.Active = true // an SSE client asked for it: stream even if paused
		filter = func(a geo.Alert) bool { return m.Match(sub, a) }
	}
	var last int64
	if v := c.Request().Header.Get("Last-Event-ID"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return invalid("Last-Event-ID", "want the numeric id of the last event received")
		}
		last = n
	}
	r, err := h.renderer(ctx)
	if err != nil {
		return err
	}
	// Subscribe before reading the backlog so nothing falls in between;
	// events already replayed are skipped by id.
	live, err := h.broker.Subscribe(ctx)
	if err != nil {
		return err
	}
	var backlog []geo.AlertEvent
	if last > 0 {
		if backlog, err = h.store.AlertEvents(ctx, last, streamBacklog); err != nil {
			return err
		}
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 3000\n\n"); err != nil {
		return nil
	}
	w.Flush()
	send := func(ev geo.AlertEvent) error {
		if ev.ID <= last {
			return nil
		}
		last = ev.ID
		if !visible(p, ev.Alert) || !filter(ev.Alert) {
			return nil
		}
		if err := h.recordAlerts(c, ev.Alert); err != nil {
			return err
		}
		data, err := json.Marshal(streamEvent{Type: notify.EventName(ev.Type), At: ev.At, Actor: ev.Actor,
			Alert: r.Render(ev.Alert, alerting.ViewFor(p))})
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, notify.EventName(ev.Type), data); err != nil {
			return err
		}
		w.Flush()
		return nil
	}
	for _, ev := range backlog {
		if err := send(ev); err != nil {
			return nil
		}
	}
	beat := time.NewTicker(h.heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-live:
			if !ok {
				return nil // fell behind: the client reconnects and resumes
			}
			if err := send(ev); err != nil {
				return nil
			}
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return nil
			}
			w.Flush()
		}
	}
}

// alertRoutes registers the alert and subscription routes.
func (s *Server) alertRoutes() {
	h, err := s.newAlertsHandler()
	if err != nil {
		// Only a bad alerting configuration gets here; every alert route
		// then answers 503 with the reason instead of the process failing.
		s.log.Error("alerts_unavailable", slog.Any("error", err))
		h = &alertsHandler{log: s.log}
	}
	e := guardedRouter{s}
	e.GET("/api/v1/alerts", h.listAlertsHandler)
	e.GET("/api/v1/alerts/stream", h.streamAlertsHandler)
	e.GET("/api/v1/alerts/:id", h.getAlertHandler)
	e.POST("/api/v1/alerts/:id/ack", h.ackAlertHandler)
	e.POST("/api/v1/alerts/:id/resolve", h.resolveAlertHandler)
	e.GET("/api/v1/subscriptions", h.listSubscriptionsHandler)
	e.POST("/api/v1/subscriptions", h.createSubscriptionHandler)
	e.POST("/api/v1/subscriptions/preview", h.previewSubscriptionHandler)
	e.GET("/api/v1/subscriptions/:id", h.getSubscriptionHandler)
	e.PUT("/api/v1/subscriptions/:id", h.updateSubscriptionHandler)
	e.DELETE("/api/v1/subscriptions/:id", h.deleteSubscriptionHandler)
	e.GET("/api/v1/subscriptions/:id/deliveries", h.listDeliveriesHandler)
	e.POST("/api/v1/deliveries/:id/retry", h.retryDeliveryHandler)
}

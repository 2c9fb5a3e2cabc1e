package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"hotspots/geo"
)

// subscriptionMaxBytes bounds a subscription body (a drawn polygon of
// MaxPolygonVertices points fits easily).
const subscriptionMaxBytes = 1 << 20

// SubscriptionRequest is the body of POST and PUT /api/v1/subscriptions.
type SubscriptionRequest struct {
	Name string `json:"name"`
	// Team defaults to the caller's team; only admins may name another.
	Team  string   `json:"team"`
	Areas []string `json:"areas"`
	// Polygon is a GeoJSON Polygon, MultiPolygon, or a Feature holding one.
	Polygon     json.RawMessage `json:"polygon"`
	Circle      *geo.Circle     `json:"circle"`
	Cells       []string        `json:"cells"`
	Kinds       []string        `json:"kinds"`
	Rules       []geo.AlertRule `json:"rules"`
	MinSeverity geo.Severity    `json:"min_severity"`
	View        geo.AlertView   `json:"view"`
	Channels    []geo.Channel   `json:"channels"`
	Active      *bool           `json:"active"`
}

// SubscriptionChannel is a channel as the API shows it: the webhook secret
// is never shown again after creation.
type SubscriptionChannel struct {
	Type      geo.ChannelType `json:"type"`
	URL       string          `json:"url,omitempty"`
	To        []string        `json:"to,omitempty"`
	SecretSet bool            `json:"secret_set,omitempty"`
	// Secret is present only in the create response, and only when the
	// server generated it.
	Secret string `json:"secret,omitempty"`
}

// SubscriptionResponse is a subscription as the API shows it.
type SubscriptionResponse struct {
	ID          int64                 `json:"id"`
	Team        string                `json:"team"`
	Name        string                `json:"name"`
	Areas       []string              `json:"areas"`
	Polygon     *geojson.Geometry     `json:"polygon,omitempty"`
	Circle      *geo.Circle           `json:"circle,omitempty"`
	Cells       []string              `json:"cells"`
	Kinds       []geo.Kind            `json:"kinds"`
	Rules       []geo.AlertRule       `json:"rules"`
	MinSeverity geo.Severity          `json:"min_severity,omitempty"`
	View        geo.AlertView         `json:"view"`
	Channels    []SubscriptionChannel `json:"channels"`
	Active      bool                  `json:"active"`
	CreatedBy   string                `json:"created_by,omitempty"`
	CreatedAt   time.Time             `json:"created_at"`
	UpdatedAt   time.Time             `json:"updated_at"`
	StreamURL   string                `json:"stream_url,omitempty"`
}

func subscriptionResponse(s geo.Subscription, generated map[geo.ChannelType]bool) SubscriptionResponse {
	r := SubscriptionResponse{ID: s.ID, Team: s.Team, Name: s.Name, Areas: nonNil(s.Areas), Circle: s.Circle,
		Cells: []string{}, Kinds: nonNil(s.Kinds), Rules: nonNil(s.Rules), MinSeverity: s.MinSeverity, View: s.View,
		Active: s.Active, CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	if len(s.Polygon) == 1 {
		r.Polygon = geojson.NewGeometry(s.Polygon[0])
	} else if len(s.Polygon) > 1 {
		r.Polygon = geojson.NewGeometry(s.Polygon)
	}
	for _, c := range s.Cells {
		r.Cells = append(r.Cells, c.String())
	}
	for _, ch := range s.Channels {
		sc := SubscriptionChannel{Type: ch.Type, URL: ch.URL, To: ch.To, SecretSet: ch.Secret != ""}
		if generated[ch.Type] {
			sc.Secret = ch.Secret
		}
		r.Channels = append(r.Channels, sc)
		if ch.Type == geo.ChannelSSE {
			r.StreamURL = "/api/v1/alerts/stream?subscription=" + itoa(s.ID)
		}
	}
	return r
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// canManage reports whether the caller may manage the team's subscriptions:
// admins any team's, analysts and outreach leads their own team's.
func canManage(p geo.Principal, team string) error {
	switch {
	case p.KeyID == 0 && p.Role == geo.RolePublic:
		return geo.Errorf(geo.EUNAUTHORIZED, "subscriptions need an API key")
	case p.IsAdmin():
		return nil
	case p.Role != geo.RoleAnalyst && p.Role != geo.RoleOutreach:
		return geo.Errorf(geo.EFORBIDDEN, "role %s may not manage subscriptions", p.Role)
	case p.Team == "" || p.Team != team:
		// Not found rather than forbidden: other teams' subscriptions are
		// none of the caller's business.
		return geo.Errorf(geo.ENOTFOUND, "no such subscription for team %q", p.Team)
	}
	return nil
}

// decodeSubscription reads and checks a request body into a subscription.
// prev, for an update, supplies webhook secrets the request left out.
func (h *alertsHandler) decodeSubscription(c echo.Context, prev *geo.Subscription) (geo.Subscription, map[geo.ChannelType]bool, error) {
	p := principal(c)
	var req SubscriptionRequest
	body, err := readBody(c, subscriptionMaxBytes)
	if err != nil {
		return geo.Subscription{}, nil, err
	}
	if err := decodeStrict(body, &req); err != nil {
		return geo.Subscription{}, nil, err
	}
	s := geo.Subscription{Name: req.Name, Team: req.Team, Areas: req.Areas, Circle: req.Circle, Rules: req.Rules,
		MinSeverity: req.MinSeverity, View: req.View, Channels: req.Channels, Active: req.Active == nil || *req.Active,
		CreatedBy: actor(p)}
	if s.Team == "" {
		s.Team = p.Team
	}
	if prev != nil {
		s.Team = prev.Team
	}
	if err := canManage(p, s.Team); err != nil {
		return s, nil, err
	}
	if s.Polygon, err = parsePolygon(req.Polygon); err != nil {
		return s, nil, err
	}
	for _, v := range req.Cells {
		cell, err := geo.ParseCell(v)
		if err != nil {
			return s, nil, invalid("cells", "%s", geo.ErrorMessage(err))
		}
		s.Cells = append(s.Cells, cell)
	}
	for _, v := range req.Kinds {
		kinds, err := geo.DefaultKinds().ParseKinds(v) // families expand ("shooting")
		if err != nil {
			kinds = []geo.Kind{geo.Kind(v)} // a city's own kind: checked by validation
		}
		s.Kinds = append(s.Kinds, kinds...)
	}
	if err := scopeOutreach(p, &s); err != nil {
		return s, nil, err
	}
	generated, err := fillSecrets(&s, prev)
	if err != nil {
		return s, nil, err
	}
	m, err := h.engine.Matcher(c.Request().Context())
	if err != nil {
		return s, nil, err
	}
	if err := m.ValidateSubscription(&s); err != nil {
		return s, nil, err
	}
	return s, generated, nil
}

// parsePolygon decodes a GeoJSON polygon without repairing it: a ring that
// does not close must reach validation as it is, to be refused with reason.
func parsePolygon(raw json.RawMessage) (orb.MultiPolygon, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var probe struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, invalid("polygon", "not GeoJSON: %v", err)
	}
	var g orb.Geometry
	switch probe.Type {
	case "Feature":
		f, err := geojson.UnmarshalFeature(raw)
		if err != nil {
			return nil, invalid("polygon", "GeoJSON feature: %v", err)
		}
		g = f.Geometry
	default:
		gg, err := geojson.UnmarshalGeometry(raw)
		if err != nil {
			return nil, invalid("polygon", "GeoJSON geometry: %v", err)
		}
		g = gg.Geometry()
	}
	switch t := g.(type) {
	case orb.Polygon:
		return orb.MultiPolygon{t}, nil
	case orb.MultiPolygon:
		return t, nil
	}
	return nil, invalid("polygon", "want a GeoJSON Polygon or MultiPolygon, got %s", probe.Type)
}

// scopeOutreach keeps an outreach key limited to some areas inside them:
// its subscriptions are by those areas only (all of them by default), and
// always in the outreach view.
func scopeOutreach(p geo.Principal, s *geo.Subscription) error {
	if p.SeesPoints() {
		return nil
	}
	if s.View == geo.ViewAnalyst {
		return geo.Errorf(geo.EFORBIDDEN, "the analyst view is for analysts and admins")
	}
	if p.Role != geo.RoleOutreach || len(p.Areas) == 0 {
		return nil
	}
	if len(s.Polygon) > 0 || s.Circle != nil || len(s.Cells) > 0 {
		return geo.Errorf(geo.EFORBIDDEN, "your key is limited to areas %v: subscribe by those areas", p.Areas)
	}
	if len(s.Areas) == 0 {
		s.Areas = slices.Clone(p.Areas)
	}
	for _, a := range s.Areas {
		if !p.CoversArea(a) {
			return geo.Errorf(geo.EFORBIDDEN, "area %s is outside your key's areas %v", a, p.Areas)
		}
	}
	return nil
}

// fillSecrets keeps the previous webhook secret when an update leaves it
// out, and generates one for a new webhook without a secret. It reports
// which channels got a generated secret, to show it once.
func fillSecrets(s *geo.Subscription, prev *geo.Subscription) (map[geo.ChannelType]bool, error) {
	generated := map[geo.ChannelType]bool{}
	for i := range s.Channels {
		ch := &s.Channels[i]
		if ch.Type != geo.ChannelWebhook || ch.Secret != "" {
			continue
		}
		if prev != nil {
			for _, pc := range prev.Channels {
				if pc.Type == geo.ChannelWebhook && pc.Secret != "" {
					ch.Secret = pc.Secret
				}
			}
		}
		if ch.Secret == "" {
			b := make([]byte, 24)
			if _, err := rand.Read(b); err != nil {
				return nil, err
			}
			ch.Secret = "whsec_" + hex.EncodeToString(b)
			generated[ch.Type] = true
		}
	}
	return generated, nil
}

// listSubscriptionsHandler answers GET /api/v1/subscriptions: the caller's
// team's subscriptions (an admin may pass ?team=, or see all).
func (h *alertsHandler) listSubscriptionsHandler(c echo.Context) error {
	p := principal(c)
	if err := h.ready(); err != nil {
		return err
	}
	team := c.QueryParam("team")
	if !p.IsAdmin() {
		team = p.Team
	}
	if err := canManage(p, team); err != nil {
		return err
	}
	limit, err := intParam(c, "limit", 100, 1, 500)
	if err != nil {
		return err
	}
	offset, err := intParam(c, "offset", 0, 0, 1_000_000)
	if err != nil {
		return err
	}
	subs, err := h.store.FindSubscriptions(c.Request().Context(), geo.SubscriptionFilter{Team: team, Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	out := make([]SubscriptionResponse, 0, len(subs))
	for _, s := range subs {
		out = append(out, subscriptionResponse(s, nil))
	}
	return c.JSON(http.StatusOK, map[string]any{"subscriptions": out})
}

// loadSubscription returns the subscription named by :id if the caller may
// manage it.
func (h *alertsHandler) loadSubscription(c echo.Context) (geo.Subscription, error) {
	if err := h.ready(); err != nil {
		return geo.Subscription{}, err
	}
	p := principal(c)
	if err := canManage(p, p.Team); err != nil && !p.IsAdmin() {
		return geo.Subscription{}, err
	}
	id, err := idParam(c)
	if err != nil {
		return geo.Subscription{}, err
	}
	s, err := h.store.FindSubscriptionByID(c.Request().Context(), id)
	if err != nil {
		return s, err
	}
	if err := canManage(p, s.Team); err != nil {
		return s, geo.Errorf(geo.ENOTFOUND, "no subscription %d", id)
	}
	return s, nil
}

// createSubscriptionHandler answers POST /api/v1/subscriptions.
func (h *alertsHandler) createSubscriptionHandler(c echo.Context) error {
	if err := h.ready(); err != nil {
		return err
	}
	s, generated, err := h.decodeSubscription(c, nil)
	if err != nil {
		return err
	}
	s, err = h.store.CreateSubscription(c.Request().Context(), s)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/subscriptions/"+itoa(s.ID))
	return c.JSON(http.StatusCreated, subscriptionResponse(s, generated))
}

// previewSubscriptionHandler answers POST /api/v1/subscriptions/preview:
// how many alerts the subscription in the body would have received over
// the last 90 days, without saving it.
func (h *alertsHandler) previewSubscriptionHandler(c echo.Context) error {
	if err := h.ready(); err != nil {
		return err
	}
	s, _, err := h.decodeSubscription(c, nil)
	if err != nil {
		return err
	}
	pv, err := h.engine.Preview(c.Request().Context(), s)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pv)
}

// getSubscriptionHandler answers GET /api/v1/subscriptions/:id.
func (h *alertsHandler) getSubscriptionHandler(c echo.Context) error {
	s, err := h.loadSubscription(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, subscriptionResponse(s, nil))
}

// updateSubscriptionHandler answers PUT /api/v1/subscriptions/:id with a
// full replacement; a webhook secret left out is kept.
func (h *alertsHandler) updateSubscriptionHandler(c echo.Context) error {
	prev, err := h.loadSubscription(c)
	if err != nil {
		return err
	}
	s, generated, err := h.decodeSubscription(c, &prev)
	if err != nil {
		return err
	}
	s.ID, s.CreatedBy = prev.ID, prev.CreatedBy
	s, err = h.store.UpdateSubscription(c.Request().Context(), s)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, subscriptionResponse(s, generated))
}

// deleteSubscriptionHandler answers DELETE /api/v1/subscriptions/:id.
func (h *alertsHandler) deleteSubscriptionHandler(c echo.Context) error {
	s, err := h.loadSubscription(c)
	if err != nil {
		return err
	}
	if err := h.store.DeleteSubscription(c.Request().Context(), s.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// DeliveryResponse is one delivery in the dead-letter and history views.
type DeliveryResponse struct {
	ID             int64              `json:"id"`
	AlertID        int64              `json:"alert_id"`
	Revision       int                `json:"revision"`
	SubscriptionID int64              `json:"subscription_id"`
	Channel        geo.ChannelType    `json:"channel"`
	IdempotencyKey string             `json:"idempotency_key"`
	Status         geo.DeliveryStatus `json:"status"`
	Attempts       int                `json:"attempts"`
	NextAttemptAt  time.Time          `json:"next_attempt_at"`
	LastError      string             `json:"last_error,omitempty"`
	CreatedAt      time.Time          `json:"created_at"`
	SentAt         *time.Time         `json:"sent_at,omitempty"`
}

func deliveryResponse(d geo.Delivery) DeliveryResponse {
	return DeliveryResponse{ID: d.ID, AlertID: d.AlertID, Revision: d.Revision, SubscriptionID: d.SubscriptionID,
		Channel: d.Channel, IdempotencyKey: d.IdempotencyKey, Status: d.Status, Attempts: d.Attempts,
		NextAttemptAt: d.NextAttemptAt, LastError: d.LastError, CreatedAt: d.CreatedAt, SentAt: d.SentAt}
}

// listDeliveriesHandler answers GET /api/v1/subscriptions/:id/deliveries
// [?status=dead]: the subscription's sends, newest first, so a team admin
// sees what did not arrive and why.
func (h *alertsHandler) listDeliveriesHandler(c echo.Context) error {
	s, err := h.loadSubscription(c)
	if err != nil {
		return err
	}
	f := geo.DeliveryFilter{SubscriptionID: s.ID}
	if v := c.QueryParam("status"); v != "" {
		st := geo.DeliveryStatus(v)
		if !slices.Contains([]geo.DeliveryStatus{geo.DeliveryPending, geo.DeliverySending, geo.DeliverySent, geo.DeliveryDead}, st) {
			return invalid("status", "unknown delivery status %q (pending, sending, sent, dead)", v)
		}
		f.Status = st
	}
	if f.Limit, err = intParam(c, "limit", 100, 1, 500); err != nil {
		return err
	}
	if f.Offset, err = intParam(c, "offset", 0, 0, 1_000_000); err != nil {
		return err
	}
	ds, err := h.store.FindDeliveries(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]DeliveryResponse, 0, len(ds))
	for _, d := range ds {
		out = append(out, deliveryResponse(d))
	}
	return c.JSON(http.StatusOK, map[string]any{"deliveries": out})
}

// retryDeliveryHandler answers POST /api/v1/deliveries/:id/retry: a dead
// delivery goes back to pending with its attempts reset.
func (h *alertsHandler) retryDeliveryHandler(c echo.Context) error {
	if err := h.ready(); err != nil {
		return err
	}
	p := principal(c)
	if err := canManage(p, p.Team); err != nil && !p.IsAdmin() {
		return err
	}
	id, err := idParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ds, err := h.store.FindDeliveries(ctx, geo.DeliveryFilter{ID: id, Limit: 1})
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		return geo.Errorf(geo.ENOTFOUND, "no delivery %d", id)
	}
	s, err := h.store.FindSubscriptionByID(ctx, ds[0].SubscriptionID)
	if err != nil {
		return err
	}
	if err := canManage(p, s.Team); err != nil {
		return geo.Errorf(geo.ENOTFOUND, "no delivery %d", id)
	}
	d, err := h.store.RequeueDelivery(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, deliveryResponse(d))
}

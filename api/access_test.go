package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/alerting"
	"hotspots/geo/postgis/postgistest"
	"hotspots/geo/sqlite"
)

// callers of the matrix, in the order they are tried.
var matrixCallers = []string{"admin", "analyst", "outreach", "public", "anon"}

// accessEnv is the API over a real store, with one real key per role.
type accessEnv struct {
	t       testing.TB
	st      geo.Store
	handler http.Handler
	srv     *httptest.Server
	secrets map[string]string // role -> secret; "anon" has none
	subTeam string
	seq     int
}

// newAccessEnv seeds st (areas, incidents, an alert), creates a key per
// role through the store and serves the API without any test principal
// middleware: every request authenticates as production does.
func newAccessEnv(t testing.TB, st geo.Store, cfg Config) *accessEnv {
	t.Helper()
	ctx := context.Background()
	seedAccessStore(t, st)
	city, err := cities.Open("baltimore")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.City, cfg.Logger = st, city, slog.New(slog.DiscardHandler)
	s := New(cfg)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	env := &accessEnv{t: t, st: st, handler: s.Handler(), srv: srv, secrets: map[string]string{}, subTeam: "east"}
	for _, role := range []geo.Role{geo.RoleAdmin, geo.RoleAnalyst, geo.RoleOutreach, geo.RolePublic} {
		_, secret, err := st.CreateKey(ctx, geo.APIKey{Name: "matrix " + string(role), Role: role, Team: "east"})
		if err != nil {
			t.Fatal(err)
		}
		env.secrets[string(role)] = secret
	}
	return env
}

// openEmbedded opens a migrated embedded store in t's temp dir.
func openEmbedded(t testing.TB) geo.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// seedAccessStore gives every route something to answer with: an area
// layer, incidents in it, and an alert with case points.
func seedAccessStore(t testing.TB, st geo.Store) {
	t.Helper()
	ctx := context.Background()
	sq := func(p orb.Point, d float64) orb.MultiPolygon {
		return orb.MultiPolygon{{{{p[0] - d, p[1] - d}, {p[0] + d, p[1] - d}, {p[0] + d, p[1] + d}, {p[0] - d, p[1] + d}, {p[0] - d, p[1] - d}}}}
	}
	pop := 1000
	if err := st.PutLayer(ctx, geo.AreaLayer{ID: "nbhd", Name: "Test neighborhoods", Kind: "neighborhood"}, []geo.Area{
		{Layer: "nbhd", Code: "downtown", Name: "Downtown", Geometry: sq(mapHotPoint, 0.004), Population: &pop},
	}); err != nil {
		t.Fatal(err)
	}
	cell, err := geo.CellFromPoint(mapHotPoint, geo.FinestRes)
	if err != nil {
		t.Fatal(err)
	}
	var incs []geo.Incident
	for i := range 12 {
		day := mapFixEnd.AddDate(0, 0, -i*2)
		incs = append(incs, geo.Incident{Source: "test", SourceID: fmt.Sprintf("m-%d", i), Kind: geo.KindOverdoseNonFatal,
			OccurredAt: day.Add(16 * time.Hour), TimeKnown: true, Day: day, Location: mapHotPoint, Precision: geo.PrecisionExact,
			Victims: 1, Cell: cell, Areas: map[string]string{"nbhd": "downtown"}})
	}
	l, err := st.StartLoad(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpsertIncidents(ctx, l.ID, incs); err != nil {
		t.Fatal(err)
	}
	l.Status = geo.LoadDone
	if err := st.FinishLoad(ctx, l); err != nil {
		t.Fatal(err)
	}
}

// newAlert raises a fresh alert with two case points in nbhd:downtown and
// returns its id; with target, a webhook delivery to that subscription.
func (env *accessEnv) newAlert(target int64) geo.Alert {
	env.t.Helper()
	env.seq++
	p := mapHotPoint
	c, _ := geo.CellFromPoint(p, 9)
	from := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)
	a := geo.Alert{Key: fmt.Sprintf("matrix-%d", env.seq), Rule: geo.RuleThreshold, Detector: "threshold",
		Kinds: []geo.Kind{geo.KindOverdoseNonFatal}, Severity: geo.SeverityModerate, Title: "spike",
		Areas: []string{"nbhd:downtown"}, Cells: []geo.Cell{c}, WindowFrom: from, WindowTo: from.Add(24 * time.Hour),
		Count: 2, Threshold: 2, ExpiresAt: time.Now().Add(24 * time.Hour), Origin: &p,
		Cases: []geo.AlertCase{{IncidentID: 1, Kind: geo.KindOverdoseNonFatal, OccurredAt: from, Point: &p},
			{IncidentID: 2, Kind: geo.KindOverdoseNonFatal, OccurredAt: from.Add(time.Hour), Point: &p}}}
	d := geo.AlertDraft{Alert: a, Finding: -1}
	if target != 0 {
		d.Targets = []geo.DeliveryTarget{{SubscriptionID: target, Channel: geo.ChannelWebhook}}
	}
	life := alerting.Lifecycle{ReopenWithin: time.Hour, NearRepeatMulti: geo.SeverityVeryStrong}
	res, err := env.st.RaiseAlerts(context.Background(), geo.AlertBatch{Drafts: []geo.AlertDraft{d}}, life.Merge)
	if err != nil || len(res.Alerts) != 1 {
		env.t.Fatalf("RaiseAlerts: %+v, %v", res, err)
	}
	return res.Alerts[0]
}

// newSub creates a webhook subscription of the keys' team.
func (env *accessEnv) newSub() geo.Subscription {
	env.t.Helper()
	env.seq++
	s, err := env.st.CreateSubscription(context.Background(), geo.Subscription{Team: env.subTeam,
		Name: fmt.Sprintf("hook %d", env.seq), Active: true, View: geo.ViewOutreach,
		Channels: []geo.Channel{{Type: geo.ChannelWebhook, URL: "https://hooks.example.org/east", Secret: "whsec_test"}}})
	if err != nil {
		env.t.Fatal(err)
	}
	return s
}

// deadDelivery returns the id of a delivery that failed for good.
func (env *accessEnv) deadDelivery() int64 {
	env.t.Helper()
	ctx := context.Background()
	sub := env.newSub()
	env.newAlert(sub.ID)
	jobs, err := env.st.ClaimDeliveries(ctx, geo.DeliveryClaim{Worker: "m", Limit: 100, Lease: time.Minute, MaxAttempts: 3})
	if err != nil {
		env.t.Fatal(err)
	}
	var id int64
	for _, j := range jobs {
		if err := env.st.MarkFailed(ctx, j.Delivery.ID, "m", 1, "HTTP 410: gone", nil); err != nil {
			env.t.Fatal(err)
		}
		if j.Delivery.SubscriptionID == sub.ID {
			id = j.Delivery.ID
		}
	}
	if id == 0 {
		env.t.Fatal("no delivery to kill")
	}
	return id
}

// do sends one request as caller and returns the status and body. A
// text/event-stream answer is closed after its headers.
func (env *accessEnv) do(caller, method, path, body string) (int, string) {
	env.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, env.srv.URL+path, rd)
	if err != nil {
		env.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if s := env.secrets[caller]; s != "" {
		req.Header.Set("Authorization", "Bearer "+s)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		env.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		return res.StatusCode, ""
	}
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// matrixRow is one route of the access matrix and who gets a 2xx from it.
// Everyone else gets 401 without a key and 403 with one.
type matrixRow struct {
	route string // "METHOD /template", as echo registers it
	ok    string // callers answered 2xx, space separated
	// req builds a concrete request (fresh fixtures for routes that use
	// theirs up); nil means GET of the template itself.
	req func(env *accessEnv) (path, body string)
	// optional rows are for routes registered only with some Config
	// (/metrics needs Config.Metrics).
	optional bool
}

// Who gets in, as written in docs/access.md.
const (
	okAll      = "admin analyst outreach public anon"
	okStaff    = "admin analyst outreach"
	okAnalysts = "admin analyst"
	okAdmin    = "admin"
)

func fixed(path, body string) func(*accessEnv) (string, string) {
	return func(*accessEnv) (string, string) { return path, body }
}

const (
	subBody   = `{"name":"matrix","channels":[{"type":"sse"}]}`
	layerBody = `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"East zone"},"geometry":{"type":"Polygon","coordinates":[[[-76.60,39.29],[-76.59,39.29],[-76.59,39.30],[-76.60,39.30],[-76.60,39.29]]]}}]}`
	pushBody  = `{"agency":"BCFD","incidents":[{"id":"m1","time":"2024-05-01T22:15:00-04:00","kind":"overdose","lat":39.2985,"lon":-76.6127}]}`
)

// The z14 tiles holding the seeded incidents.
var (
	hexTile    = tilePath("hex", 14, mapHotPoint)
	pointsTile = tilePath("incidents", 14, mapHotPoint)
)

// accessMatrix is the expected access, stated independently of
// routeAudience: a route missing here fails the test.
var accessMatrix = []matrixRow{
	{route: "GET /healthz", ok: okAll},
	{route: "GET /readyz", ok: okAll},
	{route: "GET /metrics", ok: okAll, optional: true},
	{route: "GET /", ok: okAll},
	{route: "GET /static/*", ok: okAll, req: fixed("/static/app.js", "")},
	{route: "GET /map/config.json", ok: okAll},
	{route: "GET /api/v1/me", ok: okAll},
	{route: "GET /tiles/:layer", ok: okAll, req: fixed("/tiles/hex.json", "")},
	{route: "GET /tiles/:layer", ok: okAnalysts, req: fixed("/tiles/incidents.json", "")},
	{route: "GET /tiles/:layer/:z/:x/:y", ok: okAll, req: fixed(hexTile, "")},
	{route: "GET /tiles/:layer/:z/:x/:y", ok: okAnalysts, req: fixed(pointsTile, "")},
	{route: "GET /api/v1/cells/:cell/series", ok: okAll, req: func(*accessEnv) (string, string) {
		c, _ := geo.CellFromPoint(mapHotPoint, 8)
		return "/api/v1/cells/" + c.String() + "/series", ""
	}},
	{route: "GET /api/v1/areas/:layer/:code/series", ok: okAll, req: fixed("/api/v1/areas/nbhd/downtown/series", "")},
	{route: "GET /api/v1/indicators", ok: okAll, req: fixed("/api/v1/indicators?layer=nbhd", "")},
	{route: "GET /api/v1/indicators/:layer/:code", ok: okAll, req: fixed("/api/v1/indicators/nbhd/downtown", "")},
	{route: "GET /api/v1/methods", ok: okAll},
	{route: "GET /methods", ok: okAll},
	{route: "GET /api/v1/changelog", ok: okAll},
	{route: "GET /api/v1/openapi.json", ok: okAll},
	{route: "GET /api/v1/areas/layers", ok: okAll},
	{route: "POST /api/v1/areas/layers", ok: okAdmin, req: fixed("/api/v1/areas/layers?id=matrix&name=Matrix&replace=true", layerBody)},
	{route: "POST /api/v1/ingest/push", ok: okAnalysts, req: fixed("/api/v1/ingest/push", pushBody)},
	{route: "POST /api/v1/detect", ok: okAnalysts},
	{route: "GET /api/v1/detect/runs", ok: okAnalysts},

	{route: "GET /api/v1/alerts", ok: okStaff},
	{route: "GET /api/v1/alerts/stream", ok: okStaff},
	{route: "GET /api/v1/alerts/:id", ok: okStaff, req: func(env *accessEnv) (string, string) {
		return fmt.Sprintf("/api/v1/alerts/%d", env.newAlert(0).ID), ""
	}},
	{route: "POST /api/v1/alerts/:id/ack", ok: okStaff, req: func(env *accessEnv) (string, string) {
		return fmt.Sprintf("/api/v1/alerts/%d/ack", env.newAlert(0).ID), ""
	}},
	{route: "POST /api/v1/alerts/:id/resolve", ok: okStaff, req: func(env *accessEnv) (string, string) {
		return fmt.Sprintf("/api/v1/alerts/%d/resolve", env.newAlert(0).ID), ""
	}},
	{route: "GET /api/v1/subscriptions", ok: okStaff},
	{route: "POST /api/v1/subscriptions", ok: okStaff, req: fixed("/api/v1/subscriptions", subBody)},
	{route: "POST /api/v1/subscriptions/preview", ok: okStaff, req: fixed("/api/v1/subscriptions/preview", subBody)},
	{route: "GET /api/v1/subscriptions/:id", ok: okStaff, req: func(env *accessEnv) (string, string) {
		return fmt.Sprintf("/api/v1/subscriptions/%d", env.newSub().ID), ""
	}},
	{route: "PUT /api/v1/subscriptions/:id", ok: okStaff, req: func(env *accessEnv) (string, string) {
		return fmt.Sprintf("/api/v1/subscriptions/%d", env.newSub().ID), subBody
	}},
	{route: "DELETE /api/v1/subscriptions/:id", ok: okStaff, req: func(env *accessEnv) (string, string) {
		return fmt.Sprintf("/api/v1/subscriptions/%d", env.newSub().ID), ""
	}},
	{route: "GET /api/v1/subscriptions/:id/deliveries", ok: okStaff, req: func(env *accessEnv) (string, string) {
		return fmt.Sprintf("/api/v1/subscriptions/%d/deliveries", env.newSub().ID), ""
	}},
	{route: "POST /api/v1/deliveries/:id/retry", ok: okStaff, req: func(env *accessEnv) (string, string) {
		return fmt.Sprintf("/api/v1/deliveries/%d/retry", env.deadDelivery()), ""
	}},

	{route: "GET /api/v1/admin/keys", ok: okAdmin},
	{route: "POST /api/v1/admin/keys", ok: okAdmin, req: fixed("/api/v1/admin/keys", `{"name":"new","role":"public"}`)},
	{route: "DELETE /api/v1/admin/keys/:id", ok: okAdmin, req: func(env *accessEnv) (string, string) {
		k, _, err := env.st.CreateKey(context.Background(), geo.APIKey{Name: "doomed", Role: geo.RolePublic})
		if err != nil {
			env.t.Fatal(err)
		}
		return fmt.Sprintf("/api/v1/admin/keys/%d", k.ID), ""
	}},
	{route: "GET /api/v1/admin/access-log", ok: okAdmin},
}

// TestAccessMatrix calls every registered route as every role (with keys
// made through the real store) and without a key, and checks who gets in.
// It runs on the embedded store, and on PostGIS when
// HOTSPOTS_TEST_DATABASE_URL is set (CI=true requires it).
func TestAccessMatrix(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { runAccessMatrix(t, openEmbedded(t)) })
	t.Run("postgis", func(t *testing.T) { runAccessMatrix(t, postgistest.MustOpenDB(t)) })
}

func runAccessMatrix(t *testing.T, st geo.Store) {
	env := newAccessEnv(t, st, Config{Detector: storeDetector(t, st)})
	s := New(Config{Store: st, Logger: slog.New(slog.DiscardHandler)})

	// Every registered route is in the matrix and went through the guard.
	inMatrix := map[string]bool{}
	for _, r := range accessMatrix {
		inMatrix[r.route] = true
	}
	registered := map[string]bool{}
	for _, r := range s.echo.Routes() {
		route := r.Method + " " + r.Path
		registered[route] = true
		if !inMatrix[route] {
			t.Errorf("route %s is not in the access matrix test: add a row (and to docs/access.md)", route)
		}
		if _, ok := s.guarded[route]; !ok {
			t.Errorf("route %s was registered without guardedRouter: no audience check", route)
		}
		if _, ok := routeAudience[route]; !ok {
			t.Errorf("route %s has no entry in routeAudience: it is admin-only by default", route)
		}
	}
	for _, r := range accessMatrix {
		if !registered[r.route] && !r.optional {
			t.Errorf("matrix row %s matches no registered route", r.route)
		}
	}

	for _, row := range accessMatrix {
		if !registered[row.route] {
			continue
		}
		method, tmpl, _ := strings.Cut(row.route, " ")
		for _, caller := range matrixCallers {
			path, body := tmpl, ""
			if row.req != nil {
				path, body = row.req(env)
			}
			status, resp := env.do(caller, method, path, body)
			want := "2xx"
			if !slices.Contains(strings.Fields(row.ok), caller) {
				want = "403"
				if caller == "anon" {
					want = "401"
				}
			}
			got := fmt.Sprint(status)
			if status >= 200 && status < 300 {
				got = "2xx"
			}
			if got != want {
				t.Errorf("%s %s as %s: status %d, want %s: %.300s", method, path, caller, status, want, resp)
			}
		}
	}
}

package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/paulmach/orb"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/alerting"
	"hotspots/geo/notify"
	"hotspots/geo/sqlite"
)

func sq(lon0, lat0, lon1, lat1 float64) orb.MultiPolygon {
	return orb.MultiPolygon{{{{lon0, lat0}, {lon1, lat0}, {lon1, lat1}, {lon0, lat1}, {lon0, lat0}}}}
}

var (
	apiWest = orb.Point{-76.62, 39.29}
	apiEast = orb.Point{-76.60, 39.29}
)

// alertsEnv serves the API over an embedded store holding two downtown
// Baltimore neighbourhoods; the caller is chosen per request with the
// X-Test-Principal header (a JSON geo.Principal).
type alertsEnv struct {
	t      *testing.T
	srv    *httptest.Server
	st     *sqlite.DB
	engine *alerting.Engine
	load   int64
	seq    int
}

func newAlertsEnv(t *testing.T) *alertsEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.PutLayer(ctx, geo.AreaLayer{ID: "nsa", Name: "Neighborhoods", Kind: "neighborhood"}, []geo.Area{
		{Layer: "nsa", Code: "west", Name: "West Side", Geometry: sq(-76.63, 39.28, -76.61, 39.30)},
		{Layer: "nsa", Code: "east", Name: "East Side", Geometry: sq(-76.61, 39.28, -76.59, 39.30)},
	}); err != nil {
		t.Fatal(err)
	}
	city, err := cities.Open("baltimore")
	if err != nil {
		t.Fatal(err)
	}
	cfg := alerting.DefaultConfig()
	cfg.Boundary = city.BoundaryPolygon()
	cfg.Cooldown = 0
	cfg.Thresholds = []alerting.Threshold{{Layer: "nsa", Kind: geo.KindOverdoseNonFatal, Window: 24 * time.Hour, Min: 2}}
	quiet := slog.New(slog.DiscardHandler)
	engine, err := alerting.NewEngine(st, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Store: st, City: city, Logger: quiet, Alerts: AlertsConfig{Engine: engine,
		Broker: notify.NewBroker(st, 10*time.Millisecond, quiet), MapURL: "https://map.example.org", Heartbeat: 50 * time.Millisecond}})
	s.echo.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if v := c.Request().Header.Get("X-Test-Principal"); v != "" {
				var p geo.Principal
				if err := json.Unmarshal([]byte(v), &p); err != nil {
					return err
				}
				c.Set("principal", p)
			}
			return next(c)
		}
	})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	l, err := st.StartLoad(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	return &alertsEnv{t: t, srv: srv, st: st, engine: engine, load: l.ID}
}

var (
	alWest    = geo.Principal{KeyID: 2, Name: "lena", Role: geo.RoleOutreach, Team: "west", Areas: []string{"nsa:west"}}
	alEast    = geo.Principal{KeyID: 3, Name: "ed", Role: geo.RoleOutreach, Team: "east", Areas: []string{"nsa:east"}}
	alAnalyst = geo.Principal{KeyID: 4, Name: "ana", Role: geo.RoleAnalyst, Team: "epi"}
	alAdmin   = geo.Principal{KeyID: 5, Name: "root", Role: geo.RoleAdmin}
	alPublic  = geo.Principal{KeyID: 6, Name: "site", Role: geo.RolePublic}
)

// do sends a request as p (nil: anonymous) and decodes a JSON answer.
func (env *alertsEnv) do(p *geo.Principal, method, path, body string, out any) (int, string) {
	env.t.Helper()
	req, err := http.NewRequest(method, env.srv.URL+path, strings.NewReader(body))
	if err != nil {
		env.t.Fatal(err)
	}
	if p != nil {
		b, _ := json.Marshal(p)
		req.Header.Set("X-Test-Principal", string(b))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		env.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			env.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, string(b)
}

// overdoses ingests n overdoses at p and runs the rules.
func (env *alertsEnv) overdoses(p orb.Point, n int, kind geo.Kind) {
	env.t.Helper()
	ctx := context.Background()
	m, err := env.engine.Matcher(ctx)
	if err != nil {
		env.t.Fatal(err)
	}
	var incs []geo.Incident
	now := time.Now().UTC()
	for i := 0; i < n; i++ {
		env.seq++
		cell, _ := geo.CellFromPoint(p, geo.FinestRes)
		at := now.Add(-time.Duration(i+1) * time.Minute)
		inc := geo.Incident{Source: "t", SourceID: fmt.Sprint(env.seq), Kind: kind, OccurredAt: at, TimeKnown: true,
			Day: time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC), Location: p,
			Precision: geo.PrecisionExact, Cell: cell, Victims: 1, Areas: map[string]string{}}
		for _, id := range m.AreasAt([]geo.Cell{cell}, at) {
			layer, code, _ := strings.Cut(id, ":")
			inc.Areas[layer] = code
		}
		incs = append(incs, inc)
	}
	if _, err := env.st.UpsertIncidents(ctx, env.load, incs); err != nil {
		env.t.Fatal(err)
	}
	if _, err := env.engine.AfterLoad(ctx, incs); err != nil {
		env.t.Fatal(err)
	}
}

func TestAlertsAccess(t *testing.T) {
	env := newAlertsEnv(t)
	env.overdoses(apiWest, 2, geo.KindOverdoseNonFatal)
	env.overdoses(apiEast, 3, geo.KindOverdoseNonFatal)
	tests := map[string]struct {
		who    *geo.Principal
		status int
		alerts int
		cases  bool
	}{
		"anonymous":        {nil, 401, 0, false},
		"public key":       {&alPublic, 403, 0, false},
		"west outreach":    {&alWest, 200, 1, false},
		"east outreach":    {&alEast, 200, 1, false},
		"analyst sees all": {&alAnalyst, 200, 2, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out struct {
				Alerts []map[string]any `json:"alerts"`
			}
			status, body := env.do(tc.who, "GET", "/api/v1/alerts?status=open", "", &out)
			if status != tc.status || len(out.Alerts) != tc.alerts {
				t.Fatalf("status %d, %d alerts: %s", status, len(out.Alerts), body)
			}
			for _, a := range out.Alerts {
				_, hasCases := a["cases"]
				if hasCases != tc.cases {
					t.Fatalf("cases shown = %v, want %v: %v", hasCases, tc.cases, a)
				}
				if !tc.cases && (strings.Contains(body, "-76.6") || strings.Contains(body, `"point"`)) {
					t.Fatalf("outreach view leaks a point: %s", body)
				}
			}
		})
	}
	t.Run("bad filter", func(t *testing.T) {
		if status, body := env.do(&alAnalyst, "GET", "/api/v1/alerts?status=closed", "", nil); status != 400 || !strings.Contains(body, `"field":"status"`) {
			t.Fatalf("status %d: %s", status, body)
		}
	})
}

func TestAlertAckResolve(t *testing.T) {
	env := newAlertsEnv(t)
	env.overdoses(apiWest, 2, geo.KindOverdoseNonFatal)
	env.overdoses(apiEast, 2, geo.KindOverdoseNonFatal)
	alerts, _ := env.st.FindAlerts(context.Background(), geo.AlertFilter{})
	ids := map[string]int64{}
	for _, a := range alerts {
		ids[a.Areas[0]] = a.ID
	}
	west, east := ids["nsa:west"], ids["nsa:east"]
	if status, _ := env.do(&alWest, "GET", fmt.Sprintf("/api/v1/alerts/%d", east), "", nil); status != 404 {
		t.Fatalf("west lead reading an east alert: %d, want 404", status)
	}
	if status, _ := env.do(&alWest, "POST", fmt.Sprintf("/api/v1/alerts/%d/ack", east), "", nil); status != 404 {
		t.Fatalf("west lead acking an east alert: %d, want 404", status)
	}
	var got alerting.OutreachView
	if status, body := env.do(&alWest, "POST", fmt.Sprintf("/api/v1/alerts/%d/ack", west), "", &got); status != 200 ||
		got.Status != geo.AlertAcknowledged || got.AckedBy != "lena (west)" || got.MapURL != fmt.Sprintf("https://map.example.org/#alert=%d", west) {
		t.Fatalf("ack: %d %s", status, body)
	}
	if status, _ := env.do(&alWest, "POST", fmt.Sprintf("/api/v1/alerts/%d/resolve", west), "", &got); status != 200 || got.Status != geo.AlertResolved {
		t.Fatalf("resolve: %d %+v", status, got)
	}
	if status, body := env.do(&alWest, "POST", fmt.Sprintf("/api/v1/alerts/%d/ack", west), "", nil); status != 409 {
		t.Fatalf("ack after resolve: %d %s", status, body)
	}
	if status, _ := env.do(&alAnalyst, "GET", "/api/v1/alerts/999", "", nil); status != 404 {
		t.Fatalf("missing alert: %d", status)
	}
	if status, _ := env.do(&alAnalyst, "GET", "/api/v1/alerts/abc", "", nil); status != 400 {
		t.Fatalf("bad id: %d", status)
	}
}

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	id, event, data string
}

// readEvents reads server-sent events from r until n arrive or the stream
// ends, skipping comments (heartbeats).
func readEvents(t *testing.T, r io.Reader, n int) []sseEvent {
	t.Helper()
	sc := bufio.NewScanner(r)
	var out []sseEvent
	var cur sseEvent
	for len(out) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.data != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
		}
	}
	return out
}

func (env *alertsEnv) stream(p geo.Principal, lastID string) (*http.Response, context.CancelFunc) {
	env.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	req, _ := http.NewRequestWithContext(ctx, "GET", env.srv.URL+"/api/v1/alerts/stream", nil)
	b, _ := json.Marshal(p)
	req.Header.Set("X-Test-Principal", string(b))
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		env.t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		env.t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp, cancel
}

func TestAlertStream(t *testing.T) {
	env := newAlertsEnv(t)
	resp, cancel := env.stream(alWest, "")
	defer cancel()
	defer resp.Body.Close()
	time.Sleep(50 * time.Millisecond)                   // let the broker start listening
	env.overdoses(apiEast, 2, geo.KindOverdoseNonFatal) // not the west's: filtered out
	env.overdoses(apiWest, 2, geo.KindOverdoseNonFatal)
	env.overdoses(apiWest, 1, geo.KindOverdoseNonFatal)
	evs := readEvents(t, resp.Body, 2)
	if len(evs) != 2 || evs[0].event != "alert.raised" || evs[1].event != "alert.updated" {
		t.Fatalf("events = %+v", evs)
	}
	var first streamEvent
	var view map[string]any
	if err := json.Unmarshal([]byte(evs[0].data), &first); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(first.Alert)
	_ = json.Unmarshal(b, &view)
	if view["view"] != "outreach" || view["title"] == "" || view["cases"] != nil {
		t.Fatalf("stream data = %s", evs[0].data)
	}
	if areas := fmt.Sprint(view["areas"]); !strings.Contains(areas, "nsa:west") {
		t.Fatalf("west lead got an alert for %s", areas)
	}
	// Reconnecting after the first event replays what followed.
	cancel()
	resp2, cancel2 := env.stream(alAnalyst, evs[0].id)
	defer cancel2()
	defer resp2.Body.Close()
	replay := readEvents(t, resp2.Body, 1)
	if len(replay) != 1 || replay[0].id != evs[1].id || !strings.Contains(replay[0].data, `"view":"analyst"`) {
		t.Fatalf("replay = %+v", replay)
	}
	if status, _ := env.do(&alPublic, "GET", "/api/v1/alerts/stream", "", nil); status != 403 {
		t.Fatalf("public stream: %d", status)
	}
}

package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/sqlite"
)

// keyMapEnv is the real API (authentication as in production, no test
// principal) behind a recorder of which requests carried which
// Authorization header, and a headless Chromium on it.
type keyMapEnv struct {
	t     *testing.T
	store *sqlite.DB
	srv   *httptest.Server
	ctx   context.Context

	mu sync.Mutex
	// auth counts requests by kind ("tile:hex", "tilejson:incidents",
	// "config", "me", "stream", ...) and the Authorization header sent.
	auth     map[string]map[string]int
	jsErrors []string
}

func newKeyMapEnv(t *testing.T) *keyMapEnv {
	bin := chromiumPath(t)
	env := &keyMapEnv{t: t, store: mapTestStore(t, 300), auth: map[string]map[string]int{}}
	city, err := cities.Open("baltimore")
	if err != nil {
		t.Fatal(err)
	}
	api := New(Config{Store: env.store, City: city, Logger: slog.New(slog.DiscardHandler),
		Alerts: AlertsConfig{Heartbeat: time.Second}}).Handler()
	env.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := ""
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, "/tiles/") && strings.HasSuffix(p, ".mvt"):
			layer, _, _ := strings.Cut(strings.TrimPrefix(p, "/tiles/"), "/")
			kind = "tile:" + layer
		case strings.HasPrefix(p, "/tiles/") && strings.HasSuffix(p, ".json"):
			kind = "tilejson:" + strings.TrimSuffix(strings.TrimPrefix(p, "/tiles/"), ".json")
		case p == "/map/config.json":
			kind = "config"
		case p == "/api/v1/me":
			kind = "me"
		case p == "/api/v1/alerts/stream":
			kind = "stream"
		case strings.HasSuffix(p, "/series"):
			kind = "series"
		}
		if kind != "" {
			env.mu.Lock()
			if env.auth[kind] == nil {
				env.auth[kind] = map[string]int{}
			}
			env.auth[kind][r.Header.Get("Authorization")]++
			env.mu.Unlock()
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(env.srv.Close)

	opts := chromiumOptions(t, bin)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	bctx, cancelB := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			env.mu.Lock()
			env.jsErrors = append(env.jsErrors, msg)
			env.mu.Unlock()
		}
	}))
	t.Cleanup(cancelB)
	// The first run starts the browser and must not carry a timeout.
	if err := chromedp.Do(bctx,
		cdpDo(emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 1200, Height: 800, DeviceScaleFactor: 1}),
	); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	tctx, cancelT := context.WithTimeout(bctx, 120*time.Second)
	t.Cleanup(cancelT)
	env.ctx = tctx
	return env
}

// key creates an API key through the store and returns it with its secret.
func (env *keyMapEnv) key(name string, role geo.Role) (geo.APIKey, string) {
	env.t.Helper()
	k, secret, err := env.store.CreateKey(context.Background(), geo.APIKey{Name: name, Role: role})
	if err != nil {
		env.t.Fatal(err)
	}
	return k, secret
}

// run runs browser actions, failing with what the page and server saw.
func (env *keyMapEnv) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	env.t.Helper()
	if err := chromedp.Do(env.ctx, actions...); err != nil {
		env.mu.Lock()
		defer env.mu.Unlock()
		state, _ := chromedp.Run(env.ctx, chromedp.Evaluate[string](`JSON.stringify({href: location.href,
			signedIn: (document.getElementById('signed-in') || {}).textContent,
			message: (document.getElementById('auth-message') || {}).textContent,
			alerts: (document.getElementById('alerts-status') || {}).textContent,
			error: document.body.dataset.mapError})`))
		env.t.Fatalf("%s: %v\npage: %s\nrequests by Authorization: %v\njs errors: %v", what, err, state, env.auth, env.jsErrors)
	}
}

// keyPoll waits until js is true. Unlike chromedp.Poll it carries on across
// a page reload (signing in and out reload the page): an evaluation that
// fails while the page is replaced counts as false.
func keyPoll(js string) chromedp.Action[chromedp.Void] {
	expr := `(() => { try { return !!(` + js + `); } catch (e) { return false; } })()`
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		deadline := time.Now().Add(45 * time.Second)
		for {
			ok, err := chromedp.Evaluate[bool](expr)(ctx, t)
			if err == nil && ok {
				return chromedp.Void{}, nil
			}
			if time.Now().After(deadline) {
				return chromedp.Void{}, fmt.Errorf("still false after 45s: %s (last error %v)", js, err)
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// requests returns how many requests of kind carried the header value.
func (env *keyMapEnv) requests(kind, authorization string) int {
	env.mu.Lock()
	defer env.mu.Unlock()
	return env.auth[kind][authorization]
}

func (env *keyMapEnv) noJSErrors() {
	env.t.Helper()
	env.mu.Lock()
	defer env.mu.Unlock()
	if len(env.jsErrors) > 0 {
		b, _ := json.Marshal(env.jsErrors)
		env.t.Errorf("javascript errors: %s", b)
	}
}

const keyMapIdle = `window.hotspots && hotspots.map && hotspots.map.loaded() && hotspots.map.areTilesLoaded()`

// TestBrowserMapKey signs in to the map with an analyst key in the address
// fragment: the key leaves the address bar at once, the page says who is
// signed in, and every request to the server carries the key (tiles and
// TileJSON fetched by MapLibre, the configuration, the alerts stream, a
// popup's trend), so the analyst gets the alerts panel and the incident
// points, whose reads the access log records under the key's name.
func TestBrowserMapKey(t *testing.T) {
	env := newKeyMapEnv(t)
	k, secret := env.key("Browser analyst", geo.RoleAnalyst)
	bearer := "Bearer " + secret

	env.run("open the map with #key=",
		chromedp.Navigate(env.srv.URL+"/#key="+secret),
		keyPoll(keyMapIdle+` && hotspots.map.queryRenderedFeatures({layers: ['hex-fill']}).length > 0`),
		keyPoll(`document.getElementById('signed-in').textContent.includes('Browser analyst')`),
		keyPoll(`document.getElementById('alerts-status').textContent === 'live'`),
	)
	if href := mustEval[string](t, env.ctx, `location.href`); strings.Contains(href, "key=") || strings.Contains(href, secret) || strings.Contains(href, "#") {
		t.Errorf("the key is still in the address bar: %s", href)
	}
	if got := mustEval[string](t, env.ctx, `sessionStorage.getItem('hotspots.apiKey')`); got != secret {
		t.Errorf("sessionStorage holds %q, want the key", got)
	}
	if got := mustEval[string](t, env.ctx, `localStorage.length + ''`); got != "0" {
		t.Errorf("localStorage holds %s items; the key belongs in sessionStorage only", got)
	}
	signedIn := mustEval[string](t, env.ctx, `document.getElementById('signed-in').textContent`)
	if !strings.Contains(signedIn, "Signed in as Browser analyst (analyst)") {
		t.Errorf("signed-in line %q", signedIn)
	}
	if !mustEval[bool](t, env.ctx, `document.getElementById('sign-in').hidden && !document.getElementById('sign-out').hidden && document.getElementById('auth-message').hidden`) {
		t.Error("signed in: want the sign-out button, no form and no message")
	}
	if mustEval[bool](t, env.ctx, `hotspots.cfg.principal.suppressed`) || !mustEval[bool](t, env.ctx, `hotspots.cfg.principal.sees_points`) {
		t.Error("the configuration was not fetched with the key: still the public view")
	}

	// The points layer is offered; turn it on where the incidents are.
	target := fmt.Sprintf("[%f, %f]", mapHotPoint[0], mapHotPoint[1])
	env.run("show incident points",
		keyPoll(`(b => b && !b.disabled)(document.getElementById('toggle-incidents'))`),
		chromedp.Evaluate[chromedp.Void](`hotspots.map.jumpTo({center: `+target+`, zoom: 14}); document.getElementById('toggle-incidents').click()`),
		keyPoll(keyMapIdle+` && hotspots.map.queryRenderedFeatures({layers: ['incidents']}).length > 0`),
	)

	// An alert raised now reaches the panel through the authenticated
	// stream (the broker polls the store every second).
	alerts := &accessEnv{t: t, st: env.store}
	a := alerts.newAlert(0)
	env.run("alert from the stream",
		keyPoll(fmt.Sprintf(`document.querySelector('#alerts-list [data-alert-id="%d"]') !== null`, a.ID)),
	)

	// A popup's trend is a fetch() with the key.
	env.run("popup trend",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('toggle-incidents').click(); document.getElementById('toggle-hotspots').click(); document.getElementById('toggle-clusters').click()`),
		keyPoll(keyMapIdle+` && hotspots.map.queryRenderedFeatures({layers: ['hex-fill']}).length > 0`),
	)
	xy := mustEval[[]float64](t, env.ctx, `(() => { const r = hotspots.map.getCanvas().getBoundingClientRect();
		const p = hotspots.map.project(`+target+`); return [r.left + p.x, r.top + p.y]; })()`)
	env.run("click the hexagon",
		chromedp.MouseClickXY(xy[0], xy[1]),
		keyPoll(`document.querySelector('.maplibregl-popup-content svg.spark') !== null`),
	)
	saveScreenshot(t, env.ctx, "browser-map-signed-in.png")

	for _, kind := range []string{"me", "config", "tile:hex", "tile:streets", "tile:incidents", "stream", "series"} {
		if env.requests(kind, bearer) == 0 {
			t.Errorf("no %s request carried the key: %v", kind, env.auth)
		}
	}
	env.mu.Lock()
	for kind, byAuth := range env.auth {
		for h, n := range byAuth {
			if h != bearer {
				t.Errorf("%d %s requests with Authorization %q, want every one with the key", n, kind, h)
			}
		}
	}
	env.mu.Unlock()

	// The access log names the key for the points it was sent.
	log, err := env.store.ListAccess(context.Background(), geo.AccessFilter{KeyID: &k.ID})
	if err != nil {
		t.Fatal(err)
	}
	tiles := 0
	for _, e := range log {
		if e.Layer == "incidents" && e.KeyName == "Browser analyst" && e.Role == geo.RoleAnalyst {
			tiles++
		}
	}
	if tiles == 0 {
		t.Errorf("no incidents tile read logged for the key: %+v", log)
	}

	// Sign out: the key is forgotten and the page is the public view.
	env.run("sign out",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('sign-out').click()`),
		keyPoll(`document.getElementById('signed-in') && document.getElementById('signed-in').textContent.includes('public view')`),
		keyPoll(`document.getElementById('alerts-status').textContent === 'sign in to see alerts'`),
	)
	if got := mustEval[bool](t, env.ctx, `sessionStorage.getItem('hotspots.apiKey') === null && document.getElementById('toggle-incidents').disabled`); !got {
		t.Error("after sign-out the key is still stored or points are still offered")
	}
	env.noJSErrors()
}

// TestBrowserMapWrongKey opens the map with a key the server does not know:
// the page says the key was refused and shows the public view (no 401s
// everywhere), forgets the key, and then signs in through the form.
func TestBrowserMapWrongKey(t *testing.T) {
	env := newKeyMapEnv(t)
	wrong, _, _, err := geo.NewKeySecret() // well formed, never stored
	if err != nil {
		t.Fatal(err)
	}
	env.run("open the map with a wrong key",
		chromedp.Navigate(env.srv.URL+"/#key="+wrong),
		keyPoll(keyMapIdle+` && hotspots.map.queryRenderedFeatures({layers: ['hex-fill']}).length > 0`),
		keyPoll(`!document.getElementById('auth-message').hidden`),
	)
	msg := mustEval[string](t, env.ctx, `document.getElementById('auth-message').textContent`)
	if !strings.Contains(msg, "not accepted") || !strings.Contains(msg, "public view") {
		t.Errorf("rejection message %q", msg)
	}
	if href := mustEval[string](t, env.ctx, `location.href`); strings.Contains(href, wrong) {
		t.Errorf("the key is still in the address bar: %s", href)
	}
	checks := map[string]string{
		"key forgotten":         `sessionStorage.getItem('hotspots.apiKey') === null`,
		"public view":           `document.getElementById('signed-in').textContent.includes('public view') && hotspots.cfg.principal.role === 'public'`,
		"form offered":          `!document.getElementById('sign-in').hidden && document.getElementById('sign-out').hidden`,
		"points not offered":    `document.getElementById('toggle-incidents').disabled && document.getElementById('layer-toggles').textContent.includes('sign in as an analyst')`,
		"alerts need a sign-in": `document.getElementById('alerts-status').textContent === 'sign in to see alerts'`,
	}
	for name, js := range checks {
		if !mustEval[bool](t, env.ctx, js) {
			t.Errorf("%s: %s is false", name, js)
		}
	}
	// After the check with /api/v1/me, nothing was sent with the wrong key.
	env.mu.Lock()
	for kind, byAuth := range env.auth {
		if n := byAuth["Bearer "+wrong]; n > 0 && kind != "me" {
			t.Errorf("%d %s requests sent the refused key", n, kind)
		}
	}
	env.mu.Unlock()

	// A wrong key typed into the form: a message, still public.
	env.run("type a wrong key",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('auth-message').hidden = true;
			document.getElementById('api-key').value = 'hsk_nope'; document.getElementById('sign-in').requestSubmit()`),
		keyPoll(`!document.getElementById('auth-message').hidden && document.getElementById('auth-message').textContent.includes('not accepted')`),
	)
	// The right key typed into the form signs in (the page reloads as it).
	_, secret := env.key("Form analyst", geo.RoleAnalyst)
	env.run("sign in with the form",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('api-key').value = '`+secret+`'; document.getElementById('sign-in').requestSubmit()`),
		keyPoll(`document.getElementById('signed-in') && document.getElementById('signed-in').textContent.includes('Signed in as Form analyst (analyst)')`),
		keyPoll(keyMapIdle+` && hotspots.map.queryRenderedFeatures({layers: ['hex-fill']}).length > 0`),
		keyPoll(`document.getElementById('alerts-status').textContent === 'live'`),
		keyPoll(`(b => b && !b.disabled)(document.getElementById('toggle-incidents'))`),
	)
	if env.requests("tile:hex", "Bearer "+secret) == 0 {
		t.Errorf("no hex tile carried the key typed in: %v", env.auth)
	}
	env.noJSErrors()
}

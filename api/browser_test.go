package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"hotspots/geo"
)

// chromiumPath finds the headless browser scripts/test.sh installs. Without
// one the browser test skips on a laptop and fails in CI.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("HOTSPOTS_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found; scripts/test.sh installs it")
	}
	t.Skip("chromium not installed")
	return ""
}

// chromiumOptions are the headless Chromium flags every browser test uses:
// no sandbox (CI runs as root), no GPU, no background traffic, one window size
// so screenshots compare.
func chromiumOptions(t *testing.T, bin string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1200, 800),
	}
}

// artifactDir is where the browser test leaves its screenshot.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("HOTSPOTS_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestBrowserMap loads the analyst map in a real headless Chromium against
// the real API over SQLite: tiles must be requested and drawn, clicking the
// hot hexagon must open a popup with its counts and a trend, the alerts
// panel must say "alerts unavailable" without a stream and list alerts from
// one, and the simulated-data banner must show.
func TestBrowserMap(t *testing.T) {
	bin := chromiumPath(t)
	store := mapTestStore(t, 300)
	ctx := context.Background()
	hot9, _ := geo.CellFromPoint(mapHotPoint, 9)
	cold9, _ := geo.CellFromPoint(mapColdPoint, 9)
	p := 0.001
	if _, err := store.SaveRun(ctx, geo.DetectionRun{Detector: "gistar", WindowFrom: mapFixEnd.AddDate(0, 0, -365), WindowTo: mapFixEnd, StartedAt: mapFixEnd},
		[]geo.Finding{{Detector: "gistar", Kind: "hotspot", Cells: []geo.Cell{hot9}, Score: 4.1, PValue: &p, Category: "hot_99",
			Start: mapFixEnd.AddDate(0, 0, -365), End: mapFixEnd}}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.SaveRun(ctx, geo.DetectionRun{Detector: "stpscan", WindowFrom: mapFixEnd.AddDate(0, 0, -90), WindowTo: mapFixEnd, StartedAt: mapFixEnd},
		[]geo.Finding{{Detector: "stpscan", Kind: "cluster", Cells: cold9.Disk(1), Observed: 12, Expected: 3, PValue: &p,
			Start: mapFixEnd.AddDate(0, 0, -20), End: mapFixEnd, Stats: map[string]float64{"ri": 500}}}); err != nil {
		t.Fatal(err)
	}
	// Count tile requests where they arrive: MapLibre fetches tiles from a
	// worker, whose requests the page's network events do not show.
	var mu sync.Mutex
	tileReqs := map[string]int{}
	// The alerts stream is played by the test, so both of the panel's
	// states are checked whatever the alerts route of the API does: first
	// absent (404), then a stream with one alert.
	var alertsLive atomic.Bool
	api := mapTestAPI(t, store, "simulated-overdoses").Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/alerts/stream" {
			if !alertsLive.Load() {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/event-stream")
			// The alerts API's event format: named events carrying the alert.
			fmt.Fprint(w, "retry: 60000\nid: 1\nevent: alert.raised\n"+
				`data: {"type": "alert.raised", "at": "2024-06-30T14:00:00Z", "alert": {"id": 7, "title": "Test alert: shootings up in Downtown", "status": "open"}}`+"\n\n")
			return
		}
		if rest, ok := strings.CutPrefix(r.URL.Path, "/tiles/"); ok && strings.HasSuffix(rest, ".mvt") {
			layer, _, _ := strings.Cut(rest, "/")
			mu.Lock()
			tileReqs[layer]++
			mu.Unlock()
		}
		api.ServeHTTP(w, r)
	}))
	defer srv.Close()

	opts := chromiumOptions(t, bin)
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelA()
	var jsErrors []string
	bctx, cancelB := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			jsErrors = append(jsErrors, msg)
		}
	}))
	defer cancelB()
	// The first run starts the browser and must not carry a timeout.
	if err := chromedp.Do(bctx,
		cdpDo(network.Enable, network.EnableParams{}),
		// A cookie, not a header: MapLibre's worker fetches the tiles, and
		// extra headers do not reach worker requests.
		cdpDo(network.SetCookie, network.SetCookieParams{Name: mapTestRoleCookie, Value: "analyst", URL: srv.URL}),
		cdpDo(emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 1200, Height: 800, DeviceScaleFactor: 1}),
	); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	tctx, cancelT := context.WithTimeout(bctx, 90*time.Second)
	defer cancelT()

	poll := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(45*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))
	}
	const idle = `window.hotspots && hotspots.map && hotspots.map.loaded() && hotspots.map.areTilesLoaded()`
	if err := chromedp.Do(tctx,
		chromedp.Navigate(srv.URL+"/"),
		poll(idle+` && hotspots.map.queryRenderedFeatures({layers: ['hex-fill']}).length > 0`),
		poll(`document.getElementById('alerts-status').textContent === 'alerts unavailable'`),
	); err != nil {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("map did not draw hexagons: %v (tile requests %v, js errors %v)", err, tileReqs, jsErrors)
	}
	hexCount := mustEval[int](t, tctx, `hotspots.map.queryRenderedFeatures({layers: ['hex-fill']}).length`)
	if hexCount == 0 {
		t.Fatal("no hexagons rendered")
	}
	banner := mustEval[string](t, tctx, `(b => b.hidden ? '' : b.textContent)(document.getElementById('simulated-banner'))`)
	if !strings.Contains(banner, "SIMULATED") || !strings.Contains(banner, "simulated-overdoses") {
		t.Fatalf("simulated banner %q", banner)
	}

	saveScreenshot(t, tctx, "browser-map-overview.png")

	// Zoom to the hot spot and click its hexagon. The hot-spot outline sits
	// on top of the hexagon; hide it so the click reaches the counts.
	target := fmt.Sprintf("[%f, %f]", mapHotPoint[0], mapHotPoint[1])
	mustEval[bool](t, tctx, `hotspots.map.jumpTo({center: `+target+`, zoom: 13.5}); document.getElementById('toggle-hotspots').click(); true`)
	if err := chromedp.Do(tctx, poll(idle+` && hotspots.map.queryRenderedFeatures({layers: ['hex-fill', 'clusters-fill']}).length > 1`)); err != nil {
		t.Fatalf("zoom to hot spot: %v", err)
	}
	xy := mustEval[[]float64](t, tctx, `(() => { const r = hotspots.map.getCanvas().getBoundingClientRect();
		const p = hotspots.map.project(`+target+`); return [r.left + p.x, r.top + p.y]; })()`)
	if err := chromedp.Do(tctx,
		chromedp.MouseClickXY(xy[0], xy[1]),
		poll(`(document.querySelector('.maplibregl-popup-content') || {}).textContent?.includes('total')`),
		poll(`document.querySelector('.maplibregl-popup-content svg.spark') !== null`),
	); err != nil {
		t.Fatalf("click on the hot hexagon: %v (js errors %v)", err, jsErrors)
	}
	popup := mustEval[string](t, tctx, `document.querySelector('.maplibregl-popup-content').textContent`)
	colors := mustEval[int](t, tctx, `(() => { const c = hotspots.map.getCanvas(); const o = document.createElement('canvas');
		o.width = c.width; o.height = c.height; const g = o.getContext('2d'); g.drawImage(c, 0, 0);
		const d = g.getImageData(0, 0, o.width, o.height).data; const s = new Set();
		for (let i = 0; i < d.length; i += 4 * 53) s.add(d[i] + ',' + d[i+1] + ',' + d[i+2]);
		return s.size; })()`)
	alertsLive.Store(true)
	mustEval[bool](t, tctx, `hotspots.reconnectAlerts(); true`)
	if err := chromedp.Do(tctx, poll(`document.getElementById('alerts-list').textContent.includes('shootings up in Downtown')`)); err != nil {
		t.Fatalf("alert from the stream not shown: %v", err)
	}
	saveScreenshot(t, tctx, "browser-map-popup.png")

	for _, want := range []string{"Hexagon", "shooting15", "overdose4", "total19"} {
		if !strings.Contains(popup, want) {
			t.Fatalf("popup %q lacks %q", popup, want)
		}
	}
	if colors < 8 {
		t.Fatalf("canvas looks blank: %d distinct colours", colors)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, layer := range []string{"hex", "streets", "hotspots", "clusters", "areas"} {
		if tileReqs[layer] == 0 {
			t.Errorf("no %s tiles requested: %v", layer, tileReqs)
		}
	}
	if len(jsErrors) > 0 {
		b, _ := json.Marshal(jsErrors)
		t.Errorf("javascript errors: %s", b)
	}
}

// cdpDo runs one protocol command that returns nothing as an action.
func cdpDo[P any](cmd cdp.Command[P, cdp.Empty], params P) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, cmd, params)
		return chromedp.Void{}, err
	}
}

// mustEval evaluates a JavaScript expression in the page.
func mustEval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %.60q: %v", js, err)
	}
	return v
}

// saveScreenshot writes a PNG of the page to the artifact folder.
func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	// Wait until the map has drawn everything it asked for, then capture
	// the viewport as it is (a full-page capture would resize the page and
	// make the map redraw mid-capture).
	const drawn = `window.hotspots && hotspots.map && hotspots.map.loaded() && hotspots.map.areTilesLoaded() && !hotspots.map.isMoving()`
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](drawn, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("map not idle for the screenshot: %v", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(artifactDir(t), name)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

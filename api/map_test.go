package api

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"hotspots/geo"
	"hotspots/web"
)

func TestMapPageSecurityHeaders(t *testing.T) {
	srv := mapTestServer(t, mapTestStore(t, 0))
	tests := []struct {
		path, ctype string
		status      int
	}{
		{"/", "text/html", 200},
		{"/static/app.js", "javascript", 200},
		{"/static/app.css", "text/css", 200},
		{"/static/vendor/maplibre-gl.js", "javascript", 200},
		{"/static/vendor/maplibre-gl.css", "text/css", 200},
		{"/static/nope.js", "application/problem+json", 404},
		{"/static/../api.go", "", 404},
		{"/static/vendor/", "application/problem+json", 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, body := mapGet(t, srv.URL+tt.path)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if !strings.Contains(res.Header.Get("Content-Type"), tt.ctype) {
				t.Fatalf("content type %q, want %q", res.Header.Get("Content-Type"), tt.ctype)
			}
			if tt.status != 200 {
				return
			}
			csp := res.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "script-src 'self'", "worker-src blob:", "object-src 'none'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Fatalf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") {
				t.Fatalf("CSP allows unsafe or remote sources: %q", csp)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("X-Frame-Options") != "DENY" {
				t.Fatalf("hardening headers missing: %v", res.Header)
			}
			if len(body) == 0 {
				t.Fatal("empty asset")
			}
		})
	}
}

// TestMapAssetsAreLocal guards "no CDN, no remote basemap, no remote
// fonts": the page and its script name no remote URL (the SVG namespace is
// an identifier, not a fetch).
func TestMapAssetsAreLocal(t *testing.T) {
	remote := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for _, name := range []string{"index.html", "app.js", "app.css"} {
		b, err := fs.ReadFile(web.Static(), name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range remote.FindAllString(string(b), -1) {
			if m != "http://www.w3.org" {
				t.Errorf("%s references remote %q", name, m)
			}
		}
		if regexp.MustCompile(`glyphs["']?\s*:`).Match(b) {
			t.Errorf("%s asks for glyphs, which would need a font server", name)
		}
	}
}

func TestMapConfig(t *testing.T) {
	srv := mapTestServer(t, mapTestStore(t, 0), "simulated-overdoses")
	tests := []struct {
		role       string
		points     bool
		suppressed bool
		finest     int
	}{
		{"", false, true, 9},
		{"outreach", false, false, 11},
		{"analyst", true, false, 11},
	}
	for _, tt := range tests {
		t.Run("role "+tt.role, func(t *testing.T) {
			res, body := mapGet(t, srv.URL+"/map/config.json", "X-Test-Role", tt.role)
			if res.StatusCode != 200 {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			var cfg MapConfig
			if err := json.Unmarshal(body, &cfg); err != nil {
				t.Fatal(err)
			}
			if cfg.City != "Baltimore" || cfg.DataEnd != "2024-06-30" || cfg.Zoom == 0 {
				t.Fatalf("config %+v", cfg)
			}
			if len(cfg.AreaLayers) != 1 || cfg.AreaLayers[0].ID != "nbhd" {
				t.Fatalf("area layers %v", cfg.AreaLayers)
			}
			if len(cfg.Simulated) != 1 || cfg.Simulated[0] != "simulated-overdoses" {
				t.Fatalf("simulated %v", cfg.Simulated)
			}
			if cfg.Principal.SeesPoints != tt.points || cfg.Principal.Suppressed != tt.suppressed {
				t.Fatalf("principal %+v", cfg.Principal)
			}
			if got := cfg.Resolutions[len(cfg.Resolutions)-1].Res; got != tt.finest {
				t.Fatalf("finest resolution %d, want %d", got, tt.finest)
			}
		})
	}
}

func TestCellSeries(t *testing.T) {
	srv := mapTestServer(t, mapTestStore(t, 0))
	hot9, _ := geo.CellFromPoint(mapHotPoint, 9)
	hot11, _ := geo.CellFromPoint(mapHotPoint, 11)
	tests := []struct {
		name   string
		path   string
		role   string
		status int
		check  func(t *testing.T, s Series)
	}{
		{"analyst daily 30d", "/api/v1/cells/" + hot9.String() + "/series?window=30d", "analyst", 200, func(t *testing.T, s Series) {
			if s.Step != "day" || len(s.Series) != 30 || s.From != "2024-06-01" || s.To != "2024-06-30" {
				t.Fatalf("series %+v", s)
			}
			// Shootings every 3rd day back from 06-30 (10 in 30 days) and
			// overdoses on 06-30 and 06-10.
			if s.Total == nil || *s.Total != 12 || *s.Series[29].Count != 2 || *s.Series[28].Count != 0 {
				t.Fatalf("counts %+v", s)
			}
		}},
		{"analyst weekly all", "/api/v1/cells/" + hot9.String() + "/series?window=all&step=week", "analyst", 200, func(t *testing.T, s Series) {
			if s.Step != "week" || s.Total == nil || *s.Total != 19 {
				t.Fatalf("series %+v", s)
			}
			if d, _ := time.Parse(time.DateOnly, s.Series[0].Start); d.Weekday() != time.Monday {
				t.Fatalf("weeks should start on Monday: %s", s.Series[0].Start)
			}
		}},
		{"public suppressed bins and total", "/api/v1/cells/" + hot9.String() + "/series?window=30d", "", 200, func(t *testing.T, s Series) {
			if s.Total != nil || !s.Suppressed {
				t.Fatalf("public total should be hidden: %+v", s)
			}
			for _, p := range s.Series {
				if p.Count != nil && *p.Count > 0 {
					t.Fatalf("public small count shown: %+v", p)
				}
			}
		}},
		{"public finer than res 9", "/api/v1/cells/" + hot11.String() + "/series", "", 403, nil},
		{"analyst res 11", "/api/v1/cells/" + hot11.String() + "/series?step=week", "analyst", 200, nil},
		{"bad cell", "/api/v1/cells/zzz/series", "analyst", 400, nil},
		{"bad step", "/api/v1/cells/" + hot9.String() + "/series?step=month", "analyst", 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := mapGet(t, srv.URL+tt.path, "X-Test-Role", tt.role)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, body)
			}
			if tt.check == nil {
				return
			}
			var s Series
			if err := json.Unmarshal(body, &s); err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

func TestAreaSeries(t *testing.T) {
	srv := mapTestServer(t, mapTestStore(t, 0))
	tests := []struct {
		name   string
		path   string
		role   string
		areas  string
		status int
		total  int
	}{
		{"analyst", "/api/v1/areas/nbhd/downtown/series?window=all", "analyst", "", 200, 19},
		{"analyst kinds", "/api/v1/areas/nbhd/downtown/series?window=all&kinds=overdose", "analyst", "", 200, 4},
		{"outreach in scope", "/api/v1/areas/nbhd/uptown/series?window=all", "outreach", "nbhd:uptown", 200, 3},
		{"outreach out of scope", "/api/v1/areas/nbhd/downtown/series", "outreach", "nbhd:uptown", 403, 0},
		{"public suppressed", "/api/v1/areas/nbhd/uptown/series?window=all", "", "", 200, -1},
		{"unknown area", "/api/v1/areas/nbhd/nowhere/series", "analyst", "", 404, 0},
		{"unknown layer", "/api/v1/areas/wards/1/series", "analyst", "", 404, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := mapGet(t, srv.URL+tt.path, "X-Test-Role", tt.role, "X-Test-Areas", tt.areas)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, body)
			}
			if tt.status != 200 {
				return
			}
			var s Series
			if err := json.Unmarshal(body, &s); err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.total < 0 && (s.Total != nil || !s.Suppressed):
				t.Fatalf("public total of 3 should be suppressed: %+v", s)
			case tt.total >= 0 && (s.Total == nil || *s.Total != tt.total):
				t.Fatalf("total %v, want %d", s.Total, tt.total)
			}
		})
	}
}

func TestBinSeries(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	p := func(t time.Time) *time.Time { return &t }
	tests := []struct {
		name              string
		days              map[time.Time]int
		from, to          *time.Time
		end               time.Time
		step              string
		below             int
		wantStep          string
		wantBins          int
		wantTotal         int // -1: suppressed
		wantErr           bool
		firstStart        string
		wantSuppressedBin int
	}{
		{"daily inside 120 days", map[time.Time]int{day("2024-01-02"): 3}, p(day("2024-01-01")), p(day("2024-01-11")), time.Time{}, "", 0, "day", 10, 3, false, "2024-01-01", -1},
		{"weekly past 120 days, Monday aligned", map[time.Time]int{day("2024-01-03"): 12}, p(day("2024-01-03")), p(day("2024-07-01")), time.Time{}, "", 0, "week", 26, 12, false, "2024-01-01", -1},
		{"open window runs from first data to data end", map[time.Time]int{day("2024-03-01"): 12, day("2024-03-05"): 1}, nil, nil, day("2024-03-10"), "", 0, "day", 10, 13, false, "2024-03-01", -1},
		{"public: small bin hides total", map[time.Time]int{day("2024-03-01"): 12, day("2024-03-05"): 1}, nil, nil, day("2024-03-10"), "", 11, "day", 10, -1, false, "2024-03-01", 4},
		{"bad step", nil, nil, nil, day("2024-03-10"), "month", 0, "", 0, 0, true, "", -1},
		{"no data", map[time.Time]int{}, nil, nil, time.Time{}, "", 0, "day", 0, 0, false, "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := binSeries(tt.days, tt.from, tt.to, tt.end, tt.step, tt.below)
			if tt.wantErr {
				if geo.ErrorCode(err) != geo.EINVALID {
					t.Fatalf("want invalid, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Step != tt.wantStep || len(s.Series) != tt.wantBins {
				t.Fatalf("step %s bins %d, want %s %d", s.Step, len(s.Series), tt.wantStep, tt.wantBins)
			}
			if tt.wantTotal < 0 {
				if s.Total != nil || !s.Suppressed {
					t.Fatalf("total should be suppressed: %+v", s)
				}
			} else if s.Total == nil || *s.Total != tt.wantTotal {
				t.Fatalf("total %v, want %d", s.Total, tt.wantTotal)
			}
			if tt.firstStart != "" && s.Series[0].Start != tt.firstStart {
				t.Fatalf("first bin %s, want %s", s.Series[0].Start, tt.firstStart)
			}
			if tt.wantSuppressedBin >= 0 && (!s.Series[tt.wantSuppressedBin].Suppressed || s.Series[tt.wantSuppressedBin].Count != nil) {
				t.Fatalf("bin %d should be suppressed: %+v", tt.wantSuppressedBin, s.Series[tt.wantSuppressedBin])
			}
		})
	}
}

package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/paulmach/orb"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/indicator"
	"hotspots/geo/sqlite"
)

// zone is a small square near City Hall, dx degrees east.
func zone(dx float64) orb.MultiPolygon {
	x, y, h := -76.6107+dx, 39.2910, 0.002
	return orb.MultiPolygon{{{{x - h, y - h}, {x + h, y - h}, {x + h, y + h}, {x - h, y + h}, {x - h, y - h}}}}
}

func intp(v int) *int { return &v }

// seedIndicators stores a three-zone layer (1,000 residents, none, unknown)
// and a load of shootings: z1 15 a month in 2024 and 12 a month in 2023,
// z2 3 in March 2024, z3 25 in March 2024.
func seedIndicators(t testing.TB, st geo.Store) {
	t.Helper()
	ctx := context.Background()
	layer := geo.AreaLayer{ID: "test_zones", Name: "Test zones", Kind: "custom", Source: "test fixture"}
	areas := []geo.Area{
		{Layer: "test_zones", Code: "z1", Name: "Zone One", Geometry: zone(0), Population: intp(1000), PopulationYear: 2020},
		{Layer: "test_zones", Code: "z2", Name: "Zone Two", Geometry: zone(0.01), Population: intp(0), PopulationYear: 2020},
		{Layer: "test_zones", Code: "z3", Name: "Zone Three", Geometry: zone(0.02)},
	}
	if err := st.PutLayer(ctx, layer, areas); err != nil {
		t.Fatal(err)
	}
	var incs []geo.Incident
	add := func(code string, day time.Time, n int, kind geo.Kind) {
		for i := range n {
			incs = append(incs, geo.Incident{Source: "test-shootings", SourceID: fmt.Sprintf("%s-%s-%s-%d", code, kind, day.Format(time.DateOnly), i),
				Kind: kind, OccurredAt: day.Add(16 * time.Hour), Day: day, Location: orb.Point{-76.6107, 39.2910},
				Precision: geo.PrecisionExact, Victims: 1, Areas: map[string]string{"test_zones": code}})
		}
	}
	for m := range 12 {
		add("z1", time.Date(2024, time.Month(m+1), 10, 0, 0, 0, 0, time.UTC), 15, geo.KindShootingNonFatal)
		add("z1", time.Date(2023, time.Month(m+1), 10, 0, 0, 0, 0, time.UTC), 12, geo.KindShootingFatal)
	}
	add("z2", time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC), 3, geo.KindShootingFatal)
	add("z3", time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC), 25, geo.KindShootingFatal)
	add("z3", time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC), 40, geo.KindOverdoseFatal)
	load, err := st.StartLoad(ctx, "test-shootings")
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.UpsertIncidents(ctx, load.ID, incs)
	if err != nil {
		t.Fatal(err)
	}
	load.Status, load.RowsRead, load.Added = geo.LoadDone, len(incs), res.Added
	now := time.Now().UTC()
	load.FinishedAt = &now
	if err := st.FinishLoad(ctx, load); err != nil {
		t.Fatal(err)
	}
}

// indicatorServer serves the API on a seeded embedded store with a fixed
// caller (nil: anonymous).
func indicatorServer(t testing.TB, p *geo.Principal) (*httptest.Server, geo.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	seedIndicators(t, st)
	return serveWith(t, st, p), st
}

func serveWith(t testing.TB, st geo.Store, p *geo.Principal) *httptest.Server {
	t.Helper()
	city, err := cities.Open("baltimore")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Store: st, City: city})
	if p != nil {
		s.echo.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error { c.Set("principal", *p); return next(c) }
		})
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

var (
	analyst = &geo.Principal{KeyID: 1, Name: "analyst", Role: geo.RoleAnalyst}
	admin   = &geo.Principal{KeyID: 2, Name: "admin", Role: geo.RoleAdmin}
)

func get(t testing.TB, srv *httptest.Server, path string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func TestIndicatorsValidation(t *testing.T) {
	srv, _ := indicatorServer(t, analyst)
	tomorrow := time.Now().AddDate(0, 0, 3).Format(time.DateOnly)
	tests := []struct {
		name, query string
		status      int
		field       string
	}{
		{"layer missing", "", 400, "layer"},
		{"unknown layer", "layer=nope", 400, "layer"},
		{"unknown kind", "layer=test_zones&kinds=shooting,gunfire", 400, "kinds"},
		{"empty kinds", "layer=test_zones&kinds=,", 400, "kinds"},
		{"unknown period", "layer=test_zones&period=fortnight", 400, "period"},
		{"bad from", "layer=test_zones&from=2024-13-01", 400, "from"},
		{"bad to", "layer=test_zones&to=yesterday", 400, "to"},
		{"from after to", "layer=test_zones&from=2024-05-01&to=2024-04-01", 400, "from"},
		{"to in the future", "layer=test_zones&to=" + tomorrow, 400, "to"},
		{"too many weeks", "layer=test_zones&period=week&from=1990-01-01&to=2024-01-01", 400, "from"},
		{"bad format", "layer=test_zones&format=xlsx", 400, "format"},
		{"unknown parameter", "layer=test_zones&window=7d", 400, "window"},
		{"repeated parameter", "layer=test_zones&period=month&period=week", 400, "period"},
		{"bad target reduction", "layer=test_zones&target_reduction=1.5", 400, "target_reduction"},
		{"target reduction not a number", "layer=test_zones&target_reduction=15%25", 400, "target_reduction"},
		{"bad target baseline", "layer=test_zones&target_baseline=last", 400, "target_baseline"},
		{"ok", "layer=test_zones", 200, ""},
		{"ok weeks csv", "layer=test_zones&period=week&format=csv", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := get(t, srv, "/api/v1/indicators?"+tt.query)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, body)
			}
			if tt.status == 200 {
				return
			}
			var p Problem
			if err := json.Unmarshal(body, &p); err != nil || p.Field != tt.field || p.Detail == "" {
				t.Errorf("problem %+v (%v), want field %q", p, err, tt.field)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
		})
	}
}

func mustIndicators(t *testing.T, srv *httptest.Server, query string) IndicatorsResponse {
	t.Helper()
	res, body := get(t, srv, "/api/v1/indicators?"+query)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	var out IndicatorsResponse
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIndicatorsJSON(t *testing.T) {
	srv, _ := indicatorServer(t, analyst)
	r := mustIndicators(t, srv, "layer=test_zones")
	// Data end 2024-12-10: to defaults to 2024-12-11, twelve months back
	// from December, December partial.
	if r.From != "2024-01-01" || r.To != "2024-12-11" || len(r.Periods) != 12 || !r.Periods[11].Partial || r.Periods[10].Partial {
		t.Fatalf("range %s..%s, periods %+v", r.From, r.To, r.Periods)
	}
	if r.DataStart != "2023-01-10" || r.DataEnd != "2024-12-10" || r.SuppressBelow != 0 {
		t.Errorf("data %s..%s suppress %d", r.DataStart, r.DataEnd, r.SuppressBelow)
	}
	if len(r.Kinds) != 2 || r.Kinds[0] != geo.KindShootingFatal || r.Layer.ID != "test_zones" {
		t.Errorf("kinds %v layer %+v", r.Kinds, r.Layer)
	}
	z1, z2, z3 := r.Areas[0], r.Areas[1], r.Areas[2]
	jan := z1.Cells[0]
	if *jan.Count != 15 || *jan.RatePer1k != 15 || !jan.Unstable || *jan.YearAgo != 12 || *jan.ChangeYearAgo != 3 ||
		*jan.Prev != 12 || jan.Baseline != nil || *jan.Rank != 1 {
		t.Errorf("z1 January %+v", jan)
	}
	if mar := z2.Cells[2]; *mar.Count != 3 || mar.Suppressed || mar.RatePer1k != nil {
		t.Errorf("z2 March for an analyst %+v", mar)
	}
	if *z3.Cells[2].Count != 25 || *r.City.Cells[2].Count != 43 {
		t.Errorf("March z3 %v city %v (overdoses must not count)", *z3.Cells[2].Count, *r.City.Cells[2].Count)
	}
	if z1.Trend == nil || z1.Trend.Direction != "no trend" {
		t.Errorf("z1 trend %+v", z1.Trend)
	}
	if r.Targets == nil || r.Targets.Year != 2024 || r.Targets.Goal.BaselineYear != 2016 || *r.Targets.Areas[0].Actual != 180 {
		t.Errorf("targets %+v", r.Targets)
	}
	// Fatal only, 2023 vs 2024 by year, with a 2023 target baseline.
	r = mustIndicators(t, srv, "layer=test_zones&kinds=shooting_fatal&period=year&from=2023-01-01&to=2025-01-01&target_baseline=2023&target_reduction=0.5&target_kinds=shooting_fatal")
	if len(r.Periods) != 2 || *r.Areas[0].Cells[0].Count != 144 || *r.Areas[0].Cells[1].Count != 0 || *r.Areas[0].Cells[1].ChangeYearAgoPct != -100 {
		t.Errorf("yearly fatal: %+v", r.Areas[0].Cells)
	}
	if tg := r.Targets.Areas[0]; *tg.Baseline != 144 || *tg.Target != 72 || *tg.Actual != 0 || !*tg.OnTrack || r.Targets.Fraction != 1 {
		t.Errorf("target z1 baseline %d target %v actual %d on track %v", *tg.Baseline, *tg.Target, *tg.Actual, *tg.OnTrack)
	}
}

func TestIndicatorsPublic(t *testing.T) {
	srv, _ := indicatorServer(t, nil)
	r := mustIndicators(t, srv, "layer=test_zones&from=2024-01-01&to=2024-07-01")
	if r.SuppressBelow != 11 {
		t.Errorf("suppress_below %d", r.SuppressBelow)
	}
	mar := r.Areas[1].Cells[2]
	if !mar.Suppressed || mar.Count != nil {
		t.Errorf("z2 March (3) shown to the public: %+v", mar)
	}
	hidden := 0
	for _, a := range r.Areas {
		for _, c := range a.Cells {
			if c.Suppressed {
				hidden++
			} else if *c.Count > 0 && *c.Count < 11 {
				t.Errorf("%s: small count %d shown", a.Code, *c.Count)
			}
		}
	}
	if hidden < 2 {
		t.Errorf("%d cells hidden: one hidden cell is recoverable from the city total", hidden)
	}
}

func TestIndicatorsOutreachScope(t *testing.T) {
	p := &geo.Principal{KeyID: 5, Role: geo.RoleOutreach, Team: "east", Areas: []string{"test_zones:z3"}}
	srv, _ := indicatorServer(t, p)
	r := mustIndicators(t, srv, "layer=test_zones")
	if len(r.Areas) != 1 || r.Areas[0].Code != "z3" || len(r.Targets.Areas) != 1 {
		t.Errorf("outreach sees %d areas", len(r.Areas))
	}
	if res, _ := get(t, srv, "/api/v1/indicators/test_zones/z1"); res.StatusCode != 403 {
		t.Errorf("outside scope: %d", res.StatusCode)
	}
	if res, _ := get(t, srv, "/api/v1/indicators/test_zones/z3"); res.StatusCode != 200 {
		t.Errorf("inside scope: %d", res.StatusCode)
	}
}

func TestIndicatorsCSV(t *testing.T) {
	srv, _ := indicatorServer(t, analyst)
	res, body := get(t, srv, "/api/v1/indicators?layer=test_zones&from=2024-01-01&to=2024-04-01&format=csv")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("status %d type %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+(3+2)*3 || strings.Join(rows[0], ",") != strings.Join(csvColumns, ",") {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	found := false
	for _, r := range rows[1:] {
		if r[col["code"]] == "z1" && r[col["period_start"]] == "2024-01-01" {
			found = r[col["count"]] == "15" && r[col["rate_per_10k"]] == "150" && r[col["row_type"]] == "area"
		}
		if r[col["row_type"]] == "city" && r[col["period_start"]] == "2024-03-01" && r[col["count"]] != "43" {
			t.Errorf("city March %v", r)
		}
	}
	if !found {
		t.Error("z1 January row missing or wrong")
	}
}

func TestIndicatorsGeoJSON(t *testing.T) {
	srv, _ := indicatorServer(t, analyst)
	res, body := get(t, srv, "/api/v1/indicators?layer=test_zones&format=geojson&from=2024-01-01&to=2024-04-01")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/geo+json" {
		t.Fatalf("status %d type %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Geometry   struct{ Type string } `json:"geometry"`
			Properties map[string]any        `json:"properties"`
		} `json:"features"`
		Period string `json:"period"`
	}
	if err := json.Unmarshal(body, &fc); err != nil {
		t.Fatal(err)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != 3 || fc.Period != "month" {
		t.Fatalf("%s with %d features", fc.Type, len(fc.Features))
	}
	f := fc.Features[2]
	if f.Geometry.Type != "MultiPolygon" || f.Properties["code"] != "z3" || f.Properties["count"] != 25.0 ||
		len(f.Properties["periods"].([]any)) != 3 {
		t.Errorf("feature z3: %s %v", f.Geometry.Type, f.Properties)
	}
}

func TestAreaIndicators(t *testing.T) {
	srv, _ := indicatorServer(t, nil)
	tests := []struct {
		path   string
		status int
	}{
		{"/api/v1/indicators/test_zones/z1", 200},
		{"/api/v1/indicators/test_zones/nope", 404},
		{"/api/v1/indicators/nope/z1", 404},
		{"/api/v1/indicators/test_zones/z1?period=decade", 400},
		{"/api/v1/indicators/test_zones/z1?layer=test_zones", 400},
		{"/api/v1/indicators/test_zones/z1?format=csv", 400},
	}
	for _, tt := range tests {
		if res, body := get(t, srv, tt.path); res.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d: %s", tt.path, res.StatusCode, tt.status, body)
		}
	}
	// The area's row equals its row of the layer table, suppression included.
	_, body := get(t, srv, "/api/v1/indicators/test_zones/z2?from=2024-01-01&to=2024-07-01")
	var one AreaIndicatorsResponse
	if err := json.Unmarshal(body, &one); err != nil {
		t.Fatal(err)
	}
	all := mustIndicators(t, srv, "layer=test_zones&from=2024-01-01&to=2024-07-01")
	a, _ := json.Marshal(one.Area)
	b, _ := json.Marshal(all.Areas[1])
	if string(a) != string(b) || one.Target == nil || one.Target.Area.Code != "z2" {
		t.Errorf("area row differs from the layer table:\n%s\n%s", a, b)
	}
}

func TestMethodsAndChangelog(t *testing.T) {
	srv, _ := indicatorServer(t, nil)
	res, body := get(t, srv, "/api/v1/methods")
	if res.StatusCode != 200 {
		t.Fatalf("methods %d", res.StatusCode)
	}
	var m MethodsResponse
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Indicators) != len(indicator.Definitions()) || m.LastUpdate == nil || len(m.Sources) != 1 ||
		m.Privacy.SuppressBelow != 11 || m.Target.BaselineYear != 2016 {
		t.Errorf("methods %+v", m)
	}
	if len(m.Layers) != 1 || m.Layers[0].PopulationKnown != 2 || m.Layers[0].PopulationZero != 1 || m.Layers[0].PopulationYear != 2020 {
		t.Errorf("layers %+v", m.Layers)
	}
	res, body = get(t, srv, "/methods")
	page := string(body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, d := range indicator.Definitions() {
		if !strings.Contains(page, d.Name) {
			t.Errorf("methods page lacks %q", d.Name)
		}
	}
	for _, s := range []string{"Test zones", "test-shootings", "Public counts from 1 to 10"} {
		if !strings.Contains(page, s) {
			t.Errorf("methods page lacks %q", s)
		}
	}
	res, body = get(t, srv, "/api/v1/changelog")
	var cl ChangelogResponse
	if err := json.Unmarshal(body, &cl); err != nil || res.StatusCode != 200 {
		t.Fatalf("changelog %d %v", res.StatusCode, err)
	}
	if len(cl.Loads) != 1 || cl.Loads[0].Source != "test-shootings" || cl.Loads[0].Added != 392 || cl.Loads[0].Status != geo.LoadDone {
		t.Errorf("changelog %+v", cl.Loads)
	}
	for q, field := range map[string]string{"limit=0": "limit", "limit=x": "limit", "since=2024": "since"} {
		res, body := get(t, srv, "/api/v1/changelog?"+q)
		var p Problem
		_ = json.Unmarshal(body, &p)
		if res.StatusCode != 400 || p.Field != field {
			t.Errorf("changelog?%s: %d %+v", q, res.StatusCode, p)
		}
	}
}

// TestOpenAPICoversRoutes: the description is valid JSON, OpenAPI 3, and
// documents every route this file's handler registers.
func TestOpenAPICoversRoutes(t *testing.T) {
	srv, _ := indicatorServer(t, nil)
	res, body := get(t, srv, "/api/v1/openapi.json")
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	city, _ := cities.Open("baltimore")
	s := New(Config{City: city})
	mine := []string{"/api/v1/indicators", "/api/v1/methods", "/methods", "/api/v1/changelog", "/api/v1/openapi.json", "/api/v1/areas/layers"}
	n := 0
	for _, r := range s.echo.Routes() {
		owned := false
		for _, p := range mine {
			owned = owned || r.Path == p || strings.HasPrefix(r.Path, p+"/")
		}
		if !owned || strings.HasSuffix(r.Path, "/series") {
			continue
		}
		n++
		path := r.Path
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, ":") {
				path = strings.Replace(path, seg, "{"+seg[1:]+"}", 1)
			}
		}
		if _, ok := doc.Paths[path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("%s %s not in openapi.json", r.Method, path)
		}
	}
	if n != 8 {
		t.Errorf("checked %d routes, want 8", n)
	}
}

func TestUploadLayer(t *testing.T) {
	good := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"East zone","population":500},
		"geometry":{"type":"Polygon","coordinates":[[[-76.60,39.29],[-76.59,39.29],[-76.59,39.30],[-76.60,39.30],[-76.60,39.29]]]}}]}`
	open := strings.Replace(good, "[-76.60,39.29]]]", "[-76.60,39.295]]]", 1)
	tests := []struct {
		name   string
		who    *geo.Principal
		query  string
		body   string
		status int
		field  string
	}{
		{"anonymous", nil, "id=zones&name=Zones", good, 401, ""},
		{"analyst", analyst, "id=zones&name=Zones", good, 403, ""},
		{"admin", admin, "id=zones&name=Zones", good, 201, ""},
		{"open ring", admin, "id=zones&name=Zones", open, 400, "features[0].geometry"},
		{"configured layer id", admin, "id=neighborhood_2010&name=Zones", good, 409, ""},
		{"existing without replace", admin, "id=test_zones&name=Zones", good, 409, ""},
		{"existing with replace", admin, "id=test_zones&name=Zones&replace=true", good, 201, ""},
		{"bad replace", admin, "id=zones&name=Zones&replace=yes", good, 400, "replace"},
		{"unknown parameter", admin, "id=zones&name=Zones&kind=x", good, 400, "kind"},
		{"no name", admin, "id=zones", good, 400, "name"},
		{"too large", admin, "id=zones&name=Zones", `{"type":"FeatureCollection","x":"` + strings.Repeat("x", MaxLayerUploadBytes) + `"}`, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, st := indicatorServer(t, tt.who)
			res, err := http.Post(srv.URL+"/api/v1/areas/layers?"+tt.query, "application/geo+json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, body)
			}
			if tt.field != "" {
				var p Problem
				if err := json.Unmarshal(body, &p); err != nil || p.Field != tt.field {
					t.Errorf("problem %+v, want field %s", p, tt.field)
				}
			}
			if tt.status != 201 {
				return
			}
			q, _ := url.ParseQuery(tt.query)
			areas, err := st.Areas(context.Background(), q.Get("id"))
			if err != nil || len(areas) != 1 || areas[0].Code != "east-zone" || *areas[0].Population != 500 {
				t.Fatalf("stored %+v %v", areas, err)
			}
			// The new layer is usable at once.
			if res, body := get(t, srv, "/api/v1/indicators?layer="+q.Get("id")); res.StatusCode != 200 {
				t.Errorf("indicators on the uploaded layer: %d %s", res.StatusCode, body)
			}
		})
	}
}

// binningStore adds geo.AreaBinCounter to a store, binning in Go.
type binningStore struct {
	geo.Store
	calls int
}

func (b *binningStore) AreaBinCounts(ctx context.Context, f geo.AreaCountFilter, edges []time.Time) ([]geo.AreaDayCount, error) {
	b.calls++
	f.From, f.To = &edges[0], &edges[len(edges)-1]
	days, err := b.AreaDayCounts(ctx, f)
	if err != nil {
		return nil, err
	}
	return indicator.Bin(days, edges), nil
}

// TestIndicatorsBinningStore: a store that bins server-side gets the same
// answers, weeks and partial periods included.
func TestIndicatorsBinningStore(t *testing.T) {
	plain, st := indicatorServer(t, nil)
	bs := &binningStore{Store: st}
	binned := serveWith(t, bs, nil)
	for _, q := range []string{
		"layer=test_zones",
		"layer=test_zones&period=week&from=2024-02-01&to=2024-04-03",
		"layer=test_zones&period=quarter&format=csv",
		"layer=test_zones&period=year&from=2023-01-01&to=2024-08-15&target_baseline=2023",
	} {
		_, a := get(t, plain, "/api/v1/indicators?"+q)
		_, b := get(t, binned, "/api/v1/indicators?"+q)
		if string(a) != string(b) {
			t.Errorf("%s: binned answer differs", q)
		}
	}
	if bs.calls == 0 {
		t.Error("AreaBinCounts never called")
	}
}

// TestIndicatorsFollowData: a cached answer is dropped when the data change.
func TestIndicatorsFollowData(t *testing.T) {
	srv, st := indicatorServer(t, analyst)
	q := "layer=test_zones&from=2024-01-01&to=2024-02-01"
	if n := *mustIndicators(t, srv, q).Areas[0].Cells[0].Count; n != 15 {
		t.Fatalf("z1 January %d", n)
	}
	day := time.Date(2024, 1, 20, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	load, _ := st.StartLoad(ctx, "late")
	if _, err := st.UpsertIncidents(ctx, load.ID, []geo.Incident{{Source: "late", SourceID: "1", Kind: geo.KindShootingFatal,
		OccurredAt: day.Add(12 * time.Hour), Day: day, Location: orb.Point{-76.6107, 39.2910}, Precision: geo.PrecisionExact,
		Victims: 1, Areas: map[string]string{"test_zones": "z1"}}}); err != nil {
		t.Fatal(err)
	}
	if n := *mustIndicators(t, srv, q).Areas[0].Cells[0].Count; n != 16 {
		t.Errorf("z1 January after a late incident: %d, want 16", n)
	}
}

package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/sqlite"
	"hotspots/tiles"
)

// Fixture points: a res-9 cell with 15 shootings and 4 overdoses, and one
// with 3 homicides, inside two square "nbhd" areas.
var (
	mapHotPoint  = orb.Point{-76.6122, 39.2904}
	mapColdPoint = orb.Point{-76.6022, 39.3004}
	mapFixEnd    = time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)
)

// mapTestStore opens a migrated SQLite store holding the fixture incidents
// plus extra clustered ones around Baltimore, and the "nbhd" area layer.
func mapTestStore(t testing.TB, extra int) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hotspots.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	square := func(p orb.Point, d float64) orb.MultiPolygon {
		return orb.MultiPolygon{{{{p[0] - d, p[1] - d}, {p[0] + d, p[1] - d}, {p[0] + d, p[1] + d}, {p[0] - d, p[1] + d}, {p[0] - d, p[1] - d}}}}
	}
	pop := 1000
	if err := db.PutLayer(ctx, geo.AreaLayer{ID: "nbhd", Name: "Test neighborhoods", Kind: "neighborhood"}, []geo.Area{
		{Layer: "nbhd", Code: "downtown", Name: "Downtown", Geometry: square(mapHotPoint, 0.004), Population: &pop},
		{Layer: "nbhd", Code: "uptown", Name: "Uptown", Geometry: square(mapColdPoint, 0.004), Population: &pop},
	}); err != nil {
		t.Fatal(err)
	}
	var incs []geo.Incident
	add := func(p orb.Point, k geo.Kind, day time.Time, area string) {
		c, err := geo.CellFromPoint(p, geo.FinestRes)
		if err != nil {
			t.Fatal(err)
		}
		in := geo.Incident{Source: "test", SourceID: fmt.Sprintf("t-%05d", len(incs)), Kind: k,
			OccurredAt: day.Add(16 * time.Hour), TimeKnown: true, Day: day, Location: p, Precision: geo.PrecisionExact,
			Victims: 1, Agency: "BPD", Cell: c, Areas: map[string]string{}}
		if area != "" {
			in.Areas["nbhd"] = area
		}
		incs = append(incs, in)
	}
	for i := range 15 {
		add(mapHotPoint, geo.KindShootingNonFatal, mapFixEnd.AddDate(0, 0, -i*3), "downtown")
	}
	for i := range 4 {
		add(mapHotPoint, geo.KindOverdoseFatal, mapFixEnd.AddDate(0, 0, -i*20), "downtown")
	}
	for i := range 3 {
		add(mapColdPoint, geo.KindHomicide, mapFixEnd.AddDate(0, 0, -i*40), "uptown")
	}
	r := rand.New(rand.NewPCG(7, 7))
	// Far (5 km and more) from the fixture points, so their counts stay exact.
	centres := []orb.Point{{-76.665, 39.330}, {-76.560, 39.270}, {-76.680, 39.262}, {-76.570, 39.342}}
	kinds := []geo.Kind{geo.KindShootingNonFatal, geo.KindShootingFatal, geo.KindOverdoseNonFatal, geo.KindOverdoseFatal}
	for range extra {
		c := centres[r.IntN(len(centres))]
		p := orb.Point{c[0] + r.NormFloat64()*0.006, c[1] + r.NormFloat64()*0.005}
		add(p, kinds[r.IntN(len(kinds))], mapFixEnd.AddDate(0, 0, -r.IntN(300)), "")
	}
	l, err := db.StartLoad(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpsertIncidents(ctx, l.ID, incs); err != nil {
		t.Fatal(err)
	}
	return db
}

// mapTestRoleCookie carries the test role for browser requests.
const mapTestRoleCookie = "hotspots_test_role"

// mapTestServer starts the API over the store. The X-Test-Role header (or
// the mapTestRoleCookie cookie) stands in for authentication: it sets the
// principal as the access-control middleware will.
func mapTestServer(t testing.TB, store geo.Store, simulated ...string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(mapTestAPI(t, store, simulated...).Handler())
	t.Cleanup(srv.Close)
	return srv
}

// mapTestAPI builds the API with the test principal middleware.
func mapTestAPI(t testing.TB, store geo.Store, simulated ...string) *Server {
	t.Helper()
	city, err := cities.Open("baltimore")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Store: store, City: city, Logger: slog.New(slog.DiscardHandler), Simulated: simulated})
	s.echo.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request().Header.Get("X-Test-Role")
			if ck, err := c.Cookie(mapTestRoleCookie); err == nil && r == "" {
				r = ck.Value
			}
			if r != "" {
				p := geo.Principal{Role: geo.Role(r), Name: "test-" + r}
				if a := c.Request().Header.Get("X-Test-Areas"); a != "" {
					p.Areas = strings.Split(a, ",")
				}
				c.Set("principal", p)
			}
			return next(c)
		}
	})
	return s
}

// mapGet does a GET with optional headers (name, value pairs).
func mapGet(t testing.TB, url string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	// Ask for encodings explicitly so the transport never decompresses.
	if req.Header.Get("Accept-Encoding") == "" {
		req.Header.Set("Accept-Encoding", "identity")
	}
	res, err := http.DefaultClient.Do(req)
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

func tilePath(layer string, z maptile.Zoom, p orb.Point) string {
	t := maptile.At(p, z)
	return fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", layer, t.Z, t.X, t.Y)
}

func TestGetTileHandlerErrors(t *testing.T) {
	srv := mapTestServer(t, mapTestStore(t, 0))
	tests := []struct {
		name   string
		path   string
		role   string
		status int
		field  string
	}{
		{"zoom too deep", "/tiles/hex/23/0/0.mvt", "", 400, "z"},
		{"x out of range", "/tiles/hex/2/4/0.mvt", "", 400, "x"},
		{"neg row(y) not allowed", "/tiles/hex/2/0/-1.mvt", "", 400, "y"},
		{"not a number", "/tiles/hex/a/0/0.mvt", "", 400, "z"},
		{"bad zxy checked before layer", "/tiles/nope/99/0/0.mvt", "", 400, "z"},
		{"no .mvt suffix", "/tiles/hex/2/0/0.png", "", 404, ""},
		{"unknown layer", "/tiles/roads/2/0/0.mvt", "", 404, ""},
		{"unknown kind", "/tiles/hex/12/1171/1566.mvt?kinds=burglary", "", 400, "kinds"},
		{"bad window", "/tiles/hex/12/1171/1566.mvt?window=2w", "", 400, "window"},
		{"bad date", "/tiles/hex/12/1171/1566.mvt?from=June", "", 400, "from"},
		{"areas need a layer", "/tiles/areas/12/1171/1566.mvt", "", 400, "area_layer"},
		{"unknown area layer", "/tiles/areas/12/1171/1566.mvt?area_layer=wards", "", 404, ""},
		{"points for anonymous", "/tiles/incidents/14/4686/6266.mvt", "", 401, ""},
		{"points for outreach", "/tiles/incidents/14/4686/6266.mvt", "outreach", 403, ""},
		{"points for analyst", "/tiles/incidents/14/4686/6266.mvt", "analyst", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := mapGet(t, srv.URL+tt.path, "X-Test-Role", tt.role)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, body)
			}
			if tt.status == 200 {
				return
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			if res.Header.Get("ETag") != "" || res.Header.Get("Cache-Control") != "" {
				t.Fatalf("an error carries cache headers: %v", res.Header)
			}
			var p Problem
			if err := json.Unmarshal(body, &p); err != nil || p.Field != tt.field || p.Status != tt.status {
				t.Fatalf("problem %+v (%v), want field %q", p, err, tt.field)
			}
		})
	}
}

func decodeMVT(t *testing.T, b []byte, gz bool) map[string]*mvt.Layer {
	t.Helper()
	dec := mvt.Unmarshal
	if gz {
		dec = mvt.UnmarshalGzipped
	}
	ls, err := dec(b)
	if err != nil {
		t.Fatalf("decode tile: %v", err)
	}
	out := map[string]*mvt.Layer{}
	for _, l := range ls {
		out[l.Name] = l
	}
	return out
}

func hexProps(t *testing.T, l *mvt.Layer, p orb.Point, res int) map[string]any {
	t.Helper()
	c, _ := geo.CellFromPoint(p, res)
	if l == nil {
		t.Fatal("no hex layer")
	}
	for _, f := range l.Features {
		if f.Properties["cell"] == c.String() {
			return f.Properties
		}
	}
	t.Fatalf("cell %s not in tile", c)
	return nil
}

func TestGetTileHexPrivacyAndCaching(t *testing.T) {
	srv := mapTestServer(t, mapTestStore(t, 0))
	path := tilePath("hex", 16, mapHotPoint) + "?window=all"
	tests := []struct {
		name  string
		role  string
		res   int
		props map[string]any
	}{
		{"anonymous: res 9, small overdose count hides the total", "", 9,
			map[string]any{"n_shooting": 15.0, "n_overdose": nil, "n_total": nil, "suppressed": true}},
		{"public role like anonymous", "public", 9,
			map[string]any{"n_shooting": 15.0, "n_total": nil, "suppressed": true}},
		{"outreach sees small counts", "outreach", 11,
			map[string]any{"n_shooting": 15.0, "n_overdose": 4.0, "n_total": 19.0, "suppressed": nil}},
		{"analyst", "analyst", 11, map[string]any{"n_total": 19.0}},
		{"outreach limited to areas sees its own unsuppressed", "outreach", 9,
			map[string]any{"n_shooting": 15.0, "n_overdose": 4.0, "n_total": 19.0, "suppressed": nil}},
		{"outreach limited to other areas sees this one as the public", "outreach", 9,
			map[string]any{"n_shooting": 15.0, "n_overdose": nil, "n_total": nil, "suppressed": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			areas := ""
			if strings.HasPrefix(tt.name, "outreach limited to areas") {
				areas = "nbhd:downtown"
			} else if strings.HasPrefix(tt.name, "outreach limited to other") {
				areas = "nbhd:uptown"
			}
			res, body := mapGet(t, srv.URL+path, "X-Test-Role", tt.role, "X-Test-Areas", areas, "Accept-Encoding", "gzip")
			if res.StatusCode != 200 {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/vnd.mapbox-vector-tile" {
				t.Fatalf("content type %q", ct)
			}
			gz := res.Header.Get("Content-Encoding") == "gzip"
			if !gz && len(body) >= tiles.GzipMinBytes {
				t.Fatalf("gzip accepted but a %d-byte tile went out plain", len(body))
			}
			props := hexProps(t, decodeMVT(t, body, gz)["hex"], mapHotPoint, tt.res)
			for k, v := range tt.props {
				if props[k] != v {
					t.Fatalf("%s = %v, want %v (all: %v)", k, props[k], v, props)
				}
			}
			etag := res.Header.Get("ETag")
			if etag == "" || res.Header.Get("Cache-Control") == "" {
				t.Fatalf("missing ETag or Cache-Control: %v", res.Header)
			}
			res2, body2 := mapGet(t, srv.URL+path, "X-Test-Role", tt.role, "X-Test-Areas", areas, "If-None-Match", etag)
			if res2.StatusCode != http.StatusNotModified || len(body2) != 0 {
				t.Fatalf("If-None-Match: status %d", res2.StatusCode)
			}
		})
	}
	// Different privacy views never share a validator.
	r1, _ := mapGet(t, srv.URL+path)
	r2, _ := mapGet(t, srv.URL+path, "X-Test-Role", "analyst")
	if r1.Header.Get("ETag") == r2.Header.Get("ETag") {
		t.Fatal("public and analyst tiles share an ETag")
	}
	// Without gzip in Accept-Encoding the plain tile is sent.
	res, body := mapGet(t, srv.URL+path, "X-Test-Role", "analyst")
	if res.Header.Get("Content-Encoding") != "" {
		t.Fatal("gzip sent to a client that did not accept it")
	}
	hexProps(t, decodeMVT(t, body, false)["hex"], mapHotPoint, 11)
}

func TestGetTileWindowAndKinds(t *testing.T) {
	srv := mapTestServer(t, mapTestStore(t, 0))
	tests := []struct {
		query string
		want  map[string]any
	}{
		{"window=all&kinds=shooting", map[string]any{"n_shooting": 15.0, "n_total": 15.0, "n_overdose": nil}},
		{"window=7d", map[string]any{"n_shooting": 3.0, "n_overdose": 1.0, "n_total": 4.0}},
		{"from=2024-06-01&to=2024-06-30&kinds=overdose_fatal", map[string]any{"n_overdose": 2.0, "n_total": 2.0}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res, body := mapGet(t, srv.URL+tilePath("hex", 13, mapHotPoint)+"?"+tt.query, "X-Test-Role", "analyst")
			if res.StatusCode != 200 {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			props := hexProps(t, decodeMVT(t, body, false)["hex"], mapHotPoint, 9)
			for k, v := range tt.want {
				if props[k] != v {
					t.Fatalf("%s = %v, want %v (all: %v)", k, props[k], v, props)
				}
			}
		})
	}
}

func TestGetTileAreasAndPoints(t *testing.T) {
	srv := mapTestServer(t, mapTestStore(t, 0))
	res, body := mapGet(t, srv.URL+tilePath("areas", 13, mapHotPoint)+"?area_layer=nbhd&window=all", "X-Test-Role", "analyst")
	if res.StatusCode != 200 {
		t.Fatalf("areas status %d: %s", res.StatusCode, body)
	}
	areas := decodeMVT(t, body, false)["areas"]
	got := map[string]any{}
	for _, f := range areas.Features {
		got[f.Properties["code"].(string)] = f.Properties["n_total"]
	}
	if got["downtown"] != 19.0 || got["uptown"] != 3.0 {
		t.Fatalf("area totals %v", got)
	}
	// An outreach team limited to uptown sees its 3 there, and downtown
	// (4 overdoses, hidden) as the public does.
	res, body = mapGet(t, srv.URL+tilePath("areas", 13, mapHotPoint)+"?area_layer=nbhd&window=all",
		"X-Test-Role", "outreach", "X-Test-Areas", "nbhd:uptown")
	if res.StatusCode != 200 {
		t.Fatalf("outreach areas status %d: %s", res.StatusCode, body)
	}
	props := map[string]map[string]any{}
	for _, f := range decodeMVT(t, body, false)["areas"].Features {
		props[f.Properties["code"].(string)] = f.Properties
	}
	if props["uptown"]["n_total"] != 3.0 || props["downtown"]["n_total"] != nil || props["downtown"]["suppressed"] != true {
		t.Fatalf("outreach limited to uptown: %v", props)
	}
	res, body = mapGet(t, srv.URL+tilePath("incidents", 15, mapHotPoint)+"?window=all", "X-Test-Role", "analyst")
	if res.StatusCode != 200 {
		t.Fatalf("incidents status %d", res.StatusCode)
	}
	pts := decodeMVT(t, body, false)["incidents"]
	if pts == nil || len(pts.Features) != 19 {
		t.Fatalf("want 19 points at the hot spot, got %v", pts)
	}
	if _, ok := pts.Features[0].Properties["day"].(float64); !ok {
		t.Fatalf("day should be a number: %v", pts.Features[0].Properties)
	}
}

func TestTileJSON(t *testing.T) {
	srv := mapTestServer(t, mapTestStore(t, 0))
	res, body := mapGet(t, srv.URL+"/tiles/hex.json?window=30d&kinds=shooting&junk=1")
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	var tj TileJSON
	if err := json.Unmarshal(body, &tj); err != nil {
		t.Fatal(err)
	}
	want := srv.URL + "/tiles/hex/{z}/{x}/{y}.mvt?kinds=shooting&window=30d"
	if tj.TileJSON != "3.0.0" || len(tj.Tiles) != 1 || tj.Tiles[0] != want || tj.VectorLayers[0].ID != "hex" || len(tj.Bounds) != 4 {
		t.Fatalf("tilejson %+v, want tiles %s", tj, want)
	}
	for _, tt := range []struct {
		path   string
		status int
	}{{"/tiles/nope.json", 404}, {"/tiles/hex.json?window=1y", 400}, {"/tiles/incidents.json", 401}} {
		if res, _ := mapGet(t, srv.URL+tt.path); res.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, res.StatusCode, tt.status)
		}
	}
}

func TestGetTileStreetsBasemap(t *testing.T) {
	srv := mapTestServer(t, mapTestStore(t, 0))
	res, body := mapGet(t, srv.URL+tilePath("streets", 14, mapHotPoint))
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	ls := decodeMVT(t, body, false)
	if ls["city"] == nil {
		t.Fatal("no city outline in the basemap")
	}
	city, _ := cities.Open("baltimore")
	if _, err := fs.Stat(city.FS, "streets/centerlines.csv.gz"); err != nil {
		t.Skip("no bundled street centerlines for this city yet")
	}
	if ls["streets"] == nil || len(ls["streets"].Features) < 50 {
		t.Fatalf("bundled centerlines not drawn: %v", ls["streets"])
	}
	// A tile this size goes out gzipped to a client that accepts it.
	if len(body) < tiles.GzipMinBytes {
		t.Fatalf("a %d-byte streets tile", len(body))
	}
	res, gz := mapGet(t, srv.URL+tilePath("streets", 14, mapHotPoint), "Accept-Encoding", "gzip")
	if res.Header.Get("Content-Encoding") != "gzip" || len(gz) >= len(body) {
		t.Fatalf("Content-Encoding %q, %d bytes for %d plain", res.Header.Get("Content-Encoding"), len(gz), len(body))
	}
	if gls := decodeMVT(t, gz, true); len(gls["streets"].Features) != len(ls["streets"].Features) {
		t.Fatal("the gzipped tile differs")
	}
}

func TestETagMatchAndAcceptsGzip(t *testing.T) {
	etag := `W/"v1-x-abc"`
	for _, tt := range []struct {
		header string
		want   bool
	}{
		{"", false}, {`W/"v1-x-abc"`, true}, {`"v1-x-abc"`, true}, {`"other", W/"v1-x-abc"`, true}, {"*", true}, {`"v2-x-abc"`, false},
	} {
		if got := etagMatch(tt.header, etag); got != tt.want {
			t.Errorf("etagMatch(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
	for _, tt := range []struct {
		header string
		want   bool
	}{
		{"", false}, {"gzip", true}, {"br, gzip;q=0.8", true}, {"gzip;q=0", false}, {"identity", false}, {"*", true}, {"GZIP", true},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", tt.header)
		if got := acceptsGzip(r); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

// TestTileContentLength checks that tiles go out with their length, not
// chunked, through a real server: net/http gives the length of bodies
// that fit its 2 KB buffer, the handler that of larger ones.
func TestTileContentLength(t *testing.T) {
	h, _ := tileBenchHandler(t, 0)
	srv := httptest.NewServer(h)
	defer srv.Close()
	large := 0
	for z := maptile.Zoom(10); z <= 16; z++ {
		for _, ae := range []string{"gzip", "identity"} {
			res, body := mapGet(t, srv.URL+tilePath("hex", z, orb.Point{-76.62, 39.29})+"?window=all", "Accept-Encoding", ae)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("z%d %s: %d", z, ae, res.StatusCode)
			}
			if len(res.TransferEncoding) > 0 || res.ContentLength != int64(len(body)) {
				t.Errorf("z%d %s: %d bytes sent with Content-Length %d, Transfer-Encoding %v", z, ae, len(body), res.ContentLength, res.TransferEncoding)
			}
			if len(body) > 2048 {
				large++
			}
		}
	}
	if large == 0 {
		t.Fatal("no tile over 2 KB: the handler's own Content-Length is not exercised")
	}
}

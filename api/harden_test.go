package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotspots/geo"
)

// request sends a request with the given headers ("Name: value") and
// returns the response with its body read.
func request(t *testing.T, method, url, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func wantProblem(t *testing.T, what string, res *http.Response, body string, status int, field string) Problem {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s: status %d, want %d: %s", what, res.StatusCode, status, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s: content type %q, want application/problem+json", what, ct)
	}
	var p Problem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("%s: %v: %s", what, err, body)
	}
	if field != "" && p.Field != field {
		t.Fatalf("%s: problem names field %q, want %q: %s", what, p.Field, field, body)
	}
	return p
}

func TestAuthentication(t *testing.T) {
	env := newAccessEnv(t, openEmbedded(t), Config{})
	u := env.srv.URL + "/api/v1/alerts"
	bearer := "Authorization: Bearer " + env.secrets["analyst"]

	if res, body := request(t, "GET", u, "", bearer); res.StatusCode != 200 {
		t.Fatalf("bearer key: %d %s", res.StatusCode, body)
	}
	if res, body := request(t, "GET", u, "", "X-API-Key: "+env.secrets["analyst"]); res.StatusCode != 200 {
		t.Fatalf("X-API-Key: %d %s", res.StatusCode, body)
	}
	if res, body := request(t, "GET", u, "", "Authorization: bearer "+env.secrets["analyst"]); res.StatusCode != 200 {
		t.Fatalf("lower-case scheme: %d %s", res.StatusCode, body)
	}
	for name, h := range map[string][]string{
		"unknown key":    {"Authorization: Bearer hsk_nope"},
		"basic auth":     {"Authorization: Basic YWRtaW46YWRtaW4="},
		"empty bearer":   {"Authorization: Bearer "},
		"two keys":       {bearer, "X-API-Key: " + env.secrets["admin"]},
		"unknown header": {"X-API-Key: " + env.secrets["analyst"] + "x"},
	} {
		res, body := request(t, "GET", u, "", h...)
		wantProblem(t, name, res, body, 401, "")
		if res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", name)
		}
	}
	// A bad key is refused even where anonymous callers are welcome: the
	// client must learn its key is wrong, not get the public view.
	res, body := request(t, "GET", env.srv.URL+"/api/v1/methods", "", "Authorization: Bearer hsk_nope")
	wantProblem(t, "bad key on a public route", res, body, 401, "")
}

func TestKeyLifecycleThroughAPI(t *testing.T) {
	env := newAccessEnv(t, openEmbedded(t), Config{})
	admin := "Authorization: Bearer " + env.secrets["admin"]
	res, body := request(t, "POST", env.srv.URL+"/api/v1/admin/keys",
		`{"name":"east lead","role":"outreach","team":"east","areas":["nbhd:downtown"]}`, admin)
	if res.StatusCode != 201 {
		t.Fatalf("create: %d %s", res.StatusCode, body)
	}
	var created KeyCreatedResponse
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.Secret, geo.KeySecretPrefix) || created.Key.ID == 0 || created.Key.Role != geo.RoleOutreach {
		t.Fatalf("created %+v", created)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("secret response Cache-Control %q, want no-store", cc)
	}
	use := "Authorization: Bearer " + created.Secret
	if res, body := request(t, "GET", env.srv.URL+"/api/v1/alerts", "", use); res.StatusCode != 200 {
		t.Fatalf("new key: %d %s", res.StatusCode, body)
	}
	// Area-limited: another area's indicators are refused.
	if res, _ := request(t, "GET", env.srv.URL+"/api/v1/indicators/nbhd/uptown", "", use); res.StatusCode != 403 {
		t.Fatalf("outside area: %d, want 403", res.StatusCode)
	}
	res, body = request(t, "GET", env.srv.URL+"/api/v1/admin/keys", "", admin)
	if res.StatusCode != 200 || strings.Contains(body, created.Secret) || !strings.Contains(body, created.Key.Prefix) {
		t.Fatalf("list: %d %s", res.StatusCode, body)
	}

	// Revocation takes effect on the next request.
	res, body = request(t, "DELETE", env.srv.URL+"/api/v1/admin/keys/"+strconv.FormatInt(created.Key.ID, 10), "", admin)
	if res.StatusCode != 200 {
		t.Fatalf("revoke: %d %s", res.StatusCode, body)
	}
	res, body = request(t, "GET", env.srv.URL+"/api/v1/alerts", "", use)
	wantProblem(t, "revoked key", res, body, 401, "")

	for name, tc := range map[string]struct {
		body   string
		status int
		field  string
	}{
		"unknown field": {`{"name":"x","role":"public","rol":"admin"}`, 400, "rol"},
		"bad role":      {`{"name":"x","role":"root"}`, 400, "role"},
		"no name":       {`{"role":"public"}`, 400, "name"},
		"wrong type":    {`{"name":"x","role":"public","areas":"nbhd:a"}`, 400, "areas"},
		"trailing data": {`{"name":"x","role":"public"} {}`, 400, "body"},
		"not json":      {`name=x`, 400, "body"},
		"empty":         {``, 400, "body"},
	} {
		res, body := request(t, "POST", env.srv.URL+"/api/v1/admin/keys", tc.body, admin)
		wantProblem(t, name, res, body, tc.status, tc.field)
	}
	res, body = request(t, "DELETE", env.srv.URL+"/api/v1/admin/keys/99999", "", admin)
	wantProblem(t, "revoke unknown", res, body, 404, "")
}

func TestAccessLogOfPoints(t *testing.T) {
	env := newAccessEnv(t, openEmbedded(t), Config{})
	analyst := "Authorization: Bearer " + env.secrets["analyst"]
	admin := "Authorization: Bearer " + env.secrets["admin"]
	logged := func() []geo.AccessEntry {
		res, body := request(t, "GET", env.srv.URL+"/api/v1/admin/access-log", "", admin)
		if res.StatusCode != 200 {
			t.Fatalf("access log: %d %s", res.StatusCode, body)
		}
		var out struct{ Entries []geo.AccessEntry }
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		return out.Entries
	}
	// Aggregates are not logged.
	request(t, "GET", env.srv.URL+hexTile, "", analyst)
	request(t, "GET", env.srv.URL+"/api/v1/indicators?layer=nbhd", "", analyst)
	if got := logged(); len(got) != 0 {
		t.Fatalf("aggregates logged: %+v", got)
	}
	// A points tile is logged before it is sent.
	res, body := request(t, "GET", env.srv.URL+pointsTile+"?window=90d", "", analyst)
	if res.StatusCode != 200 {
		t.Fatalf("points tile: %d %s", res.StatusCode, body)
	}
	got := logged()
	if len(got) != 1 {
		t.Fatalf("after a points tile: %+v", got)
	}
	e := got[0]
	if e.Route != "GET /tiles/:layer/:z/:x/:y" || e.Layer != "incidents" || "/tiles/incidents/"+e.Tile+".mvt" != pointsTile || e.KeyName != "matrix analyst" ||
		e.Role != geo.RoleAnalyst || e.KeyID == 0 || e.BBox == nil || !e.BBox.Contains(mapHotPoint) || e.Rows == 0 ||
		e.WindowFrom == nil || e.WindowTo == nil || e.WindowTo.Sub(*e.WindowFrom) != 90*24*time.Hour || e.RemoteAddr == "" {
		t.Fatalf("entry %+v", e)
	}
	// Alerts in the analyst view carry case points: logged; the outreach
	// view does not: not logged.
	a := env.newAlert(0)
	request(t, "GET", env.srv.URL+"/api/v1/alerts/"+strconv.FormatInt(a.ID, 10), "", "Authorization: Bearer "+env.secrets["outreach"])
	if n := len(logged()); n != 1 {
		t.Fatalf("outreach view logged: %d entries", n)
	}
	request(t, "GET", env.srv.URL+"/api/v1/alerts/"+strconv.FormatInt(a.ID, 10), "", analyst)
	got = logged()
	if len(got) != 2 || got[0].Layer != "alerts" || got[0].Rows != 2 || got[0].Area != "nbhd:downtown" || got[0].Route != "GET /api/v1/alerts/:id" {
		t.Fatalf("after an analyst alert: %+v", got)
	}
	// Filters.
	res, body = request(t, "GET", env.srv.URL+"/api/v1/admin/access-log?key_id=999", "", admin)
	if res.StatusCode != 200 || !strings.Contains(body, `"entries":[]`) {
		t.Fatalf("filtered: %d %s", res.StatusCode, body)
	}
	res, body = request(t, "GET", env.srv.URL+"/api/v1/admin/access-log?since=yesterday", "", admin)
	wantProblem(t, "bad since", res, body, 400, "since")
	res, body = request(t, "GET", env.srv.URL+"/api/v1/admin/access-log?who=me", "", admin)
	wantProblem(t, "unknown parameter", res, body, 400, "who")
}

func TestRateLimit(t *testing.T) {
	env := newAccessEnv(t, openEmbedded(t), Config{RateLimit: 1, RateBurst: 3})
	u := env.srv.URL + "/api/v1/methods"
	analyst := "Authorization: Bearer " + env.secrets["analyst"]
	for i := range 3 {
		if res, body := request(t, "GET", u, "", analyst); res.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, res.StatusCode, body)
		}
	}
	res, body := request(t, "GET", u, "", analyst)
	p := wantProblem(t, "over the burst", res, body, 429, "")
	if p.Code != geo.ERATELIMIT {
		t.Errorf("code %q", p.Code)
	}
	if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 2 {
		t.Errorf("Retry-After %q, want 1 or 2 seconds", res.Header.Get("Retry-After"))
	}
	// Other keys and anonymous callers have buckets of their own, and
	// probes are never limited.
	if res, _ := request(t, "GET", u, "", "Authorization: Bearer "+env.secrets["admin"]); res.StatusCode != 200 {
		t.Errorf("other key: %d", res.StatusCode)
	}
	if res, _ := request(t, "GET", u, ""); res.StatusCode != 200 {
		t.Errorf("anonymous: %d", res.StatusCode)
	}
	for range 5 {
		if res, _ := request(t, "GET", env.srv.URL+"/healthz", "", analyst); res.StatusCode != 200 {
			t.Fatalf("healthz limited: %d", res.StatusCode)
		}
	}
}

// TestRateLimitOfTiles checks that tiles have a bucket of their own,
// tileRateFactor times larger: a caller whose API bucket is empty still
// gets a map's worth of tiles, and is then limited on tiles too. The rate
// is slow enough (a token every 2 s for tiles) that a loaded machine does
// not refill the buckets during the test.
func TestRateLimitOfTiles(t *testing.T) {
	env := newAccessEnv(t, openEmbedded(t), Config{RateLimit: 0.05, RateBurst: 2})
	u := env.srv.URL + "/api/v1/methods"
	analyst := "Authorization: Bearer " + env.secrets["analyst"]
	for i := range 2 {
		if res, body := request(t, "GET", u, "", analyst); res.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, res.StatusCode, body)
		}
	}
	res, body := request(t, "GET", u, "", analyst)
	wantProblem(t, "API over its burst", res, body, 429, "")
	tile := env.srv.URL + "/tiles/hex/12/1169/1565.mvt"
	for i := range 2 * tileRateFactor {
		if res, body := request(t, "GET", tile, "", analyst); res.StatusCode != 200 {
			t.Fatalf("tile %d: %d %s", i, res.StatusCode, body)
		}
	}
	res, body = request(t, "GET", tile, "", analyst)
	wantProblem(t, "over the tile burst", res, body, 429, "")
}

func TestRateLimitOfBadKeys(t *testing.T) {
	env := newAccessEnv(t, openEmbedded(t), Config{RateLimit: 1, RateBurst: 2})
	u := env.srv.URL + "/api/v1/methods"
	for i := range 2 {
		res, body := request(t, "GET", u, "", "Authorization: Bearer hsk_guess"+strconv.Itoa(i))
		wantProblem(t, "bad key", res, body, 401, "")
	}
	res, body := request(t, "GET", u, "", "Authorization: Bearer hsk_guess3")
	wantProblem(t, "guessing on", res, body, 429, "")
	if res.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// A good key from the same address is not held up by the guesses.
	if res, body := request(t, "GET", u, "", "Authorization: Bearer "+env.secrets["analyst"]); res.StatusCode != 200 {
		t.Fatalf("good key after guesses: %d %s", res.StatusCode, body)
	}
}

func TestKeyLimiterForgetsIdleCallers(t *testing.T) {
	l := newKeyLimiter(10, 5)
	now := time.Now()
	for i := range 1000 {
		l.reserve("ip:"+strconv.Itoa(i), now)
	}
	l.reserve("ip:x", now.Add(2*time.Minute))
	if n := len(l.buckets); n != 1 {
		t.Fatalf("%d buckets after the sweep, want 1", n)
	}
}

func TestBodyLimit(t *testing.T) {
	env := newAccessEnv(t, openEmbedded(t), Config{MaxBodyBytes: 200})
	admin := "Authorization: Bearer " + env.secrets["admin"]
	big := `{"name":"` + strings.Repeat("x", 300) + `","role":"public"}`
	res, body := request(t, "POST", env.srv.URL+"/api/v1/admin/keys", big, admin)
	wantProblem(t, "declared length", res, body, 413, "")

	// Without a Content-Length the limit holds while reading.
	req, _ := http.NewRequest("POST", env.srv.URL+"/api/v1/subscriptions", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+env.secrets["admin"])
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	wantProblem(t, "chunked", r2, string(b), 413, "")

	// Uploads have their own, larger limit.
	res, body = request(t, "POST", env.srv.URL+"/api/v1/areas/layers?id=matrix&name=M", layerBody, admin)
	if res.StatusCode != 201 {
		t.Fatalf("upload under the upload limit: %d %s", res.StatusCode, body)
	}
}

func TestSecurityHeadersAndCORS(t *testing.T) {
	env := newAccessEnv(t, openEmbedded(t), Config{})
	res, _ := request(t, "GET", env.srv.URL+"/api/v1/methods", "", "Origin: https://evil.example")
	for h, want := range map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": apiContentSecurityPolicy,
		"X-Frame-Options":         "DENY",
	} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if v := res.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("CORS by default: %q", v)
	}
	res, body := request(t, "GET", env.srv.URL+"/api/v1/alerts", "")
	wantProblem(t, "refusal", res, body, 401, "")
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("refusal without security headers")
	}
	// The map page keeps its own policy, which lets MapLibre's blob: worker
	// run and forbids framing.
	res, _ = request(t, "GET", env.srv.URL+"/", "")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "worker-src blob:") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("map CSP %q", csp)
	}

	env = newAccessEnv(t, openEmbedded(t), Config{CORSOrigins: []string{"https://dash.example.org"}})
	res, _ = request(t, "OPTIONS", env.srv.URL+"/api/v1/alerts", "", "Origin: https://dash.example.org",
		"Access-Control-Request-Method: GET", "Access-Control-Request-Headers: authorization")
	if res.StatusCode/100 != 2 || res.Header.Get("Access-Control-Allow-Origin") != "https://dash.example.org" ||
		!strings.Contains(strings.ToLower(res.Header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
	}
	res, _ = request(t, "GET", env.srv.URL+"/api/v1/methods", "", "Origin: https://evil.example")
	if v := res.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("other origin allowed: %q", v)
	}
}

func TestSubscriptionUnknownFieldNamed(t *testing.T) {
	env := newAccessEnv(t, openEmbedded(t), Config{})
	res, body := request(t, "POST", env.srv.URL+"/api/v1/subscriptions",
		`{"name":"x","channels":[{"type":"sse","ur":"x"}]}`, "Authorization: Bearer "+env.secrets["outreach"])
	wantProblem(t, "nested unknown field", res, body, 400, "ur")
}

func TestOpenAPIDescribesAdminRoutes(t *testing.T) {
	env := newAccessEnv(t, openEmbedded(t), Config{})
	res, body := request(t, "GET", env.srv.URL+"/api/v1/openapi.json", "")
	if res.StatusCode != 200 {
		t.Fatalf("openapi: %d", res.StatusCode)
	}
	var doc struct {
		Paths      map[string]map[string]any `json:"paths"`
		Components struct {
			SecuritySchemes map[string]any `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Components.SecuritySchemes["bearer"] == nil {
		t.Error("no bearer security scheme")
	}
	n := 0
	for route := range routeAudience {
		method, path, _ := strings.Cut(route, " ")
		if !strings.HasPrefix(path, "/api/v1/admin/") {
			continue
		}
		n++
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, ":") {
				path = strings.Replace(path, seg, "{"+seg[1:]+"}", 1)
			}
		}
		if doc.Paths[path][strings.ToLower(method)] == nil {
			t.Errorf("%s %s not in openapi.json", method, path)
		}
	}
	if n != 4 {
		t.Errorf("checked %d admin routes, want 4", n)
	}
}

func TestOutreachCellSeriesScope(t *testing.T) {
	env := newAccessEnv(t, openEmbedded(t), Config{})
	_, secret, err := env.st.CreateKey(t.Context(), geo.APIKey{Name: "downtown", Role: geo.RoleOutreach, Team: "east",
		Areas: []string{"nbhd:downtown"}})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := geo.CellFromPoint(mapHotPoint, 9)
	out, _ := geo.CellFromPoint(mapColdPoint, 9)
	for cell, want := range map[geo.Cell]int{in: 200, out: 403} {
		res, body := request(t, "GET", env.srv.URL+"/api/v1/cells/"+cell.String()+"/series", "", "Authorization: Bearer "+secret)
		if res.StatusCode != want {
			t.Errorf("cell %s: %d, want %d: %s", cell, res.StatusCode, want, body)
		}
	}
	// Keys without areas, and other roles, see every cell.
	res, _ := request(t, "GET", env.srv.URL+"/api/v1/cells/"+out.String()+"/series", "", "Authorization: Bearer "+env.secrets["outreach"])
	if res.StatusCode != 200 {
		t.Errorf("outreach key without areas: %d", res.StatusCode)
	}
}

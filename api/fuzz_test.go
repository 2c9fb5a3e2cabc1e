package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// fuzzServer serves the API over an embedded store with a real key per
// role; fuzz targets drive its handler in-process.
func fuzzServer(f *testing.F) (http.Handler, *accessEnv) {
	env := newAccessEnv(f, openEmbedded(f), Config{})
	return env.handler, env
}

// checkAnswer holds for every answer to any input: never a 5xx, and every
// refusal is a problem+json naming its own status.
func checkAnswer(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: status %d: %s", what, rec.Code, rec.Body.String())
	}
	if rec.Code < 400 {
		return
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s: status %d with content type %q", what, rec.Code, ct)
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code || p.Code == "" {
		t.Fatalf("%s: problem %s (%v) for status %d", what, rec.Body.String(), err, rec.Code)
	}
}

func serve(h http.Handler, method, target, secret, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://hotspots.test"+target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// FuzzSubscriptionBody posts arbitrary subscription bodies as an outreach
// and an admin key: refusals are 4xx problems, and what is accepted reads
// back.
func FuzzSubscriptionBody(f *testing.F) {
	for _, s := range []string{
		subBody,
		`{"name":"zone","areas":["nbhd:downtown"],"kinds":["overdose"],"rules":["threshold"],"min_severity":"strong","channels":[{"type":"webhook","url":"https://hooks.example.org/x"}]}`,
		`{"name":"poly","polygon":{"type":"Polygon","coordinates":[[[-76.62,39.28],[-76.60,39.28],[-76.60,39.30],[-76.62,39.28]]]},"channels":[{"type":"sse"}]}`,
		`{"name":"circle","circle":{"center":[-76.61,39.29],"radius_m":500},"channels":[{"type":"email","to":["a@example.org"]}]}`,
		`{"name":"cells","cells":["881f1d4887fffff"],"view":"analyst","channels":[{"type":"sse"}]}`,
		`{"name":"x","polygon":{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]}}}`,
		`{"name":"x","colour":"red"}`, `[]`, `null`, `{"name":1}`, `{} {}`,
	} {
		f.Add(s, true)
	}
	h, env := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body string, asAdmin bool) {
		secret := env.secrets["outreach"]
		if asAdmin {
			secret = env.secrets["admin"]
		}
		for _, target := range []string{"/api/v1/subscriptions/preview", "/api/v1/subscriptions"} {
			rec := serve(h, http.MethodPost, target, secret, body)
			checkAnswer(t, target, rec)
			if target == "/api/v1/subscriptions" && rec.Code == http.StatusCreated {
				var got SubscriptionResponse
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.ID == 0 {
					t.Fatalf("created %s: %v", rec.Body.String(), err)
				}
				back := serve(h, http.MethodGet, rec.Header().Get("Location"), secret, "")
				if back.Code != http.StatusOK {
					t.Fatalf("read back %s: %d %s", rec.Header().Get("Location"), back.Code, back.Body.String())
				}
			}
		}
	})
}

// FuzzTileParams requests tiles with arbitrary z/x/y and query strings, as
// an analyst and anonymously.
func FuzzTileParams(f *testing.F) {
	for _, s := range [][5]string{
		{"hex", "14", "4686", "6266.mvt", ""},
		{"incidents", "14", "4686", "6266.mvt", "window=90d&kinds=overdose"},
		{"areas", "12", "1171", "1566.mvt", "area_layer=nbhd&from=2024-01-01&to=2024-06-30"},
		{"hex", "99", "-1", "x.mvt", "window=1y"},
		{"streets", "0", "0", "0.mvt", "kinds=nope"},
		{"clusters", "3", "9", "9.png", "from=2024-13-01"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], true)
	}
	h, env := fuzzServer(f)
	f.Fuzz(func(t *testing.T, layer, z, x, y, query string, analyst bool) {
		target := "/tiles/" + url.PathEscape(layer) + "/" + url.PathEscape(z) + "/" + url.PathEscape(x) + "/" + url.PathEscape(y)
		if query != "" {
			target += "?" + url.Values(parseQueryLoose(query)).Encode()
		}
		secret := ""
		if analyst {
			secret = env.secrets["analyst"]
		}
		rec := serve(h, http.MethodGet, target, secret, "")
		checkAnswer(t, target, rec)
		if rec.Code != 200 && rec.Code != 400 && rec.Code != 401 && rec.Code != 403 && rec.Code != 404 {
			t.Fatalf("%s: status %d", target, rec.Code)
		}
		tj := serve(h, http.MethodGet, "/tiles/"+url.PathEscape(layer)+".json", secret, "")
		checkAnswer(t, "tilejson "+layer, tj)
	})
}

// parseQueryLoose keeps whatever url.ParseQuery could read of a fuzzed
// query, so the query reaches the handler instead of the URL parser.
func parseQueryLoose(q string) url.Values {
	v, _ := url.ParseQuery(q)
	return v
}

// FuzzKeyBody posts arbitrary key requests as an admin: refusals are 4xx
// problems, and a created key authenticates with its printed secret and
// the role it was given.
func FuzzKeyBody(f *testing.F) {
	for _, s := range []string{
		`{"name":"east lead","role":"outreach","team":"east","areas":["nbhd:downtown"]}`,
		`{"name":"ops","role":"admin"}`, `{"name":"x","role":"analyst","areas":["a:b"]}`,
		`{"name":"x","role":"public","extra":1}`, `{"name":"","role":"public"}`, `{"role":["admin"]}`, `"admin"`,
	} {
		f.Add(s)
	}
	h, env := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		rec := serve(h, http.MethodPost, "/api/v1/admin/keys", env.secrets["admin"], body)
		checkAnswer(t, "create key", rec)
		if rec.Code != http.StatusCreated {
			if rec.Code != 400 && rec.Code != 413 {
				t.Fatalf("create key: status %d: %s", rec.Code, rec.Body.String())
			}
			return
		}
		var got KeyCreatedResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		use := serve(h, http.MethodGet, "/map/config.json", got.Secret, "")
		if use.Code != 200 || !strings.Contains(use.Body.String(), `"role":"`+string(got.Key.Role)+`"`) {
			t.Fatalf("new %s key: %d %s", got.Key.Role, use.Code, use.Body.String())
		}
	})
}

// FuzzAPIKeyHeaders sends arbitrary Authorization and X-API-Key headers:
// only a real key gets in, and nothing else is a 5xx.
func FuzzAPIKeyHeaders(f *testing.F) {
	f.Add("Bearer hsk_x", "")
	f.Add("", "hsk_y")
	f.Add("Basic Zm9vOmJhcg==", "")
	f.Add("Bearer  ", "  ")
	f.Add("bearer", "")
	h, env := fuzzServer(f)
	f.Fuzz(func(t *testing.T, authz, apiKey string) {
		req := httptest.NewRequest(http.MethodGet, "http://hotspots.test/api/v1/alerts", nil)
		req.Header.Set("Authorization", authz)
		req.Header.Set("X-API-Key", apiKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkAnswer(t, "alerts", rec)
		real := false
		for _, s := range env.secrets {
			real = real || strings.Contains(authz, s) || strings.Contains(apiKey, s)
		}
		if rec.Code == 200 && !real {
			t.Fatalf("Authorization %q, X-API-Key %q got in", authz, apiKey)
		}
	})
}

// queryRoutes are the GET routes whose query strings FuzzQueryParams
// drives; path parameters are fixed to seeded values.
var queryRoutes = []string{
	"/api/v1/indicators", "/api/v1/indicators/nbhd/downtown", "/api/v1/areas/nbhd/downtown/series",
	"/api/v1/alerts", "/api/v1/subscriptions", "/api/v1/changelog", "/api/v1/admin/access-log",
	"/api/v1/admin/keys", "/tiles/hex.json", "/map/config.json",
}

// FuzzQueryParams sends arbitrary query strings to the routes that read
// them, as an admin: every parameter is validated, so the answer is a 2xx
// or a 4xx problem, never a 5xx.
func FuzzQueryParams(f *testing.F) {
	for i, q := range []string{
		"layer=nbhd&period=week&format=csv", "period=year&from=2024-01&to=2024-06&goal=-10%", "step=week&window=90d",
		"status=new,acked&rule=threshold&kind=overdose&since=2026-01-01T00:00:00Z&limit=5", "team=east&limit=0",
		"source=test&limit=3", "key_id=1&since=2026-01-01T00:00:00Z&until=2027-01-01T00:00:00Z", "revoked=true",
		"kinds=shooting&window=1y", "x=1",
	} {
		f.Add(uint8(i), q)
	}
	h, env := fuzzServer(f)
	f.Fuzz(func(t *testing.T, route uint8, query string) {
		target := queryRoutes[int(route)%len(queryRoutes)]
		if v, err := url.ParseQuery(query); err == nil {
			target += "?" + v.Encode()
		}
		checkAnswer(t, target, serve(h, http.MethodGet, target, env.secrets["admin"], ""))
	})
}

package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/paulmach/orb"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/sqlite"
	"hotspots/ingest"
)

// pushTestServer serves the API with an embedded store and a fixed caller.
func pushTestServer(t *testing.T, p *geo.Principal) (*httptest.Server, geo.Store) {
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
	return srv, st
}

func TestPushHandler(t *testing.T) {
	analyst := &geo.Principal{KeyID: 7, Name: "bcfd", Role: geo.RoleAnalyst}
	good := `{"agency":"BCFD","incidents":[
		{"id":"1","time":"2024-05-01T22:15:00-04:00","kind":"overdose","fatal":false,"naloxone_doses":2,"lat":39.2985,"lon":-76.6127},
		{"id":"2","time":"2024-05-01T23:15:00-04:00","kind":"overdose","lat":0,"lon":0}]}`
	cases := map[string]struct {
		who    *geo.Principal
		body   string
		query  string
		status int
		field  string
	}{
		"accepted and quarantined": {who: analyst, body: good, status: 200},
		"anonymous":                {who: nil, body: good, status: 401},
		"outreach may not push":    {who: &geo.Principal{KeyID: 3, Role: geo.RoleOutreach}, body: good, status: 403},
		"unknown field named":      {who: analyst, body: `{"incidents":[{"id":"1","dose":1}]}`, status: 400, field: "incidents[0].dose"},
		"too large":                {who: analyst, body: `{"agency":"` + strings.Repeat("x", ingest.PushMaxBytes) + `"}`, status: 413},
		"unknown source":           {who: analyst, body: good, query: "?source=nope", status: 404},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv, _ := pushTestServer(t, tc.who)
			res, err := http.Post(srv.URL+"/api/v1/ingest/push"+tc.query, "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if tc.status != 200 {
				var p Problem
				if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
					t.Fatal(err)
				}
				if p.Field != tc.field {
					t.Fatalf("problem %+v, want field %q", p, tc.field)
				}
				return
			}
			var out ingest.PushResponse
			if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
			if len(out.Results) != 2 || out.Results[0].Status != ingest.PushAccepted ||
				out.Results[1].Status != ingest.PushQuarantined || out.Results[1].Reason != geo.ReasonNullIsland {
				t.Fatalf("results %+v", out.Results)
			}
		})
	}
}

// TestPushAreaIndexCached checks that pushes do not reload the area layers
// for every batch, and that a layer uploaded through the API applies to
// the next push at once: a layer changed behind the server's back is only
// seen after the cache's age, a layer uploaded through it immediately.
func TestPushAreaIndexCached(t *testing.T) {
	admin := &geo.Principal{KeyID: 1, Name: "ops", Role: geo.RoleAdmin}
	srv, st := pushTestServer(t, admin)
	ctx := context.Background()
	zone := func(code string) []geo.Area {
		return []geo.Area{{Layer: "zone", Code: code, Name: "Zone " + code,
			Geometry: orb.MultiPolygon{{{{-76.62, 39.29}, {-76.60, 39.29}, {-76.60, 39.31}, {-76.62, 39.31}, {-76.62, 39.29}}}}}}
	}
	if err := st.PutLayer(ctx, geo.AreaLayer{ID: "zone", Name: "Zones"}, zone("a")); err != nil {
		t.Fatal(err)
	}
	push := func(id string) string {
		t.Helper()
		body := `{"agency":"BCFD","incidents":[{"id":"` + id + `","time":"2024-05-01T22:15:00-04:00","kind":"overdose","lat":39.2985,"lon":-76.6127}]}`
		res, err := http.Post(srv.URL+"/api/v1/ingest/push", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("push %s: status %d", id, res.StatusCode)
		}
		incs, err := st.FindIncidents(ctx, geo.IncidentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range incs {
			if in.SourceID == "BCFD|"+id { // the push key is agency|id
				return in.Areas["zone"]
			}
		}
		t.Fatalf("pushed %s not stored", id)
		return ""
	}
	if got := push("p1"); got != "a" {
		t.Fatalf("first push in zone %q, want a", got)
	}
	// Replaced in the store directly: the cached index still says a.
	if err := st.PutLayer(ctx, geo.AreaLayer{ID: "zone", Name: "Zones"}, zone("b")); err != nil {
		t.Fatal(err)
	}
	if got := push("p2"); got != "a" {
		t.Fatalf("second push in zone %q: the index was reloaded for one batch", got)
	}
	// Uploaded through the API: the next push sees it.
	layer := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"C"},"geometry":{"type":"Polygon","coordinates":[[[-76.62,39.29],[-76.60,39.29],[-76.60,39.31],[-76.62,39.31],[-76.62,39.29]]]}}]}`
	res, err := http.Post(srv.URL+"/api/v1/areas/layers?id=zone&name=Zones&replace=true", "application/geo+json", strings.NewReader(layer))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("upload: status %d", res.StatusCode)
	}
	areas, err := st.Areas(ctx, "zone")
	if err != nil || len(areas) != 1 {
		t.Fatalf("uploaded areas %v, %v", areas, err)
	}
	if got := push("p3"); got != areas[0].Code {
		t.Fatalf("push after the upload in zone %q, want %q", got, areas[0].Code)
	}
}

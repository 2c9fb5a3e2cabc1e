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

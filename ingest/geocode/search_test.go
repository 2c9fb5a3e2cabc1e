package geocode

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// Replayed response bodies in the shapes the public APIs return.
const (
	nominatimHouse = `[{"place_id":297383717,"licence":"Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright","osm_type":"node","osm_id":4457621537,"lat":"39.3027131","lon":"-76.5827433","class":"place","type":"house","place_rank":30,"importance":0.62,"addresstype":"place","name":"","display_name":"1200, North Milton Avenue, Oliver, Baltimore, Maryland, 21213, United States","boundingbox":["39.3026631","39.3027631","-76.5827933","-76.5826933"]}]`
	nominatimRoad  = `[{"place_id":1,"lat":"39.3100","lon":"-76.6400","class":"highway","type":"residential","importance":0.53,"display_name":"Poplar Grove Street, Baltimore, Maryland, United States"}]`
	nominatimTwo   = `[{"place_id":1,"lat":"39.2990","lon":"-76.6000","class":"place","type":"house","importance":0.5,"display_name":"300, East Madison Street, Baltimore"},{"place_id":2,"lat":"39.2990","lon":"-76.6300","class":"place","type":"house","importance":0.49,"display_name":"300, West Madison Street, Baltimore"}]`
	peliasAddress  = `{"geocoding":{"version":"0.2","attribution":"http://pelias.example/attribution","query":{"text":"1200 N MILTON AV, Baltimore, MD","size":5},"engine":{"name":"Pelias","version":"1.0"}},"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[-76.582743,39.302712]},"properties":{"id":"us/md/statewide:1","gid":"openaddresses:address:us/md/statewide:1","layer":"address","source":"openaddresses","name":"1200 N Milton Ave","housenumber":"1200","street":"N Milton Ave","confidence":1,"match_type":"exact","accuracy":"point","label":"1200 N Milton Ave, Baltimore, MD, USA"}}],"bbox":[-76.582743,39.302712,-76.582743,39.302712]}`
	peliasCorner   = `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[-76.58266,39.30475]},"properties":{"layer":"intersection","confidence":0.8,"match_type":"exact","label":"N Milton Ave & E Biddle St, Baltimore, MD, USA"}}]}`
	peliasCity     = `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[-76.61,39.29]},"properties":{"layer":"locality","confidence":0.3,"match_type":"fallback","accuracy":"centroid","label":"Baltimore, MD, USA"}}]}`
)

// fakeSearch serves canned bodies keyed by the query text, failing the
// first `fail` requests with a 502.
func fakeSearch(t *testing.T, path, param string, bodies map[string]string, fail int32) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= fail {
			http.Error(w, "Bad Gateway", http.StatusBadGateway)
			return
		}
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		if param == "q" && r.URL.Query().Get("format") != "json" {
			http.Error(w, "format required", http.StatusBadRequest)
			return
		}
		body, ok := bodies[r.URL.Query().Get(param)]
		if !ok {
			body = "[]"
			if param == "text" {
				body = `{"type":"FeatureCollection","features":[]}`
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestNominatim(t *testing.T) {
	srv, n := fakeSearch(t, "/search", "q", map[string]string{
		"1200 N MILTON AV, Baltimore, MD":     nominatimHouse,
		"POPLAR GROVE ST, Baltimore, MD":      nominatimRoad,
		"300 MADISON ST, Baltimore, MD":       nominatimTwo,
		"1251 N MILTON AVE, Baltimore, MD":    `[{"lat":"39.3031","lon":"-76.5826","class":"building","type":"yes","importance":0.7,"display_name":"1251"}]`,
		"bad json, Baltimore, MD":             `{"error":`,
		"only bad coordinates, Baltimore, MD": `[{"lat":"x","lon":"y","class":"place","type":"house","importance":1}]`,
	}, 1)
	g, err := NewNominatim(testHTTPConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		in        string
		prec      geo.Precision
		reason    geo.Reason
		pt        orb.Point
		score     float64
		ambiguous bool
	}{
		"house, block address": {in: "1200 N MILTON AV", prec: geo.PrecisionBlock, pt: orb.Point{-76.5827433, 39.3027131}, score: 0.62},
		"building, house":      {in: "1251 N MILTON AVE", prec: geo.PrecisionInterpolated, pt: orb.Point{-76.5826, 39.3031}, score: 0.7},
		"road only":            {in: "POPLAR GROVE ST", prec: geo.PrecisionStreet, pt: orb.Point{-76.64, 39.31}, score: 0.53},
		"two far apart":        {in: "300 MADISON ST", prec: geo.PrecisionBlock, reason: geo.ReasonAmbiguousAddr, pt: orb.Point{-76.6, 39.299}, score: 0.5, ambiguous: true},
		"no results":           {in: "1 NOWHERE ST", prec: geo.PrecisionUnmatched, reason: geo.ReasonUngeocodable},
		"bad coordinates":      {in: "only bad coordinates", prec: geo.PrecisionUnmatched, reason: geo.ReasonUngeocodable},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := g.Geocode(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Precision != tt.prec || r.Reason != tt.reason || r.Point != tt.pt || r.Score != tt.score || r.Ambiguous != tt.ambiguous {
				t.Errorf("got %+v", r)
			}
		})
	}
	if _, err := g.Geocode(context.Background(), "bad json"); err == nil {
		t.Error("undecodable body: want error")
	}
	if got := n.Load(); got != int32(len(tests))+2 {
		t.Errorf("requests = %d: the first 502 should have been retried once", got)
	}
	rs, err := g.GeocodeBatch(context.Background(), []string{"1200 N MILTON AV", "1 NOWHERE ST"})
	if err != nil || len(rs) != 2 || !rs[0].OK() || rs[1].OK() {
		t.Errorf("batch = %+v, %v", rs, err)
	}
}

func TestPelias(t *testing.T) {
	srv, _ := fakeSearch(t, "/v1/search", "text", map[string]string{
		"1200 N MILTON AV, Baltimore, MD":          peliasAddress,
		"N MILTON AV & E BIDDLE ST, Baltimore, MD": peliasCorner,
		"BALTIMORE, Baltimore, MD":                 peliasCity,
	}, 2)
	g, err := NewPelias(testHTTPConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		in     string
		prec   geo.Precision
		reason geo.Reason
		pt     orb.Point
		score  float64
		label  string
	}{
		"address":      {in: "1200 N MILTON AV", prec: geo.PrecisionBlock, pt: orb.Point{-76.582743, 39.302712}, score: 1, label: "1200 N Milton Ave, Baltimore, MD, USA"},
		"intersection": {in: "N MILTON AV & E BIDDLE ST", prec: geo.PrecisionIntersection, pt: orb.Point{-76.58266, 39.30475}, score: 0.8, label: "N Milton Ave & E Biddle St, Baltimore, MD, USA"},
		"city only":    {in: "BALTIMORE", prec: geo.PrecisionUnmatched, reason: geo.ReasonUngeocodable},
		"no features":  {in: "1 NOWHERE ST", prec: geo.PrecisionUnmatched, reason: geo.ReasonUngeocodable},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := g.Geocode(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Precision != tt.prec || r.Reason != tt.reason || r.Point != tt.pt || r.Score != tt.score || r.Matched != tt.label {
				t.Errorf("got %+v", r)
			}
		})
	}
}

func TestSearchQueryEncoding(t *testing.T) {
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query()
		if r.Header.Get("User-Agent") == "" {
			http.Error(w, "user agent required", http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte("[]"))
	}))
	defer srv.Close()
	cfg := testHTTPConfig(srv.URL)
	cfg.Zip = "21213"
	g, _ := NewNominatim(cfg)
	if _, err := g.Geocode(context.Background(), "1200 N MILTON AV & E BIDDLE"); err != nil {
		t.Fatal(err)
	}
	if got.Get("q") != "1200 N MILTON AV & E BIDDLE, Baltimore, MD, 21213" || got.Get("limit") != "5" {
		t.Errorf("query %v", got)
	}
}

package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotspots/geo"
)

// fastFetcher retries quickly so failure tests stay fast.
func fastFetcher() *Fetcher {
	return &Fetcher{Attempts: 3, Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
		Timeout: 200 * time.Millisecond, Logger: discard}
}

// arcgisServer replays the Esri JSON shape of an ArcGIS FeatureServer
// query: attributes with epoch-millisecond dates, x/y geometry,
// exceededTransferLimit while more rows remain, and a server-side cap on
// resultRecordCount (maxRecordCount) that clients must page through.
type arcgisServer struct {
	mu       sync.Mutex
	rows     []map[string]any
	maxCount int
	wheres   []string
	failFor  int // answer HTTP 500 to this many requests first
	errorOK  bool
	requests int
}

var sinceRE = regexp.MustCompile(`CrimeDateTime >= TIMESTAMP '([^']+)'`)

func (s *arcgisServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if s.failFor > 0 {
		s.failFor--
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	if !strings.HasSuffix(r.URL.Path, "/FeatureServer/0/query") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if s.errorOK {
		fmt.Fprint(w, `{"error":{"code":400,"message":"Cannot perform query. Invalid query parameters.","details":["'where' parameter is invalid"]}}`)
		return
	}
	q := r.URL.Query()
	where := q.Get("where")
	s.wheres = append(s.wheres, where)
	var since int64
	if m := sinceRE.FindStringSubmatch(where); m != nil {
		t, _ := time.Parse("2006-01-02 15:04:05", m[1])
		since = t.UnixMilli()
	}
	var match []map[string]any
	for _, row := range s.rows {
		if int64(row["CrimeDateTime"].(float64)) >= since {
			match = append(match, row)
		}
	}
	off, _ := strconv.Atoi(q.Get("resultOffset"))
	n, _ := strconv.Atoi(q.Get("resultRecordCount"))
	n = min(n, s.maxCount)
	end := min(off+n, len(match))
	type feature struct {
		Attributes map[string]any     `json:"attributes"`
		Geometry   map[string]float64 `json:"geometry"`
	}
	page := struct {
		ObjectIDFieldName     string    `json:"objectIdFieldName"`
		GeometryType          string    `json:"geometryType"`
		SpatialReference      any       `json:"spatialReference"`
		Features              []feature `json:"features"`
		ExceededTransferLimit bool      `json:"exceededTransferLimit,omitempty"`
	}{ObjectIDFieldName: "OBJECTID", GeometryType: "esriGeometryPoint", SpatialReference: map[string]int{"wkid": 4326, "latestWkid": 4326}}
	page.Features = []feature{}
	for _, row := range match[min(off, len(match)):end] {
		page.Features = append(page.Features, feature{Attributes: row,
			Geometry: map[string]float64{"x": row["Longitude"].(float64), "y": row["Latitude"].(float64)}})
	}
	page.ExceededTransferLimit = end < len(match)
	_ = json.NewEncoder(w).Encode(page)
}

func arcgisRow(id int, at time.Time, desc string) map[string]any {
	return map[string]any{"OBJECTID": float64(id), "RowID": float64(id), "CrimeDateTime": float64(at.UnixMilli()),
		"CrimeCode": "9S", "Location": "1600 W NORTH AVE", "Description": desc, "Inside_Outside": "O",
		"Weapon": "FIREARM", "Post": "733", "District": "WESTERN", "Neighborhood": "PENN NORTH",
		"Latitude": 39.31009 + float64(id)*1e-4, "Longitude": -76.64342, "GeoLocation": "(39.3101,-76.6434)",
		"Premise": "STREET", "VRIName": nil, "Total_Incidents": float64(1)}
}

const arcgisMapping = `id: part1-arcgis-test
format: arcgis
start: "2014-01-01"
columns: {id: RowID, datetime: CrimeDateTime, address: Location}
datetime_formats: [epoch_ms]
precision: block
poll: {url: "%s/FeatureServer/0", since_field: CrimeDateTime, page_size: 5, every: 1h}
classify:
  - when: [{column: Description, equals: SHOOTING}]
    kind: shooting_nonfatal
  - when: [{column: Description, equals: HOMICIDE}]
    kind: shooting_fatal
`

func TestArcGISPagingAndWatermark(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := &arcgisServer{maxCount: 3}
	for i := 1; i <= 11; i++ {
		srv.rows = append(srv.rows, arcgisRow(i, base.Add(time.Duration(i)*time.Hour), []string{"SHOOTING", "HOMICIDE"}[i%2]))
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	m := mustMapping(t, fmt.Sprintf(arcgisMapping, hs.URL))
	city := MustCity(t, "baltimore")
	st := MustOpenStore(t)
	opts := PollerOptions{Options: Options{Logger: discard}, Fetcher: fastFetcher(), Sources: []*Mapping{m}}
	p, err := NewPoller(st, city, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.PollOnce(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	// Pages of at most 3 (the server's cap, below the asked 5): 3+3+3+2.
	if s.RowsRead != 11 || s.Added != 11 || srv.requests != 4 {
		t.Fatalf("first poll read %d added %d in %d requests, want 11, 11, 4", s.RowsRead, s.Added, srv.requests)
	}
	wm, _ := st.Watermark(ctx, m.ID)
	if want := strconv.FormatInt(base.Add(11*time.Hour).UnixMilli(), 10); wm != want {
		t.Fatalf("watermark %q, want %q", wm, want)
	}
	// Two new rows arrive; a new poller (a restarted process) asks only
	// from the stored watermark.
	srv.rows = append(srv.rows, arcgisRow(12, base.Add(12*time.Hour), "SHOOTING"), arcgisRow(13, base.Add(13*time.Hour), "SHOOTING"))
	p2, err := NewPoller(st, city, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err = p2.PollOnce(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if last := srv.wheres[len(srv.wheres)-1]; !strings.Contains(last, "CrimeDateTime >= TIMESTAMP '2024-03-01 23:00:00'") {
		t.Fatalf("incremental where = %q", last)
	}
	// The boundary row is read again (>=) and is unchanged.
	if s.RowsRead != 3 || s.Added != 2 || s.Unchanged != 1 {
		t.Fatalf("second poll read %d added %d unchanged %d, want 3, 2, 1", s.RowsRead, s.Added, s.Unchanged)
	}
	n, _ := st.CountIncidents(ctx, geo.IncidentFilter{Source: m.ID})
	if n != 13 {
		t.Fatalf("store holds %d incidents, want 13", n)
	}
}

func TestArcGISFailures(t *testing.T) {
	ctx := context.Background()
	cases := map[string]struct {
		srv     *arcgisServer
		handler http.Handler
		wantErr string
		rows    int
	}{
		"transient 503 then success": {srv: &arcgisServer{maxCount: 10, failFor: 2}, rows: 1},
		"503 every time":             {srv: &arcgisServer{maxCount: 10, failFor: 100}, wantErr: "HTTP 503"},
		"error in a 200 body":        {srv: &arcgisServer{maxCount: 10, errorOK: true}, wantErr: "Invalid query parameters"},
		"empty layer":                {srv: &arcgisServer{maxCount: 10}, rows: 0},
		"timeout on every attempt": {handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}), wantErr: "deadline exceeded"},
		"not JSON": {handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "<html>maintenance</html>")
		}), wantErr: "decode page"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := tc.handler
			if tc.srv != nil {
				if tc.rows > 0 {
					tc.srv.rows = []map[string]any{arcgisRow(1, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "SHOOTING")}
				}
				h = tc.srv
			}
			hs := httptest.NewServer(h)
			defer hs.Close()
			n := 0
			err := ArcGISFeed(fastFetcher(), ArcGISQuery{LayerURL: hs.URL + "/FeatureServer/0"}).Each(ctx, func(Record) error { n++; return nil })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || n != tc.rows {
				t.Fatalf("read %d rows, %v; want %d", n, err, tc.rows)
			}
		})
	}
}

// socrataServer replays SODA: a JSON array per page, $limit/$offset
// paging, floating timestamps, location objects, and a 429 when asked.
type socrataServer struct {
	rows      []map[string]any
	throttle  int
	queries   []url.Values
	emptyLast bool
}

func (s *socrataServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.throttle > 0 {
		s.throttle--
		w.Header().Set("Retry-After", "0")
		http.Error(w, `{"code":"too_many_requests"}`, http.StatusTooManyRequests)
		return
	}
	q := r.URL.Query()
	s.queries = append(s.queries, q)
	var match []map[string]any
	since := ""
	if m := regexp.MustCompile(`crimedate >= '([^']+)'`).FindStringSubmatch(q.Get("$where")); m != nil {
		since = m[1]
	}
	for _, row := range s.rows {
		if row["crimedate"].(string) >= since {
			match = append(match, row)
		}
	}
	off, _ := strconv.Atoi(q.Get("$offset"))
	lim, _ := strconv.Atoi(q.Get("$limit"))
	end := min(off+lim, len(match))
	out := []map[string]any{}
	if off < len(match) {
		out = match[off:end]
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_ = json.NewEncoder(w).Encode(out)
}

func socrataRow(i int, day string) map[string]any {
	return map[string]any{"crimedate": day + "T00:00:00.000", "crimetime": "2316", "crimecode": "9S",
		"location": fmt.Sprintf("%d00 W NORTH AV", i), "description": "SHOOTING", "weapon": "FIREARM",
		"location_1":      map[string]any{"type": "Point", "coordinates": []float64{-76.64342, 39.31009 + float64(i)*1e-4}},
		"total_incidents": "1"}
}

const socrataMapping = `id: part1-socrata-test
format: socrata
start: "2014-01-01"
columns: {date: crimedate, time: crimetime, latlon: location_1, address: location}
date_formats: ["2006-01-02T15:04:05.000"]
time_formats: ["15:04:05", "hhmm"]
precision: block
key: {columns: [crimedate, crimetime, location, description], merge: true}
poll: {url: "%s/resource/wsfq-mvij.json", since_field: crimedate, page_size: 4}
classify:
  - when: [{column: description, equals: SHOOTING}]
    kind: shooting_nonfatal
`

func TestSocrataPagingAndWatermark(t *testing.T) {
	ctx := context.Background()
	srv := &socrataServer{throttle: 1}
	for i := 1; i <= 8; i++ {
		srv.rows = append(srv.rows, socrataRow(i, fmt.Sprintf("2018-07-%02d", i)))
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	m := mustMapping(t, fmt.Sprintf(socrataMapping, hs.URL))
	st := MustOpenStore(t)
	p, err := NewPoller(st, MustCity(t, "baltimore"), PollerOptions{Options: Options{Logger: discard}, Fetcher: fastFetcher(), Sources: []*Mapping{m}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.PollOnce(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	// 8 rows in pages of 4: a full page, a full page, then an empty page
	// that ends the paging (after one throttled request was retried).
	if s.RowsRead != 8 || s.Added != 8 || len(srv.queries) != 3 {
		t.Fatalf("read %d added %d in %d queries", s.RowsRead, s.Added, len(srv.queries))
	}
	if q := srv.queries[1]; q.Get("$offset") != "4" || q.Get("$limit") != "4" || q.Get("$order") != "crimedate,:id" {
		t.Fatalf("second page query %v", q)
	}
	wm, _ := st.Watermark(ctx, m.ID)
	if wm != "2018-07-08T00:00:00.000" {
		t.Fatalf("watermark %q", wm)
	}
	srv.rows = append(srv.rows, socrataRow(9, "2018-07-09"))
	if s, err = p.PollOnce(ctx, m); err != nil {
		t.Fatal(err)
	}
	if w := srv.queries[len(srv.queries)-1].Get("$where"); w != "crimedate >= '2018-07-08T00:00:00.000'" {
		t.Fatalf("incremental $where = %q", w)
	}
	if s.RowsRead != 2 || s.Added != 1 {
		t.Fatalf("incremental poll read %d added %d, want 2, 1", s.RowsRead, s.Added)
	}
}

func TestCSVAndGeoJSONOverHTTP(t *testing.T) {
	ctx := context.Background()
	csvBody := "id,date,time,desc,addr,lat,lon\n1,2019-05-01,2316,SHOOTING,a,39.31009,-76.64342\n"
	geoBody := `{"type":"FeatureCollection","features":[` +
		`{"type":"Feature","id":7,"properties":{"id":"g1","date":"2019-05-01","time":"0130","desc":"HOMICIDE","addr":"b"},"geometry":{"type":"Point","coordinates":[-76.64342,39.31009]}},` +
		`{"type":"Feature","properties":{"id":"g2","date":"2019-05-02","time":"0130","desc":"HOMICIDE","addr":"b"},"geometry":null}]}`
	var mu sync.Mutex
	calls := map[string]int{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.URL.Path]++
		first := calls[r.URL.Path] == 1
		mu.Unlock()
		if first {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		switch r.URL.Path {
		case "/feed.csv":
			fmt.Fprint(w, csvBody)
		case "/feed.geojson":
			fmt.Fprint(w, geoBody)
		default:
			http.NotFound(w, r)
		}
	}))
	defer hs.Close()
	city := MustCity(t, "baltimore")
	gm := mustMapping(t, strings.Replace(keyedMapping, "format: csv", "format: geojson", 1))
	gm.Columns.Lat, gm.Columns.Lon = "", ""
	cases := map[string]struct {
		m       *Mapping
		path    string
		add     int
		reasons map[geo.Reason]int
		wantErr string
	}{
		"csv after a 502":        {m: mustMapping(t, keyedMapping), path: "/feed.csv", add: 1, reasons: map[geo.Reason]int{}},
		"geojson, one null geom": {m: gm, path: "/feed.geojson", add: 1, reasons: map[geo.Reason]int{geo.ReasonMissingLocation: 1}},
		"404 is reported":        {m: mustMapping(t, keyedMapping), path: "/missing.csv", wantErr: "HTTP 404"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			st := MustOpenStore(t)
			feed, _, done, err := OpenFeed(ctx, city, tc.m, hs.URL+tc.path, fastFetcher())
			if err != nil {
				t.Fatal(err)
			}
			defer done()
			s, err := Load(ctx, st, city, tc.m, feed, Options{Logger: discard})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				loads, _ := st.ListLoads(ctx, tc.m.ID, 1)
				if len(loads) != 1 || loads[0].Status != geo.LoadFailed || !strings.Contains(loads[0].Error, tc.wantErr) {
					t.Fatalf("failed fetch recorded as %+v", loads)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Added != tc.add || !maps.Equal(s.ByReason, tc.reasons) {
				t.Errorf("added %d reasons %v, want %d %v", s.Added, s.ByReason, tc.add, tc.reasons)
			}
		})
	}
}

// fmtArcGIS is the ArcGIS test mapping pointed at a server.
func fmtArcGIS(base string) string { return fmt.Sprintf(arcgisMapping, base) }

// newCountingServer serves h and counts the requests that reach it.
func newCountingServer(h http.Handler, n *atomic.Int32) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	}))
}

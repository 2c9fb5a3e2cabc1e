package geocode

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// censusReplies are response rows in the shape the Census batch service
// returns (quoted CSV, no header), keyed by the street sent.
var censusReplies = map[string]string{
	"1200 N MILTON AV":  `"%s","1200 N MILTON AV, Baltimore, MD, ","Match","Exact","1200 N MILTON AVE, BALTIMORE, MD, 21213","-76.582743,39.302712","647271862","L"`,
	"300 E 22ND ST":     `"%s","300 E 22ND ST, Baltimore, MD, ","Match","Non_Exact","300 E 22ND ST, BALTIMORE, MD, 21218","-76.611624,39.314811","647284491","R"`,
	"300 MADISON ST":    `"%s","300 MADISON ST, Baltimore, MD, ","Tie"`,
	"1 NOWHERE ST":      `"%s","1 NOWHERE ST, Baltimore, MD, ","No_Match"`,
	"99 BROKEN COORD":   `"%s","99 BROKEN COORD, Baltimore, MD, ","Match","Exact","99 BROKEN","oops","1","L"`,
	"1251 N MILTON AVE": `"%s","1251 N MILTON AVE, Baltimore, MD, ","Match","Exact","1251 N MILTON AVE, BALTIMORE, MD, 21213","-76.582600,39.303100","647271862","R"`,
}

// fakeCensus is an httptest server speaking the batch protocol. fail lists
// per-attempt behaviours ("500", "timeout", "400"); attempts beyond it answer.
type fakeCensus struct {
	srv      *httptest.Server
	requests atomic.Int32
	rows     atomic.Int32
	fail     []string
	done     chan struct{}
}

func newFakeCensus(t *testing.T, fail ...string) *fakeCensus {
	f := &fakeCensus{fail: fail, done: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(f.requests.Add(1)) - 1
		if r.URL.Path != CensusBatchPath || r.Method != http.MethodPost {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if n < len(f.fail) {
			switch f.fail[n] {
			case "500":
				http.Error(w, "Internal Server Error", http.StatusInternalServerError)
				return
			case "429":
				w.Header().Set("Retry-After", "0")
				http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
				return
			case "400":
				http.Error(w, "Bad Request: benchmark required", http.StatusBadRequest)
				return
			case "timeout":
				select {
				case <-r.Context().Done():
				case <-f.done:
				}
				return
			}
		}
		if got := r.FormValue("benchmark"); got != "Public_AR_Current" {
			http.Error(w, "bad benchmark "+got, http.StatusBadRequest)
			return
		}
		file, _, err := r.FormFile("addressFile")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		recs, err := csv.NewReader(file).ReadAll()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// The service answers in its own order, not the upload's.
		for i := len(recs) - 1; i >= 0; i-- {
			rec := recs[i]
			f.rows.Add(1)
			if len(rec) != 5 || rec[2] != "Baltimore" || rec[3] != "MD" {
				http.Error(w, "bad row", http.StatusBadRequest)
				return
			}
			tmpl, ok := censusReplies[rec[1]]
			if !ok {
				tmpl = `"%s","` + rec[1] + `, Baltimore, MD, ","No_Match"`
			}
			fmt.Fprintf(w, tmpl+"\n", rec[0])
		}
	}))
	// Cleanups run last-in first-out: release stalled handlers, then close.
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.done) })
	return f
}

func testHTTPConfig(base string) HTTPConfig {
	return HTTPConfig{
		BaseURL: base, City: "Baltimore", State: "MD",
		Rate: 1000, Burst: 10, Timeout: 200 * time.Millisecond,
		Retries: 3, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
	}
}

func TestCensusBatch(t *testing.T) {
	f := newFakeCensus(t)
	c, err := NewCensus(testHTTPConfig(f.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	c.BatchSize = 4
	in := []string{"1200 N MILTON AV", "300 E 22ND ST", "300 MADISON ST", "1 NOWHERE ST", "99 BROKEN COORD", "1251 N MILTON AVE"}
	rs, err := c.GeocodeBatch(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.requests.Load(); got != 2 {
		t.Errorf("requests = %d, want 2 batches of <= 4", got)
	}
	tests := []struct {
		prec    geo.Precision
		reason  geo.Reason
		pt      orb.Point
		score   float64
		matched string
	}{
		{geo.PrecisionBlock, "", orb.Point{-76.582743, 39.302712}, 1, "1200 N MILTON AVE, BALTIMORE, MD, 21213"},
		{geo.PrecisionBlock, "", orb.Point{-76.611624, 39.314811}, 0.8, "300 E 22ND ST, BALTIMORE, MD, 21218"},
		{geo.PrecisionUnmatched, geo.ReasonAmbiguousAddr, orb.Point{}, 0, ""},
		{geo.PrecisionUnmatched, geo.ReasonUngeocodable, orb.Point{}, 0, ""},
		{geo.PrecisionUnmatched, geo.ReasonUngeocodable, orb.Point{}, 0, ""},
		{geo.PrecisionInterpolated, "", orb.Point{-76.5826, 39.3031}, 1, "1251 N MILTON AVE, BALTIMORE, MD, 21213"},
	}
	for i, tt := range tests {
		r := rs[i]
		if r.Precision != tt.prec || r.Reason != tt.reason || r.Point != tt.pt || r.Score != tt.score || r.Matched != tt.matched {
			t.Errorf("%q: got %+v", in[i], r)
		}
	}
	if !rs[2].Ambiguous {
		t.Error("Tie must be ambiguous")
	}
	if !strings.Contains(rs[0].Detail, "647271862") || !strings.Contains(rs[0].Detail, "side L") {
		t.Errorf("tiger line detail %q", rs[0].Detail)
	}
}

func TestCensusRetries(t *testing.T) {
	tests := map[string]struct {
		fail     []string
		wantErr  string // geo error code, "" for success
		requests int32
	}{
		"5xx then ok":         {fail: []string{"500", "500"}, requests: 3},
		"429 then ok":         {fail: []string{"429"}, requests: 2},
		"timeout then ok":     {fail: []string{"timeout"}, requests: 2},
		"gives up on 5xx":     {fail: []string{"500", "500", "500", "500"}, wantErr: geo.EUNAVAILABLE, requests: 4},
		"gives up on 429":     {fail: []string{"429", "429", "429", "429"}, wantErr: geo.ERATELIMIT, requests: 4},
		"no retry on 4xx":     {fail: []string{"400"}, wantErr: geo.EINVALID, requests: 1},
		"gives up on timeout": {fail: []string{"timeout", "timeout", "timeout", "timeout"}, wantErr: geo.EUNAVAILABLE, requests: 4},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFakeCensus(t, tt.fail...)
			c, err := NewCensus(testHTTPConfig(f.srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			r, err := c.Geocode(context.Background(), "1200 N MILTON AV")
			if got := geo.ErrorCode(err); got != tt.wantErr {
				t.Errorf("error %v (code %q), want code %q", err, got, tt.wantErr)
			}
			if tt.wantErr == "" && r.Point != (orb.Point{-76.582743, 39.302712}) {
				t.Errorf("result %+v", r)
			}
			if got := f.requests.Load(); got != tt.requests {
				t.Errorf("requests = %d, want %d", got, tt.requests)
			}
		})
	}
}

func TestCensusContext(t *testing.T) {
	f := newFakeCensus(t, "timeout", "timeout", "timeout", "timeout")
	cfg := testHTTPConfig(f.srv.URL)
	cfg.Timeout = 5 * time.Second
	c, _ := NewCensus(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Geocode(ctx, "1200 N MILTON AV"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("caller deadline: err = %v", err)
	}
	if got := f.requests.Load(); got != 1 {
		t.Errorf("a cancelled caller must not be retried: %d requests", got)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFakeCensus(t)
	cfg := testHTTPConfig(f.srv.URL)
	cfg.Rate, cfg.Burst = 0.001, 1 // one token, the next in 1000 s
	c, _ := NewCensus(cfg)
	if _, err := c.Geocode(context.Background(), "1200 N MILTON AV"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := c.Geocode(ctx, "1200 N MILTON AV"); err == nil || !strings.Contains(err.Error(), "rate limit") {
		t.Errorf("second call inside the limit: err = %v", err)
	}
	if got := f.requests.Load(); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}

func TestNewHTTPAdaptersNeedBaseURL(t *testing.T) {
	if _, err := NewCensus(HTTPConfig{}); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("census: %v", err)
	}
	if _, err := NewNominatim(HTTPConfig{}); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("nominatim: %v", err)
	}
	if _, err := NewPelias(HTTPConfig{}); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("pelias: %v", err)
	}
}

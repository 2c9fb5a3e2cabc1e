package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPushedOverdosesReachAWebhook is the outreach path end to end through
// the real binary's wiring: serve on the embedded store, an analyst key
// made with `hotspots keys`, a team's webhook subscription made through the
// API, then overdoses pushed through the push API until the city's
// threshold rule (4 non-fatal overdoses in one CSA within 24 hours) trips.
// The webhook must receive the alert, in the outreach view (no points),
// with a valid signature header; one of the pushed rows is given by address
// only and must be placed by the offline geocoder.
func TestPushedOverdosesReachAWebhook(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	var mu sync.Mutex
	var got []map[string]any
	var sigs []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Errorf("webhook body is not JSON: %s", b)
		}
		mu.Lock()
		got = append(got, doc)
		sigs = append(sigs, r.Header.Get("Hotspots-Signature"))
		mu.Unlock()
	}))
	defer hook.Close()

	code, out, errOut := hs(t, ctx, dir, "keys", "create", "--name", "e2e analyst", "--role", "analyst", "--team", "east")
	if code != 0 {
		t.Fatalf("keys create: %s", errOut)
	}
	key := regexp.MustCompile(`secret:\s+(\S+)`).FindStringSubmatch(out)[1]

	srv := startServe(t, dir, "--no-poll", "--no-detect")
	url, lines := srv.url, srv.lines
	deadline := time.After(60 * time.Second)
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	sub := fmt.Sprintf(`{"name":"East overdose spikes","team":"east","kinds":["overdose_nonfatal"],"channels":[{"type":"webhook","url":%q,"secret":"s3cret-s3cret-s3cret"}]}`, hook.URL+"/alerts")
	if code, body := call("POST", "api/v1/subscriptions", sub); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("subscribe: %d %s", code, body)
	}

	now := time.Now()
	var items []string
	for i, p := range [][2]float64{{39.2930, -76.6205}, {39.2926, -76.6215}, {39.2932, -76.6210}} {
		items = append(items, fmt.Sprintf(`{"id":"e2e-%d","time":%q,"kind":"overdose","fatal":false,"lat":%g,"lon":%g}`,
			i, now.Add(-time.Duration(i+1)*time.Hour).Format(time.RFC3339), p[0], p[1]))
	}
	// The fourth is reported by address, a block of the same CSA.
	items = append(items, fmt.Sprintf(`{"id":"e2e-3","time":%q,"kind":"overdose","fatal":false,"address":"300 N EUTAW ST"}`,
		now.Add(-30*time.Minute).Format(time.RFC3339)))
	code, body := call("POST", "api/v1/ingest/push", `{"agency":"BCFD","incidents":[`+strings.Join(items, ",")+`]}`)
	if code != http.StatusOK || !strings.Contains(body, `"accepted":4`) {
		t.Fatalf("push: %d %s", code, body)
	}

	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		select {
		case <-deadline:
			for len(lines) > 0 {
				t.Log(<-lines)
			}
			t.Fatal("no webhook delivery after the threshold was crossed")
		case <-time.After(100 * time.Millisecond):
		}
	}
	mu.Lock()
	defer mu.Unlock()
	doc, sig := got[0], sigs[0]
	alert, _ := doc["alert"].(map[string]any)
	if doc["type"] != "alert.raised" || alert["rule"] != "threshold" || alert["view"] != "outreach" {
		t.Fatalf("delivery %v: want an alert.raised threshold alert in the outreach view", doc)
	}
	if _, ok := alert["cases"]; ok {
		t.Errorf("the outreach view carries case points: %v", alert)
	}
	if !regexp.MustCompile(`^t=\d+,v1=[0-9a-f]{64}$`).MatchString(sig) {
		t.Errorf("signature header %q", sig)
	}
}

package api

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"hotspots/geo"
	"hotspots/geo/alerting"
)

const hookBody = `{"name":"West spikes","channels":[{"type":"webhook","url":"https://hooks.example.org/w"}]}`

func TestSubscriptionValidation(t *testing.T) {
	env := newAlertsEnv(t)
	poly := func(coords string) string {
		return `{"name":"drawn","team":"west","polygon":{"type":"Polygon","coordinates":[` + coords + `]},"channels":[{"type":"sse"}]}`
	}
	tests := map[string]struct {
		who    *geo.Principal
		body   string
		status int
		field  string
		reason string
	}{
		"anonymous":          {nil, hookBody, 401, "", ""},
		"public key":         {&alPublic, hookBody, 403, "", ""},
		"outreach, own area": {&alWest, hookBody, 201, "", ""},
		"outreach polygon": {&alWest, poly(`[[-76.625,39.285],[-76.615,39.285],[-76.615,39.295],[-76.625,39.285]]`), 403, "",
			"limited to areas"},
		"outreach other area":   {&alWest, `{"name":"x","areas":["nsa:east"],"channels":[{"type":"sse"}]}`, 403, "", "outside your key"},
		"outreach analyst view": {&alWest, `{"name":"x","view":"analyst","channels":[{"type":"sse"}]}`, 403, "", "analyst view"},
		"admin polygon":         {&alAdmin, poly(`[[-76.625,39.285],[-76.615,39.285],[-76.615,39.295],[-76.625,39.285]]`), 201, "", ""},
		"polygon not closed": {&alAdmin, poly(`[[-76.625,39.285],[-76.615,39.285],[-76.615,39.295],[-76.625,39.295]]`), 400,
			"polygon", "does not close"},
		"polygon outside the city": {&alAdmin, poly(`[[-77.3,39.1],[-77.2,39.1],[-77.2,39.2],[-77.3,39.1]]`), 400,
			"polygon", "outside the city"},
		"polygon is a point": {&alAdmin, `{"name":"x","team":"w","polygon":{"type":"Point","coordinates":[-76.6,39.3]},"channels":[{"type":"sse"}]}`,
			400, "polygon", "Polygon or MultiPolygon"},
		"polygon feature": {&alAdmin, `{"name":"x","team":"w","polygon":{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[-76.625,39.285],[-76.615,39.285],[-76.615,39.295],[-76.625,39.285]]]}},"channels":[{"type":"sse"}]}`,
			201, "", ""},
		"circle": {&alAdmin, `{"name":"x","team":"w","circle":{"center":[-76.62,39.29],"radius_m":300},"channels":[{"type":"sse"}]}`, 201, "", ""},
		"circle in the bay": {&alAdmin, `{"name":"x","team":"w","circle":{"center":[-76.2,39.1],"radius_m":300},"channels":[{"type":"sse"}]}`,
			400, "circle", "outside the city"},
		"bad cell":        {&alAdmin, `{"name":"x","team":"w","cells":["zz"],"channels":[{"type":"sse"}]}`, 400, "cells", "invalid H3 cell"},
		"family of kinds": {&alAdmin, `{"name":"x","team":"w","kinds":["shooting"],"channels":[{"type":"sse"}]}`, 201, "", ""},
		"unknown field":   {&alAdmin, `{"name":"x","team":"w","colour":"red","channels":[{"type":"sse"}]}`, 400, "colour", "unknown field"},
		"admin no team":   {&alAdmin, `{"name":"x","channels":[{"type":"sse"}]}`, 400, "team", "required"},
		"no channel":      {&alAnalyst, `{"name":"x"}`, 400, "channels", "at least one"},
		"email":           {&alAnalyst, `{"name":"x","channels":[{"type":"email","to":["a@b.org"]}]}`, 201, "", ""},
		"bad severity":    {&alAnalyst, `{"name":"x","min_severity":"huge","channels":[{"type":"sse"}]}`, 400, "min_severity", "unknown severity"},
		"unknown area":    {&alAnalyst, `{"name":"x","areas":["nsa:north"],"channels":[{"type":"sse"}]}`, 400, "areas", `no area \"north\"`},
		"other team":      {&alAnalyst, `{"name":"x","team":"west","channels":[{"type":"sse"}]}`, 404, "", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			status, body := env.do(tc.who, "POST", "/api/v1/subscriptions", tc.body, nil)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.field != "" && !strings.Contains(body, `"field":"`+tc.field+`"`) {
				t.Fatalf("problem does not name field %q: %s", tc.field, body)
			}
			if tc.reason != "" && !strings.Contains(body, tc.reason) {
				t.Fatalf("problem does not say %q: %s", tc.reason, body)
			}
		})
	}
}

func TestSubscriptionCRUD(t *testing.T) {
	env := newAlertsEnv(t)
	var created SubscriptionResponse
	status, body := env.do(&alWest, "POST", "/api/v1/subscriptions", hookBody, &created)
	if status != 201 || created.Team != "west" || len(created.Areas) != 1 || created.Areas[0] != "nsa:west" ||
		created.View != geo.ViewOutreach || !created.Active {
		t.Fatalf("create: %d %s", status, body)
	}
	secret := created.Channels[0].Secret
	if !strings.HasPrefix(secret, "whsec_") || !created.Channels[0].SecretSet {
		t.Fatalf("generated secret not shown once: %s", body)
	}
	path := fmt.Sprintf("/api/v1/subscriptions/%d", created.ID)
	var got SubscriptionResponse
	if status, body := env.do(&alWest, "GET", path, "", &got); status != 200 || got.Channels[0].Secret != "" || !got.Channels[0].SecretSet {
		t.Fatalf("get: %d %s", status, body)
	}
	if status, _ := env.do(&alEast, "GET", path, "", nil); status != 404 {
		t.Fatalf("another team read it: %d", status)
	}
	var list struct {
		Subscriptions []SubscriptionResponse `json:"subscriptions"`
	}
	env.do(&alEast, "POST", "/api/v1/subscriptions", `{"name":"e","channels":[{"type":"sse"}]}`, nil)
	if status, _ := env.do(&alWest, "GET", "/api/v1/subscriptions", "", &list); status != 200 || len(list.Subscriptions) != 1 {
		t.Fatalf("west list: %d %+v", status, list)
	}
	if env.do(&alAdmin, "GET", "/api/v1/subscriptions", "", &list); len(list.Subscriptions) != 2 {
		t.Fatalf("admin list: %+v", list)
	}
	// Update without the secret keeps it.
	var updated SubscriptionResponse
	status, body = env.do(&alWest, "PUT", path, `{"name":"West spikes, strong","min_severity":"strong","channels":[{"type":"webhook","url":"https://hooks.example.org/w2"}]}`, &updated)
	if status != 200 || updated.Name != "West spikes, strong" || updated.MinSeverity != geo.SeverityStrong || updated.Channels[0].Secret != "" {
		t.Fatalf("update: %d %s", status, body)
	}
	stored, _ := env.st.FindSubscriptionByID(context.Background(), created.ID)
	if stored.Channels[0].Secret != secret || stored.Channels[0].URL != "https://hooks.example.org/w2" || stored.CreatedBy != "lena (west)" {
		t.Fatalf("stored after update: %+v", stored)
	}
	if status, _ := env.do(&alEast, "DELETE", path, "", nil); status != 404 {
		t.Fatalf("another team deleted it: %d", status)
	}
	if status, _ := env.do(&alWest, "DELETE", path, "", nil); status != 204 {
		t.Fatalf("delete: %d", status)
	}
	if status, _ := env.do(&alWest, "GET", path, "", nil); status != 404 {
		t.Fatalf("get after delete: %d", status)
	}
}

func TestSubscriptionPreview(t *testing.T) {
	env := newAlertsEnv(t)
	env.overdoses(apiWest, 2, geo.KindOverdoseNonFatal)
	env.overdoses(apiWest, 1, geo.KindOverdoseNonFatal)
	env.overdoses(apiEast, 2, geo.KindOverdoseNonFatal)
	var p alerting.Preview
	status, body := env.do(&alWest, "POST", "/api/v1/subscriptions/preview", hookBody, &p)
	if status != 200 || p.Alerts != 1 || p.Notifications != 2 || p.ByRule[geo.RuleThreshold] != 1 || len(p.Recent) != 1 {
		t.Fatalf("preview: %d %s", status, body)
	}
	if status, body := env.do(&alAdmin, "POST", "/api/v1/subscriptions/preview", `{"name":"all","team":"x","channels":[{"type":"sse"}]}`, &p); status != 200 || p.Alerts != 2 {
		t.Fatalf("city-wide preview: %d %s", status, body)
	}
	if subs, _ := env.st.FindSubscriptions(context.Background(), geo.SubscriptionFilter{}); len(subs) != 0 {
		t.Fatalf("preview saved %d subscriptions", len(subs))
	}
	if status, _ := env.do(&alWest, "POST", "/api/v1/subscriptions/preview", `{"name":"x","areas":["nsa:east"],"channels":[{"type":"sse"}]}`, nil); status != 403 {
		t.Fatalf("preview outside the key's areas: %d", status)
	}
}

func TestDeadLetters(t *testing.T) {
	env := newAlertsEnv(t)
	ctx := context.Background()
	var sub SubscriptionResponse
	env.do(&alWest, "POST", "/api/v1/subscriptions", hookBody, &sub)
	env.overdoses(apiWest, 2, geo.KindOverdoseNonFatal)
	jobs, err := env.st.ClaimDeliveries(ctx, geo.DeliveryClaim{Worker: "w", Limit: 10, Lease: time.Minute, MaxAttempts: 1})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %d", err, len(jobs))
	}
	d := jobs[0].Delivery
	if err := env.st.MarkFailed(ctx, d.ID, "w", 1, "webhook: HTTP 500: down", nil); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Deliveries []DeliveryResponse `json:"deliveries"`
	}
	path := fmt.Sprintf("/api/v1/subscriptions/%d/deliveries?status=dead", sub.ID)
	if status, body := env.do(&alWest, "GET", path, "", &out); status != 200 || len(out.Deliveries) != 1 ||
		out.Deliveries[0].LastError != "webhook: HTTP 500: down" || out.Deliveries[0].Status != geo.DeliveryDead {
		t.Fatalf("dead letters: %d %s", status, body)
	}
	if status, _ := env.do(&alEast, "POST", fmt.Sprintf("/api/v1/deliveries/%d/retry", d.ID), "", nil); status != 404 {
		t.Fatalf("another team requeued it: %d", status)
	}
	var re DeliveryResponse
	if status, body := env.do(&alWest, "POST", fmt.Sprintf("/api/v1/deliveries/%d/retry", d.ID), "", &re); status != 200 || re.Status != geo.DeliveryPending || re.Attempts != 0 {
		t.Fatalf("retry: %d %s", status, body)
	}
	if status, _ := env.do(&alWest, "POST", fmt.Sprintf("/api/v1/deliveries/%d/retry", d.ID), "", nil); status != 409 {
		t.Fatalf("retry of a pending delivery: %d", status)
	}
	if status, _ := env.do(&alWest, "GET", fmt.Sprintf("/api/v1/subscriptions/%d/deliveries?status=lost", sub.ID), "", nil); status != 400 {
		t.Fatalf("bad status filter: %d", status)
	}
}

package storetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
	"hotspots/geo/alerting"
)

// alertTests are the conformance tests of the alert outbox, run by Run.
var alertTests = []struct {
	name string
	fn   func(t *testing.T, open Opener)
}{
	{"Subscriptions", testSubscriptions},
	{"RaiseAlertsOutbox", testRaiseAlerts},
	{"RaiseAlertsAtomic", testRaiseAlertsAtomic},
	{"AlertCooldown", testAlertCooldown},
	{"AlertLifecycle", testAlertLifecycle},
	{"DeliveryClaims", testDeliveryClaims},
	{"DeliveryLeaseTakeover", testDeliveryTakeover},
	{"DeliveryFailures", testDeliveryFailures},
	{"PurgeAlertPoints", testPurgeAlertPoints},
}

var (
	alertPoint = orb.Point{-76.6205, 39.2905}
	hookSecret = "whsec_conformance_0123456789"
)

func mustSub(t *testing.T, s geo.Store, sub geo.Subscription) geo.Subscription {
	t.Helper()
	got, err := s.CreateSubscription(ctxT(t), sub)
	if err != nil {
		t.Fatalf("CreateSubscription: %v", err)
	}
	if got.ID == 0 || got.CreatedAt.IsZero() {
		t.Fatalf("CreateSubscription did not set ID and times: %+v", got)
	}
	return got
}

func webhookSub(team string) geo.Subscription {
	return geo.Subscription{Team: team, Name: "hook " + team, Active: true, View: geo.ViewOutreach,
		Channels: []geo.Channel{{Type: geo.ChannelWebhook, URL: "https://hooks.example.org/" + team, Secret: hookSecret},
			{Type: geo.ChannelEmail, To: []string{"lead@example.org"}}}}
}

// draftAlert is a threshold-style alert with case IDs.
func draftAlert(t *testing.T, key string, caseIDs ...int64) geo.Alert {
	c, err := geo.CellFromPoint(alertPoint, 9)
	if err != nil {
		t.Fatal(err)
	}
	p := alertPoint
	a := geo.Alert{Key: key, Rule: geo.RuleThreshold, Detector: "threshold", Kinds: []geo.Kind{geo.KindOverdoseNonFatal},
		Severity: geo.SeverityModerate, Title: "spike " + key, Areas: []string{"nsa:west"}, Cells: []geo.Cell{c},
		WindowFrom: WindowStart, WindowTo: WindowStart.Add(24 * time.Hour), Count: len(caseIDs), Threshold: 2,
		ExpiresAt: time.Now().Add(24 * time.Hour), Stats: map[string]float64{"ratio": 1.5}, Origin: &p}
	for _, id := range caseIDs {
		a.Cases = append(a.Cases, geo.AlertCase{IncidentID: id, Kind: geo.KindOverdoseNonFatal,
			OccurredAt: WindowStart.Add(time.Duration(id) * time.Minute), Point: &p})
	}
	return a
}

func targets(sub geo.Subscription) []geo.DeliveryTarget {
	var out []geo.DeliveryTarget
	for _, ch := range sub.Channels {
		if ch.Type.Queued() {
			out = append(out, geo.DeliveryTarget{SubscriptionID: sub.ID, Channel: ch.Type})
		}
	}
	return out
}

var life = alerting.Lifecycle{ReopenWithin: time.Hour, NearRepeatMulti: geo.SeverityVeryStrong}

func raise(t *testing.T, s geo.Store, cooldown time.Duration, drafts ...geo.AlertDraft) geo.AlertBatchResult {
	t.Helper()
	res, err := s.RaiseAlerts(ctxT(t), geo.AlertBatch{Drafts: drafts, Cooldown: cooldown}, life.Merge)
	if err != nil {
		t.Fatalf("RaiseAlerts: %v", err)
	}
	return res
}

func mustDeliveries(t *testing.T, s geo.Store, f geo.DeliveryFilter) []geo.Delivery {
	t.Helper()
	ds, err := s.FindDeliveries(ctxT(t), f)
	if err != nil {
		t.Fatalf("FindDeliveries: %v", err)
	}
	return ds
}

func testSubscriptions(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	c9, _ := geo.CellFromPoint(alertPoint, 9)
	c10, _ := geo.CellFromPoint(orb.Point{-76.60, 39.30}, 10)
	poly := orb.MultiPolygon{{{{-76.63, 39.28}, {-76.61, 39.28}, {-76.61, 39.30}, {-76.63, 39.30}, {-76.63, 39.28}}}}
	subs := []geo.Subscription{
		{Team: "west", Name: "areas", Areas: []string{"csa:downtown", "nsa:west"}, Kinds: []geo.Kind{geo.KindShootingFatal, geo.KindShootingNonFatal},
			Rules: []geo.AlertRule{geo.RuleNearRepeat}, MinSeverity: geo.SeverityStrong, View: geo.ViewOutreach, Active: true, CreatedBy: "lead (west)",
			Channels: []geo.Channel{{Type: geo.ChannelWebhook, URL: "https://h.example.org/x", Secret: hookSecret}, {Type: geo.ChannelSSE}}},
		{Team: "west", Name: "polygon", Polygon: poly, View: geo.ViewAnalyst, Active: false,
			Channels: []geo.Channel{{Type: geo.ChannelEmail, To: []string{"a@example.org", "b@example.org"}}}},
		{Team: "east", Name: "circle and cells", Circle: &geo.Circle{Center: alertPoint, RadiusM: 400}, Cells: []geo.Cell{c9, c10},
			View: geo.ViewOutreach, Active: true, Channels: []geo.Channel{{Type: geo.ChannelSSE}}},
	}
	for i := range subs {
		created := mustSub(t, s, subs[i])
		subs[i].ID, subs[i].CreatedAt, subs[i].UpdatedAt = created.ID, created.CreatedAt, created.UpdatedAt
		got, err := s.FindSubscriptionByID(ctx, created.ID)
		if err != nil {
			t.Fatalf("FindSubscriptionByID: %v", err)
		}
		if !reflect.DeepEqual(got, subs[i]) {
			t.Fatalf("subscription %d round trip:\n got %+v\nwant %+v", i, got, subs[i])
		}
	}
	ids := func(ss []geo.Subscription) []int64 {
		var out []int64
		for _, x := range ss {
			out = append(out, x.ID)
		}
		return out
	}
	active := true
	for name, tc := range map[string]struct {
		f    geo.SubscriptionFilter
		want []int64
	}{
		"all":         {geo.SubscriptionFilter{}, []int64{subs[0].ID, subs[1].ID, subs[2].ID}},
		"team":        {geo.SubscriptionFilter{Team: "west"}, []int64{subs[0].ID, subs[1].ID}},
		"active":      {geo.SubscriptionFilter{Active: &active}, []int64{subs[0].ID, subs[2].ID}},
		"page":        {geo.SubscriptionFilter{Limit: 1, Offset: 1}, []int64{subs[1].ID}},
		"active team": {geo.SubscriptionFilter{Team: "east", Active: &active}, []int64{subs[2].ID}},
	} {
		got, err := s.FindSubscriptions(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(ids(got), tc.want) {
			t.Fatalf("%s: got %v, want %v", name, ids(got), tc.want)
		}
	}
	up := subs[1]
	up.Name, up.Polygon, up.Active, up.CreatedBy = "renamed", nil, true, "someone else"
	up.Areas = []string{"nsa:east"}
	got, err := s.UpdateSubscription(ctx, up)
	if err != nil {
		t.Fatalf("UpdateSubscription: %v", err)
	}
	reread, _ := s.FindSubscriptionByID(ctx, up.ID)
	if reread.Name != "renamed" || reread.Polygon != nil || !reread.Active || reread.CreatedBy != subs[1].CreatedBy ||
		!slices.Equal(reread.Areas, up.Areas) || !reread.UpdatedAt.Equal(got.UpdatedAt) || !reread.CreatedAt.Equal(subs[1].CreatedAt) {
		t.Fatalf("after update: %+v", reread)
	}
	_, err = s.UpdateSubscription(ctx, geo.Subscription{ID: 99999, Team: "x", Name: "x"})
	wantCode(t, "update missing", err, geo.ENOTFOUND)
	if err := s.DeleteSubscription(ctx, subs[0].ID); err != nil {
		t.Fatalf("DeleteSubscription: %v", err)
	}
	_, err = s.FindSubscriptionByID(ctx, subs[0].ID)
	wantCode(t, "find deleted", err, geo.ENOTFOUND)
	wantCode(t, "delete twice", s.DeleteSubscription(ctx, subs[0].ID), geo.ENOTFOUND)
}

func testRaiseAlerts(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	sub := mustSub(t, s, webhookSub("west"))
	paused := webhookSub("paused")
	paused.Active = false
	paused = mustSub(t, s, paused)
	run := geo.DetectionRun{Detector: "stpscan", Kinds: []geo.Kind{geo.KindOverdoseNonFatal}, WindowFrom: WindowStart,
		WindowTo: WindowStart.AddDate(0, 0, 30)}
	c, _ := geo.CellFromPoint(alertPoint, 9)
	p := 0.001
	findings := []geo.Finding{
		{Kind: "hotspot", Cells: []geo.Cell{c}, Start: WindowStart, End: WindowStart.AddDate(0, 0, 1)},
		{Kind: "cluster", Cells: []geo.Cell{c}, Start: WindowStart, End: WindowStart.AddDate(0, 0, 3), Observed: 9, Expected: 2, PValue: &p},
	}
	a := draftAlert(t, "cluster:stpscan:k1", 1, 2, 3)
	res, err := s.RaiseAlerts(ctx, geo.AlertBatch{Run: &run, Findings: findings, Cooldown: time.Hour, Drafts: []geo.AlertDraft{{
		Alert: a, Finding: 1,
		Targets: append(targets(sub), geo.DeliveryTarget{SubscriptionID: paused.ID, Channel: geo.ChannelWebhook},
			geo.DeliveryTarget{SubscriptionID: 99999, Channel: geo.ChannelWebhook}),
	}}}, life.Merge)
	if err != nil {
		t.Fatalf("RaiseAlerts: %v", err)
	}
	if res.Run.ID == 0 || len(res.Findings) != 2 || res.Findings[1].ID == 0 || res.Findings[1].RunID != res.Run.ID {
		t.Fatalf("run and findings not saved with IDs: %+v", res)
	}
	if len(res.Alerts) != 1 || len(res.Events) != 1 || res.Enqueued != 2 {
		t.Fatalf("result = %d alerts %d events %d enqueued; want 1, 1, 2 (paused and missing subscriptions skipped)",
			len(res.Alerts), len(res.Events), res.Enqueued)
	}
	runs, err := s.ListRuns(ctx, "stpscan", 0)
	if err != nil || len(runs) != 1 || runs[0].ID != res.Run.ID {
		t.Fatalf("ListRuns = %v, %v", runs, err)
	}
	stored, err := s.FindAlertByID(ctx, res.Alerts[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	want := geo.PrepareAlert(a)
	want.ID, want.FindingID, want.Status, want.Revision = stored.ID, res.Findings[1].ID, geo.AlertOpen, 1
	want.CreatedAt, want.UpdatedAt = stored.CreatedAt, stored.UpdatedAt
	if !reflect.DeepEqual(stored, want) || !reflect.DeepEqual(res.Alerts[0], stored) {
		t.Fatalf("stored alert:\n got %+v\nwant %+v\n res %+v", stored, want, res.Alerts[0])
	}
	evs, err := s.AlertEvents(ctx, 0, 10)
	if err != nil || len(evs) != 1 || evs[0].Type != geo.EventRaised || evs[0].AlertID != stored.ID || evs[0].Revision != 1 ||
		!reflect.DeepEqual(evs[0].Alert, stored) {
		t.Fatalf("events = %+v, %v", evs, err)
	}
	if last, err := s.LastAlertEventID(ctx); err != nil || last != evs[0].ID {
		t.Fatalf("LastAlertEventID = %d, %v; want %d", last, err, evs[0].ID)
	}
	ds := mustDeliveries(t, s, geo.DeliveryFilter{AlertID: stored.ID})
	if len(ds) != 2 {
		t.Fatalf("deliveries = %+v", ds)
	}
	for _, d := range ds {
		if d.Status != geo.DeliveryPending || d.SubscriptionID != sub.ID || d.EventID != evs[0].ID || d.Revision != 1 ||
			d.IdempotencyKey != geo.IdempotencyKey(stored.ID, 1, sub.ID, d.Channel) || d.Attempts != 0 {
			t.Fatalf("delivery = %+v", d)
		}
	}

	// The same cases again change nothing a team would be told about.
	res = raise(t, s, time.Hour, geo.AlertDraft{Alert: draftAlert(t, "cluster:stpscan:k1", 1, 2, 3), Finding: -1, Targets: targets(sub)})
	if len(res.Events) != 0 || res.Enqueued != 0 || res.Alerts[0].ID != stored.ID || res.Alerts[0].FindingID != stored.FindingID {
		t.Fatalf("silent refresh = %+v", res)
	}
	// A new case: revision 2, and the unsent deliveries carry it instead of
	// adding more.
	res = raise(t, s, time.Hour, geo.AlertDraft{Alert: draftAlert(t, "cluster:stpscan:k1", 1, 2, 3, 4), Finding: -1, Targets: targets(sub)})
	if len(res.Events) != 1 || res.Events[0].Type != geo.EventUpdated || res.Alerts[0].Revision != 2 || res.Enqueued != 2 {
		t.Fatalf("update = %+v", res)
	}
	ds = mustDeliveries(t, s, geo.DeliveryFilter{AlertID: stored.ID})
	if len(ds) != 2 || ds[0].Revision != 2 || ds[0].EventID != res.Events[0].ID || ds[0].IdempotencyKey != geo.IdempotencyKey(stored.ID, 2, sub.ID, ds[0].Channel) {
		t.Fatalf("coalesced deliveries = %+v", ds)
	}
	if got, _ := s.FindAlerts(ctx, geo.AlertFilter{Key: "cluster:stpscan:k1"}); len(got) != 1 || got[0].Count != 4 {
		t.Fatalf("FindAlerts by key = %+v", got)
	}
}

func testRaiseAlertsAtomic(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	sub := mustSub(t, s, webhookSub("west"))
	run := geo.DetectionRun{Detector: "ears_c2", WindowFrom: WindowStart, WindowTo: WindowStart.AddDate(0, 0, 7)}
	findings := []geo.Finding{{Kind: "area_alarm", Layer: "nsa", Area: "west", Start: WindowStart, End: WindowStart}}
	calls := 0
	broken := func(prev *geo.Alert, d geo.AlertDraft, now time.Time) geo.AlertDecision {
		calls++
		dec := life.Merge(prev, d, now)
		if calls == 2 {
			dec.Alert.Status = "exploded" // violates the status check: the whole batch must roll back
		}
		return dec
	}
	_, err := s.RaiseAlerts(ctx, geo.AlertBatch{Run: &run, Findings: findings, Drafts: []geo.AlertDraft{
		{Alert: draftAlert(t, "a1", 1), Finding: 0, Targets: targets(sub)},
		{Alert: draftAlert(t, "a2", 2), Finding: -1, Targets: targets(sub)},
	}}, broken)
	if err == nil {
		t.Fatal("RaiseAlerts stored an alert with an invalid status")
	}
	runs, _ := s.ListRuns(ctx, "", 0)
	alerts, _ := s.FindAlerts(ctx, geo.AlertFilter{})
	evs, _ := s.AlertEvents(ctx, 0, 10)
	ds := mustDeliveries(t, s, geo.DeliveryFilter{})
	if len(runs)+len(alerts)+len(evs)+len(ds) != 0 {
		t.Fatalf("a failed batch left %d runs, %d alerts, %d events, %d deliveries", len(runs), len(alerts), len(evs), len(ds))
	}
	_, err = s.RaiseAlerts(ctx, geo.AlertBatch{Drafts: []geo.AlertDraft{{Alert: draftAlert(t, "a3"), Finding: 2}}}, life.Merge)
	wantCode(t, "draft pointing past the findings", err, geo.EINVALID)
}

func claimAll(t *testing.T, s geo.Store, worker string, lease time.Duration) []geo.DeliveryJob {
	t.Helper()
	jobs, err := s.ClaimDeliveries(ctxT(t), geo.DeliveryClaim{Worker: worker, Limit: 100, Lease: lease, MaxAttempts: 3})
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	return jobs
}

func testAlertCooldown(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	sub := mustSub(t, s, webhookSub("west"))
	tg := []geo.DeliveryTarget{{SubscriptionID: sub.ID, Channel: geo.ChannelWebhook}}
	raise(t, s, time.Hour, geo.AlertDraft{Alert: draftAlert(t, "k", 1), Finding: -1, Targets: tg})
	jobs := claimAll(t, s, "w1", time.Minute)
	if len(jobs) != 1 {
		t.Fatalf("claimed %d, want 1", len(jobs))
	}
	j := jobs[0]
	if j.Event.Alert.Title != "spike k" || j.Event.Type != geo.EventRaised || j.Subscription.ID != sub.ID ||
		len(j.Subscription.Channels) != 2 || j.Subscription.Channels[0].Secret != hookSecret || j.Delivery.Attempts != 1 {
		t.Fatalf("job = %+v", j)
	}
	if err := s.MarkSent(ctx, j.Delivery.ID, "w1", 1); err != nil {
		t.Fatalf("MarkSent: %v", err)
	}
	// While the first send is in cool-down, an update is queued for later.
	before := time.Now()
	res := raise(t, s, time.Hour, geo.AlertDraft{Alert: draftAlert(t, "k", 1, 2), Finding: -1, Targets: tg})
	if res.Enqueued != 1 {
		t.Fatalf("enqueued %d", res.Enqueued)
	}
	if jobs := claimAll(t, s, "w1", time.Minute); len(jobs) != 0 {
		t.Fatalf("claimed %d deliveries during the cool-down", len(jobs))
	}
	ds := mustDeliveries(t, s, geo.DeliveryFilter{Status: geo.DeliveryPending})
	if len(ds) != 1 || ds[0].NextAttemptAt.Before(before.Add(59*time.Minute)) || ds[0].Revision != 2 {
		t.Fatalf("deferred delivery = %+v", ds)
	}
	// A third revision during the cool-down folds into the deferred send.
	raise(t, s, time.Hour, geo.AlertDraft{Alert: draftAlert(t, "k", 1, 2, 3), Finding: -1, Targets: tg})
	ds = mustDeliveries(t, s, geo.DeliveryFilter{Status: geo.DeliveryPending})
	if len(ds) != 1 || ds[0].Revision != 3 {
		t.Fatalf("after third revision: %+v", ds)
	}
	// Without a cool-down the next revision would go at once.
	raise(t, s, 0, geo.AlertDraft{Alert: draftAlert(t, "other", 1), Finding: -1, Targets: tg})
	if jobs := claimAll(t, s, "w1", time.Minute); len(jobs) != 1 || jobs[0].Event.Alert.Key != "other" {
		t.Fatalf("claimed %+v", jobs)
	}
}

func testAlertLifecycle(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	a := raise(t, s, 0, geo.AlertDraft{Alert: draftAlert(t, "life", 1), Finding: -1}).Alerts[0]
	acked, err := s.AckAlert(ctx, a.ID, "ana (west)")
	if err != nil || acked.Status != geo.AlertAcknowledged || acked.AckedBy != "ana (west)" || acked.AckedAt == nil {
		t.Fatalf("AckAlert = %+v, %v", acked, err)
	}
	again, err := s.AckAlert(ctx, a.ID, "bob")
	if err != nil || again.AckedBy != "ana (west)" {
		t.Fatalf("second ack = %+v, %v", again, err)
	}
	// A new case keeps the acknowledgement and is sent again.
	up := raise(t, s, 0, geo.AlertDraft{Alert: draftAlert(t, "life", 1, 2), Finding: -1})
	if up.Alerts[0].Status != geo.AlertAcknowledged || up.Alerts[0].Revision != 2 || len(up.Events) != 1 {
		t.Fatalf("update of an acknowledged alert = %+v", up)
	}
	res, err := s.ResolveAlert(ctx, a.ID, "ana (west)")
	if err != nil || res.Status != geo.AlertResolved || res.ResolvedBy != "ana (west)" || res.ResolvedAt == nil {
		t.Fatalf("ResolveAlert = %+v, %v", res, err)
	}
	_, err = s.AckAlert(ctx, a.ID, "bob")
	wantCode(t, "ack a resolved alert", err, geo.ECONFLICT)
	_, err = s.AckAlert(ctx, 99999, "bob")
	wantCode(t, "ack a missing alert", err, geo.ENOTFOUND)
	// Resolved by a person: the same situation raises a new alert.
	b := raise(t, s, 0, geo.AlertDraft{Alert: draftAlert(t, "life", 3), Finding: -1}).Alerts[0]
	if b.ID == a.ID || b.Revision != 1 || b.Status != geo.AlertOpen {
		t.Fatalf("new episode = %+v", b)
	}
	// Expiry resolves as the system; coming back within an hour reopens.
	exp := draftAlert(t, "expiring", 1)
	exp.ExpiresAt = time.Now().Add(-time.Minute)
	e := raise(t, s, 0, geo.AlertDraft{Alert: exp, Finding: -1}).Alerts[0]
	expired, err := s.ExpireAlerts(ctx, time.Now())
	if err != nil || len(expired) != 1 || expired[0].ID != e.ID || expired[0].ResolvedBy != alerting.SystemActor {
		t.Fatalf("ExpireAlerts = %+v, %v", expired, err)
	}
	if again, _ := s.ExpireAlerts(ctx, time.Now()); len(again) != 0 {
		t.Fatalf("expired twice: %+v", again)
	}
	re := raise(t, s, 0, geo.AlertDraft{Alert: draftAlert(t, "expiring", 1, 2), Finding: -1})
	if re.Alerts[0].ID != e.ID || re.Alerts[0].Status != geo.AlertOpen || re.Events[0].Type != geo.EventReopened {
		t.Fatalf("reopen = %+v", re)
	}
	evs, err := s.AlertEvents(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []geo.AlertEventType
	for i, ev := range evs {
		if i > 0 && ev.ID <= evs[i-1].ID {
			t.Fatalf("events out of order: %d after %d", ev.ID, evs[i-1].ID)
		}
		types = append(types, ev.Type)
	}
	want := []geo.AlertEventType{geo.EventRaised, geo.EventAcknowledged, geo.EventUpdated, geo.EventResolved,
		geo.EventRaised, geo.EventRaised, geo.EventResolved, geo.EventReopened}
	if !slices.Equal(types, want) {
		t.Fatalf("event types = %v, want %v", types, want)
	}
	if evs[1].Actor != "ana (west)" || evs[6].Actor != alerting.SystemActor {
		t.Fatalf("event actors = %q, %q", evs[1].Actor, evs[6].Actor)
	}
	page, _ := s.AlertEvents(ctx, evs[2].ID, 2)
	if len(page) != 2 || page[0].ID != evs[3].ID {
		t.Fatalf("AlertEvents page = %+v", page)
	}
	open_, _ := s.FindAlerts(ctx, geo.AlertFilter{Status: []geo.AlertStatus{geo.AlertOpen, geo.AlertAcknowledged}})
	resolved, _ := s.FindAlerts(ctx, geo.AlertFilter{Status: []geo.AlertStatus{geo.AlertResolved}})
	byKind, _ := s.FindAlerts(ctx, geo.AlertFilter{Kinds: []geo.Kind{geo.KindShootingFatal}})
	if len(open_) != 2 || len(resolved) != 1 || len(byKind) != 0 {
		t.Fatalf("FindAlerts: %d live, %d resolved, %d shootings", len(open_), len(resolved), len(byKind))
	}
}

// fillOutbox raises n alerts for one subscription's webhook.
func fillOutbox(t *testing.T, s geo.Store, n int) geo.Subscription {
	sub := mustSub(t, s, webhookSub("west"))
	var drafts []geo.AlertDraft
	for i := 0; i < n; i++ {
		drafts = append(drafts, geo.AlertDraft{Alert: draftAlert(t, fmt.Sprintf("k%d", i), int64(i)), Finding: -1,
			Targets: []geo.DeliveryTarget{{SubscriptionID: sub.ID, Channel: geo.ChannelWebhook}}})
	}
	raise(t, s, 0, drafts...)
	return sub
}

func testDeliveryClaims(t *testing.T, open Opener) {
	s := open(t)
	const n = 30
	fillOutbox(t, s, n)
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker := fmt.Sprintf("w%d", w)
			for idle := 0; idle < 20; {
				jobs, err := s.ClaimDeliveries(ctxT(t), geo.DeliveryClaim{Worker: worker, Limit: 3, Lease: time.Minute, MaxAttempts: 3})
				if err != nil {
					errs <- err
					return
				}
				if len(jobs) == 0 {
					idle++
					time.Sleep(2 * time.Millisecond)
					continue
				}
				mu.Lock()
				for _, j := range jobs {
					if other, dup := seen[j.Delivery.ID]; dup {
						errs <- fmt.Errorf("delivery %d claimed by %s and %s", j.Delivery.ID, other, worker)
					}
					seen[j.Delivery.ID] = worker
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("claimed %d deliveries, want %d", len(seen), n)
	}
	counts, err := s.DeliveryCounts(ctxT(t))
	if err != nil || counts[geo.DeliverySending] != n {
		t.Fatalf("DeliveryCounts = %v, %v", counts, err)
	}
}

func testDeliveryTakeover(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	fillOutbox(t, s, 2)
	first := claimAll(t, s, "dying", 50*time.Millisecond)
	if len(first) != 2 {
		t.Fatalf("claimed %d", len(first))
	}
	if jobs := claimAll(t, s, "heir", time.Minute); len(jobs) != 0 {
		t.Fatalf("took over %d deliveries before the lease ran out", len(jobs))
	}
	time.Sleep(120 * time.Millisecond)
	second := claimAll(t, s, "heir", 50*time.Millisecond)
	if len(second) != 2 || second[0].Delivery.Attempts != 2 || second[0].Delivery.ClaimedBy != "heir" {
		t.Fatalf("takeover = %+v", second)
	}
	d := first[0].Delivery
	wantCode(t, "the dead worker's late success", s.MarkSent(ctx, d.ID, "dying", d.Attempts), geo.ECONFLICT)
	wantCode(t, "a stale attempt", s.MarkSent(ctx, d.ID, "heir", 1), geo.ECONFLICT)
	if err := s.MarkSent(ctx, d.ID, "heir", 2); err != nil {
		t.Fatalf("MarkSent: %v", err)
	}
	sent := mustDeliveries(t, s, geo.DeliveryFilter{ID: d.ID})
	if len(sent) != 1 || sent[0].Status != geo.DeliverySent || sent[0].SentAt == nil || sent[0].ClaimedBy != "" {
		t.Fatalf("sent delivery = %+v", sent)
	}
	// A delivery whose worker keeps dying goes dead after MaxAttempts.
	other := second[1].Delivery
	time.Sleep(120 * time.Millisecond)
	third := claimAll(t, s, "heir", time.Millisecond)
	if len(third) != 1 || third[0].Delivery.ID != other.ID || third[0].Delivery.Attempts != 3 {
		t.Fatalf("third attempt = %+v", third)
	}
	time.Sleep(20 * time.Millisecond)
	if jobs := claimAll(t, s, "heir", time.Minute); len(jobs) != 0 {
		t.Fatalf("claimed %+v after max attempts", jobs)
	}
	dead := mustDeliveries(t, s, geo.DeliveryFilter{ID: other.ID})
	if dead[0].Status != geo.DeliveryDead || dead[0].LastError == "" || dead[0].Attempts != 3 {
		t.Fatalf("repeatedly abandoned delivery = %+v", dead[0])
	}
}

func testDeliveryFailures(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	sub := fillOutbox(t, s, 2)
	jobs := claimAll(t, s, "w", time.Minute)
	if len(jobs) != 2 {
		t.Fatalf("claimed %d", len(jobs))
	}
	retry := time.Now().Add(time.Hour)
	a, b := jobs[0].Delivery, jobs[1].Delivery
	if err := s.MarkFailed(ctx, a.ID, "w", 1, "HTTP 503: busy", &retry); err != nil {
		t.Fatalf("MarkFailed retry: %v", err)
	}
	if err := s.MarkFailed(ctx, b.ID, "w", 1, "HTTP 410: gone", nil); err != nil {
		t.Fatalf("MarkFailed dead: %v", err)
	}
	wantCode(t, "mark a released delivery", s.MarkFailed(ctx, b.ID, "w", 1, "again", nil), geo.ECONFLICT)
	if jobs := claimAll(t, s, "w", time.Minute); len(jobs) != 0 {
		t.Fatalf("claimed %d before the retry time", len(jobs))
	}
	got := mustDeliveries(t, s, geo.DeliveryFilter{SubscriptionID: sub.ID})
	byID := map[int64]geo.Delivery{}
	for _, d := range got {
		byID[d.ID] = d
	}
	if d := byID[a.ID]; d.Status != geo.DeliveryPending || d.LastError != "HTTP 503: busy" || d.NextAttemptAt.Sub(retry).Abs() > time.Millisecond {
		t.Fatalf("retrying delivery = %+v", d)
	}
	if d := byID[b.ID]; d.Status != geo.DeliveryDead || d.LastError != "HTTP 410: gone" {
		t.Fatalf("dead delivery = %+v", d)
	}
	deadOnly := mustDeliveries(t, s, geo.DeliveryFilter{Status: geo.DeliveryDead})
	if len(deadOnly) != 1 || deadOnly[0].ID != b.ID {
		t.Fatalf("dead letters = %+v", deadOnly)
	}
	_, err := s.RequeueDelivery(ctx, a.ID)
	wantCode(t, "requeue a pending delivery", err, geo.ECONFLICT)
	_, err = s.RequeueDelivery(ctx, 99999)
	wantCode(t, "requeue a missing delivery", err, geo.ENOTFOUND)
	re, err := s.RequeueDelivery(ctx, b.ID)
	if err != nil || re.Status != geo.DeliveryPending || re.Attempts != 0 || re.LastError != "" {
		t.Fatalf("RequeueDelivery = %+v, %v", re, err)
	}
	if jobs := claimAll(t, s, "w", time.Minute); len(jobs) != 1 || jobs[0].Delivery.ID != b.ID {
		t.Fatalf("after requeue claimed %+v", jobs)
	}
	_, err = s.ClaimDeliveries(ctx, geo.DeliveryClaim{Worker: "", Limit: 1, Lease: time.Minute, MaxAttempts: 1})
	wantCode(t, "claim without a worker", err, geo.EINVALID)
}

func testPurgeAlertPoints(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	old := draftAlert(t, "old", 1, 2)
	recent := draftAlert(t, "recent", 3)
	recent.WindowTo = WindowStart.AddDate(1, 0, 0)
	res := raise(t, s, 0, geo.AlertDraft{Alert: old, Finding: -1}, geo.AlertDraft{Alert: recent, Finding: -1})
	n, err := s.PurgeAlertPoints(ctx, WindowStart.AddDate(0, 1, 0))
	if err != nil || n != 1 {
		t.Fatalf("PurgeAlertPoints = %d, %v; want 1", n, err)
	}
	a, _ := s.FindAlertByID(ctx, res.Alerts[0].ID)
	b, _ := s.FindAlertByID(ctx, res.Alerts[1].ID)
	if a.HasPoints() || len(a.Cases) != 2 || a.Cases[0].IncidentID != 1 || !b.HasPoints() {
		t.Fatalf("after purge: old %+v, recent %+v", a, b)
	}
	evs, _ := s.AlertEvents(ctx, 0, 10)
	for _, ev := range evs {
		snap, _ := json.Marshal(ev.Alert)
		if ev.AlertID == a.ID && ev.Alert.HasPoints() {
			t.Fatalf("event snapshot keeps points: %s", snap)
		}
	}
	if n, _ := s.PurgeAlertPoints(ctx, WindowStart.AddDate(0, 1, 0)); n != 0 {
		t.Fatalf("second purge changed %d", n)
	}
}

package alerting

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
	"hotspots/geo/sqlite"
)

// engineEnv is an engine over a fresh embedded store holding the test areas.
type engineEnv struct {
	t     *testing.T
	st    *sqlite.DB
	e     *Engine
	now   time.Time
	load  int64
	seq   int
	woken int
}

func newEngineEnv(t *testing.T, mutate func(*Config)) *engineEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "alerts.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, l := range testLayers() {
		var as []geo.Area
		for _, a := range testAreas() {
			if a.Layer == l.ID {
				as = append(as, a)
			}
		}
		if err := st.PutLayer(ctx, l, as); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.Boundary = testCity
	cfg.Cooldown = 0
	cfg.Thresholds = []Threshold{{Layer: "nsa", Kind: geo.KindOverdoseNonFatal, Window: 24 * time.Hour, Min: 3}}
	if mutate != nil {
		mutate(&cfg)
	}
	e, err := NewEngine(st, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	env := &engineEnv{t: t, st: st, e: e, now: time.Now().UTC().Truncate(time.Second)}
	e.Now = func() time.Time { return env.now }
	e.Enqueued = func() { env.woken++ }
	l, err := st.StartLoad(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	env.load = l.ID
	return env
}

// ingest stores incidents of kind at p, ago before now, and runs AfterLoad.
func (env *engineEnv) ingest(kind geo.Kind, p orb.Point, ago time.Duration) geo.AlertBatchResult {
	env.t.Helper()
	env.seq++
	cell, _ := geo.CellFromPoint(p, geo.FinestRes)
	at := env.now.Add(-ago)
	inc := geo.Incident{Source: "test", SourceID: fmt.Sprint(env.seq), Kind: kind, OccurredAt: at, TimeKnown: true,
		Day: time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC), Location: p, Precision: geo.PrecisionExact,
		Cell: cell, Victims: 1, Areas: map[string]string{}}
	ctx := context.Background()
	m, _ := env.e.Matcher(ctx)
	for _, id := range m.AreasAt([]geo.Cell{cell}, at) {
		layer, code, _ := cutArea(id)
		inc.Areas[layer] = code
	}
	if _, err := env.st.UpsertIncidents(ctx, env.load, []geo.Incident{inc}); err != nil {
		env.t.Fatal(err)
	}
	res, err := env.e.AfterLoad(ctx, []geo.Incident{inc})
	if err != nil {
		env.t.Fatal(err)
	}
	return res
}

func cutArea(id string) (string, string, bool) {
	for i := range id {
		if id[i] == ':' {
			return id[:i], id[i+1:], true
		}
	}
	return "", "", false
}

func (env *engineEnv) sub(s geo.Subscription) geo.Subscription {
	env.t.Helper()
	s.Active = true
	if s.Team == "" {
		s.Team = "team"
	}
	if s.Name == "" {
		s.Name = "sub"
	}
	m, _ := env.e.Matcher(context.Background())
	if err := m.ValidateSubscription(&s); err != nil {
		env.t.Fatal(err)
	}
	out, err := env.st.CreateSubscription(context.Background(), s)
	if err != nil {
		env.t.Fatal(err)
	}
	return out
}

func hook(url string) []geo.Channel {
	return []geo.Channel{{Type: geo.ChannelWebhook, URL: url, Secret: "0123456789abcdef0123"}}
}

// pending maps subscription IDs to their pending deliveries' alert IDs.
func (env *engineEnv) pending() map[int64][]int64 {
	env.t.Helper()
	ds, err := env.st.FindDeliveries(context.Background(), geo.DeliveryFilter{Status: geo.DeliveryPending})
	if err != nil {
		env.t.Fatal(err)
	}
	out := map[int64][]int64{}
	for _, d := range ds {
		out[d.SubscriptionID] = append(out[d.SubscriptionID], d.AlertID)
	}
	return out
}

func TestEngineThresholdAndNearRepeat(t *testing.T) {
	env := newEngineEnv(t, nil)
	west := env.sub(geo.Subscription{Areas: []string{"nsa:west"}, Channels: hook("https://w.example.org")})
	east := env.sub(geo.Subscription{Areas: []string{"nsa:east"}, Channels: hook("https://e.example.org")})
	shootings := env.sub(geo.Subscription{Rules: []geo.AlertRule{geo.RuleNearRepeat},
		Circle: &geo.Circle{Center: westPoint, RadiusM: 300}, Channels: hook("https://s.example.org")})
	severe := env.sub(geo.Subscription{MinSeverity: geo.SeverityVeryStrong, Channels: []geo.Channel{{Type: geo.ChannelEmail, To: []string{"chief@example.org"}}}})

	// Two overdoses: below the threshold of three.
	for i := 0; i < 2; i++ {
		if res := env.ingest(geo.KindOverdoseNonFatal, westPoint, time.Duration(i+1)*time.Hour); len(res.Alerts) != 0 {
			t.Fatalf("alert below the threshold: %+v", res.Alerts)
		}
	}
	// An overdose in the east does not add to the west's count.
	env.ingest(geo.KindOverdoseNonFatal, eastPoint, time.Hour)
	res := env.ingest(geo.KindOverdoseNonFatal, orb.Point{-76.6201, 39.2901}, 10*time.Minute)
	if len(res.Alerts) != 1 || len(res.Events) != 1 || res.Events[0].Type != geo.EventRaised {
		t.Fatalf("third overdose in the west: %+v", res)
	}
	spike := res.Alerts[0]
	if spike.Rule != geo.RuleThreshold || spike.Count != 3 || !slices.Equal(spike.Areas, []string{"nsa:west"}) ||
		spike.Severity != geo.SeverityModerate || len(spike.Cases) != 3 || spike.Cases[0].IncidentID == 0 {
		t.Fatalf("spike alert = %+v", spike)
	}
	if p := env.pending(); !slices.Equal(p[west.ID], []int64{spike.ID}) || len(p[east.ID])+len(p[shootings.ID])+len(p[severe.ID]) != 0 {
		t.Fatalf("pending = %v (west %d east %d shootings %d severe %d)", p, west.ID, east.ID, shootings.ID, severe.ID)
	}
	if env.woken == 0 {
		t.Fatal("the engine did not wake the workers")
	}
	// A fourth raises the count (update, coalesced into the unsent delivery).
	res = env.ingest(geo.KindOverdoseNonFatal, westPoint, 5*time.Minute)
	if len(res.Events) != 1 || res.Events[0].Type != geo.EventUpdated || res.Alerts[0].Count != 4 || res.Alerts[0].ID != spike.ID {
		t.Fatalf("fourth overdose: %+v", res)
	}
	if p := env.pending(); len(p[west.ID]) != 1 {
		t.Fatalf("pending after update = %v, want one coalesced delivery", p)
	}

	// A shooting: a near-repeat zone for the shootings subscription only.
	res = env.ingest(geo.KindShootingNonFatal, westPoint, time.Minute)
	if len(res.Alerts) != 1 || res.Alerts[0].Rule != geo.RuleNearRepeat || res.Alerts[0].Severity != geo.SeverityStrong {
		t.Fatalf("shooting: %+v", res)
	}
	zone := res.Alerts[0]
	p := env.pending()
	if !slices.Contains(p[shootings.ID], zone.ID) || !slices.Contains(p[west.ID], zone.ID) || len(p[severe.ID]) != 0 {
		t.Fatalf("pending after shooting = %v", p)
	}
	// A second shooting in the same block: the zone grows and escalates,
	// which the very-strong subscription now hears about.
	res = env.ingest(geo.KindShootingFatal, orb.Point{-76.6203, 39.2902}, 0)
	if len(res.Alerts) != 1 || res.Alerts[0].ID != zone.ID || res.Alerts[0].Count != 2 ||
		res.Alerts[0].Severity != geo.SeverityVeryStrong || len(res.Alerts[0].Kinds) != 2 {
		t.Fatalf("second shooting: %+v", res.Alerts)
	}
	if p := env.pending(); !slices.Contains(p[severe.ID], zone.ID) {
		t.Fatalf("pending after escalation = %v", p)
	}
	// Re-loading the same shooting changes nothing.
	again, err := env.e.AfterLoad(context.Background(), []geo.Incident{{Source: "test", SourceID: fmt.Sprint(env.seq),
		Kind: geo.KindShootingFatal, OccurredAt: env.now}})
	if err != nil || len(again.Events) != 0 {
		t.Fatalf("re-load = %+v, %v", again, err)
	}

	// Expiry: 25 hours later the spike has lapsed, the zone has not.
	env.now = env.now.Add(25 * time.Hour)
	expired, err := env.e.Sweep(context.Background())
	if err != nil || len(expired) != 1 || expired[0].ID != spike.ID {
		t.Fatalf("Sweep = %+v, %v", expired, err)
	}
	env.now = env.now.Add(14 * 24 * time.Hour)
	if expired, _ = env.e.Sweep(context.Background()); len(expired) != 1 || expired[0].ID != zone.ID {
		t.Fatalf("zone expiry = %+v", expired)
	}
	// With a retention, points of old alerts go; their counts stay.
	env.e.cfg.PointsRetention = 7 * 24 * time.Hour
	if _, err := env.e.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	old, _ := env.st.FindAlertByID(context.Background(), spike.ID)
	kept, _ := env.st.FindAlertByID(context.Background(), zone.ID)
	if old.HasPoints() || old.Count != 4 || !kept.HasPoints() {
		t.Fatalf("after purge: spike %+v, zone points %v", old, kept.HasPoints())
	}
}

func TestEngineDetected(t *testing.T) {
	env := newEngineEnv(t, nil)
	ctx := context.Background()
	all := env.sub(geo.Subscription{Channels: hook("https://all.example.org")})
	c := mustCell(t, westPoint, 9)
	run := geo.DetectionRun{Detector: "stpscan", Kinds: []geo.Kind{geo.KindOverdoseNonFatal}, WindowFrom: env.now.AddDate(0, 0, -30), WindowTo: env.now}
	cluster := func(cells []geo.Cell, observed float64, p float64) geo.Finding {
		return geo.Finding{Kind: FindingCluster, Cells: cells, Start: env.now.AddDate(0, 0, -3), End: env.now,
			Observed: observed, Expected: 3, PValue: &p}
	}
	res, err := env.e.Detected(ctx, run, []geo.Finding{
		cluster([]geo.Cell{c, c.Disk(1)[1]}, 12, 0.002),
		cluster([]geo.Cell{mustCell(t, farPoint, 9)}, 5, 0.3), // not significant: saved, no alert
		{Kind: "hotspot", Cells: []geo.Cell{c}, Start: env.now, End: env.now},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.ID == 0 || len(res.Findings) != 3 || len(res.Alerts) != 1 {
		t.Fatalf("Detected = %+v", res)
	}
	first := res.Alerts[0]
	if first.FindingID != res.Findings[0].ID || first.Colour != "red" || first.Severity != geo.SeverityStrong ||
		!slices.Contains(first.Areas, "nsa:west") || first.RecurrenceDays == nil || *first.RecurrenceDays != 500 {
		t.Fatalf("cluster alert = %+v", first)
	}
	findings, _ := env.st.ListFindings(ctx, geo.FindingFilter{RunID: res.Run.ID})
	if len(findings) != 3 {
		t.Fatalf("stored %d findings, want 3 (saved with the alert)", len(findings))
	}
	// The next run finds the cluster shifted by a cell and grown: same alert.
	env.now = env.now.Add(24 * time.Hour)
	res, err = env.e.Detected(ctx, run, []geo.Finding{cluster([]geo.Cell{c.Disk(1)[1], c.Disk(1)[2]}, 15, 0.001)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Alerts) != 1 || res.Alerts[0].ID != first.ID || res.Alerts[0].Revision != 2 || res.Events[0].Type != geo.EventUpdated {
		t.Fatalf("drifted cluster = %+v", res.Alerts)
	}
	// A run without it resolves it.
	env.now = env.now.Add(24 * time.Hour)
	if _, err := env.e.Detected(ctx, run, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := env.st.FindAlertByID(ctx, first.ID)
	if got.Status != geo.AlertResolved || got.ResolvedBy != SystemActor {
		t.Fatalf("vanished cluster = %+v", got)
	}
	ds, _ := env.st.FindDeliveries(ctx, geo.DeliveryFilter{SubscriptionID: all.ID})
	if len(ds) != 1 || ds[0].Revision != 2 {
		t.Fatalf("deliveries = %+v (raise and update coalesce while unsent)", ds)
	}
}

func TestEnginePreview(t *testing.T) {
	env := newEngineEnv(t, nil)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		env.ingest(geo.KindOverdoseNonFatal, westPoint, time.Duration(i+1)*time.Hour)
	}
	for i := 0; i < 4; i++ {
		env.ingest(geo.KindOverdoseNonFatal, eastPoint, time.Duration(i+1)*time.Hour)
	}
	env.ingest(geo.KindShootingNonFatal, eastPoint, time.Minute)
	tests := map[string]struct {
		sub           geo.Subscription
		alerts, sends int
	}{
		"whole city":      {geo.Subscription{}, 3, 4},
		"west only":       {geo.Subscription{Areas: []string{"nsa:west"}}, 1, 1},
		"east overdoses":  {geo.Subscription{Areas: []string{"nsa:east"}, Kinds: []geo.Kind{geo.KindOverdoseNonFatal}}, 1, 2},
		"strong and up":   {geo.Subscription{MinSeverity: geo.SeverityStrong}, 1, 1},
		"near-repeat":     {geo.Subscription{Rules: []geo.AlertRule{geo.RuleNearRepeat}}, 1, 1},
		"nothing matches": {geo.Subscription{Kinds: []geo.Kind{geo.KindHomicide}}, 0, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := env.e.Preview(ctx, tc.sub)
			if err != nil {
				t.Fatal(err)
			}
			if p.Alerts != tc.alerts || p.Notifications != tc.sends || len(p.Recent) != tc.alerts {
				t.Fatalf("Preview = %+v, want %d alerts %d sends", p, tc.alerts, tc.sends)
			}
			if p.To.Sub(p.From).Round(time.Hour) != 90*24*time.Hour {
				t.Fatalf("preview window %v..%v", p.From, p.To)
			}
		})
	}
}

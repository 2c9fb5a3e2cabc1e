package ops_test

import (
	"context"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
	"hotspots/geo/alerting"
	"hotspots/geo/postgis/postgistest"
	"hotspots/ops"
)

func TestParseAge(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "2y", want: 2 * ops.Year},
		{in: "18w", want: 18 * 7 * ops.Day},
		{in: "90d", want: 90 * ops.Day},
		{in: "1.5y", want: ops.Year + ops.Year/2},
		{in: "720h", want: 720 * time.Hour},
		{in: "0d", bad: true},
		{in: "-1y", bad: true},
		{in: "y", bad: true},
		{in: "two years", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ops.ParseAge(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("ParseAge(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseAge(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestPurgeKeepsAggregates purges the 2018 sample's points on both stores
// and checks that cell counts and every layer's indicators are the same as
// before, that the 2018 incidents lost their points and the 2020 ones kept
// theirs, and that a second purge finds nothing.
func TestPurgeKeepsAggregates(t *testing.T) {
	stores := map[string]func(t *testing.T) geo.Store{
		"sqlite":  func(t *testing.T) geo.Store { return mustSQLite(t) },
		"postgis": func(t *testing.T) geo.Store { return postgistest.MustOpenDB(t) },
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			mustLoadFixture(t, st)
			ctx := context.Background()
			cutoff := time.Date(2019, 6, 1, 0, 0, 0, 0, time.UTC)
			old := geo.IncidentFilter{To: &cutoff}
			recent := geo.IncidentFilter{From: &cutoff}
			before := mustSnapshot(t, st)
			oldPoints, recentPoints := withPoint(t, st, old), withPoint(t, st, recent)
			if before.Incidents != fixtureIncidents || oldPoints == 0 || recentPoints == 0 {
				t.Fatalf("fixture: %d incidents, %d old and %d recent with points", before.Incidents, oldPoints, recentPoints)
			}

			now := cutoff.Add(2 * ops.Year)
			p, err := ops.Purge(ctx, st, 2*ops.Year, now, discard)
			if err != nil {
				t.Fatal(err)
			}
			if p.Incidents != oldPoints {
				t.Fatalf("purged %d incidents, want %d", p.Incidents, oldPoints)
			}
			assertSameSnapshot(t, mustSnapshot(t, st), before)
			if got := withPoint(t, st, old); got != 0 {
				t.Fatalf("%d incidents before the cutoff still have a point", got)
			}
			if got := withPoint(t, st, recent); got != recentPoints {
				t.Fatalf("%d recent incidents have a point, want %d", got, recentPoints)
			}
			if p, err := ops.Purge(ctx, st, 2*ops.Year, now, discard); err != nil || p != (ops.Purged{}) {
				t.Fatalf("second purge = %+v, %v; want nothing", p, err)
			}
		})
	}
}

// TestRunRetentionPurgesAndStops runs the scheduled job with an age that
// covers every sample, cancels it once the points are gone, and checks it
// returns nil.
func TestRunRetentionPurgesAndStops(t *testing.T) {
	st := mustSQLite(t)
	mustLoadFixture(t, st)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	p := &notifyPurger{Purger: st, purged: make(chan int, 1)}
	go func() { done <- ops.RunRetention(ctx, p, ops.Day, time.Hour, discard) }()
	if n := <-p.purged; n != fixtureIncidents {
		t.Fatalf("first run purged %d, want %d", n, fixtureIncidents)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunRetention = %v", err)
	}
	if got := withPoint(t, st, geo.IncidentFilter{}); got != 0 {
		t.Fatalf("%d incidents still have a point", got)
	}
	if err := ops.RunRetention(context.Background(), st, 0, time.Hour, discard); err == nil {
		t.Fatal("RunRetention accepted a zero age")
	}
}

// notifyPurger reports each purge's count on a channel.
type notifyPurger struct {
	ops.Purger
	purged chan int
}

func (p *notifyPurger) PurgePoints(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := p.Purger.PurgePoints(ctx, cutoff)
	select {
	case p.purged <- n:
	default:
	}
	return n, err
}

// TestPurgeStripsAlertPoints raises an alert whose cases carry points on
// both stores and checks that Purge, the one-off purge command's job,
// strips them along with the incidents' (alerts copy their cases' points,
// so purging incidents alone would leave them in the alert).
func TestPurgeStripsAlertPoints(t *testing.T) {
	stores := map[string]func(t *testing.T) geo.Store{
		"sqlite":  func(t *testing.T) geo.Store { return mustSQLite(t) },
		"postgis": func(t *testing.T) geo.Store { return postgistest.MustOpenDB(t) },
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			p := orb.Point{-76.62, 39.29}
			cell, err := geo.CellFromPoint(p, 9)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC)
			a := geo.Alert{Key: "old", Rule: geo.RuleThreshold, Detector: "threshold", Kinds: []geo.Kind{geo.KindOverdoseNonFatal},
				Severity: geo.SeverityModerate, Title: "spike", Areas: []string{"csa:downtown"}, Cells: []geo.Cell{cell},
				WindowFrom: start, WindowTo: start.Add(24 * time.Hour), Count: 1, Threshold: 1,
				ExpiresAt: time.Now().Add(time.Hour), Origin: &p,
				Cases: []geo.AlertCase{{IncidentID: 1, Kind: geo.KindOverdoseNonFatal, OccurredAt: start, Point: &p}}}
			life := alerting.Lifecycle{ReopenWithin: time.Hour}
			res, err := st.RaiseAlerts(ctx, geo.AlertBatch{Drafts: []geo.AlertDraft{{Alert: a, Finding: -1}}}, life.Merge)
			if err != nil || len(res.Alerts) != 1 {
				t.Fatalf("RaiseAlerts: %v", err)
			}
			got, err := ops.Purge(ctx, st, ops.Year, start.AddDate(1, 1, 0), discard)
			if err != nil || got.Alerts != 1 {
				t.Fatalf("Purge = %+v, %v; want 1 alert", got, err)
			}
			after, err := st.FindAlertByID(ctx, res.Alerts[0].ID)
			if err != nil || after.HasPoints() || len(after.Cases) != 1 {
				t.Fatalf("after purge: %+v, %v", after, err)
			}
		})
	}
}

package alerting

import (
	"testing"
	"time"

	"hotspots/geo"
)

func cases(ids ...int64) []geo.AlertCase {
	out := make([]geo.AlertCase, len(ids))
	for i, id := range ids {
		out[i] = geo.AlertCase{IncidentID: id, OccurredAt: t0.Add(time.Duration(id) * time.Minute)}
	}
	return out
}

func TestLifecycleMerge(t *testing.T) {
	l := Lifecycle{ReopenWithin: 6 * time.Hour, NearRepeatMulti: geo.SeverityVeryStrong}
	now := t0.Add(time.Hour)
	acked := t0.Add(10 * time.Minute)
	live := &geo.Alert{ID: 7, Key: "k", Rule: geo.RuleThreshold, Status: geo.AlertAcknowledged, AckedBy: "ana",
		AckedAt: &acked, Revision: 2, Count: 3, Cases: cases(1, 2, 3), CreatedAt: t0}
	expired := t0.Add(-2 * time.Hour)
	sysResolved := &geo.Alert{ID: 8, Key: "k", Rule: geo.RuleThreshold, Status: geo.AlertResolved,
		ResolvedBy: SystemActor, ResolvedAt: &expired, Revision: 1, Cases: cases(1, 2, 3), CreatedAt: t0}
	longAgo := t0.Add(-24 * time.Hour)
	oldResolved := &geo.Alert{ID: 9, Status: geo.AlertResolved, ResolvedBy: SystemActor, ResolvedAt: &longAgo, Revision: 4}
	manual := &geo.Alert{ID: 10, Status: geo.AlertResolved, ResolvedBy: "ana", ResolvedAt: &expired, Revision: 1}
	cluster := &geo.Alert{ID: 11, Rule: geo.RuleCluster, Status: geo.AlertOpen, Count: 10, Revision: 1}
	zone := &geo.Alert{ID: 12, Rule: geo.RuleNearRepeat, Status: geo.AlertOpen, Count: 1, Cases: cases(1),
		Cells: []geo.Cell{1}, Areas: []string{"nsa:west"}, Severity: geo.SeverityStrong, Revision: 1,
		WindowFrom: t0, WindowTo: t0.Add(14 * 24 * time.Hour), ExpiresAt: t0.Add(14 * 24 * time.Hour)}

	tests := map[string]struct {
		prev      *geo.Alert
		draft     geo.Alert
		wantID    int64
		status    geo.AlertStatus
		event     geo.AlertEventType
		notify    bool
		revision  int
		ackedBy   string
		count     int
		severity  geo.Severity
		wantCases int
	}{
		"new situation": {nil, geo.Alert{Rule: geo.RuleThreshold, Count: 3, Cases: cases(1, 2, 3)},
			0, geo.AlertOpen, geo.EventRaised, true, 1, "", 3, "", 3},
		"same cases again is silent": {live, geo.Alert{Rule: geo.RuleThreshold, Count: 3, Cases: cases(1, 2, 3)},
			7, geo.AlertAcknowledged, "", false, 2, "ana", 3, "", 3},
		"a case dropping out of the window is silent": {live, geo.Alert{Rule: geo.RuleThreshold, Count: 2, Cases: cases(2, 3)},
			7, geo.AlertAcknowledged, "", false, 2, "ana", 2, "", 2},
		"new case re-sends and keeps the acknowledgement": {live, geo.Alert{Rule: geo.RuleThreshold, Count: 3, Cases: cases(2, 3, 4)},
			7, geo.AlertAcknowledged, geo.EventUpdated, true, 3, "ana", 3, "", 3},
		"cluster without case ids grows": {cluster, geo.Alert{Rule: geo.RuleCluster, Count: 12},
			11, geo.AlertOpen, geo.EventUpdated, true, 2, "", 12, "", 0},
		"cluster shrinking is silent": {cluster, geo.Alert{Rule: geo.RuleCluster, Count: 9},
			11, geo.AlertOpen, "", false, 1, "", 9, "", 0},
		"expired recently and back with a new case reopens": {sysResolved, geo.Alert{Rule: geo.RuleThreshold, Count: 3, Cases: cases(2, 3, 5)},
			8, geo.AlertOpen, geo.EventReopened, true, 2, "", 3, "", 3},
		"expired long ago raises anew": {oldResolved, geo.Alert{Rule: geo.RuleThreshold, Count: 3, Cases: cases(5, 6, 7)},
			0, geo.AlertOpen, geo.EventRaised, true, 1, "", 3, "", 3},
		"resolved by a person raises anew": {manual, geo.Alert{Rule: geo.RuleThreshold, Count: 3, Cases: cases(5, 6, 7)},
			0, geo.AlertOpen, geo.EventRaised, true, 1, "", 3, "", 3},
		"second shooting in a zone accumulates and escalates": {zone, geo.Alert{Rule: geo.RuleNearRepeat, Count: 1,
			Cases: cases(2), Cells: []geo.Cell{2}, Areas: []string{"nsa:east"}, Severity: geo.SeverityStrong,
			WindowFrom: t0.Add(time.Hour), WindowTo: t0.Add(time.Hour + 14*24*time.Hour), ExpiresAt: t0.Add(time.Hour + 14*24*time.Hour)},
			12, geo.AlertOpen, geo.EventUpdated, true, 2, "", 2, geo.SeverityVeryStrong, 2},
		"same shooting reported twice is silent": {zone, geo.Alert{Rule: geo.RuleNearRepeat, Count: 1, Cases: cases(1),
			Severity: geo.SeverityStrong}, 12, geo.AlertOpen, "", false, 1, "", 1, geo.SeverityStrong, 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := l.Merge(tc.prev, geo.AlertDraft{Alert: tc.draft, Finding: -1}, now)
			a := d.Alert
			if !d.Store || a.ID != tc.wantID || a.Status != tc.status || d.Event != tc.event || d.Notify != tc.notify ||
				a.Revision != tc.revision || a.AckedBy != tc.ackedBy || a.Count != tc.count || len(a.Cases) != tc.wantCases {
				t.Fatalf("Merge = id %d status %s event %q notify %v rev %d acked %q count %d cases %d; want id %d status %s event %q notify %v rev %d acked %q count %d cases %d",
					a.ID, a.Status, d.Event, d.Notify, a.Revision, a.AckedBy, a.Count, len(a.Cases),
					tc.wantID, tc.status, tc.event, tc.notify, tc.revision, tc.ackedBy, tc.count, tc.wantCases)
			}
			if tc.severity != "" && a.Severity != tc.severity {
				t.Fatalf("severity = %s, want %s", a.Severity, tc.severity)
			}
			if !a.UpdatedAt.Equal(now) {
				t.Fatalf("UpdatedAt = %v, want %v", a.UpdatedAt, now)
			}
			if tc.wantID == 0 && !a.CreatedAt.Equal(now) {
				t.Fatalf("new alert CreatedAt = %v, want %v", a.CreatedAt, now)
			}
		})
	}
	t.Run("zone keeps the earliest window and all cells and areas", func(t *testing.T) {
		d := l.Merge(zone, geo.AlertDraft{Alert: geo.Alert{Rule: geo.RuleNearRepeat, Cases: cases(2), Cells: []geo.Cell{2},
			Areas: []string{"nsa:east"}, WindowFrom: t0.Add(time.Hour), WindowTo: t0.Add(15 * 24 * time.Hour),
			ExpiresAt: t0.Add(15 * 24 * time.Hour)}}, now)
		a := d.Alert
		if !a.WindowFrom.Equal(t0) || !a.WindowTo.Equal(t0.Add(15*24*time.Hour)) || len(a.Cells) != 2 || len(a.Areas) != 2 ||
			!a.ExpiresAt.Equal(t0.Add(15*24*time.Hour)) {
			t.Fatalf("merged zone = window %v..%v cells %v areas %v expires %v", a.WindowFrom, a.WindowTo, a.Cells, a.Areas, a.ExpiresAt)
		}
	})
}

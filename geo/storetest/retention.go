package storetest

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// clocks holds the test clock of each test that set one.
var clocks sync.Map // *testing.T -> *testClock

type testClock struct {
	mu sync.Mutex
	at time.Time // zero: time.Now
}

func clockOf(t *testing.T) *testClock {
	c, loaded := clocks.LoadOrStore(t, &testClock{})
	if !loaded {
		t.Cleanup(func() { clocks.Delete(t) })
	}
	return c.(*testClock)
}

// Clock returns the clock an Opener must give the store it opens for t
// (postgis.Options.Now, sqlite.Options.Now). It reads time.Now until a
// test pins it, which the retention and load tests do to stamp rows in
// the past.
func Clock(t *testing.T) func() time.Time {
	c := clockOf(t)
	return func() time.Time {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.at.IsZero() {
			return time.Now()
		}
		return c.at
	}
}

// setClock pins t's store clock at at and checks that the store follows it.
func setClock(t *testing.T, s geo.Store, at time.Time) {
	t.Helper()
	c := clockOf(t)
	c.mu.Lock()
	c.at = at
	c.mu.Unlock()
	l, err := s.StartLoad(ctxT(t), "storetest-clock")
	if err != nil {
		t.Fatal(err)
	}
	if !l.StartedAt.Equal(at) {
		t.Fatalf("store stamps %v with the clock at %v: the Opener must pass storetest.Clock(t) as the store's clock", l.StartedAt, at)
	}
}

var retentionTests = []struct {
	name string
	fn   func(t *testing.T, open Opener)
}{
	{"PurgePointsHistory", testPurgeHistory},
	{"InterruptedLoads", testInterruptedLoads},
}

// testPurgeHistory checks that PurgePoints removes the copies of point-level
// data older than the cutoff that outlive the incident row (revision values,
// quarantined raw rows and details) and keeps everything newer, and all the
// bookkeeping.
func testPurgeHistory(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	cutoff := WindowStart.Add(25 * 24 * time.Hour)
	before, after := cutoff.Add(-20*24*time.Hour), cutoff.Add(15*24*time.Hour)

	setClock(t, s, before)
	in := Incidents(60, 21)
	l1, err := s.StartLoad(ctx, "src-a")
	if err != nil {
		t.Fatal(err)
	}
	mustUpsert(t, s, l1.ID, in)
	oldI := slices.IndexFunc(in, func(i geo.Incident) bool { return i.OccurredAt.Before(cutoff) && i.Raw != nil })
	newI := slices.IndexFunc(in, func(i geo.Incident) bool { return !i.OccurredAt.Before(cutoff) && i.Raw != nil })
	if oldI < 0 || newI < 0 {
		t.Fatal("fixture has no incident on both sides of the cutoff")
	}
	qrows := []geo.QuarantinedRow{
		{Source: "src-a", RowKey: "qa1", LoadID: l1.ID, Reason: geo.ReasonOutsideCity, Detail: "lat 39.951, lon -75.163",
			Raw: json.RawMessage(`{"lat": 39.951, "lon": -75.163, "address": "1 Far Away St"}`)},
		{Source: "src-a", RowKey: "qa2", LoadID: l1.ID, Reason: geo.ReasonUngeocodable, Detail: `"2 Nowhere Ln" did not match`,
			Raw: json.RawMessage(`{"address": "2 Nowhere Ln"}`)},
	}
	if err := s.QuarantineRows(ctx, qrows); err != nil {
		t.Fatal(err)
	}
	q, err := s.ListQuarantine(ctx, geo.QuarantineFilter{})
	if err != nil || len(q) != 2 {
		t.Fatalf("ListQuarantine = %d rows, %v", len(q), err)
	}
	if err := s.ResolveQuarantine(ctx, []int64{q[1].ID}); err != nil {
		t.Fatal(err)
	}

	// Corrections arrive after the cutoff: a moved point for one incident
	// before the cutoff and one after it.
	setClock(t, s, after)
	l2, err := s.StartLoad(ctx, "src-a")
	if err != nil {
		t.Fatal(err)
	}
	moved := []geo.Incident{in[oldI], in[newI]}
	for i := range moved {
		m := &moved[i]
		m.Location = orb.Point{m.Location.Lon() + 0.0011, m.Location.Lat() + 0.0007}
		m.Address = "999 Moved Ave"
		m.Victims++
		m.Raw = json.RawMessage(`{"id": "moved", "addr": "999 Moved Ave"}`)
	}
	if res := mustUpsert(t, s, l2.ID, moved); res.Changed != 2 {
		t.Fatalf("corrections: %+v", res)
	}
	if err := s.QuarantineRows(ctx, []geo.QuarantinedRow{{Source: "src-a", RowKey: "qb1", LoadID: l2.ID, Reason: geo.ReasonNullIsland,
		Detail: "lat 0, lon 0", Raw: json.RawMessage(`{"lat": 0, "lon": 0, "address": "3 Recent Rd"}`)}}); err != nil {
		t.Fatal(err)
	}

	ids := func() (int64, int64) {
		find := func(inc geo.Incident) int64 {
			for _, g := range mustFind(t, s, geo.IncidentFilter{Source: inc.Source}) {
				if g.SourceID == inc.SourceID {
					return g.ID
				}
			}
			t.Fatalf("incident %s not found", inc.SourceID)
			return 0
		}
		return find(in[oldI]), find(in[newI])
	}
	oldID, newID := ids()
	revs := func(id int64) []geo.Revision {
		t.Helper()
		r, err := s.IncidentRevisions(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(r) != 1 {
			t.Fatalf("incident %d has %d revisions, want 1", id, len(r))
		}
		return r
	}
	quarantine := func() []geo.QuarantinedRow {
		t.Helper()
		r, err := s.ListQuarantine(ctx, geo.QuarantineFilter{IncludeResolved: true})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	summary := func() []geo.ReasonCount {
		t.Helper()
		r, err := s.QuarantineSummary(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	oldRev, newRev, quar, sum := revs(oldID), revs(newID), quarantine(), summary()
	for _, f := range []string{"location", "address", "raw", "victims"} {
		if _, ok := oldRev[0].Changes[f]; !ok {
			t.Fatalf("revision before the purge lacks %q: %+v", f, oldRev[0].Changes)
		}
	}

	if _, err := s.PurgePoints(ctx, cutoff); err != nil {
		t.Fatalf("PurgePoints: %v", err)
	}

	// The old incident's revision: same change on record, no values of
	// point-level fields.
	got := revs(oldID)[0]
	w := oldRev[0]
	if got.ID != w.ID || got.IncidentID != w.IncidentID || got.LoadID != w.LoadID || got.Source != w.Source || !got.ChangedAt.Equal(w.ChangedAt) {
		t.Fatalf("purged revision bookkeeping = %+v, want %+v", got, w)
	}
	if len(got.Changes) != len(w.Changes) {
		t.Fatalf("purged revision fields = %v, want the names of %v", got.Changes, w.Changes)
	}
	for f, v := range w.Changes {
		g, ok := got.Changes[f]
		switch {
		case !ok:
			t.Fatalf("purged revision lost field %q", f)
		case slices.Contains(geo.PointFields, f):
			if g != ([2]any{}) {
				t.Fatalf("purged revision keeps %s = %v, want [null, null]", f, g)
			}
		case !reflect.DeepEqual(g, v):
			t.Fatalf("purged revision changed %s: %v, want %v", f, g, v)
		}
	}
	if b, _ := json.Marshal(got); strings.Contains(string(b), "Moved Ave") || strings.Contains(string(b), "Test St") {
		t.Fatalf("purged revision still holds an address: %s", b)
	}
	if g := revs(newID); !reflect.DeepEqual(g, newRev) {
		t.Fatalf("revision of a newer incident changed:\n got %+v\nwant %+v", g, newRev)
	}

	// Quarantine: old rows keep their bookkeeping, lose content; the newer
	// row is untouched; the summary still adds up.
	gotQ := quarantine()
	if len(gotQ) != len(quar) {
		t.Fatalf("%d quarantined rows after the purge, want %d", len(gotQ), len(quar))
	}
	for i, g := range gotQ {
		w := quar[i]
		if w.RowKey == "qb1" {
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("newer quarantined row changed:\n got %+v\nwant %+v", g, w)
			}
			continue
		}
		if len(g.Raw) != 0 || g.Detail != geo.DetailPurged || !g.Purged() {
			t.Fatalf("quarantined row %s keeps raw %s, detail %q", g.RowKey, g.Raw, g.Detail)
		}
		g.Raw, g.Detail = w.Raw, w.Detail
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("purged quarantined row bookkeeping:\n got %+v\nwant %+v", g, w)
		}
	}
	if g := summary(); !reflect.DeepEqual(g, sum) {
		t.Fatalf("quarantine summary after the purge = %+v, want %+v", g, sum)
	}

	// A second purge finds nothing and changes nothing.
	v := mustVersion(t, s)
	if n, err := s.PurgePoints(ctx, cutoff); err != nil || n != 0 {
		t.Fatalf("second purge = %d, %v", n, err)
	}
	if mustVersion(t, s) != v {
		t.Fatal("DataVersion moved on a purge that found nothing")
	}
	if !reflect.DeepEqual(revs(oldID)[0], got) || !reflect.DeepEqual(quarantine(), gotQ) {
		t.Fatal("second purge changed revisions or quarantine")
	}

	// The feed sending a purged row again quarantines it afresh, with
	// content: the purged row does not block its key.
	if err := s.QuarantineRows(ctx, []geo.QuarantinedRow{{Source: "src-a", RowKey: "qa1", Reason: geo.ReasonOutsideCity,
		Detail: "again", Raw: json.RawMessage(`{"lat": 1}`)}}); err != nil {
		t.Fatal(err)
	}
	open1, err := s.ListQuarantine(ctx, geo.QuarantineFilter{Source: "src-a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range open1 {
		if r.RowKey == "qa1" && (r.Purged() || r.Detail != "again" || len(r.Raw) == 0) {
			t.Fatalf("re-quarantined row = %+v", r)
		}
	}
}

// testInterruptedLoads checks that StartLoad marks a source's loads left
// running for longer than geo.LoadInterruptedAfter as failed, and nothing
// else.
func testInterruptedLoads(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	t0 := WindowStart
	setClock(t, s, t0)
	start := func(src string) geo.Load {
		t.Helper()
		l, err := s.StartLoad(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	dead := start("a")
	done := start("a")
	done.Status, done.RowsRead = geo.LoadDone, 3
	if err := s.FinishLoad(ctx, done); err != nil {
		t.Fatal(err)
	}
	other := start("b")
	loads := func() map[int64]geo.Load {
		t.Helper()
		ls, err := s.ListLoads(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		m := map[int64]geo.Load{}
		for _, l := range ls {
			m[l.ID] = l
		}
		return m
	}
	status := func(m map[int64]geo.Load, l geo.Load, want string) geo.Load {
		t.Helper()
		g := m[l.ID]
		if g.Status != want {
			t.Fatalf("load %d of %s: status %q (%q), want %q", l.ID, l.Source, g.Status, g.Error, want)
		}
		return g
	}

	// An hour later the first load may still be alive (loads of one source
	// can overlap): it stays running.
	setClock(t, s, t0.Add(time.Hour))
	young := start("a")
	status(loads(), dead, geo.LoadRunning)

	// A day later it cannot be: the next load of its source fails it.
	now := t0.Add(geo.LoadInterruptedAfter + 30*time.Minute)
	setClock(t, s, now)
	cur := start("a")
	m := loads()
	g := status(m, dead, geo.LoadFailed)
	if g.Error != geo.LoadInterrupted || g.FinishedAt == nil || !g.FinishedAt.Equal(now) || !g.StartedAt.Equal(t0) {
		t.Fatalf("interrupted load = %+v", g)
	}
	if g := status(m, done, geo.LoadDone); g.RowsRead != 3 || g.Error != "" {
		t.Fatalf("finished load changed: %+v", g)
	}
	status(m, young, geo.LoadRunning) // 23h30 old
	status(m, other, geo.LoadRunning) // another source
	status(m, cur, geo.LoadRunning)

	// Only a load of its own source fails a dead load.
	setClock(t, s, now.Add(2*geo.LoadInterruptedAfter))
	start("b")
	m = loads()
	status(m, other, geo.LoadFailed)
	status(m, young, geo.LoadRunning)
	// A slow process that finishes a load taken for dead still records
	// its real outcome.
	young.Status = geo.LoadDone
	if err := s.FinishLoad(ctx, young); err != nil {
		t.Fatal(err)
	}
	status(loads(), young, geo.LoadDone)
}

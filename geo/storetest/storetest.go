// Package storetest is the conformance suite every geo.Store implementation
// must pass: geo/postgis and geo/sqlite both call Run, so the embedded store
// and the system of record cannot drift apart.
//
// Expected results are computed in Go from the generated inputs, never
// copied from a store's own output.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// Opener returns a migrated store for t. The first call for a t gives an
// empty store; a later call with the same t, after the earlier store was
// closed, must reopen the same data (same file, same schema): that is how
// the suite checks what survives a restart. The opener registers the
// store's cleanup with t; Close may therefore run twice.
type Opener func(t *testing.T) geo.Store

// Run runs every conformance test against stores from open. The tests run
// in parallel, each on its own store, so open must be safe for concurrent
// use.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"Ready", testReady},
		{"UpsertIdempotent", testUpsertIdempotent},
		{"UpsertRevisions", testUpsertRevisions},
		{"UpsertDuplicateKeyInBatch", testUpsertDuplicateKey},
		{"UpsertRejectsInvalid", testUpsertInvalid},
		{"FindIncidentsFilters", testFindFilters},
		{"CellCounts", testCellCounts},
		{"CellCountsRejectBadInput", testCellCountsBadInput},
		{"AreaDayCounts", testAreaDayCounts},
		{"AreaBinCounts", testAreaBinCounts},
		{"Quarantine", testQuarantine},
		{"LoadsAndWatermarksSurviveReopen", testLoadsReopen},
		{"Areas", testAreas},
		{"Findings", testFindings},
		{"DataVersion", testDataVersion},
		{"PurgePoints", testPurgePoints},
		{"ContextCanceled", testContextCanceled},
	}
	tests = append(tests, retentionTests...)
	tests = append(tests, alertTests...)
	tests = append(tests, accessTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

func ctxT(t *testing.T) context.Context { return t.Context() }

// mustUpsert upserts and fails the test on error.
func mustUpsert(t *testing.T, s geo.Store, loadID int64, incs []geo.Incident) geo.UpsertResult {
	t.Helper()
	res, err := s.UpsertIncidents(ctxT(t), loadID, incs)
	if err != nil {
		t.Fatalf("UpsertIncidents: %v", err)
	}
	return res
}

func mustVersion(t *testing.T, s geo.Store) int64 {
	t.Helper()
	v, err := s.DataVersion(ctxT(t))
	if err != nil {
		t.Fatalf("DataVersion: %v", err)
	}
	return v
}

func mustFind(t *testing.T, s geo.Store, f geo.IncidentFilter) []geo.Incident {
	t.Helper()
	got, err := s.FindIncidents(ctxT(t), f)
	if err != nil {
		t.Fatalf("FindIncidents(%+v): %v", f, err)
	}
	return got
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, code)
	}
	if got := geo.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

func testReady(t *testing.T, open Opener) {
	s := open(t)
	if err := s.Ping(ctxT(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Ready(ctxT(t)); err != nil {
		t.Fatalf("Ready after migration: %v", err)
	}
}

func testUpsertIdempotent(t *testing.T, open Opener) {
	s := open(t)
	in := Incidents(240, 1)
	if res := mustUpsert(t, s, 0, in[:100]); res != (geo.UpsertResult{Added: 100}) {
		t.Fatalf("first batch: %+v, want 100 added", res)
	}
	if res := mustUpsert(t, s, 0, in); res != (geo.UpsertResult{Added: 140, Unchanged: 100}) {
		t.Fatalf("second batch: %+v, want 140 added, 100 unchanged", res)
	}
	v := mustVersion(t, s)
	if res := mustUpsert(t, s, 0, in); res != (geo.UpsertResult{Unchanged: 240}) {
		t.Fatalf("same rows again: %+v, want 240 unchanged", res)
	}
	// The same raw rows with other white space are the same content.
	again := Incidents(240, 1)
	for i := range again {
		if again[i].Raw != nil {
			var buf bytes.Buffer
			if err := json.Indent(&buf, again[i].Raw, "", "    "); err != nil {
				t.Fatal(err)
			}
			again[i].Raw = buf.Bytes()
		}
	}
	if res := mustUpsert(t, s, 0, again); res != (geo.UpsertResult{Unchanged: 240}) {
		t.Fatalf("re-indented raw: %+v, want 240 unchanged", res)
	}
	if got := mustVersion(t, s); got != v {
		t.Fatalf("DataVersion moved from %d to %d on unchanged upserts", v, got)
	}
	got := mustFind(t, s, geo.IncidentFilter{})
	assertIncidents(t, got, byTime(normalized(in)))
	n, err := s.CountIncidents(ctxT(t), geo.IncidentFilter{})
	if err != nil || n != 240 {
		t.Fatalf("CountIncidents = %d, %v; want 240", n, err)
	}
	if res := mustUpsert(t, s, 0, nil); res != (geo.UpsertResult{}) {
		t.Fatalf("empty upsert: %+v", res)
	}
}

func testUpsertRevisions(t *testing.T, open Opener) {
	s := open(t)
	load, err := s.StartLoad(ctxT(t), "src-a")
	if err != nil {
		t.Fatal(err)
	}
	in := Incidents(120, 2)
	mustUpsert(t, s, load.ID, in)
	v := mustVersion(t, s)

	// Three edits: victims only; kind, place and day; and raw key order,
	// which is not a change of content.
	mod := append([]geo.Incident(nil), in...)
	a, b, c := 1, 2, 4
	mod[a].Victims += 2
	mod[b].Kind = geo.KindHomicide
	mod[b].Location = orb.Point{-76.6122, 39.2904}
	mod[b].Cell = 0 // recomputed from Location by Normalize
	mod[b].Day = mod[b].Day.AddDate(0, 0, 1)
	if mod[c].Raw == nil {
		t.Fatal("fixture incident 4 has no raw row")
	}
	var m map[string]any
	if err := json.Unmarshal(mod[c].Raw, &m); err != nil {
		t.Fatal(err)
	}
	mod[c].Raw, _ = json.Marshal(m) // sorted keys, no spaces
	res := mustUpsert(t, s, load.ID, []geo.Incident{mod[a], mod[b], mod[c]})
	if res != (geo.UpsertResult{Changed: 2, Unchanged: 1}) {
		t.Fatalf("edits: %+v, want 2 changed, 1 unchanged", res)
	}
	if got := mustVersion(t, s); got == v {
		t.Fatal("DataVersion did not change after a change")
	}
	norm := normalized(mod)
	stored := map[string]geo.Incident{}
	for _, inc := range mustFind(t, s, geo.IncidentFilter{}) {
		stored[inc.SourceID] = inc
	}
	assertIncidents(t, []geo.Incident{stored[mod[b].SourceID]}, []geo.Incident{norm[b]})

	revs := func(i int) []geo.Revision {
		t.Helper()
		id := stored[mod[i].SourceID].ID
		r, err := s.IncidentRevisions(ctxT(t), id)
		if err != nil {
			t.Fatalf("IncidentRevisions(%d): %v", id, err)
		}
		return r
	}
	ra := revs(a)
	if len(ra) != 1 {
		t.Fatalf("victims edit: %d revisions, want 1", len(ra))
	}
	wantA := map[string][2]any{"victims": {float64(in[a].Victims), float64(in[a].Victims + 2)}}
	if !reflect.DeepEqual(ra[0].Changes, wantA) {
		t.Fatalf("victims revision = %v, want %v", ra[0].Changes, wantA)
	}
	if ra[0].LoadID != load.ID || ra[0].Source != "src-a" && ra[0].Source != "src-b" || ra[0].ChangedAt.IsZero() {
		t.Fatalf("revision metadata = %+v", ra[0])
	}
	rb := revs(b)
	if len(rb) != 1 {
		t.Fatalf("kind/place edit: %d revisions, want 1", len(rb))
	}
	keys := sortedKeys(rb[0].Changes)
	if want := []string{"cell", "day", "kind", "location"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("kind/place revision fields = %v, want %v", keys, want)
	}
	if got := rb[0].Changes["kind"]; got != [2]any{string(in[b].Kind), string(geo.KindHomicide)} {
		t.Fatalf("kind change = %v", got)
	}
	if got := revs(c); len(got) != 0 {
		t.Fatalf("raw key order: %d revisions, want none", len(got))
	}
	if got := revs(0); len(got) != 0 {
		t.Fatalf("untouched incident: %d revisions", len(got))
	}

	// The maintained counts must have moved with the edit.
	for _, res := range []int{7, geo.DefaultDetectRes, geo.FinestRes} {
		got, err := s.CellDayCounts(ctxT(t), geo.CellCountFilter{Res: res})
		if err != nil {
			t.Fatal(err)
		}
		assertCellDayCounts(t, fmt.Sprintf("after edit res %d", res), got, expectCellDayCounts(norm, geo.CellCountFilter{Res: res}))
	}
	// Editing back restores the first version and adds a second revision.
	if res := mustUpsert(t, s, 0, []geo.Incident{in[a]}); res != (geo.UpsertResult{Changed: 1}) {
		t.Fatalf("edit back: %+v", res)
	}
	ra = revs(a)
	if len(ra) != 2 || ra[1].LoadID != 0 || ra[1].ID <= ra[0].ID {
		t.Fatalf("after edit back: revisions %+v", ra)
	}
}

func testUpsertDuplicateKey(t *testing.T, open Opener) {
	s := open(t)
	in := Incidents(2, 3)
	first, second := in[0], in[0]
	second.Victims += 5
	res := mustUpsert(t, s, 0, []geo.Incident{first, in[1], second})
	if res != (geo.UpsertResult{Added: 2, Changed: 1}) {
		t.Fatalf("duplicate key in one batch: %+v, want 2 added, 1 changed", res)
	}
	got := mustFind(t, s, geo.IncidentFilter{Source: first.Source})
	var found bool
	for _, g := range got {
		if g.SourceID == first.SourceID {
			found = true
			if g.Victims != second.Victims {
				t.Fatalf("stored victims %d, want the later row's %d", g.Victims, second.Victims)
			}
			revs, err := s.IncidentRevisions(ctxT(t), g.ID)
			if err != nil || len(revs) != 1 {
				t.Fatalf("revisions = %v, %v; want 1", revs, err)
			}
		}
	}
	if !found {
		t.Fatal("incident not stored")
	}
	cc, err := s.CellCounts(ctxT(t), geo.CellCountFilter{Res: geo.DefaultDetectRes})
	if err != nil {
		t.Fatal(err)
	}
	assertCellCounts(t, "duplicate key", cc, expectCellCounts(normalized(in), geo.CellCountFilter{Res: geo.DefaultDetectRes}))
}

func testUpsertInvalid(t *testing.T, open Opener) {
	s := open(t)
	good := Incidents(3, 4)
	coarse, err := geo.CellFromPoint(good[0].Location, 9)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(i *geo.Incident)
	}{
		{"no source", func(i *geo.Incident) { i.Source = "" }},
		{"no source id", func(i *geo.Incident) { i.SourceID = "" }},
		{"bad kind", func(i *geo.Incident) { i.Kind = "Shooting!" }},
		{"no time", func(i *geo.Incident) { i.OccurredAt = time.Time{} }},
		{"coarse cell", func(i *geo.Incident) { i.Cell = coarse }},
		{"no place", func(i *geo.Incident) { i.Cell, i.Location = 0, orb.Point{} }},
		{"raw not json", func(i *geo.Incident) { i.Raw = json.RawMessage(`{"a":`) }},
		{"lat out of range", func(i *geo.Incident) { i.Location = orb.Point{-76, 91} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := good[2]
			tc.edit(&bad)
			_, err := s.UpsertIncidents(ctxT(t), 0, []geo.Incident{good[0], good[1], bad})
			wantCode(t, "upsert", err, geo.EINVALID)
		})
	}
	// Atomic: nothing of the rejected batches was stored.
	if n, err := s.CountIncidents(ctxT(t), geo.IncidentFilter{}); err != nil || n != 0 {
		t.Fatalf("after rejected batches: %d incidents, %v", n, err)
	}
}

func testFindFilters(t *testing.T, open Opener) {
	s := open(t)
	in := Incidents(300, 5)
	mustUpsert(t, s, 0, in)
	norm := normalized(in)
	mid := WindowStart.Add(20 * 24 * time.Hour)
	late := WindowStart.Add(45 * 24 * time.Hour)
	c7 := norm[0].Cell.Parent(7)
	c9a, c9b := norm[1].Cell.Parent(9), norm[2].Cell.Parent(9)
	c12 := norm[3].Cell
	c5 := norm[4].Cell.Parent(5)
	box := orb.Bound{Min: orb.Point{-76.66, 39.25}, Max: orb.Point{-76.58, 39.31}}
	// A box whose edge runs exactly through a stored point: inclusive.
	edge := orb.Bound{Min: norm[5].Location, Max: orb.Point{norm[5].Location.Lon() + 0.01, norm[5].Location.Lat() + 0.01}}
	tests := []struct {
		name string
		f    geo.IncidentFilter
	}{
		{"all", geo.IncidentFilter{}},
		{"kinds", geo.IncidentFilter{Kinds: []geo.Kind{geo.KindOverdoseFatal, geo.KindShootingNonFatal}}},
		{"from", geo.IncidentFilter{From: &mid}},
		{"to", geo.IncidentFilter{To: &mid}},
		{"from to", geo.IncidentFilter{From: &mid, To: &late}},
		{"bounds", geo.IncidentFilter{Bounds: &box}},
		{"bounds inclusive edge", geo.IncidentFilter{Bounds: &edge}},
		{"cells res 7", geo.IncidentFilter{Cells: []geo.Cell{c7}}},
		{"cells res 9", geo.IncidentFilter{Cells: []geo.Cell{c9a, c9b}}},
		{"cells res 12", geo.IncidentFilter{Cells: []geo.Cell{c12}}},
		{"cells mixed res", geo.IncidentFilter{Cells: []geo.Cell{c5, c9a, c12}}},
		{"source", geo.IncidentFilter{Source: "src-b"}},
		{"limit", geo.IncidentFilter{Limit: 7}},
		{"limit offset", geo.IncidentFilter{Limit: 10, Offset: 25}},
		{"offset only", geo.IncidentFilter{Offset: 290}},
		{"combined", geo.IncidentFilter{Kinds: []geo.Kind{geo.KindOverdoseNonFatal}, From: &mid, Bounds: &box, Source: "src-a"}},
		{"nothing", geo.IncidentFilter{Kinds: []geo.Kind{geo.KindDrugArrest}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			all := expectFind(norm, tc.f)
			want := page(all, tc.f.Limit, tc.f.Offset)
			got := mustFind(t, s, tc.f)
			if tc.name != "nothing" && tc.name != "offset only" && len(want) == 0 {
				t.Fatalf("fixture gives no rows for %s; the case tests nothing", tc.name)
			}
			assertIncidents(t, got, want)
			n, err := s.CountIncidents(ctxT(t), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(all) {
				t.Fatalf("CountIncidents = %d, want %d", n, len(all))
			}
		})
	}
	t.Run("finer than stored cell", func(t *testing.T) {
		fine := geo.Cell(norm[0].Cell.H3().Children(13)[0])
		_, err := s.FindIncidents(ctxT(t), geo.IncidentFilter{Cells: []geo.Cell{fine}})
		wantCode(t, "res 13 cell", err, geo.EINVALID)
	})
}

func testCellCounts(t *testing.T, open Opener) {
	s := open(t)
	in := Incidents(300, 6)
	mustUpsert(t, s, 0, in)
	norm := normalized(in)
	from := WindowStart.Add(10 * 24 * time.Hour)
	to := WindowStart.Add(40 * 24 * time.Hour)
	for _, res := range []int{4, 7, 9, 10, 12} {
		cells := []geo.Cell{norm[0].Cell.Parent(res), norm[7].Cell.Parent(res)}
		filters := []struct {
			name string
			f    geo.CellCountFilter
		}{
			{"all", geo.CellCountFilter{Res: res}},
			{"kinds", geo.CellCountFilter{Res: res, Kinds: []geo.Kind{geo.KindOverdoseFatal}}},
			{"days", geo.CellCountFilter{Res: res, From: &from, To: &to}},
			{"cells", geo.CellCountFilter{Res: res, Cells: cells}},
			{"everything", geo.CellCountFilter{Res: res, Kinds: []geo.Kind{geo.KindShootingNonFatal, geo.KindOverdoseNonFatal}, From: &from, To: &to, Cells: cells}},
		}
		for _, tc := range filters {
			t.Run(fmt.Sprintf("res%d/%s", res, tc.name), func(t *testing.T) {
				cc, err := s.CellCounts(ctxT(t), tc.f)
				if err != nil {
					t.Fatalf("CellCounts: %v", err)
				}
				want := expectCellCounts(norm, tc.f)
				if len(want) == 0 {
					t.Fatal("fixture gives no counts; the case tests nothing")
				}
				assertCellCounts(t, "CellCounts", cc, want)
				cd, err := s.CellDayCounts(ctxT(t), tc.f)
				if err != nil {
					t.Fatalf("CellDayCounts: %v", err)
				}
				assertCellDayCounts(t, "CellDayCounts", cd, expectCellDayCounts(norm, tc.f))
			})
		}
	}
}

func testCellCountsBadInput(t *testing.T, open Opener) {
	s := open(t)
	c, err := geo.CellFromPoint(orb.Point{-76.6, 39.3}, 9)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    geo.CellCountFilter
	}{
		{"res 13", geo.CellCountFilter{Res: 13}},
		{"negative res", geo.CellCountFilter{Res: -1}},
		{"cell at other res", geo.CellCountFilter{Res: 8, Cells: []geo.Cell{c}}},
		{"invalid cell", geo.CellCountFilter{Res: 9, Cells: []geo.Cell{12345}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CellCounts(ctxT(t), tc.f)
			wantCode(t, "CellCounts", err, geo.EINVALID)
			_, err = s.CellDayCounts(ctxT(t), tc.f)
			wantCode(t, "CellDayCounts", err, geo.EINVALID)
		})
	}
}

func testAreaDayCounts(t *testing.T, open Opener) {
	s := open(t)
	in := Incidents(300, 7)
	mustUpsert(t, s, 0, in)
	norm := normalized(in)
	from := WindowStart.Add(5 * 24 * time.Hour)
	to := WindowStart.Add(30 * 24 * time.Hour)
	tests := []struct {
		name string
		f    geo.AreaCountFilter
	}{
		{"district", geo.AreaCountFilter{Layer: LayerDistrict}},
		{"nbhd kinds days", geo.AreaCountFilter{Layer: LayerNbhd, Kinds: []geo.Kind{geo.KindOverdoseFatal}, From: &from, To: &to}},
		{"unknown layer counts under empty area", geo.AreaCountFilter{Layer: "tract_2020"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.AreaDayCounts(ctxT(t), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			want := expectAreaDayCounts(norm, tc.f)
			if len(want) == 0 {
				t.Fatal("fixture gives no counts")
			}
			assertAreaDayCounts(t, got, want)
		})
	}
	_, err := s.AreaDayCounts(ctxT(t), geo.AreaCountFilter{})
	wantCode(t, "no layer", err, geo.EINVALID)
}

func testQuarantine(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	load, err := s.StartLoad(ctx, "src-a")
	if err != nil {
		t.Fatal(err)
	}
	rows := []geo.QuarantinedRow{
		{Source: "src-a", RowKey: "k1", LoadID: load.ID, Reason: geo.ReasonNullIsland, Detail: "lat 0, lon 0", Raw: json.RawMessage(`{"lat": 0, "lon": 0}`)},
		{Source: "src-a", RowKey: "k2", LoadID: load.ID, Reason: geo.ReasonNullIsland},
		{Source: "src-a", RowKey: "k3", Reason: geo.ReasonBadRow, Raw: json.RawMessage(`2024-01-05,"unterminated`)},
		{Source: "src-b", RowKey: "k1", Reason: geo.ReasonMissingDate},
	}
	if err := s.QuarantineRows(ctx, rows); err != nil {
		t.Fatalf("QuarantineRows: %v", err)
	}
	list := func(f geo.QuarantineFilter) []geo.QuarantinedRow {
		t.Helper()
		got, err := s.ListQuarantine(ctx, f)
		if err != nil {
			t.Fatalf("ListQuarantine: %v", err)
		}
		return got
	}
	first := list(geo.QuarantineFilter{})
	if len(first) != 4 {
		t.Fatalf("%d rows, want 4", len(first))
	}
	for i, r := range first {
		w := rows[i]
		if r.Source != w.Source || r.RowKey != w.RowKey || r.LoadID != w.LoadID || r.Reason != w.Reason || r.Detail != w.Detail || r.Created.IsZero() || r.Resolved != nil {
			t.Fatalf("row %d = %+v, want %+v", i, r, w)
		}
	}
	if !jsonEqual(first[0].Raw, rows[0].Raw) {
		t.Fatalf("raw = %s, want %s", first[0].Raw, rows[0].Raw)
	}
	var kept string
	if err := json.Unmarshal(first[2].Raw, &kept); err != nil || kept != string(rows[2].Raw) {
		t.Fatalf("non-JSON raw kept as %s (%v), want a JSON string of the line", first[2].Raw, err)
	}
	// Re-running the load replaces the unresolved row of a key in place.
	if err := s.QuarantineRows(ctx, []geo.QuarantinedRow{{Source: "src-a", RowKey: "k1", Reason: geo.ReasonSwappedLatLon, Detail: "again"}}); err != nil {
		t.Fatal(err)
	}
	after := list(geo.QuarantineFilter{Source: "src-a"})
	if len(after) != 3 || after[0].ID != first[0].ID || after[0].Reason != geo.ReasonSwappedLatLon || after[0].Detail != "again" {
		t.Fatalf("after replace: %+v", after)
	}
	sum, err := s.QuarantineSummary(ctx, "src-a")
	if err != nil {
		t.Fatal(err)
	}
	wantSum := []geo.ReasonCount{{Source: "src-a", Reason: geo.ReasonBadRow, Count: 1}, {Source: "src-a", Reason: geo.ReasonNullIsland, Count: 1}, {Source: "src-a", Reason: geo.ReasonSwappedLatLon, Count: 1}}
	assertSummary(t, sum, wantSum)
	if err := s.ResolveQuarantine(ctx, []int64{first[1].ID, 999999}); err != nil {
		t.Fatalf("ResolveQuarantine: %v", err)
	}
	sum, err = s.QuarantineSummary(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	wantSum = []geo.ReasonCount{{Source: "src-a", Reason: geo.ReasonBadRow, Count: 1}, {Source: "src-a", Reason: geo.ReasonSwappedLatLon, Count: 1}, {Source: "src-b", Reason: geo.ReasonMissingDate, Count: 1}}
	assertSummary(t, sum, wantSum)
	if got := list(geo.QuarantineFilter{Source: "src-a"}); len(got) != 2 {
		t.Fatalf("unresolved src-a rows = %d, want 2", len(got))
	}
	withResolved := list(geo.QuarantineFilter{Source: "src-a", IncludeResolved: true})
	if len(withResolved) != 3 || withResolved[1].Resolved == nil {
		t.Fatalf("with resolved: %+v", withResolved)
	}
	// The key can be quarantined again; the resolved row stays as history.
	if err := s.QuarantineRows(ctx, []geo.QuarantinedRow{{Source: "src-a", RowKey: "k2", Reason: geo.ReasonNullIsland}}); err != nil {
		t.Fatal(err)
	}
	all := list(geo.QuarantineFilter{IncludeResolved: true})
	if len(all) != 5 || all[4].RowKey != "k2" || all[4].Resolved != nil || all[4].ID == first[1].ID {
		t.Fatalf("after re-quarantine: %+v", all)
	}
	if got := list(geo.QuarantineFilter{Reason: geo.ReasonNullIsland}); len(got) != 1 || got[0].RowKey != "k2" {
		t.Fatalf("by reason: %+v", got)
	}
	if got := list(geo.QuarantineFilter{IncludeResolved: true, Limit: 2, Offset: 1}); len(got) != 2 || got[0].ID != all[1].ID {
		t.Fatalf("limit/offset: %+v", got)
	}
	err = s.QuarantineRows(ctx, []geo.QuarantinedRow{{Source: "src-a", RowKey: "k9"}})
	wantCode(t, "row without reason", err, geo.EINVALID)
}

func testLoadsReopen(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	l1, err := s.StartLoad(ctx, "src-a")
	if err != nil {
		t.Fatal(err)
	}
	if l1.ID == 0 || l1.Status != geo.LoadRunning || l1.StartedAt.IsZero() {
		t.Fatalf("StartLoad = %+v", l1)
	}
	l2, err := s.StartLoad(ctx, "src-b")
	if err != nil {
		t.Fatal(err)
	}
	l1.RowsRead, l1.Added, l1.Changed, l1.Unchanged, l1.Quarantined = 10, 5, 2, 2, 1
	l1.Status = ""
	if err := s.FinishLoad(ctx, l1); err != nil {
		t.Fatalf("FinishLoad: %v", err)
	}
	l2.Status, l2.Error = geo.LoadFailed, "feed returned 503"
	if err := s.FinishLoad(ctx, l2); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "FinishLoad unknown", s.FinishLoad(ctx, geo.Load{ID: 424242, Status: geo.LoadDone}), geo.ENOTFOUND)
	wantCode(t, "FinishLoad bad status", s.FinishLoad(ctx, geo.Load{ID: l1.ID, Status: "exploded"}), geo.EINVALID)
	if err := s.SetWatermark(ctx, "src-a", "2024-01-01T00:00:00Z"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetWatermark(ctx, "src-a", "2024-02-01T00:00:00Z"); err != nil {
		t.Fatal(err)
	}
	mustUpsert(t, s, l1.ID, Incidents(20, 8))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t)
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready after reopen: %v", err)
	}
	loads, err := s.ListLoads(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(loads) != 2 || loads[0].ID != l2.ID || loads[1].ID != l1.ID {
		t.Fatalf("ListLoads = %+v, want newest first", loads)
	}
	got1 := loads[1]
	if got1.Status != geo.LoadDone || got1.FinishedAt == nil || got1.RowsRead != 10 || got1.Added != 5 || got1.Changed != 2 || got1.Unchanged != 2 || got1.Quarantined != 1 || got1.Source != "src-a" || !got1.StartedAt.Equal(l1.StartedAt) {
		t.Fatalf("finished load = %+v", got1)
	}
	if loads[0].Status != geo.LoadFailed || loads[0].Error != "feed returned 503" {
		t.Fatalf("failed load = %+v", loads[0])
	}
	if one, err := s.ListLoads(ctx, "src-a", 5); err != nil || len(one) != 1 || one[0].ID != l1.ID {
		t.Fatalf("ListLoads(src-a) = %+v, %v", one, err)
	}
	if one, err := s.ListLoads(ctx, "", 1); err != nil || len(one) != 1 || one[0].ID != l2.ID {
		t.Fatalf("ListLoads limit 1 = %+v, %v", one, err)
	}
	if w, err := s.Watermark(ctx, "src-a"); err != nil || w != "2024-02-01T00:00:00Z" {
		t.Fatalf("Watermark after reopen = %q, %v", w, err)
	}
	if w, err := s.Watermark(ctx, "never-polled"); err != nil || w != "" {
		t.Fatalf("Watermark of new source = %q, %v", w, err)
	}
	if n, err := s.CountIncidents(ctx, geo.IncidentFilter{}); err != nil || n != 20 {
		t.Fatalf("incidents after reopen = %d, %v", n, err)
	}
}

func testAreas(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	from := time.Date(2023, 7, 1, 0, 0, 0, 0, time.UTC)
	layer := geo.AreaLayer{ID: "police_district_2023", Name: "Police districts (2023)", Kind: "police_district", Vintage: "2023", ValidFrom: &from, Source: "Open Baltimore"}
	pop, zero := 41234, 0
	withHole := orb.Polygon{
		{{-76.70, 39.20}, {-76.60, 39.20}, {-76.60, 39.30}, {-76.70, 39.30}, {-76.70, 39.20}},
		{{-76.68, 39.22}, {-76.68, 39.24}, {-76.66, 39.24}, {-76.66, 39.22}, {-76.68, 39.22}},
	}
	island := orb.Polygon{{{-76.55, 39.25}, {-76.54, 39.25}, {-76.54, 39.26}, {-76.55, 39.25}}}
	areas := []geo.Area{
		{Code: "WD", Name: "Western", AltNames: []string{"WESTERN", "Western District"}, Geometry: orb.MultiPolygon{withHole, island}, Population: &pop, PopulationYear: 2020},
		{Layer: layer.ID, Code: "CD", Name: "Central", Geometry: orb.MultiPolygon{island}, Population: &zero, PopulationYear: 2020},
		{Code: "JAIL", Name: "Unassigned -- Jail", Geometry: orb.MultiPolygon{island}, Excluded: true},
	}
	if err := s.PutLayer(ctx, layer, areas); err != nil {
		t.Fatalf("PutLayer: %v", err)
	}
	city := geo.AreaLayer{ID: "city", Name: "City", Kind: "city"}
	if err := s.PutLayer(ctx, city, []geo.Area{{Code: "bal", Name: "Baltimore", Geometry: orb.MultiPolygon{withHole}}}); err != nil {
		t.Fatal(err)
	}
	layers, err := s.Layers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 || !reflect.DeepEqual(layers[0], city) || !sameLayer(layers[1], layer) {
		t.Fatalf("Layers = %+v", layers)
	}
	got, err := s.Areas(ctx, layer.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []geo.Area{areas[1], areas[2], areas[0]} // by code: CD, JAIL, WD
	for i := range want {
		want[i].Layer = layer.ID
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Areas =\n%+v\nwant\n%+v", got, want)
	}
	// Replacing the layer drops areas not given again.
	layer.Name = "Police districts"
	if err := s.PutLayer(ctx, layer, areas[:1]); err != nil {
		t.Fatal(err)
	}
	got, err = s.Areas(ctx, layer.ID)
	if err != nil || len(got) != 1 || got[0].Code != "WD" {
		t.Fatalf("after replace: %+v, %v", got, err)
	}
	_, err = s.Areas(ctx, "no_such_layer")
	wantCode(t, "Areas of unknown layer", err, geo.ENOTFOUND)
	tests := []struct {
		name  string
		areas []geo.Area
	}{
		{"open ring", []geo.Area{{Code: "X", Geometry: orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}}}}},
		{"no geometry", []geo.Area{{Code: "X"}}},
		{"no code", []geo.Area{{Geometry: orb.MultiPolygon{island}}}},
		{"duplicate code", []geo.Area{{Code: "X", Geometry: orb.MultiPolygon{island}}, {Code: "X", Geometry: orb.MultiPolygon{island}}}},
		{"other layer", []geo.Area{{Layer: "city", Code: "X", Geometry: orb.MultiPolygon{island}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, "PutLayer", s.PutLayer(ctx, layer, tc.areas), geo.EINVALID)
			got, err := s.Areas(ctx, layer.ID)
			if err != nil || len(got) != 1 || got[0].Code != "WD" {
				t.Fatalf("a rejected PutLayer changed the layer: %+v, %v", got, err)
			}
		})
	}
}

func testFindings(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	c1, _ := geo.CellFromPoint(orb.Point{-76.61, 39.29}, 9)
	c2, _ := geo.CellFromPoint(orb.Point{-76.62, 39.30}, 9)
	p := 0.003
	day := func(d int) time.Time { return WindowStart.AddDate(0, 0, d) }
	run1 := geo.DetectionRun{Detector: "stpscan", Kinds: []geo.Kind{geo.KindOverdoseFatal, geo.KindOverdoseNonFatal}, WindowFrom: day(0), WindowTo: day(30), Params: json.RawMessage(`{"max_days": 7, "reps": 999}`), Seed: 42, StartedAt: day(31), Duration: 1500 * time.Millisecond}
	f1 := []geo.Finding{
		{Kind: "cluster", Cells: []geo.Cell{c1, c2}, Start: day(20), End: day(27), Observed: 9, Expected: 2.5, PValue: &p, Score: 11.2, Stats: map[string]float64{"llr": 11.2, "radius_m": 350}},
		{Kind: "cluster", Cells: []geo.Cell{c2}, Start: day(3), End: day(6), Observed: 4, Expected: 1.1, Score: 3.4},
	}
	r1, err := s.SaveRun(ctx, run1, f1)
	if err != nil {
		t.Fatalf("SaveRun: %v", err)
	}
	if r1.ID == 0 {
		t.Fatal("SaveRun did not set the run id")
	}
	run1.ID = r1.ID
	if !sameRun(r1, run1) {
		t.Fatalf("SaveRun returned %+v, want %+v", r1, run1)
	}
	r2, err := s.SaveRun(ctx, geo.DetectionRun{Detector: "stpscan", Kinds: run1.Kinds, WindowFrom: day(1), WindowTo: day(31)},
		[]geo.Finding{{Kind: "cluster", Cells: []geo.Cell{c1}, Start: day(29), End: day(31), Observed: 5, Expected: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if r2.StartedAt.IsZero() {
		t.Fatal("SaveRun left StartedAt zero")
	}
	r3, err := s.SaveRun(ctx, geo.DetectionRun{Detector: "ears_c1", WindowFrom: day(0), WindowTo: day(31), StartedAt: day(32)},
		[]geo.Finding{{Kind: "area_alarm", Layer: "nbhd", Area: "n03", Start: day(30), End: day(31), Observed: 6, Expected: 2, Category: "alarm"}})
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.ListRuns(ctx, "stpscan", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != r2.ID || !sameRun(runs[1], run1) {
		t.Fatalf("ListRuns(stpscan) = %+v", runs)
	}
	if runs, err := s.ListRuns(ctx, "", 1); err != nil || len(runs) != 1 || runs[0].ID != r3.ID {
		t.Fatalf("ListRuns limit 1 = %+v, %v", runs, err)
	}
	list := func(f geo.FindingFilter) []geo.Finding {
		t.Helper()
		got, err := s.ListFindings(ctx, f)
		if err != nil {
			t.Fatalf("ListFindings(%+v): %v", f, err)
		}
		return got
	}
	got := list(geo.FindingFilter{RunID: r1.ID})
	if len(got) != 2 {
		t.Fatalf("findings of run 1: %d", len(got))
	}
	for i := range got {
		w := f1[i]
		w.ID, w.RunID, w.Detector = got[i].ID, r1.ID, "stpscan"
		w.Start, w.End = w.Start.UTC(), w.End.UTC()
		if !reflect.DeepEqual(got[i], w) {
			t.Fatalf("finding %d =\n%+v\nwant\n%+v", i, got[i], w)
		}
	}
	latest := list(geo.FindingFilter{})
	if len(latest) != 2 || latest[0].RunID != r2.ID || latest[1].RunID != r3.ID || latest[1].Area != "n03" || latest[1].Detector != "ears_c1" {
		t.Fatalf("latest runs' findings = %+v", latest)
	}
	if got := list(geo.FindingFilter{Detector: "stpscan"}); len(got) != 1 || got[0].RunID != r2.ID {
		t.Fatalf("latest stpscan = %+v", got)
	}
	// The latest run counts per detector and kind group: a shooting scan
	// after the overdose scan does not hide the overdose clusters.
	r4, err := s.SaveRun(ctx, geo.DetectionRun{Detector: "stpscan", Kinds: []geo.Kind{geo.KindShootingFatal, geo.KindShootingNonFatal}, WindowFrom: day(1), WindowTo: day(31)},
		[]geo.Finding{{Kind: "cluster", Cells: []geo.Cell{c2}, Start: day(30), End: day(31), Observed: 3, Expected: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	if got := list(geo.FindingFilter{Detector: "stpscan"}); len(got) != 2 || got[0].RunID != r2.ID || got[1].RunID != r4.ID {
		t.Fatalf("latest stpscan of two kind groups = %+v", got)
	}
	since := day(25)
	if got := list(geo.FindingFilter{RunID: r1.ID, Since: &since}); len(got) != 1 || got[0].End != day(27) {
		t.Fatalf("since = %+v", got)
	}
	if got := list(geo.FindingFilter{Kind: "area_alarm"}); len(got) != 1 || got[0].RunID != r3.ID {
		t.Fatalf("by kind = %+v", got)
	}
	if got := list(geo.FindingFilter{RunID: r1.ID, Limit: 1}); len(got) != 1 {
		t.Fatalf("limit = %+v", got)
	}
	_, err = s.SaveRun(ctx, geo.DetectionRun{}, nil)
	wantCode(t, "run without detector", err, geo.EINVALID)
}

func testDataVersion(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	v0 := mustVersion(t, s)
	in := Incidents(30, 9)
	mustUpsert(t, s, 0, in)
	v1 := mustVersion(t, s)
	if v1 == v0 {
		t.Fatal("DataVersion unchanged after adding incidents")
	}
	mustUpsert(t, s, 0, in)
	bad := in[0]
	bad.Kind = ""
	if _, err := s.UpsertIncidents(ctx, 0, []geo.Incident{in[1], bad}); err == nil {
		t.Fatal("invalid batch accepted")
	}
	if err := s.QuarantineRows(ctx, []geo.QuarantinedRow{{Source: "s", RowKey: "k", Reason: geo.ReasonBadRow}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetWatermark(ctx, "s", "x"); err != nil {
		t.Fatal(err)
	}
	if v := mustVersion(t, s); v != v1 {
		t.Fatalf("DataVersion moved from %d to %d without an incident change", v1, v)
	}
	in[3].Victims++
	mustUpsert(t, s, 0, in[3:4])
	if v := mustVersion(t, s); v == v1 {
		t.Fatal("DataVersion unchanged after a changed incident")
	}
}

func testPurgePoints(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	in := Incidents(200, 10)
	mustUpsert(t, s, 0, in)
	norm := normalized(in)
	cutoff := WindowStart.Add(25 * 24 * time.Hour)
	var before int
	for _, inc := range norm {
		if inc.OccurredAt.Before(cutoff) {
			before++
		}
	}
	if before == 0 || before == len(norm) {
		t.Fatalf("fixture puts %d of %d before the cutoff", before, len(norm))
	}
	counts := func() ([]geo.CellDayCount, []geo.CellDayCount, []geo.AreaDayCount) {
		a, err := s.CellDayCounts(ctx, geo.CellCountFilter{Res: geo.DefaultDetectRes})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.CellDayCounts(ctx, geo.CellCountFilter{Res: geo.FinestRes})
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.AreaDayCounts(ctx, geo.AreaCountFilter{Layer: LayerNbhd})
		if err != nil {
			t.Fatal(err)
		}
		return a, b, c
	}
	c9, c12, areas := counts()
	v := mustVersion(t, s)
	n, err := s.PurgePoints(ctx, cutoff)
	if err != nil {
		t.Fatalf("PurgePoints: %v", err)
	}
	if n != before {
		t.Fatalf("PurgePoints = %d, want %d", n, before)
	}
	if mustVersion(t, s) == v {
		t.Fatal("DataVersion unchanged after a purge")
	}
	a9, a12, aAreas := counts()
	if !reflect.DeepEqual(a9, c9) || !reflect.DeepEqual(a12, c12) || !reflect.DeepEqual(aAreas, areas) {
		t.Fatal("aggregates changed after purging points")
	}
	want := byTime(norm)
	for i := range want {
		if want[i].OccurredAt.Before(cutoff) {
			want[i].Location, want[i].Address, want[i].Raw = orb.Point{}, "", nil
		}
	}
	assertIncidents(t, mustFind(t, s, geo.IncidentFilter{}), want)
	box := orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}
	if n, err := s.CountIncidents(ctx, geo.IncidentFilter{Bounds: &box}); err != nil || n != len(norm)-before {
		t.Fatalf("incidents with a point = %d, %v; want %d", n, err, len(norm)-before)
	}
	v = mustVersion(t, s)
	if n, err := s.PurgePoints(ctx, cutoff); err != nil || n != 0 {
		t.Fatalf("second purge = %d, %v", n, err)
	}
	// Re-sending the unchanged feed must not bring purged points back.
	if res := mustUpsert(t, s, 0, in); res != (geo.UpsertResult{Unchanged: len(in)}) {
		t.Fatalf("re-upsert after purge: %+v", res)
	}
	if mustVersion(t, s) != v {
		t.Fatal("DataVersion moved on a purge and upsert that changed nothing")
	}
}

func testContextCanceled(t *testing.T, open Opener) {
	s := open(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	cancel()
	in := Incidents(5, 11)
	tests := []struct {
		name string
		call func() error
	}{
		{"UpsertIncidents", func() error { _, err := s.UpsertIncidents(ctx, 0, in); return err }},
		{"FindIncidents", func() error { _, err := s.FindIncidents(ctx, geo.IncidentFilter{}); return err }},
		{"CountIncidents", func() error { _, err := s.CountIncidents(ctx, geo.IncidentFilter{}); return err }},
		{"IncidentRevisions", func() error { _, err := s.IncidentRevisions(ctx, 1); return err }},
		{"CellCounts", func() error { _, err := s.CellCounts(ctx, geo.CellCountFilter{Res: 9}); return err }},
		{"CellDayCounts", func() error { _, err := s.CellDayCounts(ctx, geo.CellCountFilter{Res: 12}); return err }},
		{"AreaDayCounts", func() error { _, err := s.AreaDayCounts(ctx, geo.AreaCountFilter{Layer: "x"}); return err }},
		{"DataVersion", func() error { _, err := s.DataVersion(ctx); return err }},
		{"PurgePoints", func() error { _, err := s.PurgePoints(ctx, WindowEnd); return err }},
		{"QuarantineRows", func() error {
			return s.QuarantineRows(ctx, []geo.QuarantinedRow{{Source: "s", RowKey: "k", Reason: geo.ReasonBadRow}})
		}},
		{"ListQuarantine", func() error { _, err := s.ListQuarantine(ctx, geo.QuarantineFilter{}); return err }},
		{"QuarantineSummary", func() error { _, err := s.QuarantineSummary(ctx, ""); return err }},
		{"ResolveQuarantine", func() error { return s.ResolveQuarantine(ctx, []int64{1}) }},
		{"StartLoad", func() error { _, err := s.StartLoad(ctx, "s"); return err }},
		{"FinishLoad", func() error { return s.FinishLoad(ctx, geo.Load{ID: 1}) }},
		{"ListLoads", func() error { _, err := s.ListLoads(ctx, "", 0); return err }},
		{"Watermark", func() error { _, err := s.Watermark(ctx, "s"); return err }},
		{"SetWatermark", func() error { return s.SetWatermark(ctx, "s", "v") }},
		{"PutLayer", func() error { return s.PutLayer(ctx, geo.AreaLayer{ID: "l", Name: "L", Kind: "custom"}, nil) }},
		{"Layers", func() error { _, err := s.Layers(ctx); return err }},
		{"Areas", func() error { _, err := s.Areas(ctx, "l"); return err }},
		{"SaveRun", func() error { _, err := s.SaveRun(ctx, geo.DetectionRun{Detector: "d"}, nil); return err }},
		{"ListRuns", func() error { _, err := s.ListRuns(ctx, "", 0); return err }},
		{"ListFindings", func() error { _, err := s.ListFindings(ctx, geo.FindingFilter{}); return err }},
		{"Ping", func() error { return s.Ping(ctx) }},
		{"Ready", func() error { return s.Ready(ctx) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("no error with a canceled context")
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v does not wrap context.Canceled", err)
			}
		})
	}
	// Nothing was written by the canceled calls.
	if n, err := s.CountIncidents(ctxT(t), geo.IncidentFilter{}); err != nil || n != 0 {
		t.Fatalf("incidents after canceled upsert: %d, %v", n, err)
	}
	if l, err := s.Layers(ctxT(t)); err != nil || len(l) != 0 {
		t.Fatalf("layers after canceled PutLayer: %v, %v", l, err)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sameLayer(a, b geo.AreaLayer) bool {
	eq := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return a.ID == b.ID && a.Name == b.Name && a.Kind == b.Kind && a.Vintage == b.Vintage && a.Source == b.Source &&
		eq(a.ValidFrom, b.ValidFrom) && eq(a.ValidTo, b.ValidTo)
}

// sameRun compares runs with Params as JSON values (PostgreSQL's jsonb
// re-serialises them).
func sameRun(a, b geo.DetectionRun) bool {
	if !jsonEqual(a.Params, b.Params) {
		return false
	}
	a.Params, b.Params = nil, nil
	return reflect.DeepEqual(a, b)
}

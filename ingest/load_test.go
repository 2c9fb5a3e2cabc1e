package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"hotspots/geo"
)

func mustMapping(tb testing.TB, y string) *Mapping {
	tb.Helper()
	m, err := ParseMapping([]byte(y))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func csvFeed(s string) Feed { return CSVFeed(strings.NewReader(s)) }

func TestLoadSameFileTwiceChangesNothing(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			ctx := context.Background()
			city := MustCity(t, "baltimore")
			st := sk.open(t)
			opts := RunOptions{Options: Options{Logger: discard}}
			first, err := Run(ctx, st, city, "mappings/arrests-2017-drug.yaml", "sample/arrests-2017.csv", opts)
			if err != nil {
				t.Fatal(err)
			}
			v1, _ := st.DataVersion(ctx)
			second, err := Run(ctx, st, city, "mappings/arrests-2017-drug.yaml", "sample/arrests-2017.csv", opts)
			if err != nil {
				t.Fatal(err)
			}
			v2, _ := st.DataVersion(ctx)
			if second.Added != 0 || second.Changed != 0 || second.Unchanged != first.Added {
				t.Errorf("second load added %d changed %d unchanged %d, want 0/0/%d", second.Added, second.Changed, second.Unchanged, first.Added)
			}
			if v1 != v2 {
				t.Errorf("data version moved from %d to %d on an identical load", v1, v2)
			}
			q, _ := st.QuarantineSummary(ctx, first.Source)
			total := 0
			for _, rc := range q {
				total += rc.Count
			}
			if total != first.Quarantined {
				t.Errorf("quarantine holds %d rows after two loads, want %d", total, first.Quarantined)
			}
			loads, err := st.ListLoads(ctx, first.Source, 10)
			if err != nil || len(loads) != 2 {
				t.Fatalf("loads = %v, %v; want 2", loads, err)
			}
			for _, l := range loads {
				if l.Status != geo.LoadDone || l.RowsRead != first.RowsRead || l.FinishedAt == nil {
					t.Errorf("load %+v: want done with %d rows", l, first.RowsRead)
				}
			}
		})
	}
}

const keyedMapping = `id: keyed
format: csv
start: "2015-01-01"
columns: {id: id, date: date, time: time, lat: lat, lon: lon, address: addr}
date_formats: ["2006-01-02"]
time_formats: ["15:04", "hhmm"]
precision: block
classify:
  - when: [{column: desc, equals: SHOOTING}]
    kind: shooting_nonfatal
  - when: [{column: desc, equals: HOMICIDE}]
    kind: shooting_fatal
`

func TestChangedRowBecomesRevision(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			ctx := context.Background()
			city := MustCity(t, "baltimore")
			st := sk.open(t)
			m := mustMapping(t, keyedMapping)
			v1 := "id,date,time,desc,addr,lat,lon\n" +
				"1,2019-05-01,2316,SHOOTING,1600 W NORTH AV,39.31009,-76.64342\n" +
				"2,2019-05-02,0130,SHOOTING,1800 PENNSYLVANIA AV,39.30429,-76.63568\n"
			// BPD revises records: the victim of case 2 died.
			v2 := strings.Replace(v1, "0130,SHOOTING", "0130,HOMICIDE", 1)
			opts := Options{Logger: discard}
			if _, err := Load(ctx, st, city, m, csvFeed(v1), opts); err != nil {
				t.Fatal(err)
			}
			s, err := Load(ctx, st, city, m, csvFeed(v2), opts)
			if err != nil {
				t.Fatal(err)
			}
			if s.Changed != 1 || s.Unchanged != 1 || s.Added != 0 {
				t.Fatalf("reload: added %d changed %d unchanged %d, want 0/1/1", s.Added, s.Changed, s.Unchanged)
			}
			incs, err := st.FindIncidents(ctx, geo.IncidentFilter{Source: "keyed"})
			if err != nil {
				t.Fatal(err)
			}
			var changed geo.Incident
			for _, i := range incs {
				if i.SourceID == "2" {
					changed = i
				}
			}
			if changed.Kind != geo.KindShootingFatal {
				t.Fatalf("incident 2 kind %s, want shooting_fatal", changed.Kind)
			}
			revs, err := st.IncidentRevisions(ctx, changed.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(revs) != 1 {
				t.Fatalf("revisions = %d, want 1", len(revs))
			}
			if k := revs[0].Changes["kind"]; k[0] != "shooting_nonfatal" || k[1] != "shooting_fatal" {
				t.Errorf("revision kind change = %v", k)
			}
			if revs[0].LoadID != s.LoadID {
				t.Errorf("revision load %d, want %d", revs[0].LoadID, s.LoadID)
			}
		})
	}
}

func TestTimesDaysAndDates(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			ctx := context.Background()
			city := MustCity(t, "baltimore")
			st := sk.open(t)
			m := mustMapping(t, keyedMapping)
			now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
			data := "id,date,time,desc,addr,lat,lon\n" +
				// 23:30 EST on 1 March is 04:30 UTC on 2 March; the day is local.
				"late,2020-03-01,2330,SHOOTING,a,39.31009,-76.64342\n" +
				"dateonly,2020-03-01,,SHOOTING,a,39.31009,-76.64342\n" +
				"future,2024-06-02,1200,SHOOTING,a,39.31009,-76.64342\n" +
				"old,1963-05-01,1200,SHOOTING,a,39.31009,-76.64342\n" +
				"nodate,,1200,SHOOTING,a,39.31009,-76.64342\n" +
				"baddate,2020-13-45,1200,SHOOTING,a,39.31009,-76.64342\n" +
				"badtime,2020-03-01,9999,SHOOTING,a,39.31009,-76.64342\n" +
				"kind,2020-03-01,1200,ROBBERY,a,39.31009,-76.64342\n" +
				"null,2020-03-01,1200,SHOOTING,a,0,0\n" +
				"swapped,2020-03-01,1200,SHOOTING,a,-76.64342,39.31009\n" +
				"sentinel,2020-03-01,1200,SHOOTING,a,39,-77\n" +
				"nocoords,2020-03-01,1200,SHOOTING,,,\n" +
				"short,2020-03-01\n"
			s, err := Load(ctx, st, city, m, csvFeed(data), Options{Logger: discard, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			want := map[geo.Reason]int{geo.ReasonFutureDate: 1, geo.ReasonBeforeStart: 1, geo.ReasonMissingDate: 1,
				geo.ReasonBadDate: 1, geo.ReasonBadTime: 1, geo.ReasonUnknownKind: 1, geo.ReasonNullIsland: 1,
				geo.ReasonSwappedLatLon: 1, geo.ReasonSentinelPoint: 1, geo.ReasonMissingLocation: 1, geo.ReasonBadRow: 1}
			if !maps.Equal(s.ByReason, want) {
				t.Errorf("reasons = %v\nwant %v", s.ByReason, want)
			}
			incs, err := st.FindIncidents(ctx, geo.IncidentFilter{Source: "keyed"})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]geo.Incident{}
			for _, i := range incs {
				got[i.SourceID] = i
			}
			late := got["late"]
			if !late.OccurredAt.Equal(time.Date(2020, 3, 2, 4, 30, 0, 0, time.UTC)) || !late.TimeKnown ||
				late.Day.Format(time.DateOnly) != "2020-03-01" {
				t.Errorf("late: at %v known %v day %v", late.OccurredAt, late.TimeKnown, late.Day)
			}
			do := got["dateonly"]
			if do.TimeKnown || !do.OccurredAt.Equal(time.Date(2020, 3, 1, 17, 0, 0, 0, time.UTC)) || do.Day.Format(time.DateOnly) != "2020-03-01" {
				t.Errorf("date only: at %v known %v day %v, want local noon", do.OccurredAt, do.TimeKnown, do.Day)
			}
			if late.Cell.Res() != geo.FinestRes || late.Precision != geo.PrecisionBlock || late.Victims != 1 {
				t.Errorf("late: cell %v precision %s victims %d", late.Cell, late.Precision, late.Victims)
			}
			rows, err := st.ListQuarantine(ctx, geo.QuarantineFilter{Source: "keyed", Reason: geo.ReasonBadRow})
			if err != nil || len(rows) != 1 || !strings.Contains(rows[0].Detail, "fields") {
				t.Errorf("malformed row quarantine = %+v, %v", rows, err)
			}
		})
	}
}

func TestAreasFromStore(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			ctx := context.Background()
			city := MustCity(t, "baltimore")
			st := sk.open(t)
			cut := date("2023-07-01")
			if err := st.PutLayer(ctx, geo.AreaLayer{ID: "west_east", Name: "halves", Kind: "custom", ValidTo: &cut}, []geo.Area{
				{Layer: "west_east", Code: "west", Name: "West", Geometry: square(-76.91, 39.1, 0.3)},
				{Layer: "west_east", Code: "east", Name: "East", Geometry: square(-76.61, 39.1, 0.3)},
			}); err != nil {
				t.Fatal(err)
			}
			m := mustMapping(t, keyedMapping)
			data := "id,date,time,desc,addr,lat,lon\n" +
				"w,2020-03-01,1200,SHOOTING,a,39.31009,-76.64342\n" +
				"e,2020-03-01,1200,SHOOTING,a,39.30,-76.58\n" +
				"after,2023-08-01,1200,SHOOTING,a,39.30,-76.58\n"
			if _, err := Load(ctx, st, city, m, csvFeed(data), Options{Logger: discard}); err != nil {
				t.Fatal(err)
			}
			incs, _ := st.FindIncidents(ctx, geo.IncidentFilter{Source: "keyed"})
			got := map[string]string{}
			for _, i := range incs {
				got[i.SourceID] = i.Areas["west_east"]
			}
			if want := map[string]string{"w": "west", "e": "east", "after": ""}; !maps.Equal(got, want) {
				t.Errorf("areas = %v, want %v", got, want)
			}
		})
	}
}

// cancelAfter is a feed that cancels the load's context after n records,
// as an operator's Ctrl-C or a crash would.
func cancelAfter(f Feed, n int, cancel context.CancelFunc) Feed {
	return FeedFunc(func(ctx context.Context, fn func(Record) error) error {
		i := 0
		return f.Each(ctx, func(r Record) error {
			i++
			if i == n {
				cancel()
			}
			return fn(r)
		})
	})
}

type storeState struct {
	incidents  []string
	quarantine map[geo.Reason]int
}

func snapshot(t *testing.T, st geo.Store, source string) storeState {
	t.Helper()
	ctx := context.Background()
	incs, err := st.FindIncidents(ctx, geo.IncidentFilter{Source: source})
	if err != nil {
		t.Fatal(err)
	}
	s := storeState{quarantine: map[geo.Reason]int{}}
	for _, i := range incs {
		s.incidents = append(s.incidents, fmt.Sprintf("%s %s %d %s %v", i.SourceID, i.Kind, i.Victims, i.Cell, i.OccurredAt))
	}
	slices.Sort(s.incidents)
	q, err := st.QuarantineSummary(ctx, source)
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range q {
		s.quarantine[rc.Reason] += rc.Count
	}
	return s
}

func TestInterruptedLoadRerunGivesOneFullLoad(t *testing.T) {
	var synth bytes.Buffer
	if err := WriteSyntheticCSV(&synth, 6000, 7); err != nil {
		t.Fatal(err)
	}
	// Some rows the pipeline must quarantine, so the quarantine is
	// compared too.
	data := synth.String() + "6001,2019-01-01,1200,SHOOTING,x,0,0\n6002,,1200,SHOOTING,x,39.3,-76.6\n"
	bpd, err := OpenMapping(MustCity(t, "baltimore"), "mappings/bpd-part1-2018.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sample, err := readCityFile("baltimore", "sample/bpd-part1-2018.csv")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		m      *Mapping
		data   string
		cutAt  int
		source string
	}{
		"streaming, batches written before the cut": {mustMapping(t, SyntheticMapping), data, 4500, "synthetic"},
		"merging victim rows":                       {bpd, sample, 300, "bpd-part1-2018"},
	}
	for name, tc := range cases {
		for _, sk := range storeKinds {
			t.Run(name+"/"+sk.name, func(t *testing.T) {
				city := MustCity(t, "baltimore")
				opts := Options{Logger: discard, BatchSize: 500}
				clean := sk.open(t)
				if _, err := Load(context.Background(), clean, city, tc.m, csvFeed(tc.data), opts); err != nil {
					t.Fatal(err)
				}
				want := snapshot(t, clean, tc.source)

				st := sk.open(t)
				ctx, cancel := context.WithCancel(context.Background())
				_, err := Load(ctx, st, city, tc.m, cancelAfter(csvFeed(tc.data), tc.cutAt, cancel), opts)
				cancel()
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("interrupted load error = %v, want context.Canceled", err)
				}
				loads, _ := st.ListLoads(context.Background(), tc.source, 5)
				if len(loads) != 1 || loads[0].Status != geo.LoadFailed {
					t.Fatalf("interrupted load recorded as %+v, want one failed load", loads)
				}
				partial := snapshot(t, st, tc.source)
				if len(partial.incidents) >= len(want.incidents) {
					t.Fatalf("interrupted load stored %d of %d incidents: the cut came too late to test anything",
						len(partial.incidents), len(want.incidents))
				}
				s, err := Load(context.Background(), st, city, tc.m, csvFeed(tc.data), opts)
				if err != nil {
					t.Fatal(err)
				}
				got := snapshot(t, st, tc.source)
				if !slices.Equal(got.incidents, want.incidents) || !maps.Equal(got.quarantine, want.quarantine) {
					t.Fatalf("after rerun: %d incidents, quarantine %v; clean load: %d, %v",
						len(got.incidents), got.quarantine, len(want.incidents), want.quarantine)
				}
				if s.Changed != 0 || s.Added+s.Unchanged != len(want.incidents) {
					t.Errorf("rerun added %d changed %d unchanged %d", s.Added, s.Changed, s.Unchanged)
				}
			})
		}
	}
}

func TestReprocessAfterMappingFix(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			ctx := context.Background()
			city := MustCity(t, "baltimore")
			fixed, err := OpenMapping(city, "mappings/bpd-part1-2018.yaml")
			if err != nil {
				t.Fatal(err)
			}
			raw, err := readCityFile("baltimore", "mappings/bpd-part1-2018.yaml")
			if err != nil {
				t.Fatal(err)
			}
			// The mapping before the fix did not know BPD's colon-less times.
			broken := mustMapping(t, strings.Replace(raw, `time_formats: ["15:04:05", "15:04", "hhmm"]`, `time_formats: ["15:04:05", "15:04"]`, 1))
			sample, err := readCityFile("baltimore", "sample/bpd-part1-2018.csv")
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{Logger: discard}
			st := sk.open(t)
			s, err := Load(ctx, st, city, broken, csvFeed(sample), opts)
			if err != nil {
				t.Fatal(err)
			}
			if s.ByReason[geo.ReasonBadTime] == 0 {
				t.Fatalf("broken mapping quarantined %v, want unparseable times", s.ByReason)
			}
			r, err := Reprocess(ctx, st, city, fixed, opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.Resolved != s.Quarantined || r.Quarantined != 0 {
				t.Errorf("reprocess resolved %d, still quarantined %d; want %d, 0", r.Resolved, r.Quarantined, s.Quarantined)
			}
			left, err := st.ListQuarantine(ctx, geo.QuarantineFilter{Source: fixed.ID})
			if err != nil || len(left) != 0 {
				t.Errorf("unresolved rows after reprocess: %d (%v)", len(left), err)
			}
			clean := sk.open(t)
			if _, err := Load(ctx, clean, city, fixed, csvFeed(sample), opts); err != nil {
				t.Fatal(err)
			}
			got, want := snapshot(t, st, fixed.ID), snapshot(t, clean, fixed.ID)
			if !slices.Equal(got.incidents, want.incidents) {
				t.Errorf("after reprocess %d incidents, clean load %d", len(got.incidents), len(want.incidents))
			}
			// Reloading the file with the fixed mapping now changes only the raw
			// audit rows of merged incidents, nothing else.
			again, err := Load(ctx, st, city, fixed, csvFeed(sample), opts)
			if err != nil {
				t.Fatal(err)
			}
			if again.Added != 0 || again.Quarantined != 0 {
				t.Errorf("reload after reprocess: added %d quarantined %d", again.Added, again.Quarantined)
			}
		})
	}
}

// TestReprocessSkipsPurgedRows checks that quarantined rows whose content
// retention purged are skipped and counted by a re-process, not an error,
// and stay quarantined with their bookkeeping.
func TestReprocessSkipsPurgedRows(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			ctx := context.Background()
			city := MustCity(t, "baltimore")
			fixed, err := OpenMapping(city, "mappings/bpd-part1-2018.yaml")
			if err != nil {
				t.Fatal(err)
			}
			raw, err := readCityFile("baltimore", "mappings/bpd-part1-2018.yaml")
			if err != nil {
				t.Fatal(err)
			}
			broken := mustMapping(t, strings.Replace(raw, `time_formats: ["15:04:05", "15:04", "hhmm"]`, `time_formats: ["15:04:05", "15:04"]`, 1))
			sample, err := readCityFile("baltimore", "sample/bpd-part1-2018.csv")
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{Logger: discard}
			st := sk.open(t)
			s, err := Load(ctx, st, city, broken, csvFeed(sample), opts)
			if err != nil {
				t.Fatal(err)
			}
			if s.Quarantined == 0 {
				t.Fatal("broken mapping quarantined nothing")
			}
			// A cutoff after the load: every quarantined row is older.
			if _, err := st.PurgePoints(ctx, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			r, err := Reprocess(ctx, st, city, fixed, opts)
			if err != nil {
				t.Fatalf("reprocess of purged rows: %v", err)
			}
			if r.Purged != s.Quarantined || r.Quarantined != s.Quarantined || r.Resolved != 0 || r.Added != 0 || !r.Accounted() {
				t.Errorf("reprocess: purged %d, quarantined %d, resolved %d, added %d; want %d purged and quarantined",
					r.Purged, r.Quarantined, r.Resolved, r.Added, s.Quarantined)
			}
			left, err := st.ListQuarantine(ctx, geo.QuarantineFilter{Source: fixed.ID})
			if err != nil || len(left) != s.Quarantined {
				t.Fatalf("unresolved rows after reprocess: %d (%v), want %d", len(left), err, s.Quarantined)
			}
			for _, q := range left {
				if !q.Purged() || q.Reason != geo.ReasonBadTime && s.ByReason[q.Reason] == 0 {
					t.Fatalf("row after reprocess: %+v", q)
				}
			}
		})
	}
}

func readCityFile(city, name string) (string, error) {
	c, err := openCity(city)
	if err != nil {
		return "", err
	}
	b, err := readFS(c, name)
	return string(b), err
}

// TestAfterUpsertSeesEveryCommittedIncident checks the hook serve uses to
// raise alerts as rows land: it must see each stored incident once per load,
// after the batch is committed (so the engine can read it back).
func TestAfterUpsertSeesEveryCommittedIncident(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			ctx := context.Background()
			city := MustCity(t, "baltimore")
			st := sk.open(t)
			seen := map[string]int{}
			committed := true
			opts := RunOptions{Options: Options{Logger: discard, BatchSize: 7, AfterUpsert: func(ctx context.Context, incs []geo.Incident) {
				for _, inc := range incs {
					seen[inc.SourceID]++
				}
				n, err := st.CountIncidents(ctx, geo.IncidentFilter{Source: incs[0].Source})
				if err != nil || n < len(seen) {
					committed = false
				}
			}}}
			sum, err := Run(ctx, st, city, "mappings/arrests-2017-drug.yaml", "sample/arrests-2017.csv", opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != sum.Added || sum.Added == 0 {
				t.Fatalf("hook saw %d incidents, load added %d", len(seen), sum.Added)
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("incident %s passed to the hook %d times", id, n)
				}
			}
			if !committed {
				t.Error("hook ran before its batch was readable from the store")
			}
		})
	}
}

package ingest

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"hotspots/geo"
)

func TestSimulatedStreamRhythmAndSpikes(t *testing.T) {
	city := MustCity(t, "baltimore")
	place := boundaryPlace{newPIP(city.BoundaryPolygon(), 256)}
	so := SimOptions{Seed: 42, N: 20000}
	so.defaults()
	recs, spikes := generateOverdoses(city, place, so)
	again, _ := generateOverdoses(city, place, so)
	if len(recs) != len(again) || !slices.EqualFunc(recs, again, func(a, b Record) bool { return slices.Equal(a.Values, b.Values) }) {
		t.Fatal("same seed gave different streams")
	}
	other, _ := generateOverdoses(city, place, SimOptions{Seed: 43, N: 20000, From: so.From, To: so.To, Spikes: so.Spikes})
	if slices.Equal(other[0].Values, recs[0].Values) {
		t.Fatal("different seeds gave the same first row")
	}
	byDow := map[time.Weekday]int{}
	byMonth := map[time.Month]int{}
	kinds := map[string]int{}
	for _, r := range recs {
		at, err := time.Parse(time.RFC3339, r.Get("time"))
		if err != nil {
			t.Fatal(err)
		}
		at = at.In(city.Location)
		byDow[at.Weekday()]++
		byMonth[at.Month()]++
		kinds[r.Get("kind")]++
	}
	// Each weekday appears 104 or 105 times in two years; with 20,000 rows
	// the weekend excess (about 20 %) is far beyond Poisson noise.
	if byDow[time.Saturday] <= byDow[time.Tuesday]*11/10 {
		t.Errorf("Saturday %d not clearly above Tuesday %d", byDow[time.Saturday], byDow[time.Tuesday])
	}
	if byMonth[time.July] <= byMonth[time.January]*11/10 {
		t.Errorf("July %d not clearly above January %d", byMonth[time.July], byMonth[time.January])
	}
	if n := len(recs); kinds["overdose_fatal"] < n/20 || kinds["overdose_nonfatal"] < n/2 || kinds["overdose_suspected"] < n/5 {
		t.Errorf("kind mix %v of %d", kinds, n)
	}
	if len(spikes) != 3 {
		t.Fatalf("%d spikes, want 3", len(spikes))
	}
	for _, sp := range spikes {
		in, before := 0, 0
		for _, r := range recs {
			at, _ := time.Parse(time.RFC3339, r.Get("time"))
			day := time.Date(at.In(city.Location).Year(), at.In(city.Location).Month(), at.In(city.Location).Day(), 0, 0, 0, 0, time.UTC)
			p := orb.Point{mustFloat(r.Get("lon")), mustFloat(r.Get("lat"))}
			if distM(p, sp.Center) > sp.RadiusM {
				continue
			}
			switch {
			case !day.Before(sp.Start) && day.Before(sp.Start.AddDate(0, 0, sp.Days)):
				in++
			case !day.Before(sp.Start.AddDate(0, 0, -sp.Days)) && day.Before(sp.Start):
				before++
			}
		}
		if in < sp.Extra || in <= 5*max(1, before) {
			t.Errorf("spike %+v: %d in the window, %d in the window before", sp, in, before)
		}
	}
}

func TestSimulateOverdosesIntoStore(t *testing.T) {
	ctx := context.Background()
	city := MustCity(t, "baltimore")
	st := MustOpenStore(t)
	// Two areas with population: the simulated stream follows it.
	big, small := 9000, 1000
	if err := st.PutLayer(ctx, geo.AreaLayer{ID: "nsa", Name: "n", Kind: "neighborhood"}, []geo.Area{
		{Layer: "nsa", Code: "big", Name: "Big", Geometry: square(-76.66, 39.28, 0.03), Population: &big},
		{Layer: "nsa", Code: "small", Name: "Small", Geometry: square(-76.60, 39.28, 0.03), Population: &small},
	}); err != nil {
		t.Fatal(err)
	}
	so := SimOptions{Seed: 7, N: 1500, Spikes: -1}
	s, spikes, err := SimulateOverdoses(ctx, st, city, so, Options{Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	if len(spikes) != 0 || s.Quarantined != 0 || s.Incidents != s.RowsRead {
		t.Fatalf("spikes %d quarantined %d incidents %d rows %d", len(spikes), s.Quarantined, s.Incidents, s.RowsRead)
	}
	incs, err := st.FindIncidents(ctx, geo.IncidentFilter{Source: SimulatedSource})
	if err != nil {
		t.Fatal(err)
	}
	areas := map[string]int{}
	for _, i := range incs {
		if !i.HasFlag(geo.FlagSimulated) || i.Kind.Family() != "overdose" || i.Naloxone < 0 {
			t.Fatalf("incident %+v", i)
		}
		areas[i.Areas["nsa"]]++
	}
	if f := float64(areas["big"]) / float64(len(incs)); f < 0.85 || f > 0.95 {
		t.Errorf("share in the area with 90%% of the population = %.2f (%v)", f, areas)
	}
	again, _, err := SimulateOverdoses(ctx, st, city, so, Options{Logger: discard})
	if err != nil || again.Added != 0 || again.Changed != 0 {
		t.Fatalf("reloading the simulation: %+v, %v", again, err)
	}
}

func TestSimulatedGeographyFallsBackToStreets(t *testing.T) {
	city := MustCity(t, "baltimore")
	sp, err := streetPlace(city)
	if err != nil || sp == nil {
		t.Fatalf("street place: %v, %v", sp, err)
	}
	pc := newPlaceCheck(city, &Mapping{})
	rng := newTestRand()
	for range 500 {
		p := sp.sample(rng)
		if _, reason, _ := pc.locate(p); reason != "" {
			t.Fatalf("street sample %v: %s", p, reason)
		}
	}
}

func mustFloat(s string) float64 {
	p, _, err := parseLatLon(s, "0")
	if err != nil {
		panic(err)
	}
	return p[1]
}

// TestLastSpikeAtEnd checks the demo's live spike: the last planted spike
// covers the stream's final days, the others and the background are the
// same stream as without the option.
func TestLastSpikeAtEnd(t *testing.T) {
	city := MustCity(t, "baltimore")
	place := boundaryPlace{newPIP(city.BoundaryPolygon(), 256)}
	so := SimOptions{Seed: 9, N: 3000}
	so.defaults()
	_, plain := generateOverdoses(city, place, so)
	so.LastSpikeAtEnd = true
	recs, live := generateOverdoses(city, place, so)
	last := live[len(live)-1]
	if end := last.Start.AddDate(0, 0, last.Days); !end.Equal(so.To) {
		t.Fatalf("last spike runs %s + %d days, want it to end at %s", last.Start, last.Days, so.To)
	}
	for i := range len(live) - 1 {
		if live[i] != plain[i] {
			t.Errorf("spike %d moved: %+v, was %+v", i, live[i], plain[i])
		}
	}
	near := 0
	for _, r := range recs {
		at, _ := time.Parse(time.RFC3339, r.Get("time"))
		if !at.Before(so.To.AddDate(0, 0, -last.Days)) && planar.Distance(pointOf(t, r), last.Center) < 0.01 {
			near++
		}
	}
	if near < last.Extra {
		t.Errorf("%d incidents near the live spike in its days, want at least its %d extra", near, last.Extra)
	}
}

func pointOf(t *testing.T, r Record) orb.Point {
	t.Helper()
	lat, err1 := strconv.ParseFloat(r.Get("lat"), 64)
	lon, err2 := strconv.ParseFloat(r.Get("lon"), 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("row %v: bad point", r.Values)
	}
	return orb.Point{lon, lat}
}

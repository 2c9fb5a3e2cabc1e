package ingest

import (
	"context"
	"hash/fnv"
	"maps"
	"regexp"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// stubGeocoder places any numbered address on a small deterministic jitter
// around downtown Baltimore, reports "<n> MADISON ST" (no directional: east
// or west) as ambiguous and anything without a number as unmatched. It
// stands in for the offline street geocoder, whose accuracy is tested in
// ingest/geocode; here only the pipeline's handling of results matters.
var stubGeocoder = GeocoderFunc(func(_ context.Context, addr string) (GeocodeResult, error) {
	a := strings.TrimSpace(addr)
	switch {
	case regexp.MustCompile(`^\d+ MADISON ST$`).MatchString(a):
		return GeocodeResult{Ambiguous: true, Reason: geo.ReasonAmbiguousAddr, Detail: "E MADISON ST or W MADISON ST"}, nil
	case !regexp.MustCompile(`^\d`).MatchString(a):
		return GeocodeResult{Precision: geo.PrecisionUnmatched, Reason: geo.ReasonUngeocodable, Detail: "no house number"}, nil
	}
	h := fnv.New32a()
	h.Write([]byte(a))
	v := h.Sum32()
	dx := float64(v%1000)/1000*0.02 - 0.01
	dy := float64(v/1000%1000)/1000*0.02 - 0.01
	return GeocodeResult{Point: orb.Point{-76.6122 + dx, 39.2904 + dy}, Precision: geo.PrecisionInterpolated, Score: 1}, nil
})

// TestMappingsAgainstSamples loads every shipped mapping against its bundled
// sample and checks the counts, which were worked out independently from
// the data (and the data READMEs) rather than from this code.
func TestMappingsAgainstSamples(t *testing.T) {
	type want struct {
		rows, incidents, victims, merged, filtered int
		kinds                                      map[geo.Kind]int
		reasons                                    map[geo.Reason]int
		flags                                      map[string]int
	}
	cases := []struct {
		city, mapping, file string
		geocoder            Geocoder
		want                want
	}{
		{"baltimore", "mappings/bpd-part1-2018.yaml", "sample/bpd-part1-2018.csv", nil, want{
			// 70 of 515 rows duplicate another row exactly: 445 incidents,
			// victims kept.
			rows: 515, incidents: 445, victims: 515, merged: 70,
			kinds:   map[geo.Kind]int{geo.KindShootingNonFatal: 291, geo.KindShootingFatal: 136, geo.KindHomicide: 18},
			reasons: map[geo.Reason]int{},
			flags:   map[string]int{geo.FlagTreatmentLocation: 7},
		}},
		{"baltimore", "mappings/bpd-part1-2020.yaml", "sample/bpd-part1-2020.csv", nil, want{
			// 13 duplicate rows; one row has no coordinates and, with no
			// geocoder, is quarantined.
			rows: 291, incidents: 277, victims: 290, merged: 13,
			kinds:   map[geo.Kind]int{geo.KindShootingFatal: 246, geo.KindHomicide: 31},
			reasons: map[geo.Reason]int{geo.ReasonUngeocodable: 1},
			flags:   map[string]int{geo.FlagTreatmentLocation: 3},
		}},
		{"baltimore", "mappings/part1-2014-2021-nocoords.yaml", "sample/part1-2014-2021-nocoords.csv", stubGeocoder, want{
			// 1,137 gun assaults and robberies filtered; of 449 shootings
			// and murders, 60 have no date, 21 no address, 3 are an
			// ambiguous MADISON ST; 365 victim rows make 304 incidents.
			rows: 1586, incidents: 304, victims: 365, merged: 61, filtered: 1137,
			kinds: map[geo.Kind]int{geo.KindShootingNonFatal: 196, geo.KindShootingFatal: 7, geo.KindHomicide: 101},
			reasons: map[geo.Reason]int{geo.ReasonMissingDate: 60, geo.ReasonMissingLocation: 21,
				geo.ReasonAmbiguousAddr: 3},
		}},
		{"baltimore", "mappings/trace-shootings.yaml", "sample/trace-persons.csv", nil, want{
			// 2015-2017: 3,576 person rows, 1,146 suspects or persons of
			// interest, 2,430 victims in 2,032 cases (716 with a death).
			rows: 3576, incidents: 2032, victims: 2430, merged: 398, filtered: 1146,
			kinds:   map[geo.Kind]int{geo.KindShootingFatal: 716, geo.KindShootingNonFatal: 1316},
			reasons: map[geo.Reason]int{},
		}},
		{"baltimore", "mappings/sun-homicides.yaml", "sample/sun-homicides.csv", nil, want{
			// 4,168 (date, time, point) groups; 212 Old Riverside Rd
			// (Brooklyn, Anne Arundel side) is ~200 m outside, beyond the
			// 150 m tolerance; 7000 Reisterstown Road and 1214 Limit Ave
			// are on the city line and kept, flagged.
			rows: 4291, incidents: 4167, victims: 4290, merged: 123,
			kinds:   map[geo.Kind]int{geo.KindShootingFatal: 3507, geo.KindHomicide: 660},
			reasons: map[geo.Reason]int{geo.ReasonOutsideCity: 1},
			flags:   map[string]int{geo.FlagShoreline: 2},
		}},
		{"baltimore", "mappings/najera-homicides.yaml", "sample/najera-homicides.csv", nil, want{
			rows: 997, incidents: 967, victims: 997, merged: 30,
			kinds:   map[geo.Kind]int{geo.KindShootingFatal: 835, geo.KindHomicide: 132},
			reasons: map[geo.Reason]int{},
			flags:   map[string]int{geo.FlagShoreline: 1},
		}},
		{"baltimore", "mappings/arrests-2017-drug.yaml", "sample/arrests-2017.csv", nil, want{
			// 345 drug-charge rows: 142 at the (39, -77) default point, 12
			// without coordinates, 2 geocoded to Dundalk; 189 arrests.
			rows: 1116, incidents: 189, victims: 0, merged: 0, filtered: 771,
			kinds: map[geo.Kind]int{geo.KindDrugArrest: 189},
			reasons: map[geo.Reason]int{geo.ReasonSentinelPoint: 142, geo.ReasonMissingLocation: 12,
				geo.ReasonOutsideCity: 2},
		}},
		{"tempe", "mappings/tempe-opioid-ems.yaml", "sample/tempe-opioid-ems.csv", nil, want{
			// Opioid_Use Yes: 2,362, of which 4 have no coordinates.
			rows: 2743, incidents: 2358, victims: 2358, filtered: 381,
			kinds:   map[geo.Kind]int{geo.KindOverdoseSuspected: 2358},
			reasons: map[geo.Reason]int{geo.ReasonMissingLocation: 4},
		}},
		{"philadelphia", "mappings/phl-shootings.yaml", "sample/shootings-2022.csv", nil, want{
			// 2022: 64 rows without coordinates, 8 officer-involved rows
			// without a fatal value; 2,190 victims in 1,775 dc_keys.
			rows: 2262, incidents: 1775, victims: 2190, merged: 415,
			kinds:   map[geo.Kind]int{geo.KindShootingFatal: 426, geo.KindShootingNonFatal: 1349},
			reasons: map[geo.Reason]int{geo.ReasonMissingLocation: 64, geo.ReasonUnknownKind: 8},
		}},
	}
	for _, tc := range cases {
		for _, sk := range storeKinds {
			t.Run(tc.mapping+"/"+sk.name, func(t *testing.T) {
				ctx := context.Background()
				city := MustCity(t, tc.city)
				st := sk.open(t)
				s, err := Run(ctx, st, city, tc.mapping, tc.file, RunOptions{Options: Options{Geocoder: tc.geocoder, Logger: discard}})
				if err != nil {
					t.Fatal(err)
				}
				w := tc.want
				got := want{rows: s.RowsRead, incidents: s.Incidents, victims: s.Victims, merged: s.Merged,
					filtered: s.FilteredTotal(), kinds: s.ByKind, reasons: s.ByReason}
				if got.rows != w.rows || got.incidents != w.incidents || got.victims != w.victims ||
					got.merged != w.merged || got.filtered != w.filtered {
					t.Errorf("rows/incidents/victims/merged/filtered = %d/%d/%d/%d/%d, want %d/%d/%d/%d/%d",
						got.rows, got.incidents, got.victims, got.merged, got.filtered,
						w.rows, w.incidents, w.victims, w.merged, w.filtered)
				}
				if !maps.Equal(got.kinds, w.kinds) {
					t.Errorf("kinds = %v, want %v", got.kinds, w.kinds)
				}
				if !maps.Equal(got.reasons, w.reasons) {
					t.Errorf("quarantine reasons = %v, want %v", got.reasons, w.reasons)
				}
				for f, n := range w.flags {
					if s.Flags[f] != n {
						t.Errorf("flag %s on %d incidents, want %d", f, s.Flags[f], n)
					}
				}
				if !s.Accounted() {
					t.Errorf("rows not accounted for: %+v", s)
				}
				n, err := st.CountIncidents(ctx, geo.IncidentFilter{Source: s.Source})
				if err != nil || n != w.incidents {
					t.Errorf("store holds %d incidents (%v), want %d", n, err, w.incidents)
				}
				q, err := st.QuarantineSummary(ctx, s.Source)
				if err != nil {
					t.Fatal(err)
				}
				stored := map[geo.Reason]int{}
				for _, rc := range q {
					stored[rc.Reason] += rc.Count
				}
				if !maps.Equal(stored, w.reasons) {
					t.Errorf("stored quarantine = %v, want %v", stored, w.reasons)
				}
			})
		}
	}
}

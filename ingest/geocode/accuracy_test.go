package geocode

import (
	"bytes"
	"context"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"

	"hotspots/geo"
)

var (
	baltimoreOnce sync.Once
	baltimore     *Offline
	baltimoreErr  error
)

// MustBaltimore loads the embedded Baltimore streets once per test binary.
func MustBaltimore(tb testing.TB) *Offline {
	tb.Helper()
	baltimoreOnce.Do(func() { baltimore, baltimoreErr = LoadBaltimore() })
	if baltimoreErr != nil {
		tb.Fatalf("LoadBaltimore: %v", baltimoreErr)
	}
	return baltimore
}

// TestBundledAccuracy asserts the targets on the bundled reference
// cases: at least 95% matched and a median error under 100 m, overall and
// for each source.
func TestBundledAccuracy(t *testing.T) {
	g := MustBaltimore(t)
	cases, err := BundledCases()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 3479+805 {
		t.Fatalf("bundled cases: %d, want 4284", len(cases))
	}
	rep := Accuracy(context.Background(), g, cases)
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("bundled accuracy:\n%s", buf.String())
	for _, row := range append([]Row{rep.Overall}, rep.BySource...) {
		if row.MatchedPct < 95 {
			t.Errorf("%s: matched %.1f%%, target >= 95%%", row.Group, row.MatchedPct)
		}
		if row.MedianM >= 100 {
			t.Errorf("%s: median error %.1f m, target < 100 m", row.Group, row.MedianM)
		}
	}
	if rep.Errors != 0 {
		t.Errorf("offline geocoder reported %d errors", rep.Errors)
	}
}

func TestRunBundledAccuracy(t *testing.T) {
	var buf bytes.Buffer
	if err := RunBundledAccuracy(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"group", "all", "precision=block", "source=trace", "source=bpd-part1", "median m"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}

// TestBaltimoreAddresses runs the README data traps against the real
// bundled streets. Reference points: BPD Part 1 coordinates (bpd), the
// Baltimore Sun homicide database (sun) and the Trace's Google geocodes
// (trace), as found in ../shared/data.
func TestBaltimoreAddresses(t *testing.T) {
	g := MustBaltimore(t)
	tests := map[string]struct {
		in        string
		prec      geo.Precision
		ref       orb.Point // zero: not checked
		tolM      float64
		reason    geo.Reason
		candsMin  int
		matchedOK string
	}{
		"bpd unit block":    {in: "0 N ABINGTON AV", prec: geo.PrecisionBlock, ref: orb.Point{-76.67118, 39.28631}, tolM: 60},
		"bpd block":         {in: "1800 PENNSYLVANIA AV", prec: geo.PrecisionBlock, ref: orb.Point{-76.635686, 39.304298}, tolM: 60},
		"hospital block":    {in: "1800 ORLEANS ST", prec: geo.PrecisionBlock, ref: orb.Point{-76.59129, 39.29529}, tolM: 60},
		"mixed case suffix": {in: "0 S Payson St", prec: geo.PrecisionBlock, ref: orb.Point{-76.6486, 39.28767}, tolM: 60},
		"W NORTH":           {in: "1600 W NORTH AV", prec: geo.PrecisionBlock, ref: orb.Point{-76.6434, 39.31005}, tolM: 60},
		"MLK spelled out":   {in: "1000 N MARTIN LUTHER KING BLVD", prec: geo.PrecisionBlock, ref: orb.Point{-76.62022, 39.30185}, tolM: 100},
		"PKWY, divided road (BPD point in the median)": {in: "2600 GWYNNS FALLS PKWY", prec: geo.PrecisionBlock, ref: orb.Point{-76.66049, 39.31496}, tolM: 200},
		"trace house number":                           {in: "1626 N SMALLWOOD ST", prec: geo.PrecisionInterpolated, ref: orb.Point{-76.652789, 39.307034}, tolM: 60},
		"MC KEAN":                                      {in: "2008 MC KEAN AV", prec: geo.PrecisionInterpolated, ref: orb.Point{-76.6476, 39.31141}, tolM: 60},
		"TER":                                          {in: "2928 CLIFTON PARK TER", prec: geo.PrecisionInterpolated, ref: orb.Point{-76.575532, 39.321797}, tolM: 60},
		"THE ALAMEDA":                                  {in: "5656 THE ALAMEDA", prec: geo.PrecisionInterpolated, ref: orb.Point{-76.594815, 39.359333}, tolM: 60},
		"BLOCK keyword":                                {in: "6300 BLOCK FRANKFORD AVE", prec: geo.PrecisionBlock, matchedOK: "6300 BLOCK FRANKFORD AVE"},
		"zero padded":                                  {in: "001 CAMBRIA ST", prec: geo.PrecisionBlock, matchedOK: "0 BLOCK CAMBRIA ST"},
		"DRWY":                                         {in: "200 S ELLICOTT DRWY", prec: geo.PrecisionBlock, matchedOK: "200 ELLICOTT DWY"},
		"repeated type":                                {in: "1600 25TH ST ST", prec: geo.PrecisionBlock},
		"free text with periods":                       {in: "3500 Spaulding Ave.", prec: geo.PrecisionBlock, ref: orb.Point{-76.677758, 39.346662}, tolM: 100},
		"sun intersection &":                           {in: "E Baltimore St & N Highland Ave", prec: geo.PrecisionIntersection, ref: orb.Point{-76.569421, 39.292492}, tolM: 30},
		"sun intersection at":                          {in: "N Milton Ave at E Biddle St", prec: geo.PrecisionIntersection, ref: orb.Point{-76.58266, 39.30475}, tolM: 30},
		"sun intersection and":                         {in: "Liberty Heights Ave and Gwynn Oak Ave", prec: geo.PrecisionIntersection, ref: orb.Point{-76.695616, 39.331344}, tolM: 30},
		"sun intersection no dir":                      {in: "Winans Way at Franklintown Rd", prec: geo.PrecisionIntersection, ref: orb.Point{-76.697056, 39.301293}, tolM: 30},
		"sun apostrophe":                               {in: "O'Donnell St at Gusryan St", prec: geo.PrecisionIntersection, ref: orb.Point{-76.540476, 39.281526}, tolM: 30},
		"dirless, two places":                          {in: "300 MADISON ST", prec: geo.PrecisionBlock, reason: geo.ReasonAmbiguousAddr, candsMin: 2},
		"dirless NORTH AVE":                            {in: "1300 North Ave.", prec: geo.PrecisionBlock, reason: geo.ReasonAmbiguousAddr, candsMin: 2},
		"not a Baltimore street":                       {in: "3100 SWANN DR", prec: geo.PrecisionUnmatched, reason: geo.ReasonUngeocodable},
		"intersection of non-meeting":                  {in: "Fillmore St at Ellerslie Ave", prec: geo.PrecisionUnmatched, reason: geo.ReasonUngeocodable},
		"garbage":                                      {in: "UNKNOWN", prec: geo.PrecisionUnmatched, reason: geo.ReasonUngeocodable},
		"empty":                                        {in: "", prec: geo.PrecisionUnmatched, reason: geo.ReasonUngeocodable},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := g.Geocode(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Precision != tt.prec || r.Reason != tt.reason {
				t.Fatalf("%q: precision %q reason %q (%s), want %q %q", tt.in, r.Precision, r.Reason, r.Detail, tt.prec, tt.reason)
			}
			if tt.ref != (orb.Point{}) {
				if d := orbgeo.Distance(r.Point, tt.ref); d > tt.tolM {
					t.Errorf("%q -> %s at %v, %.0f m from reference (tolerance %.0f)", tt.in, r.Matched, r.Point, d, tt.tolM)
				}
			}
			if r.Candidates < tt.candsMin {
				t.Errorf("candidates %d, want >= %d", r.Candidates, tt.candsMin)
			}
			if tt.matchedOK != "" && r.Matched != tt.matchedOK {
				t.Errorf("matched %q, want %q", r.Matched, tt.matchedOK)
			}
			if r.OK() && (r.Score <= 0 || r.Score > 1) {
				t.Errorf("score %v", r.Score)
			}
		})
	}
}

// fakeGeocoder answers from a table, for testing the accuracy arithmetic.
type fakeGeocoder struct{ answers map[string]Result }

func (f fakeGeocoder) Geocode(_ context.Context, a string) (Result, error) {
	if r, ok := f.answers[a]; ok {
		return r, nil
	}
	return unmatched("not in table"), nil
}

func (f fakeGeocoder) GeocodeBatch(ctx context.Context, as []string) ([]Result, error) {
	return geocodeEach(ctx, f, as)
}

func TestAccuracyArithmetic(t *testing.T) {
	// Points due north of the reference by known distances.
	ref := orb.Point{-76.6, 39.3}
	north := func(m float64) orb.Point { return orb.Point{ref[0], ref[1] + m/111195.08} }
	g := fakeGeocoder{answers: map[string]Result{
		"a": {Point: north(10), Precision: geo.PrecisionBlock, Score: 1},
		"b": {Point: north(20), Precision: geo.PrecisionBlock, Score: 1},
		"c": {Point: north(30), Precision: geo.PrecisionInterpolated, Score: 1},
		"d": {Point: north(200), Precision: geo.PrecisionInterpolated, Score: 1},
		"e": {Precision: geo.PrecisionBlock, Ambiguous: true, Reason: geo.ReasonAmbiguousAddr, Detail: "2 places"},
	}}
	cases := []Case{
		{"a", ref, "s1"}, {"b", ref, "s1"}, {"c", ref, "s1"},
		{"d", ref, "s2"}, {"e", ref, "s2"}, {"zzz", ref, "s2"},
	}
	rep := Accuracy(context.Background(), g, cases)
	if rep.Total != 6 || rep.Matched != 4 || rep.Ambiguous != 1 || rep.Unmatched != 1 {
		t.Fatalf("counts %+v", rep)
	}
	near := func(got, want float64) bool { return math.Abs(got-want) < 0.5 }
	// median of 10, 20, 30, 200 is 25; p90 is 30 + 0.7*170 = 149.
	if !near(rep.Overall.MedianM, 25) || !near(rep.Overall.P90M, 149) || !near(rep.Overall.MatchedPct, 100*4.0/6) {
		t.Errorf("overall %+v", rep.Overall)
	}
	if !near(rep.Overall.Within100, 75) {
		t.Errorf("within 100 m: %v", rep.Overall.Within100)
	}
	if len(rep.ByPrecision) != 2 || rep.ByPrecision[0].Group != "precision=interpolated" || !near(rep.ByPrecision[0].MedianM, 115) {
		t.Errorf("by precision %+v", rep.ByPrecision)
	}
	if len(rep.BySource) != 2 || !near(rep.BySource[0].MatchedPct, 100) || !near(rep.BySource[1].MatchedPct, 100.0/3) {
		t.Errorf("by source %+v", rep.BySource)
	}
}

func TestReadCases(t *testing.T) {
	cs, err := ReadCases(strings.NewReader("address,lon,lat\n\"1200 N MILTON AV\",-76.6,39.3\n"), "x")
	if err != nil || len(cs) != 1 || cs[0].Want != (orb.Point{-76.6, 39.3}) || cs[0].Source != "x" {
		t.Fatalf("ReadCases = %+v, %v", cs, err)
	}
	for name, in := range map[string]string{
		"bad header": "addr,lat,lon\n",
		"bad number": "address,lon,lat\nX,abc,1\n",
		"empty":      "",
	} {
		if _, err := ReadCases(strings.NewReader(in), "x"); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
}

// BenchmarkOfflineGeocode measures warm geocoding of the bundled case
// addresses through GeocodeBatch (parallel across GOMAXPROCS).
func BenchmarkOfflineGeocode(b *testing.B) {
	g := MustBaltimore(b)
	cases, err := BundledCases()
	if err != nil {
		b.Fatal(err)
	}
	addrs := make([]string, len(cases))
	for i, c := range cases {
		addrs[i] = c.Address
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := g.GeocodeBatch(ctx, addrs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(addrs))/b.Elapsed().Seconds(), "addr/s")
}

package cluster

import (
	"context"
	"math"
	"testing"

	"hotspots/geo/internal/oracle"
)

func readEvents(t *testing.T, dir, name string) []Event {
	t.Helper()
	var ev []Event
	for _, r := range oracle.Read(t, dir, name).Rows {
		ev = append(ev, Event{X: r.Float(t, "x"), Y: r.Float(t, "y"), Day: r.Int(t, "t")})
	}
	return ev
}

// mcMeanClose: two Monte Carlo means of B1 and B2 draws with SD sd agree
// within 4 standard errors (README tolerance).
func mcMeanClose(a, b, sd float64, b1, b2 int) bool {
	return math.Abs(a-b) <= 4*sd*math.Sqrt(1/float64(b1)+1/float64(b2))+1e-12
}

func TestKnoxOracle(t *testing.T) {
	for _, dir := range oracle.Dirs(t) {
		for _, set := range []struct{ prefix, events string }{{"knox", "events.csv"}, {"knox_null", "events_null.csv"}} {
			t.Run(oracle.Name(dir)+"/"+set.prefix, func(t *testing.T) {
				sum := oracle.Read(t, dir, set.prefix+"_summary.csv").Rows[0]
				cfg := DefaultKnoxConfig()
				cfg.DistanceM, cfg.Days = sum.Float(t, "eps_s"), sum.Int(t, "eps_t")
				cfg.PairPermutation, cfg.Seed = true, 11
				res, err := Knox(context.Background(), readEvents(t, dir, set.events), cfg)
				if err != nil {
					t.Fatal(err)
				}
				bRef := sum.Int(t, "B")
				checkKnoxSummary(t, sum, res, bRef)
				checkKnoxPerm(t, oracle.Read(t, dir, set.prefix+"_perm.csv"), res)
				checkKnoxBands(t, oracle.Read(t, dir, set.prefix+"_bands.csv"), res, bRef)
			})
		}
	}
}

func checkKnoxSummary(t *testing.T, sum oracle.Row, res *KnoxResult, bRef int) {
	ints := []struct {
		col string
		got int64
	}{
		{"n_events", int64(res.Events)}, {"n_pairs", res.Pairs}, {"close_both", res.CloseBoth},
		{"close_time_only", res.CloseTimeOnly}, {"close_space_only", res.CloseSpaceOnly},
		{"close_neither", res.CloseNeither}, {"n_close_time", res.CloseTime}, {"n_close_space", res.CloseSpace},
	}
	for _, c := range ints {
		if want := int64(sum.Int(t, c.col)); c.got != want {
			t.Errorf("%s = %d, want %d", c.col, c.got, want)
		}
	}
	for _, c := range []struct {
		col string
		got float64
	}{{"expected", res.Expected}, {"knox_ratio", res.Ratio}} {
		if want := sum.Float(t, c.col); !oracle.Close(c.got, want, 1e-9) {
			t.Errorf("%s = %.17g, want %.17g", c.col, c.got, want)
		}
	}
	for _, c := range []struct {
		col string
		got float64
	}{{"p_poisson_pkg", res.PPoisson}, {"p_poisson_ge", res.PPoissonGE}, {"p_hypergeom_ge", res.PHypergeom}} {
		if want := sum.Float(t, c.col); !oracle.RelClose(c.got, want, 1e-6) {
			t.Errorf("%s = %.17g, want %.17g", c.col, c.got, want)
		}
	}
	B := res.Replications
	for _, c := range []struct {
		col string
		got float64
	}{{"p_mc_eventperm", res.PEventPerm}, {"p_mc_pkg_pairperm", res.PPairPerm}} {
		if want := sum.Float(t, c.col); !oracle.MonteCarloCloseClamped(c.got, want, B, bRef) {
			t.Errorf("%s = %g, oracle %g", c.col, c.got, want)
		}
	}
	sd := sum.Float(t, "eventperm_sd")
	if want := sum.Float(t, "eventperm_mean"); !mcMeanClose(res.EventPermMean, want, sd, B, bRef) {
		t.Errorf("eventperm_mean = %g, oracle %g", res.EventPermMean, want)
	}
	// the exact mean of the event permutation is the expected count
	if math.Abs(res.EventPermMean-res.Expected) > 4*sd/math.Sqrt(float64(B)) {
		t.Errorf("eventperm_mean = %g, exact mean %g", res.EventPermMean, res.Expected)
	}
	if want := sum.Float(t, "eventperm_sd"); math.Abs(res.EventPermSD-want) > 4*want*math.Sqrt(1/(2*float64(B))+1/(2*float64(bRef))) {
		t.Errorf("eventperm_sd = %g, oracle %g", res.EventPermSD, want)
	}
}

// checkKnoxPerm compares the replicate distributions of both schemes with
// the oracle's: the same mean (and, for the pair permutation, the exact
// hypergeometric mean) and SD within Monte Carlo error.
func checkKnoxPerm(t *testing.T, perm oracle.Table, res *KnoxResult) {
	for _, c := range []struct {
		col string
		got []int64
	}{{"stat_eventperm", res.EventPermStats}, {"stat_pkg_pairperm", res.PairPermStats}} {
		ref := make([]int64, len(perm.Rows))
		for i, r := range perm.Rows {
			ref[i] = int64(r.Int(t, c.col))
		}
		mRef, sdRef := meanSD(ref)
		mGo, sdGo := meanSD(c.got)
		if !mcMeanClose(mGo, mRef, sdRef, len(c.got), len(ref)) {
			t.Errorf("%s: mean %g, oracle %g", c.col, mGo, mRef)
		}
		if !mcMeanClose(mRef, res.Expected, sdRef, len(ref), 1<<40) {
			t.Errorf("%s: oracle mean %g far from the exact mean %g", c.col, mRef, res.Expected)
		}
		if math.Abs(sdGo-sdRef) > 4*sdRef*math.Sqrt(1/(2*float64(len(c.got)))+1/(2*float64(len(ref)))) {
			t.Errorf("%s: SD %g, oracle %g", c.col, sdGo, sdRef)
		}
	}
}

func checkKnoxBands(t *testing.T, tab oracle.Table, res *KnoxResult, bRef int) {
	if len(tab.Rows) != len(res.Bands) {
		t.Fatalf("%d bands, oracle has %d", len(res.Bands), len(tab.Rows))
	}
	for i, r := range tab.Rows {
		b := res.Bands[i]
		key := r["s_lo"] + "-" + r["s_hi"] + "m/" + r["t_lo"] + "-" + r["t_hi"] + "d"
		if b.DistanceLoM != r.Float(t, "s_lo") || b.DistanceHiM != r.Float(t, "s_hi") ||
			b.DaysLo != r.Float(t, "t_lo") || b.DaysHi != r.Float(t, "t_hi") {
			t.Errorf("band %d is %g-%g m / %g-%g d, want %s", i, b.DistanceLoM, b.DistanceHiM, b.DaysLo, b.DaysHi, key)
		}
		if want := int64(r.Int(t, "observed")); b.Observed != want {
			t.Errorf("%s observed %d, want %d", key, b.Observed, want)
		}
		if want := r.Float(t, "expected_margins"); !oracle.Close(b.ExpectedMargins, want, 1e-9) {
			t.Errorf("%s expected_margins %.17g, want %.17g", key, b.ExpectedMargins, want)
		}
		if want := r.Float(t, "expected_mc"); !mcMeanClose(b.ExpectedMC, want, b.SDMC, res.Replications, bRef) {
			t.Errorf("%s expected_mc %g, oracle %g (sd %g)", key, b.ExpectedMC, want, b.SDMC)
		}
		if b.RatioMC != float64(b.Observed)/b.ExpectedMC {
			t.Errorf("%s ratio %g is not observed/expected_mc", key, b.RatioMC)
		}
		if want := r.Float(t, "p_mc"); !oracle.MonteCarloCloseClamped(b.PMC, want, res.Replications, bRef) {
			t.Errorf("%s p_mc %g, oracle %g", key, b.PMC, want)
		}
	}
}

// TestKnoxBoundaries: both thresholds are inclusive, compared exactly.
func TestKnoxBoundaries(t *testing.T) {
	base := Event{X: 1000, Y: 1000, Day: 10}
	tests := []struct {
		name  string
		other Event
		close bool
	}{
		{"same place and day", base, true},
		{"200 m and 7 days", Event{X: 1120, Y: 1160, Day: 17}, true},
		{"200 m and 8 days", Event{X: 1160, Y: 880, Day: 18}, false},
		{"201 m and 7 days", Event{X: 799, Y: 1000, Day: 3}, false},
		{"fractional just inside", Event{X: 1000 + 200/math.Sqrt2, Y: 1000 + 200/math.Sqrt2 - 1e-9, Day: 10}, true},
	}
	cfg := DefaultKnoxConfig()
	cfg.Replications = 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// a far, late third event keeps the table non-degenerate
			res, err := Knox(context.Background(), []Event{base, tc.other, {X: 9000, Y: 9000, Day: 90}}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.CloseBoth == 1; got != tc.close {
				t.Errorf("close = %v, want %v (table %+v)", got, tc.close, res)
			}
			if !math.IsNaN(res.PEventPerm) {
				t.Errorf("p without replicates = %g, want NaN", res.PEventPerm)
			}
		})
	}
}

func TestKnoxTails(t *testing.T) {
	// values from R: ppois(q, lambda, lower.tail = FALSE) and phyper
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"ppois(0, 2.5) upper", poissonTail(1, 2.5), 1 - math.Exp(-2.5)},
		{"P(Y>=3), lambda 2.5", poissonTail(3, 2.5), 1 - math.Exp(-2.5)*(1+2.5+2.5*2.5/2)},
		{"P(Y>=0)", poissonTail(0, 4), 1},
		{"hyper P(X>=1) of 2 draws, 1 of 3", hyperTail(1, 1, 3, 2), 2.0 / 3},
		{"hyper P(X>=2) of 2 draws, 2 of 4", hyperTail(2, 2, 4, 2), 1.0 / 6},
		{"hyper P(X>=1) of 2 draws, 2 of 4", hyperTail(1, 2, 4, 2), 5.0 / 6},
	}
	for _, tc := range tests {
		if !oracle.RelClose(tc.got, tc.want, 1e-12) {
			t.Errorf("%s = %.17g, want %.17g", tc.name, tc.got, tc.want)
		}
	}
}

package temporal

import (
	"fmt"
	"math"
	"testing"

	"hotspots/geo/internal/oracle"
)

// readSeries reads series.csv into day-ordered counts per series.
func readSeries(t *testing.T, dir string) map[string][]float64 {
	t.Helper()
	out := map[string][]float64{}
	for _, r := range oracle.Read(t, dir, "series.csv").Rows {
		id, day := r["series_id"], r.Int(t, "day")
		if day != len(out[id])+1 {
			t.Fatalf("series %s: day %d out of order", id, day)
		}
		out[id] = append(out[id], r.Float(t, "count"))
	}
	return out
}

// flag compares a boolean result with an oracle 1/0/NA column.
func flag(t *testing.T, r oracle.Row, col string, got, gotNA bool) bool {
	t.Helper()
	if r.NA(col) {
		return gotNA
	}
	return !gotNA && got == (r.Int(t, col) == 1)
}

func TestEARSOracle(t *testing.T) {
	for _, dir := range oracle.Dirs(t) {
		t.Run(oracle.Name(dir), func(t *testing.T) {
			series := readSeries(t, dir)
			runs := map[string][]EARSPoint{}
			rows := oracle.Read(t, dir, "ears.csv").Rows
			checked := 0
			for _, r := range rows {
				key := fmt.Sprintf("%s/%s/%s/%s", r["series_id"], r["method"], r["alpha_kind"], r["min_sigma"])
				cfg := EARSConfig{Method: EARSMethod(r["method"]), Baseline: r.Int(t, "baseline"),
					MinSigma: r.Float(t, "min_sigma"), Alpha: r.Float(t, "alpha")}
				if r["alpha_kind"] == "default" && cfg.Alpha != DefaultAlpha(cfg.Method) {
					t.Fatalf("%s: package default alpha %g, ours %g", key, cfg.Alpha, DefaultAlpha(cfg.Method))
				}
				if r["alpha_kind"] == "cdc" && !oracle.RelClose(CDCAlpha(cfg.Method), cfg.Alpha, 1e-14) {
					t.Errorf("%s: cdc alpha %.17g, ours %.17g", key, cfg.Alpha, CDCAlpha(cfg.Method))
				}
				pts, ok := runs[key]
				if !ok {
					var err error
					if pts, err = EARS(series[r["series_id"]], cfg); err != nil {
						t.Fatal(err)
					}
					runs[key] = pts
					// the threshold must be R's to the bit: alarms sit on it
					if z := cfg.Threshold(); z != r.Float(t, "z_alpha") {
						t.Errorf("%s: threshold %.17g, R %.17g", key, z, r.Float(t, "z_alpha"))
					}
				}
				day := r.Int(t, "day") - 1
				i := day - cfg.FirstDay()
				if i < 0 || i >= len(pts) {
					t.Fatalf("%s: day %d not monitored (first %d, %d points)", key, day+1, cfg.FirstDay()+1, len(pts))
				}
				p := pts[i]
				key = fmt.Sprintf("%s day %d", key, day+1)
				if p.Day != day || p.Observed != r.Float(t, "observed") {
					t.Fatalf("%s: point day %d observed %g", key, p.Day, p.Observed)
				}
				vals := []struct {
					col string
					got float64
				}{
					{"base_mean", p.Mean}, {"base_sd", p.SD}, {"sigma_used", p.Sigma}, {"stat", p.Stat},
					{"c2_t", p.C2[0]}, {"c2_tm1", p.C2[1]}, {"c2_tm2", p.C2[2]}, {"c3_lag_only", p.C3Lag},
					{"upperbound", p.UpperBound},
				}
				for _, v := range vals {
					want := r.Float(t, v.col) // NA (not applicable) reads as NaN, as ours
					if !oracle.Close(v.got, want, 1e-9) {
						t.Errorf("%s: %s = %.17g, want %s", key, v.col, v.got, r[v.col])
					}
				}
				if !flag(t, r, "alarm", p.Alarm, p.AlarmNA) {
					t.Errorf("%s: alarm %v (NA %v), want %s (obs %g, bound %.17g)", key, p.Alarm, p.AlarmNA, r["alarm"], p.Observed, p.UpperBound)
				}
				tbNA := p.TextbookNA || cfg.Method != C3
				if !flag(t, r, "alarm_c3_textbook", p.TextbookAlarm, tbNA) {
					t.Errorf("%s: textbook alarm %v (NA %v), want %s (C3 %.17g)", key, p.TextbookAlarm, tbNA, r["alarm_c3_textbook"], p.Stat)
				}
				checked++
			}
			// every monitored day of every run has a row
			total := 0
			for _, pts := range runs {
				total += len(pts)
			}
			if total != checked || checked == 0 {
				t.Errorf("%d points, %d oracle rows", total, checked)
			}
		})
	}
}

func TestCUSUMOracle(t *testing.T) {
	for _, dir := range oracle.Dirs(t) {
		t.Run(oracle.Name(dir), func(t *testing.T) {
			series := readSeries(t, dir)
			bySeries := map[string][]oracle.Row{}
			for _, r := range oracle.Read(t, dir, "cusum.csv").Rows {
				bySeries[r["series_id"]] = append(bySeries[r["series_id"]], r)
			}
			if len(bySeries) == 0 {
				t.Fatal("no rows")
			}
			for id, rows := range bySeries {
				checkCUSUMSeries(t, id, series[id], rows)
			}
		})
	}
}

func checkCUSUMSeries(t *testing.T, id string, y []float64, rows []oracle.Row) {
	r0 := rows[0]
	train := r0.Int(t, "train_days")
	mu0, err := TrainingMean(y, train)
	if err != nil {
		t.Fatal(err)
	}
	if !oracle.Close(mu0, r0.Float(t, "mu0"), 1e-12) {
		t.Fatalf("%s: mu0 %.17g, want %s", id, mu0, r0["mu0"])
	}
	pois := PoissonCUSUM(mu0)
	if !oracle.Close(pois.K, r0.Float(t, "pois_k"), 1e-12) || !oracle.Close(pois.H, r0.Float(t, "pois_h"), 1e-12) ||
		!oracle.Close(LucasK(mu0, r0.Float(t, "pois_mu1")), pois.K, 1e-12) {
		t.Errorf("%s: Poisson CUSUM k %.17g h %.17g, want %s %s", id, pois.K, pois.H, r0["pois_k"], r0["pois_h"])
	}
	std := StandardCUSUM(mu0)
	if std.K != r0.Float(t, "std_k") || std.H != r0.Float(t, "std_h") {
		t.Errorf("%s: standard k %g h %g, want %s %s", id, std.K, std.H, r0["std_k"], r0["std_h"])
	}
	glr := DefaultGLRPois(mu0)
	if glr.Theta != r0.Float(t, "lr_theta") || glr.CARL != r0.Float(t, "lr_c_arl") {
		t.Errorf("%s: glrpois theta %g c %g, want %s %s", id, glr.Theta, glr.CARL, r0["lr_theta"], r0["lr_c_arl"])
	}
	sp, err := CUSUM(y, train, std)
	if err != nil {
		t.Fatal(err)
	}
	pp, err := CUSUM(y, train, pois)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := GLRPois(y, train, glr)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp) != len(rows) || len(pp) != len(rows) || len(lp) != len(rows) {
		t.Fatalf("%s: %d/%d/%d points, %d rows", id, len(sp), len(pp), len(lp), len(rows))
	}
	for i, r := range rows {
		key := fmt.Sprintf("%s day %s", id, r["day"])
		if sp[i].Day+1 != r.Int(t, "day") || sp[i].Observed != r.Float(t, "observed") {
			t.Fatalf("%s: point day %d observed %g", key, sp[i].Day+1, sp[i].Observed)
		}
		vals := []struct {
			col string
			got float64
		}{
			{"std_z", sp[i].Z}, {"std_S", sp[i].S}, {"std_upperbound", sp[i].UpperBound},
			{"pois_S", pp[i].S}, {"lr_L", lp[i].L}, {"lr_L_over_theta", lp[i].L / glr.Theta},
		}
		for _, v := range vals {
			if want := r.Float(t, v.col); !oracle.Close(v.got, want, 1e-9) {
				t.Errorf("%s: %s = %.17g, want %s", key, v.col, v.got, r[v.col])
			}
		}
		flags := []struct {
			col string
			got bool
		}{{"std_alarm", sp[i].Alarm}, {"pois_alarm", pp[i].Alarm}, {"lr_alarm", lp[i].Alarm}}
		for _, f := range flags {
			if !flag(t, r, f.col, f.got, false) {
				t.Errorf("%s: %s = %v, want %s", key, f.col, f.got, r[f.col])
			}
		}
	}
}

// TestQnorm checks qnorm against R values quoted in the oracle README and
// fixtures, and as the inverse of the normal tail across the range.
func TestQnorm(t *testing.T) {
	tests := []struct{ p, want float64 }{
		{0.5, 0},
		{0.975, 1.959963984540054},
		{0.999, 3.0902323061678132},
		{1 - 0.0013498980316300946, 2.9999999999999969}, // 1 - pnorm(-3) in R
	}
	for _, tc := range tests {
		if got := qnorm(tc.p); math.Abs(got-tc.want) > 1e-15*math.Max(1, math.Abs(tc.want)) {
			t.Errorf("qnorm(%g) = %.17g, want %.17g", tc.p, got, tc.want)
		}
	}
	for z := -30.0; z <= 5; z += 0.37 { // above 5, 1-p has too few digits left
		if got := qnorm(pnormUpper(-z)); math.Abs(got-z) > 1e-9*math.Max(1, math.Abs(z)) {
			t.Errorf("qnorm(pnorm(%g)) = %.17g", z, got)
		}
	}
	if !math.IsNaN(qnorm(1.5)) || !math.IsInf(qnorm(0), -1) || !math.IsInf(qnorm(1), 1) {
		t.Error("qnorm outside (0, 1)")
	}
}

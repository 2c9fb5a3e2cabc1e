package temporal

import (
	"math"
	"testing"
	"time"

	"hotspots/geo"
)

// TestEWMAByHand: mu0 = 4, lambda = 0.5, L = 2 after two training days.
// Var Z_t = 4 * 0.5/1.5 * (1 - 0.25^t) = 1, 1.25, 1.3125.
func TestEWMAByHand(t *testing.T) {
	y := []float64{4, 4, 4, 9, 2}
	mu0, err := TrainingMean(y, 2)
	if err != nil || mu0 != 4 {
		t.Fatalf("training mean %g, %v", mu0, err)
	}
	pts, err := EWMA(y, 2, EWMAConfig{Mu0: mu0, Lambda: 0.5, L: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []EWMAPoint{
		{Day: 2, Observed: 4, Z: 4, UCL: 6, Alarm: false},
		{Day: 3, Observed: 9, Z: 6.5, UCL: 4 + 2*math.Sqrt(1.25), Alarm: true},
		{Day: 4, Observed: 2, Z: 4.25, UCL: 4 + 2*math.Sqrt(1.3125), Alarm: false},
	}
	if len(pts) != len(want) {
		t.Fatalf("%d points", len(pts))
	}
	for i, w := range want {
		p := pts[i]
		if p.Day != w.Day || p.Observed != w.Observed || math.Abs(p.Z-w.Z) > 1e-12 || math.Abs(p.UCL-w.UCL) > 1e-12 || p.Alarm != w.Alarm {
			t.Errorf("day %d: got %+v, want %+v", w.Day, p, w)
		}
	}
}

// TestEWMASteadyLimit: after many days the limit approaches
// mu0 + L sqrt(mu0 lambda/(2-lambda)), and a flat in-control series never
// alarms.
func TestEWMASteadyLimit(t *testing.T) {
	y := make([]float64, 400)
	for i := range y {
		y[i] = 5
	}
	pts, err := EWMA(y, 28, DefaultEWMA(5))
	if err != nil {
		t.Fatal(err)
	}
	last := pts[len(pts)-1]
	if want := 5 + 3*math.Sqrt(5*0.2/1.8); math.Abs(last.UCL-want) > 1e-12 || last.Z != 5 {
		t.Errorf("steady UCL %g, want %g", last.UCL, want)
	}
	for _, p := range pts {
		if p.Alarm {
			t.Fatalf("flat series alarms on day %d", p.Day)
		}
	}
}

func TestChartValidation(t *testing.T) {
	y := []float64{1, 2, 3, 4}
	tests := []struct {
		name string
		err  error
	}{
		{"cusum mu0 0", func() error { _, err := CUSUM(y, 2, StandardCUSUM(0)); return err }()},
		{"cusum from past end", func() error { _, err := CUSUM(y, 5, StandardCUSUM(1)); return err }()},
		{"cusum h 0", func() error { _, err := CUSUM(y, 2, CUSUMConfig{Mu0: 1, K: 1}); return err }()},
		{"glrpois theta 0", func() error { _, err := GLRPois(y, 2, GLRPoisConfig{Mu0: 1, CARL: 5}); return err }()},
		{"ewma lambda 0", func() error { _, err := EWMA(y, 2, EWMAConfig{Mu0: 1, L: 3}); return err }()},
		{"ewma NaN count", func() error { _, err := EWMA([]float64{1, 1, math.NaN()}, 2, DefaultEWMA(1)); return err }()},
		{"ears method", func() error { _, err := EARS(y, EARSConfig{Method: "C4", Baseline: 7}); return err }()},
		{"ears baseline 1", func() error { _, err := EARS(y, EARSConfig{Method: C1, Baseline: 1}); return err }()},
		{"ears alpha 1", func() error { _, err := EARS(y, EARSConfig{Method: C1, Baseline: 7, Alpha: 1}); return err }()},
		{"training 0 days", func() error { _, err := TrainingMean(y, 0); return err }()},
	}
	for _, tc := range tests {
		if geo.ErrorCode(tc.err) != geo.EINVALID {
			t.Errorf("%s: error %v, want EINVALID", tc.name, tc.err)
		}
	}
}

// TestEARSShortSeries: a series no longer than the baseline has no
// monitored days.
func TestEARSShortSeries(t *testing.T) {
	for _, m := range []EARSMethod{C1, C2, C3} {
		cfg := EARSConfig{Method: m, Baseline: 7}
		pts, err := EARS(make([]float64, cfg.FirstDay()), cfg)
		if err != nil || len(pts) != 0 {
			t.Errorf("%s: %d points, %v", m, len(pts), err)
		}
	}
}

func TestFindings(t *testing.T) {
	day0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	tg := Target{Layer: "neighborhoods", Area: "Sandtown-Winchester"}
	y := []float64{4, 5, 4, 6, 5, 4, 5, 5, 4, 30, 5}
	cfg := EARSConfig{Method: C1, Baseline: 7}
	pts, err := EARS(y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	fs := EARSFindings(cfg, pts, tg, day0)
	if len(fs) != 1 {
		t.Fatalf("%d findings, want the day-9 spike only", len(fs))
	}
	f := fs[0]
	if f.Detector != "ears_c1" || f.Kind != FindingKind || f.Area != tg.Area || f.Layer != tg.Layer ||
		!f.Start.Equal(day0.AddDate(0, 0, 9)) || !f.End.Equal(day0.AddDate(0, 0, 10)) || f.Observed != 30 ||
		f.Stats["threshold"] != cfg.Threshold() || f.PValue != nil {
		t.Errorf("finding %+v", f)
	}
	mu0, _ := TrainingMean(y, 7)
	cp, _ := CUSUM(y, 7, StandardCUSUM(mu0))
	gp, _ := GLRPois(y, 7, DefaultGLRPois(mu0))
	ep, _ := EWMA(y, 7, DefaultEWMA(mu0))
	for _, tc := range []struct {
		name string
		fs   []geo.Finding
	}{
		{"cusum", CUSUMFindings(StandardCUSUM(mu0), cp, tg, day0)},
		{"glrpois", GLRPoisFindings(DefaultGLRPois(mu0), gp, tg, day0)},
		{"ewma", EWMAFindings(DefaultEWMA(mu0), ep, tg, day0)},
	} {
		if len(tc.fs) == 0 || tc.fs[0].Detector != tc.name || !tc.fs[0].Start.Equal(day0.AddDate(0, 0, 9)) ||
			tc.fs[0].Expected != mu0 {
			t.Errorf("%s findings %+v", tc.name, tc.fs)
		}
	}
	if got := C3.Detector(); got != "ears_c3" {
		t.Errorf("C3 detector %q", got)
	}
}

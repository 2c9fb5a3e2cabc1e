package evaluate_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/detect"
	"hotspots/geo/detect/evaluate"
)

// background is days of uniform overdoses over central Baltimore, about
// perDay a day, in two districts split at -76.62.
func background(t *testing.T, city *cities.City, end time.Time, days int, perDay float64) evaluate.Background {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	kinds := []geo.Kind{geo.KindOverdoseNonFatal, geo.KindOverdoseFatal}
	bg := evaluate.Background{Name: "overdoses", Kinds: kinds,
		Layers: []geo.AreaLayer{{ID: "district_test", Kind: "police_district"}}}
	for d := range days {
		day := end.AddDate(0, 0, -d)
		l, k, p := math.Exp(-perDay), 0, rng.Float64()
		for p > l {
			k++
			p *= rng.Float64()
		}
		for range k {
			pt := orb.Point{-76.68 + 0.12*rng.Float64(), 39.27 + 0.06*rng.Float64()}
			c, err := geo.CellFromPoint(pt, geo.FinestRes)
			if err != nil {
				t.Fatal(err)
			}
			area := "west"
			if pt.Lon() > -76.62 {
				area = "east"
			}
			bg.Incidents = append(bg.Incidents, geo.Incident{
				Source: "test", SourceID: fmt.Sprint(len(bg.Incidents)), Kind: kinds[rng.IntN(2)],
				OccurredAt: time.Date(day.Year(), day.Month(), day.Day(), 12, 0, 0, 0, city.Location).UTC(),
				Day:        day, Location: pt, Cell: c, Areas: map[string]string{"district_test": area},
			})
		}
	}
	return bg
}

// TestBigOutbreakIsDetected injects outbreaks far above the background and
// wants the scan to find them, a table naming every detector, a PNG that
// decodes, and the same result from the same seed.
func TestBigOutbreakIsDetected(t *testing.T) {
	city, err := cities.Open("baltimore")
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)
	bg := background(t, city, end, 120, 6)
	o := evaluate.Options{Trials: 3, Size: 30, RadiusM: 150, Duration: 3, Lag: 2, Days: 14, Replications: 99, Seed: 3}
	run := func() *evaluate.Result {
		res, err := evaluate.Run(context.Background(), city, bg, o)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := run()
	byName := map[string]evaluate.Row{}
	for _, r := range res.Rows {
		byName[r.Detector] = r
		if r.Trials != 3 || r.Sensitivity < 0 || r.Sensitivity > 1 || r.FalseAlarmsPerMonth < 0 {
			t.Errorf("%s: implausible row %+v", r.Detector, r)
		}
		if r.Detected > 0 && !(r.MedianDays >= 0 && r.MedianDays < float64(o.Duration+o.Lag)) {
			t.Errorf("%s: median %g days outside the monitored days", r.Detector, r.MedianDays)
		}
	}
	if len(byName) != len(evaluate.DefaultDetectors) {
		t.Fatalf("rows for %v, want %v", res.Rows, evaluate.DefaultDetectors)
	}
	if s := byName[detect.STPScan]; s.Sensitivity == 0 {
		t.Errorf("stpscan missed every outbreak of 30 cases in 150 m: %+v\n%+v", s, res.Outbreaks)
	}
	if len(res.Outbreaks) != 3 {
		t.Errorf("%d outbreaks, want 3", len(res.Outbreaks))
	}
	for _, ob := range res.Outbreaks {
		if ob.Start.Before(res.From) || !ob.Start.Before(res.To) {
			t.Errorf("outbreak starts %s outside %s..%s", ob.Start, res.From, res.To)
		}
	}

	var tbl bytes.Buffer
	if err := evaluate.WriteTable(&tbl, res); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + tbl.String())
	for _, d := range evaluate.DefaultDetectors {
		if !strings.Contains(tbl.String(), d) {
			t.Errorf("table lacks %s:\n%s", d, tbl.String())
		}
	}
	var img bytes.Buffer
	if err := evaluate.WritePNG(&img, res, res); err != nil {
		t.Fatal(err)
	}
	m, err := png.Decode(&img)
	if err != nil {
		t.Fatalf("the plot does not decode: %v", err)
	}
	if b := m.Bounds(); b.Dx() < 600 || b.Dy() < 2*34*len(res.Rows) {
		t.Errorf("plot is %v, too small for two panels of %d rows", b, len(res.Rows))
	}

	again := run()
	if !reflect.DeepEqual(res.Rows, again.Rows) || !reflect.DeepEqual(res.Outbreaks, again.Outbreaks) {
		t.Errorf("same seed, different evaluation:\n%+v\n%+v", res.Rows, again.Rows)
	}
}

func TestOutbreakMustFitThePeriod(t *testing.T) {
	city, err := cities.Open("baltimore")
	if err != nil {
		t.Fatal(err)
	}
	bg := background(t, city, time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC), 60, 3)
	_, err = evaluate.Run(context.Background(), city, bg, evaluate.Options{Days: 5, Duration: 7, Trials: 1})
	if err == nil {
		t.Fatal("a 7-day outbreak in a 5-day period was accepted")
	}
}

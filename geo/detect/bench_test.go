package detect_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sort"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
	"hotspots/geo/detect"
)

// benchEnd is the as-of day of every benchmark.
var benchEnd = time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)

// synth draws days of incidents of kind over cells: about perDay a day in
// total, spread over the cells with skewed (log-normal) rates like real
// incident maps, each at its cell's centre jittered by up to 60 m. Areas
// are the resolution-7 and -6 parents (neighbourhood- and district-sized).
func synth(b *testing.B, cells []geo.Cell, days int, perDay float64, kinds []geo.Kind, seed uint64) []geo.Incident {
	b.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	cum := make([]float64, len(cells))
	sum := 0.0
	for i := range cells {
		sum += math.Exp(r.NormFloat64() * 1.2)
		cum[i] = sum
	}
	var out []geo.Incident
	for d := range days {
		day := benchEnd.AddDate(0, 0, -d)
		for range poisson(r, perDay) {
			c := cells[sort.SearchFloat64s(cum, r.Float64()*sum)]
			ctr := c.Center()
			p := orb.Point{ctr.Lon() + (r.Float64()-0.5)*0.0014, ctr.Lat() + (r.Float64()-0.5)*0.001}
			fine, err := geo.CellFromPoint(p, geo.FinestRes)
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, geo.Incident{
				Source: "bench", SourceID: fmt.Sprintf("%d-%d", seed, len(out)), Kind: kinds[r.IntN(len(kinds))],
				OccurredAt: day.Add(12 * time.Hour), Day: day, Location: p, Cell: fine,
				Areas: map[string]string{"nbhd": c.Parent(7).String(), "district": c.Parent(6).String()},
			})
		}
	}
	return out
}

var benchLayers = []geo.AreaLayer{{ID: "nbhd", Kind: "neighborhood"}, {ID: "district", Kind: "police_district"}}

// peakHeap samples the live heap every few milliseconds while fn runs and
// returns the largest value seen, in MiB: the detectors' peak working set
// beyond what was live before.
func peakHeap(fn func()) float64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	runtime.GC()
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	if p := peak.Load(); p > base {
		return float64(p-base) / (1 << 20)
	}
	return 0
}

// benchRun runs r once per iteration and reports incidents and the peak
// heap of the first iteration.
func benchRun(b *testing.B, src *detect.MemSource, cells []geo.Cell, cfg detect.Config, asOf time.Time) {
	b.Helper()
	benchRunSource(b, src, len(src.Incidents), cells, cfg, asOf)
}

func benchRunSource(b *testing.B, src detect.Source, incidents int, cells []geo.Cell, cfg detect.Config, asOf time.Time) {
	b.Helper()
	findings := 0
	r, err := detect.New(src, mustBaltimore(b), cfg, func(_ context.Context, _ geo.DetectionRun, fs []geo.Finding) error {
		findings += len(fs)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	r.StudyCells = cells
	r.Log = quiet
	first, peak := true, 0.0
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		run := func() {
			if _, err := r.Run(context.Background(), asOf); err != nil {
				b.Fatal(err)
			}
		}
		if first {
			peak = peakHeap(run)
			first = false
		} else {
			run()
		}
	}
	b.StopTimer()
	// CPU seconds (user + system) per run: unlike ns/op it does not grow
	// when other processes share the two cores.
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(findings)/float64(b.N), "findings")
	b.ReportMetric(peak, "peak-MiB")
	b.ReportMetric(float64(incidents), "incidents")
	b.ReportMetric(float64(len(cells)), "cells")
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDailyBaltimore is the full daily run for Baltimore: every
// detector (the default ones and the optional EBP scan, GLR and EWMA
// charts and local Moran's I) on both kind groups, three years of daily
// data at resolution 9 over the city's cells, 999 replications: about 20
// overdoses and 2 shootings a day.
func BenchmarkDailyBaltimore(b *testing.B) {
	city := mustBaltimore(b)
	cells := detect.StudyArea(city, geo.DefaultDetectRes)
	od := synth(b, cells, 3*365, 20, []geo.Kind{geo.KindOverdoseFatal, geo.KindOverdoseNonFatal, geo.KindOverdoseSuspected}, 1)
	sh := synth(b, cells, 3*365, 2, []geo.Kind{geo.KindShootingFatal, geo.KindShootingNonFatal, geo.KindHomicide}, 2)
	src := &detect.MemSource{Incidents: append(od, sh...), AreaLayers: benchLayers}
	cfg := detect.DefaultConfig()
	cfg.Seed = 1
	cfg.Groups[0].Detectors = withoutNearRepeat(detect.AllDetectors)
	cfg.Groups[1].Detectors = detect.AllDetectors
	benchRun(b, src, cells, cfg, benchEnd.Add(12*time.Hour))
}

// BenchmarkDailyBaltimoreDefault is the same data with the shipped
// detector selection (what `hotspots detect` runs).
func BenchmarkDailyBaltimoreDefault(b *testing.B) {
	city := mustBaltimore(b)
	cells := detect.StudyArea(city, geo.DefaultDetectRes)
	od := synth(b, cells, 3*365, 20, []geo.Kind{geo.KindOverdoseNonFatal}, 1)
	sh := synth(b, cells, 3*365, 2, []geo.Kind{geo.KindShootingNonFatal}, 2)
	src := &detect.MemSource{Incidents: append(od, sh...), AreaLayers: benchLayers}
	cfg := detect.DefaultConfig()
	cfg.Seed = 1
	benchRun(b, src, cells, cfg, benchEnd.Add(12*time.Hour))
}

// BenchmarkDailyBaltimoreStore is BenchmarkDailyBaltimore reading from a
// real store, the embedded one and PostGIS (HOTSPOTS_TEST_DATABASE_URL), so
// the figure includes the count queries.
func BenchmarkDailyBaltimoreStore(b *testing.B) {
	city := mustBaltimore(b)
	cells := detect.StudyArea(city, geo.DefaultDetectRes)
	od := synth(b, cells, 3*365, 20, []geo.Kind{geo.KindOverdoseFatal, geo.KindOverdoseNonFatal, geo.KindOverdoseSuspected}, 1)
	sh := synth(b, cells, 3*365, 2, []geo.Kind{geo.KindShootingFatal, geo.KindShootingNonFatal, geo.KindHomicide}, 2)
	incs := append(od, sh...)
	for _, sk := range storeKinds {
		b.Run(sk.name, func(b *testing.B) {
			st := sk.open(b)
			ctx := context.Background()
			for _, l := range benchLayers {
				if err := st.PutLayer(ctx, l, nil); err != nil {
					b.Fatal(err)
				}
			}
			ld, err := st.StartLoad(ctx, "bench")
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < len(incs); i += 2000 {
				if _, err := st.UpsertIncidents(ctx, ld.ID, incs[i:min(i+2000, len(incs))]); err != nil {
					b.Fatal(err)
				}
			}
			cfg := detect.DefaultConfig()
			cfg.Seed = 1
			cfg.Groups[0].Detectors = withoutNearRepeat(detect.AllDetectors)
			cfg.Groups[1].Detectors = detect.AllDetectors
			benchRunSource(b, st, len(incs), cells, cfg, benchEnd.Add(12*time.Hour))
		})
	}
}

func withoutNearRepeat(ds []string) []string {
	var out []string
	for _, d := range ds {
		if d != detect.Knox && d != detect.NearRepeat {
			out = append(out, d)
		}
	}
	return out
}

// stateConfig is one kind group over a synthetic area of days days: every
// default detector with its windows cut to the data (EHSA in whole weeks,
// Knox and the long Gi* and concentration windows over all days).
func stateConfig(days, reps int) detect.Config {
	cfg := detect.DefaultConfig().WithReplications(reps)
	cfg.Seed = 1
	cfg.Groups = []detect.Group{{Name: "incidents", Kinds: []geo.Kind{geo.KindOverdoseNonFatal}, Detectors: detect.DefaultDetectors}}
	cfg.EHSAWeeks = days / 7
	cfg.KnoxDays = days
	cfg.GiStarDays = []int{30, days}
	cfg.ConcentrationDays = []int{30, days}
	return cfg
}

// stateGrid is the disk of radius k resolution-9 cells around a point in
// Maryland: 3k(k+1)+1 cells.
func stateGrid(k int) []geo.Cell {
	c, _ := geo.CellFromPoint(orb.Point{-76.8, 39.0}, geo.DefaultDetectRes)
	cells := c.Disk(k)
	sort.Slice(cells, func(i, j int) bool { return cells[i] < cells[j] })
	return cells
}

// perCellDay is the incident rate of the state grid: 0.002 per cell and
// day, 200 a day on 100,000 cells.
const perCellDay = 0.002

// BenchmarkStateGrid is a state-sized grid: 101,017 resolution-9 cells
// (about 10,600 km2), one year, about 200 incidents a day, every default
// detector with 999 replications.
func BenchmarkStateGrid(b *testing.B) {
	cells := stateGrid(183)
	src := &detect.MemSource{Incidents: synth(b, cells, 365, perCellDay*float64(len(cells)), []geo.Kind{geo.KindOverdoseNonFatal}, 3), AreaLayers: benchLayers}
	benchRun(b, src, cells, stateConfig(365, 999), benchEnd.Add(12*time.Hour))
}

// BenchmarkScaling varies one of cells, days and replications at a time
// around 25,000 cells, 365 days and 999 replications, at a constant rate
// per cell and day, for the scaling table in BENCHMARKS.md.
func BenchmarkScaling(b *testing.B) {
	type point struct {
		k, days, reps int
	}
	var pts []point
	for _, k := range []int{45, 64, 91, 129, 183} { // 6k, 12k, 25k, 50k, 100k cells
		pts = append(pts, point{k, 365, 999})
	}
	for _, d := range []int{91, 182, 730} {
		pts = append(pts, point{91, d, 999})
	}
	for _, r := range []int{99, 249, 499} {
		pts = append(pts, point{91, 365, r})
	}
	for _, p := range pts {
		cells := stateGrid(p.k)
		b.Run(fmt.Sprintf("cells=%d/days=%d/reps=%d", len(cells), p.days, p.reps), func(b *testing.B) {
			src := &detect.MemSource{Incidents: synth(b, cells, p.days, perCellDay*float64(len(cells)), []geo.Kind{geo.KindOverdoseNonFatal}, 4), AreaLayers: benchLayers}
			benchRun(b, src, cells, stateConfig(p.days, p.reps), benchEnd.Add(12*time.Hour))
		})
	}
}

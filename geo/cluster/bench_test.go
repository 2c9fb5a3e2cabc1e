package cluster

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// benchCity builds a study area of H3 resolution-9 cells: the disk of
// radius k around downtown Baltimore, with Poisson daily counts of about
// perDay incidents in total, heavier in a few cells.
func benchCity(b *testing.B, k, days int, perDay float64) ([]geo.Cell, *Cube) {
	b.Helper()
	c0, err := geo.CellFromPoint(orb.Point{-76.6122, 39.2904}, 9)
	if err != nil {
		b.Fatal(err)
	}
	cells := c0.Disk(k)
	cube, err := NewCube(len(cells), days)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	rate := make([]float64, len(cells))
	sum := 0.0
	for i := range rate {
		rate[i] = math.Exp(r.NormFloat64() * 1.2) // skewed, like real incident maps
		sum += rate[i]
	}
	for i := range rate {
		lam := rate[i] / sum * perDay
		for d := range days {
			if n := poissonKnuth(r, lam); n > 0 {
				if err := cube.Add(i, d, n); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	return cells, cube
}

func poissonKnuth(r *rand.Rand, lam float64) int {
	l, k, p := math.Exp(-lam), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func benchScan(b *testing.B, k int, perDay float64) {
	cells, cube := benchCity(b, k, 30, perDay)
	cfg := DefaultConfig()
	zones, err := H3Zones(cells, cfg.Zones, cfg.MaxRadiusM)
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewScanner(cube, zones, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(cells)), "cells")
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanBaltimoreSize: about 8,000 resolution-9 cells (Baltimore's
// analysed area with margin), 30 days, 999 replicates, zones up to 0.75
// mile, at an overdose-like 20 incidents a day.
func BenchmarkScanBaltimoreSize(b *testing.B) { benchScan(b, 51, 20) }

// BenchmarkScanBaltimoreBusy is the same map at 200 incidents a day (all
// 911 calls of a kind, say), where replicates touch most zones.
func BenchmarkScanBaltimoreBusy(b *testing.B) { benchScan(b, 51, 200) }

// BenchmarkScanGrid100k: a synthetic 100,000-cell grid, 30 days, 999
// replicates, at 200 incidents a day.
func BenchmarkScanGrid100k(b *testing.B) { benchScan(b, 182, 200) }

// BenchmarkNewScanner100k is the setup the grid benchmark leaves out:
// expectations, case list and the observed fold.
func BenchmarkNewScanner100k(b *testing.B) {
	cells, cube := benchCity(b, 182, 30, 200)
	cfg := DefaultConfig()
	zones, err := H3Zones(cells, cfg.Zones, cfg.MaxRadiusM)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := NewScanner(cube, zones, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

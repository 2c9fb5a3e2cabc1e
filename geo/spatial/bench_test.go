package spatial

import (
	"math"
	"math/rand/v2"
	"testing"
)

// synthetic builds a resolution-9 H3 disk around Baltimore with about the
// requested number of cells (3k(k+1)+1 cells for radius k), its 1-ring graph
// and a cube of Poisson counts with a hot patch that grows over time.
func synthetic(b *testing.B, radius, steps int) (*Graph, *Cube) {
	b.Helper()
	cells := mustDisk(b, -76.6122, 39.2904, 9, radius)
	g, err := KRing(cells, 1)
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewCube(len(cells), steps)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for t := range steps {
		for i := range cells {
			lambda := 0.3
			if i < 200 { // Disk lists the centre and inner rings first
				lambda += 2 * float64(t) / float64(steps)
			}
			c.Set(t, i, poisson(r, lambda))
		}
	}
	return g, c
}

// poisson draws by inversion, fine for the small rates used here.
func poisson(r *rand.Rand, lambda float64) float64 {
	k, p := 0.0, math.Exp(-lambda)
	cdf, u := p, r.Float64()
	for u > cdf {
		k++
		p *= lambda / k
		cdf += p
	}
	return k
}

// radius57 gives 9,919 cells, radius182 gives 99,919.
const (
	radius10k  = 57
	radius100k = 182
)

func BenchmarkGetisOrd10k(b *testing.B) {
	g, c := synthetic(b, radius10k, 1)
	for b.Loop() {
		if _, err := GetisOrd(g, c.Step(0)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetisOrd100k(b *testing.B) {
	g, c := synthetic(b, radius100k, 1)
	for b.Loop() {
		if _, err := GetisOrd(g, c.Step(0)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKRing100k(b *testing.B) {
	cells := mustDisk(b, -76.6122, 39.2904, 9, radius100k)
	for b.Loop() {
		if _, err := KRing(cells, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSpaceTimeGiStar10kx156(b *testing.B) {
	g, c := synthetic(b, radius10k, 156)
	opt := DefaultEHSAOptions().SpaceTime
	for b.Loop() {
		if _, err := SpaceTimeGiStar(g, c, opt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEHSA10kx156 is the sizing target: three years of weekly counts on
// a city-sized resolution-9 grid, ArcGIS defaults (FDR over 1.5M bins).
func BenchmarkEHSA10kx156(b *testing.B) {
	g, c := synthetic(b, radius10k, 156)
	opt := DefaultEHSAOptions()
	for b.Loop() {
		if _, err := EmergingHotSpots(g, c, opt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEHSA100kx52(b *testing.B) {
	g, c := synthetic(b, radius100k, 52)
	opt := DefaultEHSAOptions()
	for b.Loop() {
		if _, err := EmergingHotSpots(g, c, opt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGiStarPermutation10k(b *testing.B) {
	g, c := synthetic(b, radius10k, 1)
	for b.Loop() {
		if _, err := GiStarPermutation(g, c.Step(0), PermOptions{NSim: 999, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

package areas

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"hotspots/geo"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustAssigner(tb testing.TB, opts ...Option) *Assigner {
	tb.Helper()
	_, ls := MustBaltimore(tb)
	var layers []geo.AreaLayer
	byID := map[string][]geo.Area{}
	for _, l := range ls {
		layers = append(layers, l.AreaLayer)
		byID[l.ID] = l.Areas
	}
	return NewAssigner(layers, byID, opts...)
}

// TestAssignerMatchesBruteForce checks the grid index against testing every
// polygon of every layer with orb's own point-in-polygon, on random points
// over and around the city.
func TestAssignerMatchesBruteForce(t *testing.T) {
	_, ls := MustBaltimore(t)
	as := mustAssigner(t, WithToleranceM(0))
	rng := rand.New(rand.NewPCG(1, 2))
	b := ls["city"].Areas[0].Geometry.Bound().Pad(0.01)
	d := day("2020-06-01")
	bounds := map[string][]orb.Bound{}
	for id, l := range ls {
		for _, a := range l.Areas {
			bounds[id] = append(bounds[id], a.Geometry.Bound())
		}
	}
	for range 2000 {
		p := orb.Point{
			b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]),
			b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1]),
		}
		got := as.Assign(p, d)
		for id, l := range ls {
			if id == "police_district_2023" {
				continue // not valid on d
			}
			want := ""
			for i, a := range l.Areas {
				if bounds[id][i].Contains(p) && planar.MultiPolygonContains(a.Geometry, p) {
					want = a.Code
					break
				}
			}
			if got[id] != want {
				t.Fatalf("%v layer %s: got %q, brute force %q", p, id, got[id], want)
			}
		}
	}
}

func TestAssignKnownPlaces(t *testing.T) {
	as := mustAssigner(t)
	tests := []struct {
		name  string
		p     orb.Point
		day   string
		layer string
		want  string
	}{
		{"city hall neighborhood", orb.Point{-76.6107, 39.2910}, "2020-01-01", "neighborhood_2010", "downtown"},
		{"city hall council", orb.Point{-76.6107, 39.2910}, "2020-01-01", "council_district_2012", "11"},
		{"city hall police", orb.Point{-76.6107, 39.2910}, "2020-01-01", "police_district_pre2023", "central"},
		{"camden yards 2010", orb.Point{-76.6220, 39.2840}, "2020-01-01", "neighborhood_2010", "stadium-area"},
		{"camden yards 2020", orb.Point{-76.6220, 39.2840}, "2020-01-01", "neighborhood_2020", "stadium-entertainment-area"},
		{"hopkins before redraw", orb.Point{-76.5927, 39.2963}, "2023-07-08", "police_district_pre2023", "eastern"},
		{"hopkins after redraw", orb.Point{-76.5927, 39.2963}, "2023-07-09", "police_district_2023", "southeastern"},
		{"redraw day has no old district", orb.Point{-76.5927, 39.2963}, "2023-07-09", "police_district_pre2023", ""},
		{"day before redraw has no new district", orb.Point{-76.5927, 39.2963}, "2023-07-08", "police_district_2023", ""},
		{"city layer", orb.Point{-76.5927, 39.2963}, "2023-07-08", "city", "baltimore-city"},
		{"outside the city", orb.Point{-76.5, 39.2}, "2020-01-01", "city", ""},
		// Points of Najera's file on the city line or the water edge, in no
		// CSA polygon, get the nearest CSA: the one the author gave them.
		{"900 HULL ST water edge", orb.Point{-76.590178, 39.275521}, "2010-05-08", "csa_2010", "south-baltimore"},
		{"5500 GWYNN OAK AVE city line", orb.Point{-76.71139, 39.327268}, "2006-03-02", "csa_2010", "howard-park-west-arlington"},
		{"500 CASTLE DR northern line", orb.Point{-76.60739, 39.372105}, "2008-08-07", "csa_2010", "chinquapin-park-belvedere"},
		{"1500 S EDGEWOOD ST", orb.Point{-76.6700617, 39.259818}, "2005-03-07", "csa_2010", "morrell-park-violetville"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := as.Assign(tt.p, day(tt.day))
			if got[tt.layer] != tt.want {
				t.Errorf("Assign(%v, %s)[%s] = %q, want %q (all %v)", tt.p, tt.day, tt.layer, got[tt.layer], tt.want, got)
			}
		})
	}
}

// TestToleranceOff: without the tolerance, the boundary points of Najera's
// file fall in no CSA, as its README says.
func TestToleranceOff(t *testing.T) {
	as := mustAssigner(t, WithToleranceM(0))
	for _, p := range []orb.Point{{-76.590178, 39.275521}, {-76.71139, 39.327268}, {-76.60739, 39.372105}, {-76.6700617, 39.259818}} {
		if got, ok := as.Assign(p, day("2010-01-01"))["csa_2010"]; ok {
			t.Errorf("%v: assigned %q with tolerance 0", p, got)
		}
	}
}

// TestSharedEdgeCountsOnce: a point on the edge two squares share belongs to
// exactly one of them.
func TestSharedEdgeCountsOnce(t *testing.T) {
	sq := func(x0 float64) orb.MultiPolygon {
		return orb.MultiPolygon{{{{x0, 0}, {x0 + 1, 0}, {x0 + 1, 1}, {x0, 1}, {x0, 0}}}}
	}
	areas := []geo.Area{{Code: "a", Geometry: sq(0)}, {Code: "b", Geometry: sq(1)}}
	as := NewAssigner([]geo.AreaLayer{{ID: "l"}}, map[string][]geo.Area{"l": areas}, WithToleranceM(0))
	for _, y := range []float64{0.25, 0.5, 0.75} {
		got := as.Assign(orb.Point{1, y}, day("2020-01-01"))
		if len(got) != 1 {
			t.Errorf("point on shared edge at y=%v: %v", y, got)
		}
	}
	if got := as.Assign(orb.Point{0.5, 0.5}, day("2020-01-01"))["l"]; got != "a" {
		t.Errorf("inside a: %q", got)
	}
}

func TestAssignerResolve(t *testing.T) {
	as := mustAssigner(t)
	if code, ok := as.Resolve("csa_2010", "Greater Govans"); !ok || code != "greater-govans" {
		t.Errorf("Resolve csa = %q %v", code, ok)
	}
	if _, ok := as.Resolve("no_layer", "Greater Govans"); ok {
		t.Error("resolved in an unknown layer")
	}
}

func BenchmarkAssign(b *testing.B) {
	_, ls := MustBaltimore(b)
	as := mustAssigner(b)
	rng := rand.New(rand.NewPCG(3, 4))
	city := ls["city"].Areas[0].Geometry
	bd := city.Bound()
	var pts []orb.Point
	for len(pts) < 4096 { // points in the city, as incidents are
		p := orb.Point{bd.Min[0] + rng.Float64()*(bd.Max[0]-bd.Min[0]), bd.Min[1] + rng.Float64()*(bd.Max[1]-bd.Min[1])}
		if planar.MultiPolygonContains(city, p) {
			pts = append(pts, p)
		}
	}
	d := day("2020-01-01")
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		as.Assign(pts[i%len(pts)], d)
	}
}

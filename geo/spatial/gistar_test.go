package spatial

import (
	"math"
	"testing"

	"hotspots/geo"
	"hotspots/geo/internal/oracle"
)

func checkGi(t *testing.T, f *fixture, got []LocalG, rows []oracle.Row) {
	t.Helper()
	if len(rows) != len(got) {
		t.Fatalf("%d oracle rows for %d cells", len(rows), len(got))
	}
	for _, r := range rows {
		g := got[f.pos(t, r["cell_id"])]
		if g.Neighbours != r.Int(t, "n_neighbours") {
			t.Errorf("%s n_neighbours = %d, want %s", r["cell_id"], g.Neighbours, r["n_neighbours"])
		}
		if r.Int(t, "n") != len(got) {
			t.Errorf("n = %d, oracle %s", len(got), r["n"])
		}
		want(t, r, "value", g.Value)
		want(t, r, "lag_star", g.Lag)
		want(t, r, "W_star", g.W)
		want(t, r, "S1_star", g.S1)
		want(t, r, "G_star", g.G)
		want(t, r, "EG_star", g.EG)
		want(t, r, "VG_star", g.VG)
		want(t, r, "z_gstar", g.Z)
		wantP(t, r, "p_gstar", g.P)
		want(t, r, "z_gi", g.ZGi)
		wantP(t, r, "p_gi", g.PGi)
	}
}

func TestGetisOrdOracle(t *testing.T) {
	for _, dir := range oracle.Dirs(t) {
		f := loadFixture(t, dir)
		for _, k := range []string{"k1", "k2"} {
			t.Run(oracle.Name(dir)+"/"+k, func(t *testing.T) {
				g := f.graph(t, "edges_"+k+".csv")
				got, err := GetisOrd(g, f.values)
				if err != nil {
					t.Fatal(err)
				}
				checkGi(t, f, got, oracle.Read(t, dir, "gistar_"+k+".csv").Rows)
			})
		}
	}
}

// TestGetisOrdCubeOracle checks the per-day Gi* of the whole cube, internals
// included, one day at a time.
func TestGetisOrdCubeOracle(t *testing.T) {
	for _, dir := range oracle.Dirs(t) {
		t.Run(oracle.Name(dir), func(t *testing.T) {
			f := loadFixture(t, dir)
			g := f.graph(t, "edges_k1.csv")
			c := f.cube(t)
			byDay := map[int][]oracle.Row{}
			for _, r := range oracle.Read(t, dir, "gistar_cube_k1.csv").Rows {
				byDay[r.Int(t, "day")] = append(byDay[r.Int(t, "day")], r)
			}
			if len(byDay) != c.Steps() {
				t.Fatalf("%d oracle days, cube has %d", len(byDay), c.Steps())
			}
			for day, rows := range byDay {
				got, err := GetisOrd(g, c.Step(day-1))
				if err != nil {
					t.Fatal(err)
				}
				checkGi(t, f, got, rows)
			}
		})
	}
}

// TestGetisOrdIdentities checks properties the README lists: the isolate's
// Gi* is (x - xbar)/s, and a constant field has no z-score.
func TestGetisOrdIdentities(t *testing.T) {
	g, err := NewGraph(4, []Edge{{0, 1}, {1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{1, 4, 2, 9}
	got, err := GetisOrd(g, x)
	if err != nil {
		t.Fatal(err)
	}
	mean, s := 4.0, math.Sqrt((9+0+4+25)/4.0)
	if z := got[3].Z; math.Abs(z-(9-mean)/s) > 1e-12 {
		t.Errorf("isolate z = %g, want %g", z, (9-mean)/s)
	}
	if !math.IsNaN(got[3].ZGi) {
		t.Errorf("isolate Gi z = %g, want NaN", got[3].ZGi)
	}
	flat, err := GetisOrd(g, []float64{0.1, 0.1, 0.1, 0.1})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range flat {
		if !math.IsNaN(r.Z) || !math.IsNaN(r.ZGi) || !math.IsNaN(r.P) {
			t.Errorf("constant field cell %d: z = %g, gi = %g, p = %g, want NaN", i, r.Z, r.ZGi, r.P)
		}
	}
}

func TestGetisOrdInvalid(t *testing.T) {
	g, _ := NewGraph(3, nil)
	tests := []struct {
		name string
		x    []float64
	}{
		{"short", []float64{1, 2}},
		{"NaN", []float64{1, math.NaN(), 2}},
		{"Inf", []float64{1, math.Inf(1), 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := GetisOrd(g, tt.x); geo.ErrorCode(err) != geo.EINVALID {
				t.Errorf("err = %v, want EINVALID", err)
			}
		})
	}
}

package spatial

import (
	"math"
	"testing"

	"hotspots/geo/internal/oracle"
)

// fixture is one oracle folder read into the shapes the detectors take.
type fixture struct {
	dir   string
	ids   []string       // nodes.csv order: defines n and the cell order
	index map[string]int // cell id -> position
	// values is values.csv in node order (the snapshot).
	values []float64
}

func loadFixture(t *testing.T, dir string) *fixture {
	t.Helper()
	f := &fixture{dir: dir, index: map[string]int{}}
	for i, r := range oracle.Read(t, dir, "nodes.csv").Rows {
		f.ids = append(f.ids, r["cell_id"])
		f.index[r["cell_id"]] = i
	}
	f.values = make([]float64, len(f.ids))
	seen := 0
	for _, r := range oracle.Read(t, dir, "values.csv").Rows {
		f.values[f.pos(t, r["cell_id"])] = r.Float(t, "value")
		seen++
	}
	if seen != len(f.ids) {
		t.Fatalf("%s: values.csv has %d rows for %d cells", dir, seen, len(f.ids))
	}
	return f
}

func (f *fixture) pos(t *testing.T, id string) int {
	t.Helper()
	i, ok := f.index[id]
	if !ok {
		t.Fatalf("%s: unknown cell %q", f.dir, id)
	}
	return i
}

// graph reads edges_k<k>.csv into a Graph over the fixture's nodes.
func (f *fixture) graph(t *testing.T, name string) *Graph {
	t.Helper()
	var edges [][2]string
	for _, r := range oracle.Read(t, f.dir, name).Rows {
		edges = append(edges, [2]string{r["from"], r["to"]})
	}
	g, err := FromEdgeList(f.ids, edges)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return g
}

// cube reads cube.csv as a space-time cube (days 1..T, cells in node order).
func (f *fixture) cube(t *testing.T) *Cube {
	t.Helper()
	rows := oracle.Read(t, f.dir, "cube.csv").Rows
	steps := 0
	for _, r := range rows {
		steps = max(steps, r.Int(t, "day"))
	}
	c, err := NewCube(len(f.ids), steps)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		c.Set(r.Int(t, "day")-1, f.pos(t, r["cell_id"]), r.Float(t, "count"))
	}
	return c
}

// want compares got with an oracle column at the deterministic-double
// tolerance (1e-9 relative, NaN positions identical).
func want(t *testing.T, r oracle.Row, col string, got float64) {
	t.Helper()
	if w := r.Float(t, col); !oracle.Close(got, w, 1e-9) {
		t.Errorf("%s %s = %.17g, want %.17g", r["cell_id"], col, got, w)
	}
}

// wantP compares a normal-tail p-value at relative 1e-7.
func wantP(t *testing.T, r oracle.Row, col string, got float64) {
	t.Helper()
	if w := r.Float(t, col); !oracle.RelClose(got, w, 1e-7) {
		t.Errorf("%s %s = %.17g, want %.17g", r["cell_id"], col, got, w)
	}
}

// wantNA checks a value the oracle writes as NA (no value) is NaN in Go.
func wantNA(t *testing.T, r oracle.Row, col string, got float64) {
	t.Helper()
	if r.NA(col) {
		if !math.IsNaN(got) {
			t.Errorf("%s %s = %g, want NA", r["cell_id"], col, got)
		}
		return
	}
	want(t, r, col, got)
}

package indicator

import (
	"math"
	"math/rand/v2"
	"testing"
)

// hidden lists the hidden entries of the extended table as (row, col), the
// totals at row len(cells) and column len(cells[0]).
func hidden(m Mask) [][2]int {
	var out [][2]int
	r, c := len(m.Cells), len(m.Cols)
	for i := range r {
		for j := range c {
			if m.Cells[i][j] {
				out = append(out, [2]int{i, j})
			}
		}
		if m.Rows[i] {
			out = append(out, [2]int{i, c})
		}
	}
	for j := range c {
		if m.Cols[j] {
			out = append(out, [2]int{r, j})
		}
	}
	if m.Grand {
		out = append(out, [2]int{r, c})
	}
	return out
}

// derivable reports which hidden entries are determined by the published
// ones, by linear algebra independent of the graph argument Suppress uses:
// entry k is determined iff the unit vector e_k lies in the row space of
// the constraints restricted to hidden entries (rank does not grow when
// e_k is added).
func derivable(r, c int, hid [][2]int) []bool {
	idx := map[[2]int]int{}
	for k, h := range hid {
		idx[h] = k
	}
	var rows [][]float64
	// extended row i: sum_j<c x[i][j] - x[i][c] = 0; column likewise.
	for i := 0; i <= r; i++ {
		eq := make([]float64, len(hid))
		for j := 0; j <= c; j++ {
			if k, ok := idx[[2]int{i, j}]; ok {
				if j == c {
					eq[k] = -1
				} else {
					eq[k] = 1
				}
			}
		}
		rows = append(rows, eq)
	}
	for j := 0; j <= c; j++ {
		eq := make([]float64, len(hid))
		for i := 0; i <= r; i++ {
			if k, ok := idx[[2]int{i, j}]; ok {
				if i == r {
					eq[k] = -1
				} else {
					eq[k] = 1
				}
			}
		}
		rows = append(rows, eq)
	}
	base := rank(rows)
	out := make([]bool, len(hid))
	for k := range hid {
		e := make([]float64, len(hid))
		e[k] = 1
		out[k] = rank(append(clone(rows), e)) == base
	}
	return out
}

func clone(m [][]float64) [][]float64 {
	out := make([][]float64, len(m))
	for i := range m {
		out[i] = append([]float64(nil), m[i]...)
	}
	return out
}

func rank(m [][]float64) int {
	m = clone(m)
	rk := 0
	if len(m) == 0 {
		return 0
	}
	for col := 0; col < len(m[0]) && rk < len(m); col++ {
		p := rk
		for i := rk; i < len(m); i++ {
			if math.Abs(m[i][col]) > math.Abs(m[p][col]) {
				p = i
			}
		}
		if math.Abs(m[p][col]) < 1e-9 {
			continue
		}
		m[rk], m[p] = m[p], m[rk]
		for i := range m {
			if i != rk && m[i][col] != 0 {
				f := m[i][col] / m[rk][col]
				for j := col; j < len(m[i]); j++ {
					m[i][j] -= f * m[rk][j]
				}
			}
		}
		rk++
	}
	return rk
}

// TestSuppressNothingDerivable runs the rule on many random tables full of
// small counts and checks, with the independent linear-algebra test, that
// no hidden entry is determined, that every small entry is hidden and that
// zeros are only ever hidden as complements.
func TestSuppressNothingDerivable(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const below = 11
	for trial := range 400 {
		r, c := 1+rng.IntN(7), 1+rng.IntN(6)
		cells := make([][]int, r)
		for i := range cells {
			cells[i] = make([]int, c)
			for j := range cells[i] {
				switch rng.IntN(4) {
				case 0:
					cells[i][j] = 0
				case 1:
					cells[i][j] = 1 + rng.IntN(3)
				case 2:
					cells[i][j] = 1 + rng.IntN(15)
				default:
					cells[i][j] = rng.IntN(60)
				}
			}
		}
		m := Suppress(cells, below)
		ext := newExtTable(cells)
		hid := hidden(m)
		isHidden := map[[2]int]bool{}
		for _, h := range hid {
			isHidden[h] = true
		}
		for i := 0; i <= r; i++ {
			for j := 0; j <= c; j++ {
				if v := ext.v[i][j]; v >= 1 && v < below && !isHidden[[2]int{i, j}] {
					t.Fatalf("trial %d: entry (%d,%d) = %d shown; table %v", trial, i, j, v, cells)
				}
			}
		}
		for k, d := range derivable(r, c, hid) {
			if d {
				h := hid[k]
				t.Fatalf("trial %d: hidden entry %v = %d is derivable; table %v, hidden %v", trial, h, ext.v[h[0]][h[1]], cells, hid)
			}
		}
	}
}

func TestSuppressExamples(t *testing.T) {
	tests := []struct {
		name   string
		cells  [][]int
		hidden int // number of hidden entries, totals included
		check  func(Mask) bool
	}{
		{"nothing small", [][]int{{12, 40}, {0, 25}}, 0, nil},
		// One small cell in a column: the next-smallest non-zero cell of the
		// column (12, not the 0 or the 40) goes with it, and so on through
		// rows until every group hides 0 or 2+ entries.
		{"one small cell", [][]int{{3, 40}, {12, 25}, {0, 30}}, 4, func(m Mask) bool {
			return m.Cells[0][0] && m.Cells[1][0] && m.Cells[0][1] && m.Cells[1][1] && !m.Cells[2][0]
		}},
		{"small total hides its only non-zero cell", [][]int{{4, 0}, {20, 30}}, -1, func(m Mask) bool {
			return m.Cells[0][0] && m.Rows[0]
		}},
		{"single column", [][]int{{2}, {50}, {60}}, -1, func(m Mask) bool {
			return m.Cells[0][0] && m.Rows[0] && m.Cells[1][0] && m.Rows[1]
		}},
		{"suppression off", [][]int{{1, 2}, {3, 4}}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			below := 11
			if tt.name == "suppression off" {
				below = 0
			}
			m := Suppress(tt.cells, below)
			hid := hidden(m)
			if tt.hidden >= 0 && len(hid) != tt.hidden {
				t.Errorf("hidden %v, want %d entries", hid, tt.hidden)
			}
			if tt.check != nil && !tt.check(m) {
				t.Errorf("mask %+v", m)
			}
			for k, d := range derivable(len(tt.cells), len(tt.cells[0]), hid) {
				if d {
					t.Errorf("hidden %v derivable", hid[k])
				}
			}
		})
	}
}

// TestDerivableDetectsLeaks makes sure the oracle itself can fail: one
// hidden cell in a published row is derivable, and so is a bridge between
// two hidden rectangles.
func TestDerivableDetectsLeaks(t *testing.T) {
	if d := derivable(2, 2, [][2]int{{0, 0}}); !d[0] {
		t.Error("single hidden cell not derivable")
	}
	// Two 2x2 cycles (rows 0-1 x cols 0-1, rows 2-3 x cols 2-3) joined by the
	// bridge (1, 2).
	hid := [][2]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {2, 2}, {2, 3}, {3, 2}, {3, 3}, {1, 2}}
	d := derivable(4, 4, hid)
	if !d[8] || d[0] {
		t.Errorf("bridge derivable %v, cycle cell derivable %v", d[8], d[0])
	}
}

// TestBridgeRuleNeeded: on this table the group rule alone leaves a hidden
// value derivable across rows and columns; the bridge rule closes it.
func TestBridgeRuleNeeded(t *testing.T) {
	cells := [][]int{{27, 28, 23, 1}, {4, 1, 15, 25}, {20, 20, 16, 8}, {19, 2, 24, 13}, {8, 19, 24, 20}}
	ext := newExtTable(cells)
	for i := range ext.v {
		for j, v := range ext.v[i] {
			ext.s[i][j] = v >= 1 && v < 11
		}
	}
	for ext.groupRule() {
	}
	var groupOnly [][2]int
	for i := range ext.s {
		for j, s := range ext.s[i] {
			if s {
				groupOnly = append(groupOnly, [2]int{i, j})
			}
		}
	}
	leak := false
	for _, d := range derivable(5, 4, groupOnly) {
		leak = leak || d
	}
	if !leak {
		t.Fatal("test table no longer needs the bridge rule")
	}
	hid := hidden(Suppress(cells, 11))
	for k, d := range derivable(5, 4, hid) {
		if d {
			t.Errorf("hidden %v derivable after Suppress", hid[k])
		}
	}
}

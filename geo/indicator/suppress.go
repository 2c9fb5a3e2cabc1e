package indicator

// Mask says which entries of a count table public output must hide: the
// cells, the row totals, the column totals and the grand total.
type Mask struct {
	Cells [][]bool
	Rows  []bool
	Cols  []bool
	Grand bool
}

// Suppress decides which entries of a table of counts (rows = areas,
// columns = periods) are withheld from public callers, given that the
// row totals, the column totals (the city totals) and the grand total are
// published beside the cells.
//
// The rule:
//
//  1. Primary suppression: every entry, total or cell, from 1 to below
//     (exclusive) is hidden. Zeros are shown: they identify no one.
//  2. Complementary suppression, within a group: a row with its total, or a
//     column with its total, that hides exactly one entry would give it
//     away by subtraction, so the next-smallest entry of that group is
//     hidden too (preferring non-zero entries; lowest index on ties).
//     Repeated until no group hides exactly one entry.
//  3. Complementary suppression, across groups: a hidden entry can still be
//     derived by combining rows and columns. Viewing hidden entries as the
//     edges of a graph between rows and columns (totals included as a row
//     and a column), a hidden value is determined exactly when its edge is
//     a bridge, that is on no cycle. For each bridge the smallest entry that
//     joins the two sides it separates is hidden, closing a cycle.
//
// After this no hidden value can be recovered exactly from the published
// ones by any combination of sums and differences. What the rule does not
// remove: bounds (every hidden entry is known to be at least 1, or 0 for a
// complementary zero) and differences between separate requests (a month
// and its quarter, one kind and its family), which the methods page notes.
func Suppress(cells [][]int, below int) Mask {
	t := newExtTable(cells)
	m := Mask{Cells: make([][]bool, t.r), Rows: make([]bool, t.r), Cols: make([]bool, t.c)}
	if below <= 1 {
		for i := range m.Cells {
			m.Cells[i] = make([]bool, t.c)
		}
		return m
	}
	for i := range t.v {
		for j, v := range t.v[i] {
			t.s[i][j] = v >= 1 && v < below
		}
	}
	// Group rule to a fixed point first (cheap), then one bridge at a time.
	for changed := true; changed; {
		changed = t.groupRule() || t.bridgeRule()
	}
	for i := range t.r {
		m.Cells[i] = t.s[i][:t.c]
		m.Rows[i] = t.s[i][t.c]
	}
	copy(m.Cols, t.s[t.r][:t.c])
	m.Grand = t.s[t.r][t.c]
	return m
}

// extTable is the table extended with its totals: row r and column c hold
// the column and row totals, (r, c) the grand total. Every extended row and
// column is then one linear group.
type extTable struct {
	r, c int
	v    [][]int
	s    [][]bool
}

func newExtTable(cells [][]int) *extTable {
	t := &extTable{r: len(cells)}
	if t.r > 0 {
		t.c = len(cells[0])
	}
	t.v = make([][]int, t.r+1)
	t.s = make([][]bool, t.r+1)
	for i := range t.v {
		t.v[i] = make([]int, t.c+1)
		t.s[i] = make([]bool, t.c+1)
	}
	for i, row := range cells {
		for j, v := range row {
			t.v[i][j] = v
			t.v[i][t.c] += v
			t.v[t.r][j] += v
			t.v[t.r][t.c] += v
		}
	}
	return t
}

// better reports whether entry (i, j) is a better complement than (bi, bj):
// non-zero first, then smaller, then lower index.
func (t *extTable) better(i, j, bi, bj int) bool {
	if bi < 0 {
		return true
	}
	a, b := t.v[i][j], t.v[bi][bj]
	if (a == 0) != (b == 0) {
		return a != 0
	}
	return a < b
}

// groupRule applies rule 2 once over every group; it reports a change.
func (t *extTable) groupRule() bool {
	changed := false
	for i := 0; i <= t.r; i++ {
		n, bj := 0, -1
		for j := 0; j <= t.c; j++ {
			if t.s[i][j] {
				n++
			} else if bj < 0 || t.better(i, j, i, bj) {
				bj = j
			}
		}
		if n == 1 && bj >= 0 {
			t.s[i][bj], changed = true, true
		}
	}
	for j := 0; j <= t.c; j++ {
		n, bi := 0, -1
		for i := 0; i <= t.r; i++ {
			if t.s[i][j] {
				n++
			} else if bi < 0 || t.better(i, j, bi, j) {
				bi = i
			}
		}
		if n == 1 && bi >= 0 {
			t.s[bi][j], changed = true, true
		}
	}
	return changed
}

// bridgeRule applies rule 3 to one bridge; it reports a change.
func (t *extTable) bridgeRule() bool {
	g := t.graph()
	bi, bj, ok := g.bridge()
	if !ok {
		return false
	}
	side := g.sides(bi, t.r+1+bj)
	ci, cj := -1, -1
	for i := 0; i <= t.r; i++ {
		for j := 0; j <= t.c; j++ {
			if t.s[i][j] {
				continue
			}
			ri, cj2 := side[i], side[t.r+1+j]
			if ri != 0 && cj2 != 0 && ri != cj2 && (ci < 0 || t.better(i, j, ci, cj)) {
				ci, cj = i, j
			}
		}
	}
	if ci < 0 {
		return false // cannot happen: both sides hold a row and a column
	}
	t.s[ci][cj] = true
	return true
}

// graph is the bipartite graph of hidden entries: nodes 0..r are extended
// rows, r+1..r+1+c extended columns.
type graph struct {
	adj  [][]edge
	rows int // nodes before this index are rows
}

type edge struct{ to, id int }

func (t *extTable) graph() *graph {
	g := &graph{adj: make([][]edge, t.r+t.c+2), rows: t.r + 1}
	id := 0
	for i := 0; i <= t.r; i++ {
		for j := 0; j <= t.c; j++ {
			if t.s[i][j] {
				a, b := i, t.r+1+j
				g.adj[a] = append(g.adj[a], edge{b, id})
				g.adj[b] = append(g.adj[b], edge{a, id})
				id++
			}
		}
	}
	return g
}

// bridge returns the extended row and column of the first bridge found, by
// Tarjan's low-link depth-first search.
func (g *graph) bridge() (row, col int, ok bool) {
	n := len(g.adj)
	disc, low := make([]int, n), make([]int, n)
	timer := 0
	var found [2]int
	var dfs func(u, parentEdge int) bool
	dfs = func(u, parentEdge int) bool {
		timer++
		disc[u], low[u] = timer, timer
		for _, e := range g.adj[u] {
			if e.id == parentEdge {
				continue
			}
			if disc[e.to] == 0 {
				if dfs(e.to, e.id) {
					return true
				}
				low[u] = min(low[u], low[e.to])
				if low[e.to] > disc[u] {
					found = [2]int{u, e.to}
					return true
				}
			} else {
				low[u] = min(low[u], disc[e.to])
			}
		}
		return false
	}
	for u := range n {
		if disc[u] == 0 && len(g.adj[u]) > 0 && dfs(u, -1) {
			r, c := found[0], found[1]
			if r > c {
				r, c = c, r
			}
			return r, c - g.rows, true
		}
	}
	return 0, 0, false
}

// sides labels the nodes reachable from a without crossing the bridge a-b
// with 1, those reachable from b with 2, and the rest 0.
func (g *graph) sides(a, b int) []int {
	side := make([]int, len(g.adj))
	for label, start := range []int{a, b} {
		side[start] = label + 1
		stack := []int{start}
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, e := range g.adj[u] {
				if (u == a && e.to == b) || (u == b && e.to == a) || side[e.to] != 0 {
					continue
				}
				side[e.to] = label + 1
				stack = append(stack, e.to)
			}
		}
	}
	return side
}

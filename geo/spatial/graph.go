package spatial

import (
	"math"
	"slices"

	"hotspots/geo"
)

// Graph is a binary spatial-weights graph over an explicit, ordered list of
// study cells: w_ij = 1 when j is a neighbour of i, 0 otherwise. It is
// undirected (an edge listed once counts both ways), has no self-loops (Gi*
// adds the cell itself where its definition asks for it) and may contain
// isolates, which every statistic handles explicitly.
//
// Neighbours are stored in compressed rows, sorted ascending, so a spatial lag
// is one pass over a contiguous slice.
type Graph struct {
	off []int32 // row i is adj[off[i]:off[i+1]]
	adj []int32
}

// Edge is one adjacency between cells i and j, given by their index in the
// study-cell list.
type Edge struct{ I, J int }

// NewGraph builds a graph over n cells from an edge list. Self-loops are
// ignored, duplicates are merged and each edge is used in both directions,
// as the oracle's lib.R read_graph does.
func NewGraph(n int, edges []Edge) (*Graph, error) {
	if n < 0 || n > math.MaxInt32 {
		return nil, geo.Errorf(geo.EINVALID, "graph: %d cells out of range", n)
	}
	deg := make([]int32, n+1)
	for _, e := range edges {
		if e.I < 0 || e.I >= n || e.J < 0 || e.J >= n {
			return nil, geo.Errorf(geo.EINVALID, "graph: edge (%d,%d) outside 0..%d", e.I, e.J, n-1)
		}
		if e.I != e.J {
			deg[e.I]++
			deg[e.J]++
		}
	}
	off := make([]int32, n+1)
	for i := 0; i < n; i++ {
		off[i+1] = off[i] + deg[i]
	}
	adj := make([]int32, off[n])
	fill := slices.Clone(off[:n])
	for _, e := range edges {
		if e.I != e.J {
			adj[fill[e.I]] = int32(e.J)
			fill[e.I]++
			adj[fill[e.J]] = int32(e.I)
			fill[e.J]++
		}
	}
	// sort and de-duplicate each row in place, then compact
	g := &Graph{off: make([]int32, n+1), adj: adj[:0]}
	for i := 0; i < n; i++ {
		row := adj[off[i]:off[i+1]]
		slices.Sort(row)
		row = slices.Compact(row)
		g.adj = append(g.adj, row...) // never overtakes the read position
		g.off[i+1] = int32(len(g.adj))
	}
	g.adj = slices.Clip(g.adj)
	return g, nil
}

// FromEdgeList builds a graph whose study cells are nodes, in that order, from
// edges given by node key (the oracle's nodes.csv/edges_k*.csv, or any keyed
// adjacency). Duplicate nodes and edges naming unknown nodes are EINVALID.
func FromEdgeList[K comparable](nodes []K, edges [][2]K) (*Graph, error) {
	idx, err := indexOf(nodes)
	if err != nil {
		return nil, err
	}
	es := make([]Edge, len(edges))
	for k, e := range edges {
		i, ok1 := idx[e[0]]
		j, ok2 := idx[e[1]]
		if !ok1 || !ok2 {
			return nil, geo.Errorf(geo.EINVALID, "graph: edge %v-%v names a cell outside the study area", e[0], e[1])
		}
		es[k] = Edge{i, j}
	}
	return NewGraph(len(nodes), es)
}

func indexOf[K comparable](nodes []K) (map[K]int, error) {
	idx := make(map[K]int, len(nodes))
	for i, c := range nodes {
		if _, dup := idx[c]; dup {
			return nil, geo.Errorf(geo.EINVALID, "graph: cell %v listed twice", c)
		}
		idx[c] = i
	}
	return idx, nil
}

// KRing builds the graph in which two study cells are neighbours when their
// H3 grid distance is 1..k: the gridDisk(k) of each cell without the cell
// itself, restricted to the study cells. Cells must be valid, distinct and of
// one resolution, because a k-ring only relates cells of equal size.
func KRing(cells []geo.Cell, k int) (*Graph, error) {
	if k < 1 {
		return nil, geo.Errorf(geo.EINVALID, "graph: k-ring size %d, want >= 1", k)
	}
	idx, err := checkCells(cells)
	if err != nil {
		return nil, err
	}
	var edges []Edge
	for i, c := range cells {
		for _, d := range c.Disk(k) {
			if j, ok := idx[d]; ok && j > i {
				edges = append(edges, Edge{i, j})
			}
		}
	}
	return NewGraph(len(cells), edges)
}

// checkCells validates a study-cell list and indexes it.
func checkCells(cells []geo.Cell) (map[geo.Cell]int, error) {
	for i, c := range cells {
		if !c.Valid() {
			return nil, geo.Errorf(geo.EINVALID, "graph: cell %d (%s) is not a valid H3 cell", i, c)
		}
		if c.Res() != cells[0].Res() {
			return nil, geo.Errorf(geo.EINVALID, "graph: cell %s has resolution %d, cell %s has %d",
				c, c.Res(), cells[0], cells[0].Res())
		}
	}
	return indexOf(cells)
}

// N is the number of study cells, the n of every statistic.
func (g *Graph) N() int { return len(g.off) - 1 }

// Neighbours returns the neighbours of cell i in ascending order. The slice
// belongs to the graph and must not be modified.
func (g *Graph) Neighbours(i int) []int32 { return g.adj[g.off[i]:g.off[i+1]] }

// Degree is the number of neighbours of cell i, the cell itself excluded.
func (g *Graph) Degree(i int) int { return int(g.off[i+1] - g.off[i]) }

// Edges is the number of undirected edges.
func (g *Graph) Edges() int { return len(g.adj) / 2 }

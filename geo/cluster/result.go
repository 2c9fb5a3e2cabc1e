package cluster

import (
	"cmp"
	"math"
	"slices"
	"sort"
)

// Cylinder is one candidate cluster of a prospective scan: a zone of cells
// times a window of the last Window days.
type Cylinder struct {
	Zone    int // zone id in the scan's Zones
	Center  int // cell index of the zone centre
	K       int // ring size, -1 for circular zones
	RadiusM float64
	Size    int // cells in the zone
	Window  int // days
	// StartDay and EndDay are the cube day indices of the window, both
	// inclusive; EndDay is always the last day of the cube.
	StartDay, EndDay int
	Observed         int64
	Expected         float64
	ObsOverExp       float64 // Observed/Expected: the relative risk estimate
	LLR              float64 // 0 for cylinders that do not score
}

// Cluster is a reported cylinder with its Monte Carlo inference.
type Cluster struct {
	Cylinder
	Rank  int   // 1 for the most likely cluster, then secondary clusters
	Cells []int // the zone's cells, ascending
	// P is (1 + #{replicates with max LLR >= LLR})/(R + 1); NaN when the
	// scan ran no replicates.
	P float64
	// RecurrenceDays is 1/P: for a scan run once a day, the expected number
	// of days between clusters this strong arising by chance (SaTScan's
	// recurrence interval for daily prospective surveillance).
	RecurrenceDays float64
	// Reported is P <= Config.ReportP (the health department's watch list);
	// Spike is P < Config.SpikeP (a signal to act on).
	Reported, Spike bool
}

// Result is the outcome of one scan.
type Result struct {
	Detector  string  // "stpscan" or "ebpscan"
	Statistic float64 // the largest LLR: the most likely cluster's
	// Clusters are the most likely cluster and the secondary clusters,
	// chosen greedily by LLR among cylinders that share no cell with a
	// cluster already chosen (time is ignored for overlap, as SaTScan's
	// default), up to MaxClusters, whatever their p-value.
	Clusters []Cluster
	// ReplicateMax is the largest LLR of each Monte Carlo replicate, in
	// replicate order.
	ReplicateMax []float64
	Replications int
	Seed         uint64
	// Cases is the number of cases the scan conditioned on: the study total
	// C for the permutation scan, the cases in the longest window for the
	// expectation-based scan.
	Cases int64
	// FirstDay and LastDay are the cube day indices of the data used
	// (study period or baseline plus windows), both inclusive.
	FirstDay, LastDay int
	sorted            []float64
}

// PValue is the Monte Carlo p-value of an LLR against this result's
// replicates: (1 + #{max >= llr})/(R + 1), ties counting against the
// cluster. NaN when no replicates ran.
func (r *Result) PValue(llr float64) float64 {
	if len(r.sorted) == 0 {
		return math.NaN()
	}
	ge := len(r.sorted) - sort.SearchFloat64s(r.sorted, llr)
	return float64(1+ge) / float64(len(r.sorted)+1)
}

// Reported returns the clusters with P <= ReportP, the ones to show.
func (r *Result) Reported() []Cluster {
	var out []Cluster
	for _, c := range r.Clusters {
		if c.Reported {
			out = append(out, c)
		}
	}
	return out
}

// scan is the part shared by both scans: the engine, the observed counts
// folded into a worker, and the day range.
type scan struct {
	eng               *engine
	obs               *worker
	firstDay, lastDay int
}

// cylinder describes cylinder (zone, window index) with c cases.
func (s *scan) cylinder(zone, wi int, c int32) Cylinder {
	info := s.eng.zones.Info(zone)
	mu := s.eng.a[zone] * s.eng.b[wi]
	return Cylinder{
		Zone: zone, Center: info.Center, K: info.K, RadiusM: info.RadiusM, Size: info.Size,
		Window: wi + 1, StartDay: s.lastDay - wi, EndDay: s.lastDay,
		Observed: int64(c), Expected: mu, ObsOverExp: float64(c) / mu, LLR: s.eng.llr(c, mu),
	}
}

// Cylinders lists every cylinder of the observed data in (centre, level,
// window) order, the order in which ties are broken. Zones with identical
// cells (an isolated cell's rings) are listed once per zone.
func (s *scan) Cylinders() []Cylinder {
	z := s.eng.zones
	out := make([]Cylinder, 0, z.Count()*s.eng.w)
	for f := range z.center {
		s.obs.walk(int32(f), func(zone, wi int, c int32) {
			out = append(out, s.cylinder(zone, wi, c))
		})
	}
	return out
}

// positives are the scoring cylinders (LLR > 0), strongest first and, among
// equal LLRs, in cylinder order, so the first is the oracle's MLC.
func (s *scan) positives() []Cylinder {
	var out []Cylinder
	for _, f := range s.obs.fams {
		s.obs.walk(f, func(zone, wi int, c int32) {
			if cy := s.cylinder(zone, wi, c); cy.LLR > 0 {
				out = append(out, cy)
			}
		})
	}
	slices.SortFunc(out, func(a, b Cylinder) int {
		if a.LLR != b.LLR {
			return cmp.Compare(b.LLR, a.LLR)
		}
		return cmp.Or(cmp.Compare(a.Zone, b.Zone), cmp.Compare(a.Window, b.Window))
	})
	return out
}

// result assembles a Result: greedy non-overlapping clusters and p-values.
func (s *scan) result(detector string, reps []float64, seed uint64, cases int64, maxClusters int, reportP, spikeP float64) *Result {
	r := &Result{
		Detector: detector, ReplicateMax: reps, Replications: len(reps), Seed: seed,
		Cases: cases, FirstDay: s.firstDay, LastDay: s.lastDay,
		sorted: slices.Sorted(slices.Values(reps)),
	}
	used := make([]bool, s.eng.zones.n)
	for _, cy := range s.positives() {
		if len(r.Clusters) >= maxClusters {
			break
		}
		mem := s.eng.zones.Members(cy.Zone)
		if slices.ContainsFunc(mem, func(j int32) bool { return used[j] }) {
			continue
		}
		cells := make([]int, len(mem))
		for i, j := range mem {
			used[j] = true
			cells[i] = int(j)
		}
		slices.Sort(cells)
		p := r.PValue(cy.LLR)
		r.Clusters = append(r.Clusters, Cluster{
			Cylinder: cy, Rank: len(r.Clusters) + 1, Cells: cells,
			P: p, RecurrenceDays: 1 / p, Reported: p <= reportP, Spike: p < spikeP,
		})
	}
	if len(r.Clusters) > 0 {
		r.Statistic = r.Clusters[0].LLR
	}
	return r
}

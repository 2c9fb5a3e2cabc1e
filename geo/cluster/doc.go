// Package cluster holds the detectors that look for hot spots in space and
// time at once: the prospective space-time permutation scan (Kulldorff et al.
// 2005), the expectation-based Poisson scan (Neill et al. 2005), the Knox
// near-repeat test, and the concentration of incidents over cells.
//
// It is a pure package: counts and events in, plain result structs out, no
// SQL and no HTTP. Every statistic follows the R reference scripts of the
// project's oracle fixtures (stpscan.R and knox.R), quirks included, so a
// result can be re-derived outside the service; the doc comment of each
// detector says where that reference differs from the tool people know
// (SaTScan, surveillance::knox, near-repeat calculators).
//
// Monte Carlo replicates draw from math/rand/v2's PCG seeded with
// (Seed, replicate number), so a run is reproducible from its recorded seed
// and does not depend on how many CPUs shared the work.
package cluster

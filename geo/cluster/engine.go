package cluster

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// model selects the likelihood ratio of a scan.
type model int

const (
	// permModel is the space-time permutation scan: expectations are
	// conditioned on the study total C, and the LLR has the (C-c) term.
	permModel model = iota
	// poissonModel is the expectation-based Poisson scan: expectations come
	// from a baseline, and the LLR is c ln(c/b) + b - c.
	poissonModel
)

// engine evaluates cylinders (zone x window ending on the last day). Every
// expectation factorises as mu(z, w) = a[z] * b[w], which holds for both
// models: the permutation scan's mu_A = C_Z * C_W / C and the Poisson scan's
// baseline rate of the zone times the window length. So no per-cylinder
// expectation has to be stored.
type engine struct {
	zones    *Zones
	w        int       // MaxWindow: window index wi is the last wi+1 days
	a        []float64 // per zone
	b        []float64 // per window index
	model    model
	total    float64 // C, for permModel
	minCases int32
	// logarithm tables for pruning in max, filled by prepare
	za         []zoneA
	lnB, lnTab []float64
}

// zoneA keeps a zone's expectation factor and its logarithm side by side,
// one cache line access for both.
type zoneA struct{ a, lnA float64 }

// llr is the log-likelihood ratio of a cylinder with c cases and
// expectation mu; 0 unless c > mu (only high-rate cylinders score) and
// c >= minCases.
func (e *engine) llr(c int32, mu float64) float64 {
	cf := float64(c)
	if !(cf > mu) || c < e.minCases {
		return 0
	}
	if e.model == poissonModel {
		return cf*math.Log(cf/mu) + mu - cf
	}
	t := cf * math.Log(cf/mu)
	if rest := e.total - cf; rest > 0 {
		t += rest * math.Log(rest/(e.total-mu))
	}
	return t
}

// worker holds the scratch state of one evaluation of the engine over one
// set of window counts (observed data or one replicate). Cases are added at
// the zone where their cell enters each family, per window offset; a walk
// over a family's levels then accumulates zones (levels) and windows (day
// offsets) on the fly. Only families with cases are walked and reset, so a
// replicate costs time in proportion to its cases, not to the map.
type worker struct {
	e       *engine
	acc     []int32 // per zone x window offset (offset 0 = last day)
	fams    []int32 // families with cases
	famMark []bool
	run     []int32 // per offset: cases of the zones walked so far
}

func newWorker(e *engine) *worker {
	nz := len(e.zones.zoneFam)
	return &worker{
		e: e, acc: make([]int32, nz*e.w), famMark: make([]bool, len(e.zones.center)),
		run: make([]int32, e.w),
	}
}

// add records k cases in cell j at window offset off (0 = the last day).
func (w *worker) add(j int32, off int, k int32) {
	W, z := w.e.w, w.e.zones
	for _, id := range z.invZone[z.invOff[j]:z.invOff[j+1]] {
		w.acc[int(id)*W+off] += k
		if f := z.zoneFam[id]; !w.famMark[f] {
			w.famMark[f] = true
			w.fams = append(w.fams, f)
		}
	}
}

// walk calls fn for every cylinder of family f with its case count, in
// (level, window) order.
func (w *worker) walk(f int32, fn func(zone, wi int, c int32)) {
	W, z := w.e.w, w.e.zones
	clear(w.run)
	for id := int(z.famZone[f]); id < int(z.famZone[f+1]); id++ {
		a := w.acc[id*W : id*W+W]
		var c int32
		for i := range w.run {
			w.run[i] += a[i]
			c += w.run[i]
			fn(id, i, c)
		}
	}
}

// max is the largest LLR over all cylinders. Cylinders without cases score
// 0, so only families with cases are walked. Most cylinders are rejected
// without a logarithm: c ln(c/mu) comes from tables (ln c, ln a_z, ln b_w),
// and for the permutation model (C-c) ln((C-c)/(C-mu)) is bounded above by
// -(c-mu)(C-c)/(C-mu) (ln x <= x-1), so a cylinder whose bound cannot beat
// the best so far is skipped. The winner is always evaluated by llr itself,
// so the maximum is exactly what llr gives.
func (w *worker) max() float64 {
	z := w.e.zones
	best := 0.0
	if len(w.fams)*8 > len(z.center) {
		// most families have cases: walk them in memory order
		for f, ok := range w.famMark {
			if ok {
				best = w.maxFamily(int32(f), best)
			}
		}
		return best
	}
	for _, f := range w.fams {
		best = w.maxFamily(f, best)
	}
	return best
}

// maxFamily returns the larger of best and the LLRs of family f.
func (w *worker) maxFamily(f int32, best float64) float64 {
	e, W, z := w.e, w.e.w, w.e.zones
	run := w.run[:W]
	b, lnB := e.b[:W], e.lnB[:W]
	minCases, total, invTotal, perm := e.minCases, e.total, 1/e.total, e.model == permModel
	cut := best - 1e-9*math.Max(1, best) // table rounding slack
	clear(run)
	lo, hi := int(z.famZone[f]), int(z.famZone[f+1])
	for id := lo; id < hi; id++ {
		acc := w.acc[id*W : id*W+W]
		za := e.za[id]
		var c int32
		for i := range run {
			run[i] += acc[i]
			c += run[i]
			if c < minCases {
				continue
			}
			cf, mu := float64(c), za.a*b[i]
			if !(cf > mu) {
				continue
			}
			ub := cf * (e.lnInt(c) - za.lnA - lnB[i])
			if perm {
				// (C-c)/(C-mu) > (C-c)/C, so this is looser than the
				// ln x <= x-1 bound but needs no division
				ub -= (cf - mu) * (total - cf) * invTotal
			} else {
				ub += mu - cf
			}
			if ub < cut {
				continue
			}
			if l := e.llr(c, mu); l > best {
				best = l
				cut = best - 1e-9*math.Max(1, best)
			}
		}
	}
	return best
}

// reset zeroes what the last evaluation touched.
func (w *worker) reset() {
	W, z := w.e.w, w.e.zones
	for _, f := range w.fams {
		clear(w.acc[int(z.famZone[f])*W : int(z.famZone[f+1])*W])
		w.famMark[f] = false
	}
	w.fams = w.fams[:0]
}

// prepare fills the logarithm tables max prunes with. lnInt covers counts
// up to maxCount; larger counts fall back to math.Log.
func (e *engine) prepare(maxCount int) {
	e.za = make([]zoneA, len(e.a))
	for i, v := range e.a {
		e.za[i] = zoneA{v, math.Log(v)}
	}
	e.lnB = make([]float64, len(e.b))
	for i, v := range e.b {
		e.lnB[i] = math.Log(v)
	}
	e.lnTab = make([]float64, maxCount+1)
	for i := range e.lnTab {
		e.lnTab[i] = math.Log(float64(i))
	}
}

func (e *engine) lnInt(c int32) float64 {
	if int(c) < len(e.lnTab) {
		return e.lnTab[c]
	}
	return math.Log(float64(c))
}

// replicator fills a worker with the window counts of replicate rep, drawn
// from r (already seeded for rep). Each goroutine gets its own replicator
// from newReplicator, for its own scratch space.
type replicator interface {
	draw(r *rand.Rand, w *worker)
}

// replicate runs reps Monte Carlo replicates on all CPUs and returns the
// maximum LLR of each, in replicate order. Replicate i draws from the PCG
// stream (seed, i), so the result does not depend on GOMAXPROCS.
func (e *engine) replicate(ctx context.Context, reps int, seed uint64, newReplicator func() replicator) ([]float64, error) {
	out := make([]float64, reps)
	workers := min(runtime.GOMAXPROCS(0), reps)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, rp := newWorker(e), newReplicator()
			pcg := rand.NewPCG(0, 0)
			r := rand.New(pcg)
			for {
				i := int(next.Add(1) - 1)
				if i >= reps || ctx.Err() != nil {
					return
				}
				pcg.Seed(seed, uint64(i))
				rp.draw(r, w)
				out[i] = w.max()
				w.reset()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

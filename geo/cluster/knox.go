package cluster

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"hotspots/geo"
)

// Event is one incident for the Knox test: planar coordinates in metres and
// a day number. Integer coordinates keep boundary distances exact.
type Event struct {
	X, Y float64
	Day  int
}

// KnoxConfig configures the Knox test.
type KnoxConfig struct {
	// DistanceM and Days are the closeness thresholds; both are inclusive
	// (distance <= DistanceM and |dt| <= Days), as in surveillance::knox.
	DistanceM float64
	Days      int
	// Replications is the number of event permutations (999 gives p to
	// 0.001); 0 skips the Monte Carlo.
	Replications int
	// PairPermutation also runs surveillance::knox's Monte Carlo, which
	// permutes the pair-level "close in time" flags; see KnoxResult.
	PairPermutation bool
	// DistanceBandsM and DayBands are the upper bounds of the near-repeat
	// table's bands, ascending; a last open band (above the last bound) is
	// implied. Bands are (lo, hi], the first one [0, hi].
	DistanceBandsM []float64
	DayBands       []int
	// Seed seeds the permutations: replicate i draws from the PCG stream
	// (Seed, i), the pair permutation from (Seed, i | 1<<63).
	Seed uint64
}

// DefaultKnoxConfig returns the oracle's settings: 200 m and 7 days, 999
// permutations, spatial bands of 100, 200, 400 and 800 m and temporal bands
// of 7, 14 and 28 days.
func DefaultKnoxConfig() KnoxConfig {
	return KnoxConfig{
		DistanceM: 200, Days: 7, Replications: 999,
		DistanceBandsM: []float64{100, 200, 400, 800}, DayBands: []int{7, 14, 28},
	}
}

// Validate checks the fields.
func (c KnoxConfig) Validate() error {
	switch {
	case !(c.DistanceM >= 0) || math.IsInf(c.DistanceM, 0):
		return geo.FieldErrorf("distance_m", "distance %g m, want a finite distance >= 0", c.DistanceM)
	case c.Days < 0:
		return geo.FieldErrorf("days", "days %d, want >= 0", c.Days)
	case c.Replications < 0 || c.Replications > 1_000_000:
		return geo.FieldErrorf("replications", "replications %d, want 0..1000000", c.Replications)
	case len(c.DistanceBandsM) > 32 || len(c.DayBands) > 32:
		return geo.FieldErrorf("bands", "at most 32 bounds per band list")
	}
	for i, v := range c.DistanceBandsM {
		if !(v > 0) || math.IsInf(v, 0) || (i > 0 && v <= c.DistanceBandsM[i-1]) {
			return geo.FieldErrorf("distance_bands_m", "distance bands %v, want finite, positive and ascending", c.DistanceBandsM)
		}
	}
	for i, v := range c.DayBands {
		if v < 0 || (i > 0 && v <= c.DayBands[i-1]) {
			return geo.FieldErrorf("day_bands", "day bands %v, want non-negative and ascending", c.DayBands)
		}
	}
	return nil
}

// KnoxResult is the Knox test of space-time interaction (Knox 1964) over all
// n(n-1)/2 unordered pairs of events.
type KnoxResult struct {
	Events int
	Pairs  int64
	// The 2 x 2 table: CloseBoth is the statistic X.
	CloseBoth, CloseTimeOnly, CloseSpaceOnly, CloseNeither int64
	CloseTime, CloseSpace                                  int64 // margins
	// Expected is CloseTime*CloseSpace/Pairs (surveillance::knox's
	// null.value) and Ratio X/Expected, the Knox ratio.
	Expected, Ratio float64
	// PPoisson is surveillance::knox's Poisson p-value, P(Y > X) for
	// Y ~ Poisson(Expected): it leaves X itself out, one off from the usual
	// upper tail PPoissonGE = P(Y >= X).
	PPoisson, PPoissonGE float64
	// PHypergeom is P(K >= X) for the hypergeometric law of the table with
	// fixed margins: the exact null of the pair permutation.
	PHypergeom float64
	// PEventPerm is the event-permutation p-value (1 + #{X* >= X})/(B + 1):
	// days are shuffled among the events and locations kept, the Mantel and
	// near-repeat-calculator scheme and the test to use, because pairs that
	// share an event are not independent. Its exact mean is Expected.
	// EventPermMean and EventPermSD (sample SD) describe X* over the
	// replicates. NaN without replicates.
	PEventPerm, EventPermMean, EventPermSD float64
	EventPermStats                         []int64
	// PPairPerm is surveillance::knox's Monte Carlo p-value: it permutes the
	// pair-level "close in time" flags, which fixes the margins and makes
	// its null hypergeometric, ignoring that pairs share events. NaN unless
	// KnoxConfig.PairPermutation.
	PPairPerm     float64
	PairPermStats []int64
	Bands         []KnoxBand
	DistanceM     float64
	Days          int
	Replications  int
	Seed          uint64
}

// KnoxBand is one cell of the near-repeat table: pairs whose distance is in
// (DistanceLoM, DistanceHiM] and day gap in (DaysLo, DaysHi] (the first
// band of each closed at 0; the last bounds are +Inf).
type KnoxBand struct {
	DistanceLoM, DistanceHiM float64
	DaysLo, DaysHi           float64
	Observed                 int64
	// ExpectedMargins is row total * column total / Pairs, which is also
	// the exact mean under the event permutation.
	ExpectedMargins float64
	// ExpectedMC is the mean count over the permutations, RatioMC
	// Observed/ExpectedMC and PMC (1 + #{count >= Observed})/(B + 1), as a
	// near-repeat calculator reports them. NaN without replicates.
	ExpectedMC, RatioMC, PMC float64
	// SDMC is the sample SD of the count over the permutations, for a
	// z-score (Observed - ExpectedMC)/SDMC.
	SDMC float64
}

// knoxPair is a pair of events within the largest finite distance of
// interest; the test only ever needs these, plus totals over all pairs.
type knoxPair struct {
	i, j  int32
	band  uint8 // distance band
	close bool  // distance <= DistanceM
}

// Knox runs the Knox test, its Monte Carlo versions and the near-repeat
// band table. Distances are compared squared against squared thresholds,
// so pairs exactly on a threshold are treated exactly (integer metres are
// exact in float64).
func Knox(ctx context.Context, events []Event, cfg KnoxConfig) (*KnoxResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("knox: %w", err)
	}
	n := len(events)
	if n < 2 {
		return nil, geo.Errorf(geo.EINVALID, "knox: %d events, want at least 2", n)
	}
	if n > math.MaxInt32 {
		return nil, geo.Errorf(geo.ETOOLARGE, "knox: %d events", n)
	}
	for i, e := range events {
		if math.IsNaN(e.X) || math.IsNaN(e.Y) || math.IsInf(e.X, 0) || math.IsInf(e.Y, 0) {
			return nil, geo.Errorf(geo.EINVALID, "knox: event %d has no finite location", i)
		}
	}
	k := &knox{cfg: cfg, events: events}
	k.prepare()
	res := k.observed()
	if cfg.Replications > 0 {
		if err := k.eventPermutation(ctx, res); err != nil {
			return nil, fmt.Errorf("knox: %w", err)
		}
	}
	if cfg.PairPermutation && cfg.Replications > 0 {
		k.pairPermutation(res)
	}
	return res, nil
}

type knox struct {
	cfg    KnoxConfig
	events []Event
	days   []int
	pairs  []knoxPair
	// dayPairs[b] is the number of pairs (all of them) in day band b, and
	// closeTime the number with |dt| <= Days; both are invariant under the
	// event permutation.
	dayPairs  []int64
	closeTime int64
	npairs    int64
	sb, tb    int // band counts including the open last band
}

func (k *knox) prepare() {
	n := len(k.events)
	k.npairs = int64(n) * int64(n-1) / 2
	k.sb, k.tb = len(k.cfg.DistanceBandsM)+1, len(k.cfg.DayBands)+1
	k.days = make([]int, n)
	for i, e := range k.events {
		k.days[i] = e.Day
	}
	k.dayPairs = make([]int64, k.tb)
	gapPairs(k.days, func(gap int, count int64) {
		k.dayPairs[k.dayBand(gap)] += count
		if gap <= k.cfg.Days {
			k.closeTime += count
		}
	})
	reach := k.cfg.DistanceM
	if b := k.cfg.DistanceBandsM; len(b) > 0 {
		reach = math.Max(reach, b[len(b)-1])
	}
	eps2 := k.cfg.DistanceM * k.cfg.DistanceM
	nearPairs(k.events, reach, func(i, j int, d2 float64) {
		k.pairs = append(k.pairs, knoxPair{i: int32(i), j: int32(j), band: uint8(k.distanceBand(d2)), close: d2 <= eps2})
	})
}

// distanceBand is the band of a squared distance: the first bound it does
// not exceed, or the open last band.
func (k *knox) distanceBand(d2 float64) int {
	for b, hi := range k.cfg.DistanceBandsM {
		if d2 <= hi*hi {
			return b
		}
	}
	return k.sb - 1
}

func (k *knox) dayBand(gap int) int {
	for b, hi := range k.cfg.DayBands {
		if gap <= hi {
			return b
		}
	}
	return k.tb - 1
}

// gapPairs calls fn with every day gap and the number of pairs having it:
// from a histogram of days when the day range is short, pair by pair
// otherwise.
func gapPairs(days []int, fn func(gap int, count int64)) {
	lo, hi := slices.Min(days), slices.Max(days)
	n, span := len(days), hi-lo+1
	if span > n {
		counts := map[int]int64{}
		for i := range n {
			for j := i + 1; j < n; j++ {
				counts[abs(days[i]-days[j])]++
			}
		}
		for g, c := range counts {
			fn(g, c)
		}
		return
	}
	h := make([]int64, span)
	for _, d := range days {
		h[d-lo]++
	}
	for g := range span {
		var c int64
		if g == 0 {
			for _, v := range h {
				c += v * (v - 1) / 2
			}
		} else {
			for t := 0; t+g < span; t++ {
				c += h[t] * h[t+g]
			}
		}
		if c > 0 {
			fn(g, c)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// nearPairs calls fn(i, j, d2) for every pair i < j within reach metres,
// hashing events into squares of side reach so only neighbouring squares
// are compared.
func nearPairs(ev []Event, reach float64, fn func(i, j int, d2 float64)) {
	r2 := reach * reach
	if reach <= 0 {
		reach = 1 // only coincident events qualify; any square size works
	}
	type key struct{ x, y int64 }
	grid := map[key][]int32{}
	keyOf := func(e Event) key { return key{int64(math.Floor(e.X / reach)), int64(math.Floor(e.Y / reach))} }
	for i, e := range ev {
		kk := keyOf(e)
		grid[kk] = append(grid[kk], int32(i))
	}
	for i, e := range ev {
		kk := keyOf(e)
		for dx := int64(-1); dx <= 1; dx++ {
			for dy := int64(-1); dy <= 1; dy++ {
				for _, j := range grid[key{kk.x + dx, kk.y + dy}] {
					if int(j) <= i {
						continue
					}
					ddx, ddy := e.X-ev[j].X, e.Y-ev[j].Y
					if d2 := ddx*ddx + ddy*ddy; d2 <= r2 {
						fn(i, int(j), d2)
					}
				}
			}
		}
	}
}

// observed fills the table, the analytic p-values and the observed bands.
func (k *knox) observed() *KnoxResult {
	r := &KnoxResult{
		Events: len(k.events), Pairs: k.npairs, DistanceM: k.cfg.DistanceM, Days: k.cfg.Days,
		Replications: k.cfg.Replications, Seed: k.cfg.Seed, CloseTime: k.closeTime,
	}
	nan := math.NaN()
	r.PEventPerm, r.EventPermMean, r.EventPermSD, r.PPairPerm = nan, nan, nan, nan
	obs := make([]int64, k.sb*k.tb)
	distPairs := make([]int64, k.sb)
	for _, p := range k.pairs {
		if p.close {
			r.CloseSpace++
		}
		gap := abs(k.days[p.i] - k.days[p.j])
		if p.close && gap <= k.cfg.Days {
			r.CloseBoth++
		}
		obs[k.dayBand(gap)*k.sb+int(p.band)]++
		distPairs[p.band]++
	}
	k.openBand(obs)
	var finite int64
	for b := range k.sb - 1 {
		finite += distPairs[b]
	}
	distPairs[k.sb-1] = k.npairs - finite
	r.CloseTimeOnly = r.CloseTime - r.CloseBoth
	r.CloseSpaceOnly = r.CloseSpace - r.CloseBoth
	r.CloseNeither = k.npairs - r.CloseTime - r.CloseSpace + r.CloseBoth
	// the order of surveillance::knox, which avoids integer overflow there
	r.Expected = float64(r.CloseTime) / float64(k.npairs) * float64(r.CloseSpace)
	r.Ratio = float64(r.CloseBoth) / r.Expected
	r.PPoisson = poissonTail(r.CloseBoth+1, r.Expected)
	r.PPoissonGE = poissonTail(r.CloseBoth, r.Expected)
	r.PHypergeom = hyperTail(r.CloseBoth, r.CloseSpace, k.npairs, r.CloseTime)
	for t := range k.tb {
		for s := range k.sb {
			b := KnoxBand{Observed: obs[t*k.sb+s], ExpectedMC: nan, RatioMC: nan, PMC: nan, SDMC: nan}
			b.DistanceLoM, b.DistanceHiM = bandBounds(k.cfg.DistanceBandsM, s)
			lo, hi := bandBounds(intsToFloats(k.cfg.DayBands), t)
			b.DaysLo, b.DaysHi = lo, hi
			b.ExpectedMargins = float64(distPairs[s]) * float64(k.dayPairs[t]) / float64(k.npairs)
			r.Bands = append(r.Bands, b)
		}
	}
	return r
}

// openBand fills the open distance band of a band table: the day-band
// totals over all pairs (which the permutation does not change) minus the
// finite bands, the only ones the near pairs were counted into exactly.
func (k *knox) openBand(tab []int64) {
	for t := range k.tb {
		var finite int64
		for s := range k.sb - 1 {
			finite += tab[t*k.sb+s]
		}
		tab[t*k.sb+k.sb-1] = k.dayPairs[t] - finite
	}
}

func bandBounds(his []float64, b int) (lo, hi float64) {
	if b > 0 {
		lo = his[b-1]
	}
	if b < len(his) {
		return lo, his[b]
	}
	return lo, math.Inf(1)
}

func intsToFloats(v []int) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// eventPermutation shuffles the days among events, keeping locations, and
// recounts X and the band table for each replicate.
func (k *knox) eventPermutation(ctx context.Context, r *KnoxResult) error {
	B := k.cfg.Replications
	nb := k.sb * k.tb
	stats := make([]int64, B)
	bands := make([]int64, B*nb)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), B) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			days := make([]int, len(k.days))
			pcg := rand.NewPCG(0, 0)
			rng := rand.New(pcg)
			for {
				b := int(next.Add(1) - 1)
				if b >= B || ctx.Err() != nil {
					return
				}
				pcg.Seed(k.cfg.Seed, uint64(b))
				copy(days, k.days)
				rng.Shuffle(len(days), func(i, j int) { days[i], days[j] = days[j], days[i] })
				tab := bands[b*nb : (b+1)*nb]
				var x int64
				for _, p := range k.pairs {
					gap := abs(days[p.i] - days[p.j])
					if p.close && gap <= k.cfg.Days {
						x++
					}
					tab[k.dayBand(gap)*k.sb+int(p.band)]++
				}
				k.openBand(tab)
				stats[b] = x
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	r.EventPermStats = stats
	r.PEventPerm = mcP(stats, r.CloseBoth)
	r.EventPermMean, r.EventPermSD = meanSD(stats)
	col := make([]int64, B)
	for c := range r.Bands {
		for b := range B {
			col[b] = bands[b*nb+c]
		}
		band := &r.Bands[c]
		band.ExpectedMC, band.SDMC = meanSD(col)
		band.RatioMC = float64(band.Observed) / band.ExpectedMC
		band.PMC = mcP(col, band.Observed)
	}
	return nil
}

// pairPermutation draws surveillance::knox's replicates. Permuting the
// "close in time" flags over all pairs and counting those landing on
// close-in-space pairs is a hypergeometric draw, so it is sampled directly:
// CloseSpace draws without replacement from Pairs flags of which CloseTime
// are set (or the roles swapped, whichever is fewer draws).
func (k *knox) pairPermutation(r *KnoxResult) {
	B := k.cfg.Replications
	draws, marked := r.CloseSpace, r.CloseTime
	if marked < draws {
		draws, marked = marked, draws
	}
	stats := make([]int64, B)
	pcg := rand.NewPCG(0, 0)
	rng := rand.New(pcg)
	for b := range B {
		pcg.Seed(k.cfg.Seed, uint64(b)|1<<63)
		left, hits := marked, int64(0)
		for i := range draws {
			if rng.Int64N(k.npairs-i) < left {
				hits++
				left--
			}
		}
		stats[b] = hits
	}
	r.PairPermStats = stats
	r.PPairPerm = mcP(stats, r.CloseBoth)
}

func mcP(stats []int64, obs int64) float64 {
	ge := 0
	for _, s := range stats {
		if s >= obs {
			ge++
		}
	}
	return float64(1+ge) / float64(len(stats)+1)
}

// meanSD returns the mean and the sample standard deviation (n-1), as R's
// mean and sd.
func meanSD(v []int64) (mean, sd float64) {
	for _, x := range v {
		mean += float64(x)
	}
	mean /= float64(len(v))
	ss := 0.0
	for _, x := range v {
		d := float64(x) - mean
		ss += d * d
	}
	if len(v) < 2 {
		return mean, math.NaN()
	}
	return mean, math.Sqrt(ss / float64(len(v)-1))
}

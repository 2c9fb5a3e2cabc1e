package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/cluster"
	"hotspots/geo/spatial"
	"hotspots/geo/temporal"
)

// Runner runs the configured detectors over a source and hands each run to
// a sink. Runs are serialised: the scheduled run and a run after an ingest
// never read and write at the same time, and on a small machine two Monte
// Carlo scans at once would only slow each other down.
type Runner struct {
	src  Source
	city *cities.City
	cfg  Config
	sink Sink

	// Log receives one line per detector run; slog.Default when nil.
	Log *slog.Logger
	// Now stamps DetectionRun.StartedAt; tests replace it.
	Now func() time.Time
	// StudyCells, when set, is the study area at Config.Res instead of the
	// city's boundary cells: for synthetic grids and custom areas. Cells
	// holding incidents are always added.
	StudyCells []geo.Cell

	mu        sync.Mutex
	cityCells []geo.Cell
}

// New returns a runner of cfg over src for city, handing every run to
// sink. city gives the time zone of day boundaries and the study area
// (its boundary's cells); it may be nil only when StudyCells is set, and
// days are then UTC.
func New(src Source, city *cities.City, cfg Config, sink Sink) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	if src == nil || sink == nil {
		return nil, errors.New("detect: a source and a sink are required")
	}
	return &Runner{src: src, city: city, cfg: cfg, sink: sink, Now: time.Now}, nil
}

// Config returns the runner's configuration.
func (r *Runner) Config() Config { return r.cfg }

// Summary is what one Run did, for the CLI table and the logs.
type Summary struct {
	AsOf time.Time // the as-of instant asked for
	// Day is the last day analysed: AsOf's date in the city's time zone,
	// as a date at 00:00 UTC like geo.Incident.Day.
	Day      time.Time
	Seed     uint64 // the base seed; each run records its own, derived from it
	Runs     []RunSummary
	Duration time.Duration
}

// RunSummary is one detector run of one kind group.
type RunSummary struct {
	Group    string
	Detector string
	// Findings is how many findings the run stored, Signals how many of
	// them are signals (see IsSignal).
	Findings, Signals int
	From, To          time.Time // the data window, To exclusive
	Seed              int64
	Duration          time.Duration
	// Err is set when the detector failed; the other detectors still ran.
	Err error
}

// Findings is the total number of findings stored.
func (s Summary) Findings() int {
	n := 0
	for _, r := range s.Runs {
		n += r.Findings
	}
	return n
}

// output is one run a detector produced: gistar produces one per window.
type output struct {
	name     string
	findings []geo.Finding
	from, to time.Time // data window, to exclusive
	seed     uint64
	settings any
}

// Run runs every configured detector of every group on the data up to and
// including asOf's local date, hands each run to the sink and returns what
// ran. A detector that fails is logged and reported in the summary while
// the others go on; the returned error then joins those failures. A sink
// error or a cancelled context stops the run at once.
func (r *Runner) Run(ctx context.Context, asOf time.Time) (Summary, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	start := time.Now()
	day := localDay(asOf, r.location())
	s := Summary{AsOf: asOf, Day: day, Seed: r.cfg.Seed}
	if s.Seed == 0 {
		s.Seed = uint64(day.Unix()/86400) + 1
	}
	layers, err := r.layers(ctx, day)
	if err != nil {
		return s, err
	}
	var errs []error
	for _, g := range r.cfg.Groups {
		ds := r.cfg.detectors(g)
		if len(ds) == 0 {
			continue
		}
		gd, err := r.load(ctx, g, day, r.cfg.spanDays(ds))
		if err != nil {
			return s, fmt.Errorf("detect %s: %w", g.Name, err)
		}
		gd.layers, gd.seed = layers, s.Seed
		gd.temporalDays = r.cfg.spanDays(slices.DeleteFunc(slices.Clone(ds), func(d string) bool { return !temporalDetector(d) }))
		for _, d := range ds {
			t0 := time.Now()
			outs, err := gd.run(ctx, d)
			if ctx.Err() != nil {
				return s, ctx.Err()
			}
			if err != nil {
				err = fmt.Errorf("detect %s %s: %w", g.Name, d, err)
				log.Warn("detector_failed", slog.String("group", g.Name), slog.String("detector", d), slog.Any("error", err))
				s.Runs = append(s.Runs, RunSummary{Group: g.Name, Detector: d, Duration: time.Since(t0), Err: err})
				errs = append(errs, err)
				continue
			}
			took := time.Since(t0) / time.Duration(max(1, len(outs)))
			for _, o := range outs {
				rs, err := r.save(ctx, gd, o, took)
				if err != nil {
					return s, err
				}
				log.Info("detector_run", slog.String("group", g.Name), slog.String("detector", o.name),
					slog.Int("findings", rs.Findings), slog.Int("signals", rs.Signals),
					slog.Duration("duration", rs.Duration))
				s.Runs = append(s.Runs, rs)
			}
		}
	}
	s.Duration = time.Since(start)
	return s, errors.Join(errs...)
}

// save records one output as a run and hands it to the sink.
func (r *Runner) save(ctx context.Context, gd *groupData, o output, took time.Duration) (RunSummary, error) {
	params, err := json.Marshal(runParams{
		Group: gd.g.Name, Res: r.cfg.Res, AsOf: gd.asOf().Format(time.DateOnly), BaseSeed: gd.seed,
		Cells: len(gd.cells), Settings: o.settings,
	})
	if err != nil {
		return RunSummary{}, fmt.Errorf("detect %s %s: params: %w", gd.g.Name, o.name, err)
	}
	run := geo.DetectionRun{
		Detector: o.name, Kinds: slices.Clone(gd.g.Kinds), WindowFrom: o.from, WindowTo: o.to,
		Params: params, Seed: int64(o.seed), StartedAt: r.Now().UTC(), Duration: took,
	}
	rs := RunSummary{Group: gd.g.Name, Detector: o.name, Findings: len(o.findings), From: o.from, To: o.to,
		Seed: run.Seed, Duration: took}
	for i := range o.findings {
		o.findings[i].Detector = o.name
		if IsSignal(o.findings[i]) {
			rs.Signals++
		}
	}
	if err := r.sink(ctx, run, o.findings); err != nil {
		return rs, fmt.Errorf("detect %s %s: save: %w", gd.g.Name, o.name, err)
	}
	return rs, nil
}

// runParams is the JSON stored with every run: enough, with the run's seed
// and window, to reproduce its findings.
type runParams struct {
	Group    string `json:"group"`
	Res      int    `json:"res"`
	AsOf     string `json:"as_of"`
	BaseSeed uint64 `json:"base_seed"`
	Cells    int    `json:"study_cells"`
	Settings any    `json:"settings"`
}

// IsSignal reports whether a finding is one to act on rather than to map:
// a scan cluster below its spike p-value, an area alarm, a near-repeat risk
// zone, a significant Knox test, or a Gi* hot spot at 95 percent or more.
// The evaluation harness counts detections and false alarms with it.
func IsSignal(f geo.Finding) bool {
	switch f.Kind {
	case cluster.KindCluster:
		return f.Category == cluster.CategorySpike
	case temporal.FindingKind:
		return true
	case cluster.KindNearRepeat:
		return f.Category == cluster.CategoryRiskZone || (f.PValue != nil && *f.PValue < 0.05)
	case spatial.FindingKind:
		return f.Category == spatial.Bin(3).Category() || f.Category == spatial.Bin(2).Category()
	}
	return false
}

func (r *Runner) location() *time.Location {
	if r.city != nil && r.city.Location != nil {
		return r.city.Location
	}
	return time.UTC
}

// localDay is t's calendar date in loc, as a date at 00:00 UTC.
func localDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// layers picks the area layers of the temporal detectors: the configured
// ones, or else every layer valid on day keeping, of several layers of one
// kind, only the latest vintage (2020 neighborhoods, not also the 2010
// ones), so one spike does not alarm twice for the same kind of area.
// Custom layers are all kept.
func (r *Runner) layers(ctx context.Context, day time.Time) ([]geo.AreaLayer, error) {
	all, err := r.src.Layers(ctx)
	if err != nil {
		return nil, fmt.Errorf("detect: layers: %w", err)
	}
	if len(r.cfg.Layers) > 0 {
		var out []geo.AreaLayer
		for _, id := range r.cfg.Layers {
			i := slices.IndexFunc(all, func(l geo.AreaLayer) bool { return l.ID == id })
			if i < 0 {
				return nil, geo.Errorf(geo.ENOTFOUND, "detect: area layer %q is not in the store", id)
			}
			out = append(out, all[i])
		}
		return out, nil
	}
	latest := map[string]geo.AreaLayer{}
	var out []geo.AreaLayer
	for _, l := range all {
		if (l.ValidFrom != nil && day.Before(*l.ValidFrom)) || (l.ValidTo != nil && !day.Before(*l.ValidTo)) {
			continue
		}
		if l.Kind == "custom" || l.Kind == "" {
			out = append(out, l)
			continue
		}
		if prev, ok := latest[l.Kind]; !ok || l.Vintage > prev.Vintage || (l.Vintage == prev.Vintage && l.ID > prev.ID) {
			latest[l.Kind] = l
		}
	}
	for _, l := range latest {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b geo.AreaLayer) int { return compareStr(a.ID, b.ID) })
	return out, nil
}

// studyArea returns the study cells without incidents: StudyCells or the
// city's boundary cells at the configured resolution, computed once.
func (r *Runner) studyArea() []geo.Cell {
	if r.StudyCells != nil {
		return r.StudyCells
	}
	if r.cityCells == nil && r.city != nil {
		r.cityCells = polygonCells(r.city.BoundaryPolygon(), r.cfg.Res)
	}
	return r.cityCells
}

// StudyArea returns the city's study cells at resolution res: the cells
// whose centres fall inside its boundary, ascending. A Runner computes it
// once; callers that build many runners over one city (the evaluation
// harness) pass it as StudyCells instead.
func StudyArea(city *cities.City, res int) []geo.Cell {
	return polygonCells(city.BoundaryPolygon(), res)
}

// polygonCells are the cells whose centres fall inside mp.
func polygonCells(mp orb.MultiPolygon, res int) []geo.Cell {
	seen := map[geo.Cell]bool{}
	var out []geo.Cell
	for _, p := range mp {
		if len(p) == 0 || len(p[0]) < 3 {
			continue
		}
		gp := h3.GeoPolygon{GeoLoop: loop(p[0])}
		for _, h := range p[1:] {
			gp.Holes = append(gp.Holes, loop(h))
		}
		for _, c := range h3.PolygonToCells(gp, res) {
			if !seen[geo.Cell(c)] {
				seen[geo.Cell(c)] = true
				out = append(out, geo.Cell(c))
			}
		}
	}
	slices.Sort(out)
	return out
}

func loop(r orb.Ring) h3.GeoLoop {
	out := make(h3.GeoLoop, len(r))
	for i, p := range r {
		out[i] = h3.NewLatLng(p.Lat(), p.Lon())
	}
	return out
}

// subSeed derives the seed of one detector run from the base seed, the
// group and the detector, so detectors draw independent streams and adding
// a detector does not change another's results. It stays below 2^63 so it
// round-trips through DetectionRun.Seed.
func subSeed(base uint64, group, detector string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%s\x00%s", base, group, detector)
	return h.Sum64() >> 1
}

// Package evaluate measures how well each detector finds outbreaks in a
// city's own data: it injects synthetic outbreaks of a chosen size, radius
// and duration into real background incidents, runs the detectors day by
// day through detect.Runner exactly as the service does, and reports per
// detector the sensitivity, the median days to detection and the false
// alarms per month. Analysts use it to choose detectors and thresholds for
// their city; the table and the plot (PNG) are its outputs.
//
// Method. The evaluation period is the last Options.Days days of the
// background. Running every detector as of each day of that period on the
// background alone gives the false alarms: a signal (detect.IsSignal) whose
// key (detector plus area, or the cluster's or hot spot's first cell) was
// not signalled the day before counts as one alarm, the way an alert would
// be raised once and then updated. The background is real data, so some
// of these "false" alarms may be real clusters; the figure is the alarm
// load an analyst would see. Then, for each trial, an outbreak of Size
// extra cases spread evenly over Duration days and uniformly within RadiusM
// of a random background incident (so outbreaks fall where incidents do)
// is added, and the detectors run as of each day from the outbreak's first
// day to Lag days after its last. A detector detects the outbreak on the
// first day it raises a signal that overlaps it (a cell within one ring of
// an outbreak cell, or an alarm for an area holding the outbreak's centre,
// or the city as a whole) and that the background alone did not raise that
// day. Days to detection count from the outbreak's first day (0: the first
// day). Trials and outbreaks are drawn from Options.Seed, and every run's
// Monte Carlo seed from it too, so an evaluation is reproducible.
package evaluate

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/paulmach/orb"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/detect"
)

// DefaultDetectors are the spike detectors evaluated when none are named.
// EHSA (weekly trends), Knox (a test over a year) and concentration are not
// outbreak detectors and are left out.
var DefaultDetectors = []string{detect.STPScan, detect.EARSC1, detect.EARSC2, detect.EARSC3, detect.CUSUM, detect.GiStar}

// Options set the outbreaks and the effort. The zero value of a field takes
// the default noted on it.
type Options struct {
	Detectors []string // DefaultDetectors
	Trials    int      // outbreaks injected, 10
	Size      int      // extra cases per outbreak, 6
	RadiusM   float64  // outbreak radius, 300 m
	Duration  int      // outbreak days, 7
	// Lag is how many days after the outbreak's last day a detection still
	// counts; 3. A negative value means 0.
	Lag int
	// Days is the length of the evaluation period (false alarms), 30.
	Days int
	// Replications of the Monte Carlo detectors, 99 (enough for p < 0.05;
	// the service's 999 only refines the p-values).
	Replications int
	Seed         uint64 // 1
	Res          int    // geo.DefaultDetectRes
	// Config is the base detector configuration; nil takes
	// detect.DefaultConfig. Its groups are replaced by the background's.
	Config *detect.Config
}

func (o *Options) defaults() {
	if len(o.Detectors) == 0 {
		o.Detectors = DefaultDetectors
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Trials, 10)
	def(&o.Size, 6)
	def(&o.Duration, 7)
	def(&o.Days, 30)
	def(&o.Replications, 99)
	def(&o.Res, geo.DefaultDetectRes)
	if o.Lag == 0 {
		o.Lag = 3
	}
	o.Lag = max(0, o.Lag)
	if o.RadiusM <= 0 {
		o.RadiusM = 300
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
}

// Background is the real data outbreaks are injected into.
type Background struct {
	Name      string     // e.g. "shootings"
	Kinds     []geo.Kind // the kinds analysed together; outbreak cases take them in turn
	Incidents []geo.Incident
	Layers    []geo.AreaLayer // area layers of the temporal detectors
}

// Row is one detector's result.
type Row struct {
	Detector string
	Trials   int
	Detected int
	// Sensitivity is Detected/Trials.
	Sensitivity float64
	// MedianDays is the median days from outbreak start to detection over
	// the detected trials; NaN when none was detected.
	MedianDays float64
	// FalseAlarms is the number of new signals on the background alone
	// over the evaluation period, and FalseAlarmsPerMonth that per 30 days.
	FalseAlarms         int
	FalseAlarmsPerMonth float64
}

// Outbreak is one injected outbreak and when each detector found it.
type Outbreak struct {
	Center orb.Point
	Start  time.Time // first day, a date at 00:00 UTC
	Cases  int
	// DetectedAfter maps a detector to the days from Start to its first
	// detection; absent when it missed the outbreak.
	DetectedAfter map[string]int
}

// Result is the evaluation of one background.
type Result struct {
	Background string
	Options    Options
	From, To   time.Time // the evaluation period, To exclusive
	Rows       []Row
	Outbreaks  []Outbreak
	Duration   time.Duration
}

// Run evaluates the detectors on one background.
func Run(ctx context.Context, city *cities.City, bg Background, o Options) (*Result, error) {
	o.defaults()
	start := time.Now()
	if len(bg.Kinds) == 0 || len(bg.Incidents) == 0 {
		return nil, geo.Errorf(geo.EINVALID, "evaluate %s: no background incidents", bg.Name)
	}
	cfg := detect.DefaultConfig()
	if o.Config != nil {
		cfg = *o.Config
	}
	cfg = cfg.WithReplications(o.Replications)
	cfg.Res, cfg.Seed, cfg.Detectors = o.Res, o.Seed, nil
	cfg.Groups = []detect.Group{{Name: bg.Name, Kinds: bg.Kinds, Detectors: o.Detectors}}
	cfg.GiStarDays = cfg.GiStarDays[:1] // the map's window: the one an analyst watches
	cfg.MonitorDays = 1
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	e := &evaluation{ctx: ctx, city: city, cfg: cfg, o: o, bg: bg, area: detect.StudyArea(city, o.Res)}
	end := lastDay(bg.Incidents)
	first := end.AddDate(0, 0, -(o.Days - 1))
	res := &Result{Background: bg.Name, Options: o, From: first, To: end.AddDate(0, 0, 1)}

	// Background alone, from the day before the period so the first day's
	// signals can be told new or continuing.
	e.background = map[time.Time]map[string]bool{}
	false_ := map[string]int{}
	bgSrc := &detect.MemSource{Incidents: bg.Incidents, AreaLayers: bg.Layers}
	for d := first.AddDate(0, 0, -1); !d.After(end); d = d.AddDate(0, 0, 1) {
		sig, err := e.signals(bgSrc, d, o.Detectors)
		if err != nil {
			return nil, err
		}
		keys := map[string]bool{}
		for _, s := range sig {
			keys[s.key] = true
		}
		e.background[d] = keys
		if d.Before(first) {
			continue
		}
		prev := e.background[d.AddDate(0, 0, -1)]
		for k := range keys {
			if !prev[k] {
				false_[detectorOf(k)]++
			}
		}
	}

	rng := rand.New(rand.NewPCG(o.Seed, 0x0ddba11))
	lastStart := end.AddDate(0, 0, -(o.Duration - 1 + o.Lag))
	if lastStart.Before(first) {
		return nil, geo.Errorf(geo.EINVALID, "evaluate: an outbreak of %d days plus %d days of lag does not fit the %d-day period", o.Duration, o.Lag, o.Days)
	}
	span := int(lastStart.Sub(first).Hours()/24) + 1
	for range o.Trials {
		ob, cases := e.outbreak(rng, first.AddDate(0, 0, rng.IntN(span)))
		if err := e.trial(&ob, cases); err != nil {
			return nil, err
		}
		res.Outbreaks = append(res.Outbreaks, ob)
	}
	for _, d := range o.Detectors {
		row := Row{Detector: d, Trials: o.Trials, FalseAlarms: false_[d]}
		var delays []float64
		for _, ob := range res.Outbreaks {
			if n, ok := ob.DetectedAfter[d]; ok {
				row.Detected++
				delays = append(delays, float64(n))
			}
		}
		row.Sensitivity = float64(row.Detected) / float64(row.Trials)
		row.MedianDays = median(delays)
		row.FalseAlarmsPerMonth = float64(row.FalseAlarms) * 30 / float64(o.Days)
		res.Rows = append(res.Rows, row)
	}
	res.Duration = time.Since(start)
	return res, nil
}

type evaluation struct {
	ctx        context.Context
	city       *cities.City
	cfg        detect.Config
	o          Options
	bg         Background
	area       []geo.Cell
	background map[time.Time]map[string]bool // signal keys of the background, per day
}

// signal is one signal finding with its key.
type signal struct {
	key string
	f   geo.Finding
}

// signals runs the detectors on src as of day and returns their signals.
func (e *evaluation) signals(src detect.Source, day time.Time, detectors []string) ([]signal, error) {
	cfg := e.cfg
	cfg.Detectors = detectors
	var out []signal
	r, err := detect.New(src, e.city, cfg, func(_ context.Context, _ geo.DetectionRun, fs []geo.Finding) error {
		for _, f := range fs {
			if detect.IsSignal(f) {
				out = append(out, signal{key: keyOf(f), f: f})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.StudyCells = e.area
	r.Log = quiet
	loc := time.UTC
	if e.city != nil && e.city.Location != nil {
		loc = e.city.Location
	}
	asOf := time.Date(day.Year(), day.Month(), day.Day(), 12, 0, 0, 0, loc)
	if _, err := r.Run(e.ctx, asOf); err != nil {
		return nil, fmt.Errorf("evaluate %s as of %s: %w", e.bg.Name, day.Format(time.DateOnly), err)
	}
	return out, nil
}

// keyOf identifies a signal across days, as an alert key would.
func keyOf(f geo.Finding) string {
	if f.Layer != "" {
		return f.Detector + "|" + f.Layer + ":" + f.Area
	}
	if len(f.Cells) > 0 {
		return f.Detector + "|" + slices.Min(f.Cells).String()
	}
	return f.Detector + "|"
}

func detectorOf(key string) string {
	for i := range key {
		if key[i] == '|' {
			return key[:i]
		}
	}
	return key
}

// outbreak draws one outbreak starting on day: its centre is a random
// background incident, so outbreaks fall where incidents can happen.
func (e *evaluation) outbreak(rng *rand.Rand, day time.Time) (Outbreak, []geo.Incident) {
	c := e.bg.Incidents[rng.IntN(len(e.bg.Incidents))]
	ob := Outbreak{Center: c.Location, Start: day, Cases: e.o.Size, DetectedAfter: map[string]int{}}
	loc := time.UTC
	if e.city != nil && e.city.Location != nil {
		loc = e.city.Location
	}
	var cases []geo.Incident
	for i := range e.o.Size {
		d := day.AddDate(0, 0, i*e.o.Duration/e.o.Size)
		p := jitter(rng, c.Location, e.o.RadiusM)
		cell, err := geo.CellFromPoint(p, geo.FinestRes)
		if err != nil {
			cell = c.Cell
		}
		cases = append(cases, geo.Incident{
			Source: "evaluate", SourceID: fmt.Sprintf("outbreak-%d", i), Kind: e.bg.Kinds[i%len(e.bg.Kinds)],
			OccurredAt: time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, loc).UTC(), TimeKnown: true,
			Day: d, Location: p, Precision: geo.PrecisionExact, Victims: 1, Cell: cell, Areas: c.Areas,
		})
	}
	return ob, cases
}

// trial runs the detectors day by day over one outbreak, each until it
// detects it.
func (e *evaluation) trial(ob *Outbreak, cases []geo.Incident) error {
	src := &detect.MemSource{Incidents: append(slices.Clip(e.bg.Incidents), cases...), AreaLayers: e.bg.Layers}
	near := map[geo.Cell]bool{}
	for _, inc := range cases {
		for _, c := range inc.Cell.Parent(e.o.Res).Disk(1) {
			near[c] = true
		}
	}
	areas := cases[0].Areas
	left := slices.Clone(e.o.Detectors)
	for n := 0; n < e.o.Duration+e.o.Lag && len(left) > 0; n++ {
		day := ob.Start.AddDate(0, 0, n)
		sig, err := e.signals(src, day, left)
		if err != nil {
			return err
		}
		for _, s := range sig {
			d := s.f.Detector
			if _, done := ob.DetectedAfter[d]; done || e.background[day][s.key] || !overlaps(s.f, near, areas) {
				continue
			}
			ob.DetectedAfter[d] = n
			left = slices.DeleteFunc(left, func(x string) bool { return x == d })
		}
	}
	return nil
}

// overlaps reports whether a signal points at the outbreak: a cell near it,
// an area holding its centre, or the city as a whole.
func overlaps(f geo.Finding, near map[geo.Cell]bool, areas map[string]string) bool {
	if f.Layer != "" {
		return f.Layer == "city" || areas[f.Layer] == f.Area
	}
	return slices.ContainsFunc(f.Cells, func(c geo.Cell) bool { return near[c] })
}

func lastDay(incs []geo.Incident) time.Time {
	var end time.Time
	for _, inc := range incs {
		if inc.Day.After(end) {
			end = inc.Day
		}
	}
	return end
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// jitter returns a point uniformly within r metres of c.
func jitter(rng *rand.Rand, c orb.Point, r float64) orb.Point {
	d, a := r*math.Sqrt(rng.Float64()), 2*math.Pi*rng.Float64()
	const mPerDegLat = 111_320.0
	return orb.Point{c.Lon() + d*math.Cos(a)/(mPerDegLat*math.Cos(c.Lat()*math.Pi/180)), c.Lat() + d*math.Sin(a)/mPerDegLat}
}

package alerting

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"hotspots/geo"
)

// Store is what the engine needs from the system of record; geo.Store
// satisfies it.
type Store interface {
	FindIncidents(ctx context.Context, f geo.IncidentFilter) ([]geo.Incident, error)
	Layers(ctx context.Context) ([]geo.AreaLayer, error)
	Areas(ctx context.Context, layer string) ([]geo.Area, error)
	FindSubscriptions(ctx context.Context, f geo.SubscriptionFilter) ([]geo.Subscription, error)
	geo.AlertService
}

// areasTTL is how long the engine keeps the area polygons before reloading,
// so an admin's new layer is picked up without a restart.
const areasTTL = 5 * time.Minute

// Engine evaluates the alert rules. The serve command calls AfterLoad after
// each ingest, Detected instead of Store.SaveRun after each detection run,
// and Run in the background for expiry. Every call writes its alerts, their
// events and their deliveries in one transaction (the outbox).
type Engine struct {
	store Store
	cfg   Config
	life  Lifecycle
	log   *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Enqueued, when set, is called after a write added deliveries; wire it
	// to notify.Pool.Wake so the workers send at once instead of at their
	// next poll.
	Enqueued func()
	// Wrote, when set, is called after every successful write with what was
	// stored (the detection run, if any, and the alert events), so metrics
	// can count alerts and detection durations without this package
	// knowing about them.
	Wrote func(res geo.AlertBatchResult)

	mu        sync.Mutex
	matcher   *Matcher
	matcherAt time.Time
}

// NewEngine returns an engine over store with cfg (see DefaultConfig).
func NewEngine(store Store, cfg Config, log *slog.Logger) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Engine{store: store, cfg: cfg, log: log, Now: time.Now,
		life: Lifecycle{ReopenWithin: cfg.ReopenWithin, NearRepeatMulti: cfg.NearRepeat.MultiSeverity}}, nil
}

// Config returns the engine's configuration.
func (e *Engine) Config() Config { return e.cfg }

// Lifecycle returns the merge policy the engine writes with.
func (e *Engine) Lifecycle() Lifecycle { return e.life }

// Matcher returns the matcher over the store's current areas, reloading
// them every few minutes.
func (e *Engine) Matcher(ctx context.Context) (*Matcher, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.matcher != nil && e.Now().Sub(e.matcherAt) < areasTTL {
		return e.matcher, nil
	}
	layers, err := e.store.Layers(ctx)
	if err != nil {
		return nil, fmt.Errorf("alerting: layers: %w", err)
	}
	var areas []geo.Area
	for _, l := range layers {
		as, err := e.store.Areas(ctx, l.ID)
		if err != nil {
			return nil, fmt.Errorf("alerting: areas of %s: %w", l.ID, err)
		}
		areas = append(areas, as...)
	}
	e.matcher = NewMatcher(layers, areas, e.cfg.Boundary, e.cfg.ZoneRes)
	e.matcherAt = e.Now()
	return e.matcher, nil
}

// Renderer returns a renderer with area names and the map URL.
func (e *Engine) Renderer(ctx context.Context, mapURL string) (Renderer, error) {
	m, err := e.Matcher(ctx)
	if err != nil {
		return Renderer{}, err
	}
	return Renderer{AreaName: m.AreaName, MapURL: mapURL}, nil
}

// AfterLoad evaluates the incident rules after an ingest: the near-repeat
// zone of every new shooting and the area thresholds the new incidents
// touch. incs are the incidents just loaded; their IDs need not be set (they
// are looked up by source and source ID).
func (e *Engine) AfterLoad(ctx context.Context, incs []geo.Incident) (geo.AlertBatchResult, error) {
	if len(incs) == 0 {
		return geo.AlertBatchResult{}, nil
	}
	now := e.Now()
	m, err := e.Matcher(ctx)
	if err != nil {
		return geo.AlertBatchResult{}, err
	}
	r := rules{cfg: e.cfg, m: m}
	var drafts []geo.AlertDraft
	nr, err := e.nearRepeatDrafts(ctx, r, incs, now)
	if err != nil {
		return geo.AlertBatchResult{}, err
	}
	drafts = append(drafts, nr...)
	th, err := e.thresholdDrafts(ctx, r, incs, now)
	if err != nil {
		return geo.AlertBatchResult{}, err
	}
	drafts = append(drafts, th...)
	return e.write(ctx, m, geo.AlertBatch{Drafts: drafts}, now)
}

func sourceKey(i geo.Incident) string { return i.Source + "\x00" + i.SourceID }

func (e *Engine) nearRepeatDrafts(ctx context.Context, r rules, incs []geo.Incident, now time.Time) ([]geo.AlertDraft, error) {
	nr := e.cfg.NearRepeat
	if !nr.Enabled {
		return nil, nil
	}
	want := map[string]bool{}
	var from time.Time
	for _, inc := range incs {
		if slices.Contains(nr.Kinds, inc.Kind) && inc.OccurredAt.Add(nr.Window).After(now) {
			want[sourceKey(inc)] = true
			if from.IsZero() || inc.OccurredAt.Before(from) {
				from = inc.OccurredAt
			}
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	stored, err := e.store.FindIncidents(ctx, geo.IncidentFilter{Kinds: nr.Kinds, From: &from})
	if err != nil {
		return nil, fmt.Errorf("alerting: near-repeat incidents: %w", err)
	}
	var out []geo.AlertDraft
	for _, inc := range stored {
		if !want[sourceKey(inc)] {
			continue
		}
		if d, ok := r.shooting(inc, now); ok {
			out = append(out, d)
		}
	}
	return out, nil
}

func (e *Engine) thresholdDrafts(ctx context.Context, r rules, incs []geo.Incident, now time.Time) ([]geo.AlertDraft, error) {
	if len(e.cfg.Thresholds) == 0 {
		return nil, nil
	}
	touched := map[string]bool{}
	var kinds []geo.Kind
	var longest time.Duration
	for _, t := range e.cfg.Thresholds {
		for _, inc := range incs {
			if inc.Kind == t.Kind && inc.Areas[t.Layer] != "" && inc.OccurredAt.After(now.Add(-t.Window)) {
				touched[touchKey(t.Layer, inc.Areas[t.Layer], t.Kind)] = true
			}
		}
		if !slices.Contains(kinds, t.Kind) {
			kinds = append(kinds, t.Kind)
		}
		longest = max(longest, t.Window)
	}
	if len(touched) == 0 {
		return nil, nil
	}
	from := now.Add(-longest)
	window, err := e.store.FindIncidents(ctx, geo.IncidentFilter{Kinds: kinds, From: &from})
	if err != nil {
		return nil, fmt.Errorf("alerting: threshold incidents: %w", err)
	}
	return r.threshold(window, touched, now), nil
}

// Detected saves a detection run and its findings together with the alerts
// they raise and those alerts' deliveries, in one transaction; use it in
// place of Store.SaveRun. Live cluster alerts of the same detector and kinds
// that the run no longer reports are resolved.
func (e *Engine) Detected(ctx context.Context, run geo.DetectionRun, findings []geo.Finding) (geo.AlertBatchResult, error) {
	now := e.Now()
	m, err := e.Matcher(ctx)
	if err != nil {
		return geo.AlertBatchResult{}, err
	}
	r := rules{cfg: e.cfg, m: m}
	var drafts []geo.AlertDraft
	findings = slices.Clone(findings)
	for i, f := range findings {
		if f.Detector == "" {
			findings[i].Detector = run.Detector
			f.Detector = run.Detector
		}
		if d, ok := r.finding(run, f, i, now); ok {
			drafts = append(drafts, d)
		}
	}
	previous, err := e.rekeyClusters(ctx, run, drafts, now)
	if err != nil {
		return geo.AlertBatchResult{}, err
	}
	res, err := e.write(ctx, m, geo.AlertBatch{Run: &run, Findings: findings, Drafts: drafts}, now)
	if err != nil {
		return res, err
	}
	kept := map[string]bool{}
	for _, d := range drafts {
		kept[d.Alert.Key] = true
	}
	for _, a := range previous {
		if a.Live() && !kept[a.Key] {
			if _, err := e.store.ResolveAlert(ctx, a.ID, SystemActor); err != nil {
				return res, fmt.Errorf("alerting: resolve vanished cluster %d: %w", a.ID, err)
			}
		}
	}
	return res, nil
}

// rekeyClusters gives a cluster that overlaps a recent alert of the same
// detector and kinds that alert's key, so a cluster that drifts by a cell
// between runs stays one alert. It returns the recent alerts considered.
func (e *Engine) rekeyClusters(ctx context.Context, run geo.DetectionRun, drafts []geo.AlertDraft, now time.Time) ([]geo.Alert, error) {
	since := now.Add(-e.cfg.ReopenWithin - e.cfg.Cluster.TTL)
	recent, err := e.store.FindAlerts(ctx, geo.AlertFilter{Rule: geo.RuleCluster, Detector: run.Detector, Since: &since})
	if err != nil {
		return nil, fmt.Errorf("alerting: recent clusters: %w", err)
	}
	kk := kindsKey(run.Kinds)
	var mine []geo.Alert
	for _, a := range recent {
		if kindsKey(a.Kinds) == kk {
			mine = append(mine, a)
		}
	}
	// Live alerts first, then the most recently updated.
	slices.SortStableFunc(mine, func(a, b geo.Alert) int {
		if a.Live() != b.Live() {
			if a.Live() {
				return -1
			}
			return 1
		}
		return b.UpdatedAt.Compare(a.UpdatedAt)
	})
	taken := map[string]bool{}
	for i := range drafts {
		d := &drafts[i]
		if d.Alert.Rule != geo.RuleCluster {
			continue
		}
		cells := cellSet{}
		for _, c := range d.Alert.Cells {
			cells.add(c)
		}
		for _, a := range mine {
			if taken[a.Key] {
				continue
			}
			prev := cellSet{}
			for _, c := range a.Cells {
				prev.add(c)
			}
			if cells.intersects(prev) {
				d.Alert.Key = a.Key
				taken[a.Key] = true
				break
			}
		}
	}
	return mine, nil
}

// write matches drafts to subscriptions and writes the batch.
func (e *Engine) write(ctx context.Context, m *Matcher, b geo.AlertBatch, now time.Time) (geo.AlertBatchResult, error) {
	if len(b.Drafts) == 0 && b.Run == nil {
		return geo.AlertBatchResult{}, nil
	}
	merge := e.life.Merge
	if len(b.Drafts) > 0 {
		active := true
		subs, err := e.store.FindSubscriptions(ctx, geo.SubscriptionFilter{Active: &active})
		if err != nil {
			return geo.AlertBatchResult{}, fmt.Errorf("alerting: subscriptions: %w", err)
		}
		for i := range b.Drafts {
			b.Drafts[i].Targets = m.Targets(subs, b.Drafts[i].Alert)
		}
		merge = func(prev *geo.Alert, d geo.AlertDraft, now time.Time) geo.AlertDecision {
			dec := e.life.Merge(prev, d, now)
			if dec.Notify {
				// Match what the alert became: a zone that grew or
				// escalated reaches subscriptions its draft did not.
				dec.Targets = m.Targets(subs, dec.Alert)
			}
			return dec
		}
	}
	b.Cooldown = e.cfg.Cooldown
	res, err := e.store.RaiseAlerts(ctx, b, merge)
	if err != nil {
		return res, fmt.Errorf("alerting: raise alerts: %w", err)
	}
	for _, ev := range res.Events {
		e.log.Info("alert_event", slog.Int64("alert_id", ev.AlertID), slog.String("type", string(ev.Type)),
			slog.String("rule", string(ev.Alert.Rule)), slog.String("severity", string(ev.Alert.Severity)),
			slog.Int("revision", ev.Revision))
	}
	if res.Enqueued > 0 && e.Enqueued != nil {
		e.Enqueued()
	}
	if e.Wrote != nil {
		e.Wrote(res)
	}
	return res, nil
}

// Sweep resolves alerts whose time has passed and, with a PointsRetention,
// strips case points from alerts older than it.
func (e *Engine) Sweep(ctx context.Context) ([]geo.Alert, error) {
	now := e.Now()
	expired, err := e.store.ExpireAlerts(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("alerting: expire: %w", err)
	}
	for _, a := range expired {
		e.log.Info("alert_expired", slog.Int64("alert_id", a.ID), slog.String("key", a.Key))
	}
	if e.cfg.PointsRetention > 0 {
		n, err := e.store.PurgeAlertPoints(ctx, now.Add(-e.cfg.PointsRetention))
		if err != nil {
			return expired, fmt.Errorf("alerting: purge points: %w", err)
		}
		if n > 0 {
			e.log.Info("alert_points_purged", slog.Int("alerts", n))
		}
	}
	return expired, nil
}

// Run sweeps every interval until ctx ends. Errors are logged, not
// returned: a database outage must not stop alerting for good.
func (e *Engine) Run(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := e.Sweep(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("alert_sweep_failed", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

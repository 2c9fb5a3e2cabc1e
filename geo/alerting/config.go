// Package alerting turns detection findings and new incidents into alerts for
// outreach teams: the rules (scan clusters, area thresholds, EARS/CUSUM
// flags, the near-repeat zone after a shooting), severity, the alert
// lifecycle with its cool-down, matching alerts to subscriptions, the two
// views of an alert, and the 90-day preview of a subscription.
//
// It writes through the geo interfaces only: the alert, its events and its
// deliveries go to the store in the same transaction as the finding behind
// them (a transactional outbox), and geo/notify's workers drain the outbox.
package alerting

import (
	"errors"
	"fmt"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// Config is everything the rules and the lifecycle can be tuned with. The
// zero value is not useful; start from DefaultConfig.
type Config struct {
	// Boundary is the city polygon subscriptions are validated against;
	// nil skips the "outside the city" checks.
	Boundary orb.MultiPolygon
	// ZoneRes is the H3 resolution of alert zones and of subscription
	// matching: 8 or 9, never finer, so no zone locates a victim.
	ZoneRes int
	// Severity grades clusters and flags.
	Severity SeverityConfig
	// Thresholds are the area count rules (ODMAP-style spike alerts).
	Thresholds []Threshold
	// NearRepeat is the shooting response rule.
	NearRepeat NearRepeatConfig
	// Cluster is the scan cluster rule.
	Cluster ClusterConfig
	// AberrationTTL keeps an EARS/CUSUM alert live this long after the last
	// flagged day unless flagged again.
	AberrationTTL time.Duration
	// Cooldown is the least time between two sends of one alert to one
	// subscription channel.
	Cooldown time.Duration
	// ReopenWithin: a situation that comes back within this time of its
	// alert expiring reopens that alert instead of raising a new one.
	ReopenWithin time.Duration
	// PreviewDays is how far back the subscription preview looks.
	PreviewDays int
	// PointsRetention removes case points from alerts whose window ended
	// longer ago than this, on each Sweep, matching the retention of
	// incident points; 0 keeps them.
	PointsRetention time.Duration
}

// Threshold is one area count rule: Min or more incidents of Kind within
// Window in one area of Layer raise an alert. Areas limits it to some area
// codes of the layer (empty: every area), so a threshold can be set per area
// and kind.
type Threshold struct {
	Layer  string        `yaml:"layer" json:"layer"`
	Areas  []string      `yaml:"areas" json:"areas,omitempty"`
	Kind   geo.Kind      `yaml:"kind" json:"kind"`
	Window time.Duration `yaml:"window" json:"window"`
	Min    int           `yaml:"min" json:"min"`
}

// NearRepeatConfig is the shooting response rule: every new incident of
// Kinds raises (or extends) a near-repeat alert for the zone within RadiusM
// of it for Window.
type NearRepeatConfig struct {
	Enabled  bool
	Kinds    []geo.Kind
	RadiusM  float64
	Window   time.Duration
	Severity geo.Severity
	// MultiSeverity is used once the zone holds two or more incidents.
	MultiSeverity geo.Severity
	// KeyRes is the resolution of the cell that keys a zone: incidents in
	// the same cell of this resolution extend one alert.
	KeyRes int
}

// ClusterConfig is the scan cluster rule.
type ClusterConfig struct {
	// TTL keeps a cluster alert live this long after the run that last
	// reported it; a later run of the same detector that no longer reports
	// it resolves it sooner.
	TTL time.Duration
	// AnalysisIntervalDays converts a p-value into a recurrence interval
	// (RI = interval / p) when the detector reports none.
	AnalysisIntervalDays float64
}

// SeverityConfig grades alerts.
type SeverityConfig struct {
	// RIBands are the least recurrence intervals, in days, of weak,
	// moderate, strong and very strong clusters. A cluster below the weak
	// band and above the yellow p-value raises nothing.
	RIBands [4]float64
	// Red and Yellow are the p-value colour cut-offs (p < Red is red).
	Red, Yellow float64
	// RedSeverity and YellowSeverity are the severities of the colours.
	RedSeverity, YellowSeverity geo.Severity
	// ThresholdRatios are the least count/threshold ratios of moderate,
	// strong and very strong threshold alerts (below the first: weak).
	ThresholdRatios [3]float64
	// Aberration is the severity of an EARS/CUSUM flag without a p-value.
	Aberration geo.Severity
}

// DefaultConfig returns the shipped settings: ~150 m / 14 day near-repeat
// zones after shootings, RI bands of 30/100/365/3650 days, red p < 0.01 and
// yellow p < 0.05, a one-hour cool-down and H3 resolution 9 zones.
func DefaultConfig() Config {
	return Config{
		ZoneRes: geo.DefaultDetectRes,
		Severity: SeverityConfig{
			RIBands:         [4]float64{30, 100, 365, 3650},
			Red:             0.01,
			Yellow:          0.05,
			RedSeverity:     geo.SeverityStrong,
			YellowSeverity:  geo.SeverityModerate,
			ThresholdRatios: [3]float64{1, 1.5, 2},
			Aberration:      geo.SeverityModerate,
		},
		NearRepeat: NearRepeatConfig{
			Enabled:       true,
			Kinds:         []geo.Kind{geo.KindShootingFatal, geo.KindShootingNonFatal},
			RadiusM:       150,
			Window:        14 * 24 * time.Hour,
			Severity:      geo.SeverityStrong,
			MultiSeverity: geo.SeverityVeryStrong,
			KeyRes:        8,
		},
		Cluster:       ClusterConfig{TTL: 48 * time.Hour, AnalysisIntervalDays: 1},
		AberrationTTL: 72 * time.Hour,
		Cooldown:      time.Hour,
		ReopenWithin:  6 * time.Hour,
		PreviewDays:   90,
	}
}

// Validate checks the settings, so a bad configuration stops the service at
// start rather than silently never alerting.
func (c Config) Validate() error {
	var errs []error
	if c.ZoneRes < 7 || c.ZoneRes > 9 {
		errs = append(errs, fmt.Errorf("alerting: zone resolution %d: want 7..9 (coarse enough not to locate a victim)", c.ZoneRes))
	}
	b := c.Severity.RIBands
	for i := 1; i < len(b); i++ {
		if b[i] <= b[i-1] {
			errs = append(errs, fmt.Errorf("alerting: recurrence-interval bands %v must increase", b))
			break
		}
	}
	if !(c.Severity.Red > 0 && c.Severity.Red < c.Severity.Yellow && c.Severity.Yellow < 1) {
		errs = append(errs, fmt.Errorf("alerting: p-value colours need 0 < red (%g) < yellow (%g) < 1", c.Severity.Red, c.Severity.Yellow))
	}
	for _, s := range []geo.Severity{c.Severity.RedSeverity, c.Severity.YellowSeverity, c.Severity.Aberration,
		c.NearRepeat.Severity, c.NearRepeat.MultiSeverity} {
		if s.Rank() == 0 {
			errs = append(errs, fmt.Errorf("alerting: unknown severity %q", s))
		}
	}
	for i, t := range c.Thresholds {
		if t.Layer == "" || t.Kind.Validate() != nil || t.Window <= 0 || t.Min < 1 {
			errs = append(errs, fmt.Errorf("alerting: threshold %d (%s %s): needs a layer, a kind, a window > 0 and min >= 1", i, t.Layer, t.Kind))
		}
	}
	if nr := c.NearRepeat; nr.Enabled && (nr.RadiusM <= 0 || nr.RadiusM > 5000 || nr.Window <= 0 || len(nr.Kinds) == 0 || nr.KeyRes < 6 || nr.KeyRes > c.ZoneRes) {
		errs = append(errs, fmt.Errorf("alerting: near-repeat rule needs kinds, a radius in (0, 5000] m, a window and a key resolution 6..%d", c.ZoneRes))
	}
	if c.Cooldown < 0 || c.ReopenWithin < 0 || c.Cluster.TTL <= 0 || c.AberrationTTL <= 0 || c.Cluster.AnalysisIntervalDays <= 0 {
		errs = append(errs, errors.New("alerting: cool-down, reopen, TTLs and the analysis interval must not be negative"))
	}
	if c.PointsRetention < 0 {
		errs = append(errs, errors.New("alerting: points retention must not be negative"))
	}
	if c.PreviewDays < 1 {
		errs = append(errs, errors.New("alerting: preview days must be >= 1"))
	}
	return errors.Join(errs...)
}

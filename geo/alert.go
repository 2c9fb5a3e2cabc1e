package geo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/paulmach/orb"
)

// Severity grades an alert. The four levels follow the recurrence-interval
// bands of prospective space-time scan surveillance (weak, moderate, strong,
// very strong); p-value colours and area thresholds map onto the same scale
// so a subscription can ask for one minimum whatever raised the alert.
type Severity string

// Severities, weakest first.
const (
	SeverityWeak       Severity = "weak"
	SeverityModerate   Severity = "moderate"
	SeverityStrong     Severity = "strong"
	SeverityVeryStrong Severity = "very_strong"
)

// Severities lists the levels weakest first.
var Severities = []Severity{SeverityWeak, SeverityModerate, SeverityStrong, SeverityVeryStrong}

// Rank orders severities: 1 for weak up to 4 for very strong, 0 for unknown.
func (s Severity) Rank() int { return slices.Index(Severities, s) + 1 }

// AtLeast reports whether s is min or stronger; an empty min admits all.
func (s Severity) AtLeast(min Severity) bool { return min == "" || s.Rank() >= min.Rank() }

// ParseSeverity parses a severity name; "" is allowed and means "any".
func ParseSeverity(v string) (Severity, error) {
	s := Severity(v)
	if v == "" || s.Rank() > 0 {
		return s, nil
	}
	return "", Errorf(EINVALID, "unknown severity %q (weak, moderate, strong, very_strong)", v)
}

// AlertRule names the rule family that raised an alert, so teams can
// subscribe to some (near-repeat zones after shootings) and not others.
type AlertRule string

// Alert rules.
const (
	// RuleCluster: a space-time scan cluster with a small p-value or a long
	// recurrence interval.
	RuleCluster AlertRule = "cluster"
	// RuleThreshold: the count of a kind in an area over a rolling window
	// reached the number set for that area and kind (ODMAP-style spikes).
	RuleThreshold AlertRule = "threshold"
	// RuleAberration: an EARS or CUSUM flag on an area's daily series.
	RuleAberration AlertRule = "aberration"
	// RuleNearRepeat: the risk zone around a new shooting, where repeat
	// victimisation is most likely in the following days.
	RuleNearRepeat AlertRule = "near_repeat"
)

// AlertRules lists every rule.
var AlertRules = []AlertRule{RuleCluster, RuleThreshold, RuleAberration, RuleNearRepeat}

// ParseAlertRule parses a rule name.
func ParseAlertRule(v string) (AlertRule, error) {
	r := AlertRule(v)
	if slices.Contains(AlertRules, r) {
		return r, nil
	}
	return "", Errorf(EINVALID, "unknown alert rule %q (cluster, threshold, aberration, near_repeat)", v)
}

// AlertStatus is where an alert is in its lifecycle.
type AlertStatus string

// Alert statuses. An acknowledged alert is still live: it keeps collecting
// cases and is re-sent when it gains new ones, so a team that took it on
// hears when the situation grows.
const (
	AlertOpen         AlertStatus = "open"
	AlertAcknowledged AlertStatus = "acknowledged"
	AlertResolved     AlertStatus = "resolved"
)

// ParseAlertStatus parses a status name.
func ParseAlertStatus(v string) (AlertStatus, error) {
	switch s := AlertStatus(v); s {
	case AlertOpen, AlertAcknowledged, AlertResolved:
		return s, nil
	}
	return "", Errorf(EINVALID, "unknown alert status %q (open, acknowledged, resolved)", v)
}

// AlertCase is one incident counted by an alert. Its point is analyst-only
// detail: it is never rendered in the outreach view, and it is removed by
// PurgeAlertPoints with the same retention as incident points.
type AlertCase struct {
	IncidentID int64      `json:"incident_id"`
	Kind       Kind       `json:"kind"`
	OccurredAt time.Time  `json:"occurred_at"`
	Point      *orb.Point `json:"point,omitempty"`
}

// Alert is one ongoing situation a team may need to act on: a spike in an
// area, a space-time cluster, or the risk zone after a shooting. The same
// situation across detection runs keeps one alert (by Key), which is updated
// as it evolves and re-sent only when it gains new cases.
type Alert struct {
	ID int64 `json:"id"`
	// Key identifies the situation ("threshold:overdose_nonfatal:csa:..."):
	// at most one unresolved alert exists per key.
	Key       string    `json:"key"`
	Rule      AlertRule `json:"rule"`
	Detector  string    `json:"detector"`
	FindingID int64     `json:"finding_id,omitempty"`
	Kinds     []Kind    `json:"kinds"`
	Severity  Severity  `json:"severity"`
	// Colour is the p-value colour ("red" p < 0.01, "yellow" p < 0.05) when
	// the alert has a p-value, "" otherwise.
	Colour string      `json:"colour,omitempty"`
	Status AlertStatus `json:"status"`
	// Title is a one-line summary safe for every audience.
	Title string `json:"title"`
	// Areas are the "layer:code" areas the alert touches.
	Areas []string `json:"areas"`
	// Cells is the zone at a coarse resolution (8 or 9), never finer, so it
	// can be shown to outreach without locating a victim.
	Cells      []Cell    `json:"cells"`
	WindowFrom time.Time `json:"window_from"`
	WindowTo   time.Time `json:"window_to"`
	// Count is the number of cases in the window; Expected the baseline.
	Count     int     `json:"count"`
	Expected  float64 `json:"expected,omitempty"`
	Threshold int     `json:"threshold,omitempty"`
	// PValue and RecurrenceDays are set for scan clusters.
	PValue         *float64 `json:"p_value,omitempty"`
	RecurrenceDays *float64 `json:"recurrence_days,omitempty"`
	// Cases, Origin and Stats are analyst-only details. Origin is the
	// triggering incident's point for near-repeat zones.
	Cases  []AlertCase        `json:"cases,omitempty"`
	Origin *orb.Point         `json:"origin,omitempty"`
	Stats  map[string]float64 `json:"stats,omitempty"`
	// Revision counts notifications: 1 when raised, +1 each time new cases
	// (or a reopening) made it worth sending again.
	Revision   int        `json:"revision"`
	AckedBy    string     `json:"acked_by,omitempty"`
	AckedAt    *time.Time `json:"acked_at,omitempty"`
	ResolvedBy string     `json:"resolved_by,omitempty"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	// ExpiresAt is when the alert resolves by itself unless refreshed.
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Live reports whether the alert is open or acknowledged.
func (a *Alert) Live() bool { return a.Status == AlertOpen || a.Status == AlertAcknowledged }

// CaseIDs returns the incident IDs of the alert's cases.
func (a *Alert) CaseIDs() []int64 {
	out := make([]int64, len(a.Cases))
	for i, c := range a.Cases {
		out[i] = c.IncidentID
	}
	return out
}

// HasKind reports whether the alert concerns any of kinds (empty: all).
func (a *Alert) HasKind(kinds []Kind) bool {
	if len(kinds) == 0 {
		return true
	}
	for _, k := range a.Kinds {
		if slices.Contains(kinds, k) {
			return true
		}
	}
	return false
}

// AlertEventType says what happened to an alert.
type AlertEventType string

// Alert events. Raised, updated and reopened are notifications; the others
// are state changes that the alerts stream shows but nobody is paged for.
const (
	EventRaised       AlertEventType = "raised"
	EventUpdated      AlertEventType = "updated"
	EventReopened     AlertEventType = "reopened"
	EventAcknowledged AlertEventType = "acknowledged"
	EventResolved     AlertEventType = "resolved"
)

// AlertEvent is one entry of the alerts' append-only history. It carries a
// snapshot of the alert as of the event, so a delivery retried an hour later
// sends exactly what it would have sent at first, and the alerts stream can
// resume from any event ID (SSE Last-Event-ID) across processes.
type AlertEvent struct {
	ID       int64          `json:"id"`
	AlertID  int64          `json:"alert_id"`
	Revision int            `json:"revision"`
	Type     AlertEventType `json:"type"`
	Actor    string         `json:"actor,omitempty"`
	At       time.Time      `json:"at"`
	Alert    Alert          `json:"alert"`
}

// AlertFilter selects alerts. Zero fields do not filter.
type AlertFilter struct {
	Status   []AlertStatus
	Rule     AlertRule
	Detector string
	Key      string
	Kinds    []Kind
	// Since selects alerts updated at or after it.
	Since *time.Time
	// CreatedSince selects alerts created at or after it.
	CreatedSince *time.Time
	Limit        int
	Offset       int
}

// DeliveryTarget is one (subscription, channel) an alert is to be sent to,
// matched by the alerting rules before the alert is written.
type DeliveryTarget struct {
	SubscriptionID int64
	Channel        ChannelType
}

// AlertDraft is what a rule proposes for one situation: the alert as it
// should now read and where it would go.
type AlertDraft struct {
	// Alert carries the proposed content; ID, Status, Revision and the
	// lifecycle times are decided by the AlertMerge.
	Alert Alert
	// Finding is the index in AlertBatch.Findings of the finding behind this
	// alert, or -1.
	Finding int
	// Targets are where the draft would go; the merge may match again on
	// the merged alert (a zone that grew reaches more subscriptions).
	Targets []DeliveryTarget
}

// AlertDecision is what an AlertMerge decided for one draft.
type AlertDecision struct {
	// Alert is the state to store. With Store false nothing is written.
	Alert Alert
	Store bool
	// Event is recorded when not empty; Notify enqueues deliveries to
	// Targets (Event must then be raised, updated or reopened).
	Event   AlertEventType
	Notify  bool
	Targets []DeliveryTarget
}

// AlertMerge decides, inside the store's transaction, how a draft changes
// the current alert of its key: prev is the unresolved alert with that key,
// else the most recently resolved one (so a flapping situation can be
// reopened instead of paging again), else nil. Stores call it with prev
// locked, so two processes raising the same situation cannot both page.
type AlertMerge func(prev *Alert, d AlertDraft, now time.Time) AlertDecision

// AlertBatch is one transactional write of the alert outbox: the detection
// run and its findings (optional), the alerts they raise or update, their
// events and their pending deliveries, all committed together or not at all.
type AlertBatch struct {
	Run      *DetectionRun
	Findings []Finding
	Drafts   []AlertDraft
	// Cooldown is the least time between two sends of one alert to one
	// (subscription, channel): a later send is scheduled for when the
	// cool-down ends, and a still-unsent delivery is brought up to date
	// instead of adding another.
	Cooldown time.Duration
}

// AlertBatchResult is what RaiseAlerts wrote.
type AlertBatchResult struct {
	// Run is the saved run (ID set) when the batch had one.
	Run DetectionRun
	// Findings are the saved findings, IDs set, in batch order.
	Findings []Finding
	// Alerts are the stored alerts, in draft order; drafts that the merge
	// chose not to store are left out.
	Alerts []Alert
	// Events are the events recorded.
	Events []AlertEvent
	// Enqueued counts the deliveries added or brought up to date.
	Enqueued int
}

// AlertService stores alerts, their history and their outbox.
type AlertService interface {
	// RaiseAlerts writes a batch in one transaction (see AlertBatch).
	RaiseAlerts(ctx context.Context, b AlertBatch, merge AlertMerge) (AlertBatchResult, error)
	// FindAlertByID returns one alert; ENOTFOUND if none.
	FindAlertByID(ctx context.Context, id int64) (Alert, error)
	// FindAlerts returns alerts, most recently updated first.
	FindAlerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	// AckAlert marks an open alert acknowledged by who; acknowledging an
	// acknowledged alert returns it unchanged, a resolved one is ECONFLICT.
	AckAlert(ctx context.Context, id int64, by string) (Alert, error)
	// ResolveAlert resolves a live alert; a resolved one is returned as is.
	ResolveAlert(ctx context.Context, id int64, by string) (Alert, error)
	// ExpireAlerts resolves live alerts whose ExpiresAt is at or before now,
	// as "system", and returns them.
	ExpireAlerts(ctx context.Context, now time.Time) ([]Alert, error)
	// AlertEvents returns events with ID > afterID, oldest first.
	AlertEvents(ctx context.Context, afterID int64, limit int) ([]AlertEvent, error)
	// LastAlertEventID returns the newest event's ID, 0 when there is none;
	// a live stream starts after it.
	LastAlertEventID(ctx context.Context) (int64, error)
	// PurgeAlertPoints removes case points and origins from alerts (and
	// their event snapshots) whose window ended before cutoff, mirroring
	// IncidentService.PurgePoints. It returns how many alerts changed.
	PurgeAlertPoints(ctx context.Context, cutoff time.Time) (int, error)
}

// AlertKey builds a situation key from its parts, joined by ":".
func AlertKey(rule AlertRule, parts ...any) string {
	s := string(rule)
	for _, p := range parts {
		s += ":" + fmt.Sprint(p)
	}
	return s
}

// PrepareAlert returns a in the form stores keep it: every time in UTC at
// microsecond precision, so what a store returns equals what a later read
// gives, and nil lists as empty.
func PrepareAlert(a Alert) Alert {
	us := func(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
	usp := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		v := us(*t)
		return &v
	}
	a.WindowFrom, a.WindowTo, a.ExpiresAt = us(a.WindowFrom), us(a.WindowTo), us(a.ExpiresAt)
	a.CreatedAt, a.UpdatedAt = us(a.CreatedAt), us(a.UpdatedAt)
	a.AckedAt, a.ResolvedAt = usp(a.AckedAt), usp(a.ResolvedAt)
	if len(a.Cases) > 0 {
		cs := make([]AlertCase, len(a.Cases))
		for i, c := range a.Cases {
			c.OccurredAt = us(c.OccurredAt)
			cs[i] = c
		}
		a.Cases = cs
	}
	if a.Kinds == nil {
		a.Kinds = []Kind{}
	}
	if a.Areas == nil {
		a.Areas = []string{}
	}
	if a.Cells == nil {
		a.Cells = []Cell{}
	}
	return a
}

// WithoutPoints returns a copy of a without case points or origin: what is
// left once the retention period for points has passed.
func (a Alert) WithoutPoints() Alert {
	a.Origin = nil
	if len(a.Cases) > 0 {
		cs := make([]AlertCase, len(a.Cases))
		for i, c := range a.Cases {
			c.Point = nil
			cs[i] = c
		}
		a.Cases = cs
	}
	return a
}

// HasPoints reports whether a still carries any point.
func (a *Alert) HasPoints() bool {
	if a.Origin != nil {
		return true
	}
	for _, c := range a.Cases {
		if c.Point != nil {
			return true
		}
	}
	return false
}

// IdempotencyKey is the key of the delivery of revision rev of alert id to
// one subscription channel: stable across retries, new for each revision.
func IdempotencyKey(alertID int64, rev int, subID int64, ch ChannelType) string {
	return fmt.Sprintf("a%d-r%d-s%d-%s", alertID, rev, subID, ch)
}

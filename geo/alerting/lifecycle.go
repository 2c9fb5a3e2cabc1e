package alerting

import (
	"slices"
	"sort"
	"time"

	"hotspots/geo"
)

// Lifecycle decides how a rule's draft changes the alert of its situation.
// Its Merge is the geo.AlertMerge the stores run inside their transaction.
type Lifecycle struct {
	// ReopenWithin: a situation whose alert expired less than this long ago
	// reopens it rather than raising a new one, so a count hovering around
	// its threshold does not page a team each time it crosses.
	ReopenWithin time.Duration
	// NearRepeatMulti is the severity of a near-repeat zone once it holds
	// two or more incidents: a second shooting nearby is a pattern.
	NearRepeatMulti geo.Severity
}

// Merge implements geo.AlertMerge:
//   - no alert yet: raise it (revision 1) and notify;
//   - a live alert: take the draft's content, keep identity, status and
//     acknowledgement, and notify again only if the draft brings new cases;
//     near-repeat zones accumulate cases and cells instead of replacing them;
//   - an alert the system expired within ReopenWithin: reopen it, and notify
//     if there are new cases;
//   - otherwise (resolved by a person, or long ago): raise a new alert.
func (l Lifecycle) Merge(prev *geo.Alert, d geo.AlertDraft, now time.Time) geo.AlertDecision {
	next := d.Alert
	next.UpdatedAt = now
	switch {
	case prev != nil && prev.Live():
		next = l.carry(prev, next)
		if !gained(prev, next) {
			return geo.AlertDecision{Alert: next, Store: true}
		}
		next.Revision = prev.Revision + 1
		return geo.AlertDecision{Alert: next, Store: true, Event: geo.EventUpdated, Notify: true, Targets: d.Targets}
	case prev != nil && prev.ResolvedBy == SystemActor && prev.ResolvedAt != nil && now.Sub(*prev.ResolvedAt) < l.ReopenWithin:
		next = l.carry(prev, next)
		next.Status, next.AckedBy, next.AckedAt, next.ResolvedBy, next.ResolvedAt = geo.AlertOpen, "", nil, "", nil
		next.Revision = prev.Revision + 1
		return geo.AlertDecision{Alert: next, Store: true, Event: geo.EventReopened, Notify: gained(prev, next), Targets: d.Targets}
	}
	next.ID, next.Status, next.Revision, next.CreatedAt = 0, geo.AlertOpen, 1, now
	next.AckedBy, next.AckedAt, next.ResolvedBy, next.ResolvedAt = "", nil, "", nil
	return geo.AlertDecision{Alert: next, Store: true, Event: geo.EventRaised, Notify: true, Targets: d.Targets}
}

// SystemActor is who resolves expired alerts.
const SystemActor = "system"

// carry keeps the identity and acknowledgement of prev in next, and for
// near-repeat zones folds prev's cases, cells and window into next.
func (l Lifecycle) carry(prev *geo.Alert, next geo.Alert) geo.Alert {
	next.ID, next.CreatedAt, next.Revision = prev.ID, prev.CreatedAt, prev.Revision
	next.Status, next.AckedBy, next.AckedAt = prev.Status, prev.AckedBy, prev.AckedAt
	next.ResolvedBy, next.ResolvedAt = prev.ResolvedBy, prev.ResolvedAt
	if next.Rule == geo.RuleNearRepeat && len(next.Cases) > 0 {
		next.Cases = unionCases(prev.Cases, next.Cases)
		next.Count = len(next.Cases)
		next.Cells = unionCells(prev.Cells, next.Cells)
		next.Areas = unionStrings(prev.Areas, next.Areas)
		if !prev.WindowFrom.IsZero() && prev.WindowFrom.Before(next.WindowFrom) {
			next.WindowFrom = prev.WindowFrom
		}
		if prev.WindowTo.After(next.WindowTo) {
			next.WindowTo = prev.WindowTo
		}
		if prev.ExpiresAt.After(next.ExpiresAt) {
			next.ExpiresAt = prev.ExpiresAt
		}
		if next.Origin == nil {
			next.Origin = prev.Origin
		}
		next.Kinds = unionKinds(prev.Kinds, next.Kinds)
		next.Severity = stronger(prev.Severity, next.Severity)
		if next.Count >= 2 && l.NearRepeatMulti != "" {
			next.Severity = stronger(next.Severity, l.NearRepeatMulti)
		}
	}
	return next
}

// gained reports whether next has cases prev did not: by incident ID when
// the rule knows them, else by a larger count (scan clusters).
func gained(prev *geo.Alert, next geo.Alert) bool {
	if len(next.Cases) > 0 {
		have := make(map[int64]bool, len(prev.Cases))
		for _, c := range prev.Cases {
			have[c.IncidentID] = true
		}
		for _, c := range next.Cases {
			if !have[c.IncidentID] {
				return true
			}
		}
		return false
	}
	return next.Count > prev.Count
}

func unionCases(a, b []geo.AlertCase) []geo.AlertCase {
	seen := map[int64]bool{}
	var out []geo.AlertCase
	for _, c := range append(slices.Clone(a), b...) {
		if !seen[c.IncidentID] {
			seen[c.IncidentID] = true
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].OccurredAt.Before(out[j].OccurredAt) })
	return out
}

func unionCells(a, b []geo.Cell) []geo.Cell {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func unionStrings(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func unionKinds(a, b []geo.Kind) []geo.Kind {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

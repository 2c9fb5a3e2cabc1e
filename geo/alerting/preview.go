package alerting

import (
	"context"
	"fmt"
	"time"

	"hotspots/geo"
)

// Preview is what a subscription would have received over the last days,
// shown before it is saved so a team can tune it to a volume it can act on.
type Preview struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Alerts is how many distinct alerts matched.
	Alerts int `json:"alerts"`
	// Notifications counts the sends, including re-sends of alerts that
	// gained cases (before any cool-down merged them).
	Notifications int                   `json:"notifications"`
	BySeverity    map[geo.Severity]int  `json:"by_severity"`
	ByRule        map[geo.AlertRule]int `json:"by_rule"`
	// Recent are the titles of the most recent matches, newest first.
	Recent []string `json:"recent"`
}

// previewPage is how many alerts Preview reads per query.
const previewPage = 500

// Preview replays the alerts of the last PreviewDays through the
// subscription's filter. Alerts are raised for the whole city whatever the
// subscriptions, so the stored alerts are exactly what it would have been
// offered. The subscription should be validated first.
func (e *Engine) Preview(ctx context.Context, s geo.Subscription) (Preview, error) {
	m, err := e.Matcher(ctx)
	if err != nil {
		return Preview{}, err
	}
	now := e.Now()
	from := now.AddDate(0, 0, -e.cfg.PreviewDays)
	p := Preview{From: from, To: now, BySeverity: map[geo.Severity]int{}, ByRule: map[geo.AlertRule]int{}, Recent: []string{}}
	s.Active, s.ID = true, 0
	for off := 0; ; off += previewPage {
		alerts, err := e.store.FindAlerts(ctx, geo.AlertFilter{Since: &from, Limit: previewPage, Offset: off})
		if err != nil {
			return Preview{}, fmt.Errorf("alerting: preview: %w", err)
		}
		for _, a := range alerts {
			if !m.Match(s, a) {
				continue
			}
			p.Alerts++
			p.Notifications += max(a.Revision, 1)
			p.BySeverity[a.Severity]++
			p.ByRule[a.Rule]++
			if len(p.Recent) < 5 {
				p.Recent = append(p.Recent, a.Title)
			}
		}
		if len(alerts) < previewPage {
			return p, nil
		}
	}
}

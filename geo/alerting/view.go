package alerting

import (
	"strconv"
	"strings"
	"time"

	"hotspots/geo"
)

// AreaRef names an area in a view.
type AreaRef struct {
	ID   string `json:"id"` // "layer:code"
	Name string `json:"name"`
}

// OutreachView is the alert as an outreach team receives it: where (areas and
// coarse H3 cells), how many, when, how serious, and a link to the map, but
// no incident points, no incident IDs and no exact victim location.
type OutreachView struct {
	View       geo.AlertView   `json:"view"`
	ID         int64           `json:"id"`
	Rule       geo.AlertRule   `json:"rule"`
	Kinds      []geo.Kind      `json:"kinds"`
	Severity   geo.Severity    `json:"severity"`
	Colour     string          `json:"colour,omitempty"`
	Status     geo.AlertStatus `json:"status"`
	Title      string          `json:"title"`
	Areas      []AreaRef       `json:"areas"`
	Cells      []string        `json:"cells"`
	CellRes    int             `json:"cell_res,omitempty"`
	WindowFrom time.Time       `json:"window_from"`
	WindowTo   time.Time       `json:"window_to"`
	Count      int             `json:"count"`
	Expected   float64         `json:"expected,omitempty"`
	Threshold  int             `json:"threshold,omitempty"`
	Revision   int             `json:"revision"`
	AckedBy    string          `json:"acked_by,omitempty"`
	AckedAt    *time.Time      `json:"acked_at,omitempty"`
	ResolvedBy string          `json:"resolved_by,omitempty"`
	ResolvedAt *time.Time      `json:"resolved_at,omitempty"`
	ExpiresAt  time.Time       `json:"expires_at"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	MapURL     string          `json:"map_url,omitempty"`
}

// AnalystView adds the details: the detector and finding, p-value and
// recurrence interval, the statistics, and the cases with their points.
type AnalystView struct {
	OutreachView
	Key            string             `json:"key"`
	Detector       string             `json:"detector"`
	FindingID      int64              `json:"finding_id,omitempty"`
	PValue         *float64           `json:"p_value,omitempty"`
	RecurrenceDays *float64           `json:"recurrence_days,omitempty"`
	Stats          map[string]float64 `json:"stats,omitempty"`
	Cases          []geo.AlertCase    `json:"cases,omitempty"`
	Origin         *[2]float64        `json:"origin,omitempty"` // [lon, lat]
}

// Renderer renders alerts into views; it knows area names and the map URL.
type Renderer struct {
	// AreaName returns an area's display name ("" keeps the id).
	AreaName func(id string) string
	// MapURL is the analyst map's address; links are MapURL#alert=<id>.
	MapURL string
}

// MapLink returns the map link of an alert, "" without a MapURL.
func (r Renderer) MapLink(id int64) string {
	if r.MapURL == "" {
		return ""
	}
	return strings.TrimRight(r.MapURL, "/") + "/#alert=" + strconv.FormatInt(id, 10)
}

// Outreach renders the outreach view.
func (r Renderer) Outreach(a geo.Alert) OutreachView {
	v := OutreachView{View: geo.ViewOutreach, ID: a.ID, Rule: a.Rule, Kinds: a.Kinds, Severity: a.Severity,
		Colour: a.Colour, Status: a.Status, Title: a.Title, WindowFrom: a.WindowFrom, WindowTo: a.WindowTo,
		Count: a.Count, Expected: a.Expected, Threshold: a.Threshold, Revision: a.Revision, AckedBy: a.AckedBy,
		AckedAt: a.AckedAt, ResolvedBy: a.ResolvedBy, ResolvedAt: a.ResolvedAt, ExpiresAt: a.ExpiresAt,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, MapURL: r.MapLink(a.ID),
		Areas: make([]AreaRef, 0, len(a.Areas)), Cells: make([]string, 0, len(a.Cells))}
	for _, id := range a.Areas {
		name := ""
		if r.AreaName != nil {
			name = r.AreaName(id)
		}
		if name == "" {
			name = id
		}
		v.Areas = append(v.Areas, AreaRef{ID: id, Name: name})
	}
	for _, c := range a.Cells {
		// Never finer than resolution 9, whatever a detector reported.
		if c.Res() > 9 {
			c = c.Parent(9)
		}
		v.Cells = append(v.Cells, c.String())
		v.CellRes = c.Res()
	}
	return v
}

// Analyst renders the analyst view.
func (r Renderer) Analyst(a geo.Alert) AnalystView {
	v := AnalystView{OutreachView: r.Outreach(a), Key: a.Key, Detector: a.Detector, FindingID: a.FindingID,
		PValue: a.PValue, RecurrenceDays: a.RecurrenceDays, Stats: a.Stats, Cases: a.Cases}
	v.View = geo.ViewAnalyst
	if a.Origin != nil {
		v.Origin = &[2]float64{a.Origin.Lon(), a.Origin.Lat()}
	}
	return v
}

// Render renders the view a subscription or caller is entitled to.
func (r Renderer) Render(a geo.Alert, view geo.AlertView) any {
	if view == geo.ViewAnalyst {
		return r.Analyst(a)
	}
	return r.Outreach(a)
}

// ViewFor returns the view a principal may see: analysts and admins get
// details, everyone else the outreach view.
func ViewFor(p geo.Principal) geo.AlertView {
	if p.SeesPoints() {
		return geo.ViewAnalyst
	}
	return geo.ViewOutreach
}

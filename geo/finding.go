package geo

import (
	"encoding/json"
	"time"
)

// DetectionRun is one run of one detector over a data window. Every stored
// finding keeps its run, so a finding can be reproduced from its parameters,
// seed and window.
type DetectionRun struct {
	ID         int64
	Detector   string // "stpscan", "ears_c1", "gistar", "ehsa", "knox", ...
	Kinds      []Kind
	WindowFrom time.Time
	WindowTo   time.Time
	Params     json.RawMessage
	Seed       int64
	StartedAt  time.Time
	Duration   time.Duration
}

// Finding is one result of a detector: a space-time cluster, a flagged area
// day, a hot-spot cell. Cells and Area say where; Stats carries the detector's
// own figures (observed, expected, p, z, RI, category ...).
type Finding struct {
	ID       int64
	RunID    int64
	Detector string
	Kind     string // finding type: "cluster", "area_alarm", "hotspot", "near_repeat"
	Cells    []Cell
	Layer    string // area layer for area findings
	Area     string
	Start    time.Time
	End      time.Time
	Observed float64
	Expected float64
	PValue   *float64
	Score    float64 // LLR, z, or statistic
	Category string  // e.g. EHSA category, Gi* bin "hot_99"
	Stats    map[string]float64
}

// FindingFilter selects findings.
type FindingFilter struct {
	Detector string
	Kind     string
	RunID    int64 // 0 = latest run of each matching detector and kind set (one per kind group)
	Since    *time.Time
	Limit    int
}

package geo

import "time"

// Load is one run of one source through ingest: the unit of the public data
// changelog ("when, which source, how many rows added, changed, quarantined").
type Load struct {
	ID          int64
	Source      string
	StartedAt   time.Time
	FinishedAt  *time.Time
	Status      string // "running", "done", "failed"
	RowsRead    int
	Added       int
	Changed     int
	Unchanged   int
	Quarantined int
	Error       string
}

// Load statuses.
const (
	LoadRunning = "running"
	LoadDone    = "done"
	LoadFailed  = "failed"
)

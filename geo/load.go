package geo

import "time"

// LoadInterrupted is the Error of a load that StartLoad marked failed
// because it was still running LoadInterruptedAfter after it started: its
// process died (a crash, a database outage) before it could finish it.
const LoadInterrupted = "interrupted"

// LoadInterruptedAfter is how long a load may stay running before a new
// load of its source takes it for dead. Loads of one source are not
// serialised for their whole run (the stores lock per upsert transaction
// and key bucket only, and two loads of a source may overlap), so a running
// load of the same source cannot be proven dead by a lock; an age far above
// any real load (minutes for a million rows, seconds for a push) is the
// conservative, heartbeat-free rule.
const LoadInterruptedAfter = 24 * time.Hour

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

// LoadSizer is implemented by stores that prepare differently for a large
// load: PostGIS drops the incidents' secondary indexes and builds them when
// the load finishes once the load will at least double the table, which it
// otherwise learns only after 50,000 new rows have gone in the slow,
// indexed way. ExpectRows tells the store, as early as the feed can
// estimate it (a file's size over the bytes per row of its first rows), how
// many rows the running load will write in all: new, changed and unchanged.
// It is a hint: a wrong one costs time, never a wrong row.
type LoadSizer interface {
	ExpectRows(loadID int64, rows int)
}

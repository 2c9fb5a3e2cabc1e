package ingest

import (
	"context"
	"fmt"
	"sync"

	"hotspots/geo"
)

// writerLanes is how many upserts a writer keeps in flight. Incidents are
// split between lanes by their key's lock bucket (geo.UpsertBucket), so the
// lanes' batches never touch the same key and a store can write them side
// by side: on PostgreSQL, two backends share the index maintenance that
// bounds a large load. Each key stays in one lane, so its rows are still
// applied in feed order.
const writerLanes = 2

// writer upserts incidents and quarantined rows in batches on goroutines of
// its own, so the store's round trips overlap with parsing.
type writer struct {
	ctx    context.Context
	st     geo.Store
	loadID int64
	size   int
	sum    *Summary
	after  func(context.Context, []geo.Incident)

	lanes   [writerLanes]writerLane
	quar    []geo.QuarantinedRow
	afterMu sync.Mutex
	mu      sync.Mutex
	first   error
}

// writerLane is one sequence of upserts: its pending batch and the
// goroutine that runs its jobs in order.
type writerLane struct {
	incs []geo.Incident
	jobs chan func() error
	done chan struct{}
}

func newWriter(ctx context.Context, st geo.Store, loadID int64, size int, sum *Summary) *writer {
	w := &writer{ctx: ctx, st: st, loadID: loadID, size: size, sum: sum}
	for i := range w.lanes {
		l := &w.lanes[i]
		l.jobs, l.done = make(chan func() error, 2), make(chan struct{})
		go func() {
			defer close(l.done)
			for job := range l.jobs {
				if w.err() != nil {
					continue
				}
				if err := job(); err != nil {
					w.mu.Lock()
					if w.first == nil {
						w.first = err
					}
					w.mu.Unlock()
				}
			}
		}()
	}
	return w
}

func (w *writer) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first
}

func (w *writer) failed() bool { return w.err() != nil }

func (w *writer) addIncident(inc geo.Incident) {
	i := geo.UpsertBucket(inc.Source, inc.SourceID) % writerLanes
	l := &w.lanes[i]
	l.incs = append(l.incs, inc)
	if len(l.incs) >= w.size {
		w.flushIncidents(i)
	}
}

func (w *writer) addQuarantine(q geo.QuarantinedRow) {
	q.LoadID = w.loadID
	w.quar = append(w.quar, q)
	if len(w.quar) >= w.size {
		w.flushQuarantine()
	}
}

func (w *writer) flushIncidents(lane int) {
	l := &w.lanes[lane]
	if len(l.incs) == 0 {
		return
	}
	batch := l.incs
	l.incs = make([]geo.Incident, 0, w.size)
	l.jobs <- func() error {
		res, err := w.st.UpsertIncidents(w.ctx, w.loadID, batch)
		if err != nil {
			return fmt.Errorf("upsert %d incidents: %w", len(batch), err)
		}
		w.mu.Lock()
		w.sum.Added += res.Added
		w.sum.Changed += res.Changed
		w.sum.Unchanged += res.Unchanged
		w.mu.Unlock()
		if w.after != nil {
			// One batch at a time, as with a single lane: hooks need not
			// be safe for concurrent use.
			w.afterMu.Lock()
			w.after(w.ctx, batch)
			w.afterMu.Unlock()
		}
		return nil
	}
}

func (w *writer) flushQuarantine() {
	if len(w.quar) == 0 {
		return
	}
	batch := w.quar
	w.quar = nil
	w.lanes[0].jobs <- func() error {
		if err := w.st.QuarantineRows(w.ctx, batch); err != nil {
			return fmt.Errorf("quarantine %d rows: %w", len(batch), err)
		}
		return nil
	}
}

// close flushes what is left and waits for the writes; it returns the
// first write error.
func (w *writer) close() error {
	if w.ctx.Err() == nil {
		for i := range w.lanes {
			w.flushIncidents(i)
		}
		w.flushQuarantine()
	}
	for i := range w.lanes {
		close(w.lanes[i].jobs)
	}
	for i := range w.lanes {
		<-w.lanes[i].done
	}
	if err := w.err(); err != nil {
		return err
	}
	return w.ctx.Err()
}

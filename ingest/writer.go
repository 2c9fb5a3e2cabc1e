package ingest

import (
	"context"
	"fmt"
	"sync"

	"hotspots/geo"
)

// writer upserts incidents and quarantined rows in batches on its own
// goroutine, so the store's round trips overlap with parsing.
type writer struct {
	ctx    context.Context
	st     geo.Store
	loadID int64
	size   int
	sum    *Summary
	after  func(context.Context, []geo.Incident)

	incs  []geo.Incident
	quar  []geo.QuarantinedRow
	jobs  chan func() error
	done  chan struct{}
	mu    sync.Mutex
	first error
}

func newWriter(ctx context.Context, st geo.Store, loadID int64, size int, sum *Summary) *writer {
	w := &writer{ctx: ctx, st: st, loadID: loadID, size: size, sum: sum,
		jobs: make(chan func() error, 2), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for job := range w.jobs {
			if w.err() != nil {
				continue
			}
			if err := job(); err != nil {
				w.mu.Lock()
				w.first = err
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *writer) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first
}

func (w *writer) failed() bool { return w.err() != nil }

func (w *writer) addIncident(inc geo.Incident) {
	w.incs = append(w.incs, inc)
	if len(w.incs) >= w.size {
		w.flushIncidents()
	}
}

func (w *writer) addQuarantine(q geo.QuarantinedRow) {
	q.LoadID = w.loadID
	w.quar = append(w.quar, q)
	if len(w.quar) >= w.size {
		w.flushQuarantine()
	}
}

func (w *writer) flushIncidents() {
	if len(w.incs) == 0 {
		return
	}
	batch := w.incs
	w.incs = make([]geo.Incident, 0, w.size)
	w.jobs <- func() error {
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
			w.after(w.ctx, batch)
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
	w.jobs <- func() error {
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
		w.flushIncidents()
		w.flushQuarantine()
	}
	close(w.jobs)
	<-w.done
	if err := w.err(); err != nil {
		return err
	}
	return w.ctx.Err()
}

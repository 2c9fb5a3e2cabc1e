package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"time"

	"hotspots/cities"
	"hotspots/geo"
)

// DefaultBatchSize is how many incidents go to the store per upsert: big
// enough to amortise a transaction, small enough to keep memory flat.
const DefaultBatchSize = 4000

// chunkSize is how many records travel together between pipeline stages.
const chunkSize = 256

// Options tune a load. The zero value works.
type Options struct {
	// Geocoder places rows by address; nil quarantines rows that need it.
	Geocoder Geocoder
	// Kinds the city recognises; nil: geo.DefaultKinds.
	Kinds geo.KindSet
	// Areas is a prebuilt area index; nil: loaded from the store.
	Areas *AreaIndex
	// Now is the clock for future-date checks; nil: time.Now.
	Now func() time.Time
	// BatchSize of upserts; 0: DefaultBatchSize.
	BatchSize int
	// Workers transforming rows in parallel; 0: GOMAXPROCS.
	Workers int
	Logger  *slog.Logger
	// Progress receives the number of rows read as they are read.
	Progress func(rows int)
	// Incremental marks a pull of new rows only (a poll): quarantined rows
	// of earlier loads are not touched.
	Incremental bool
	// AfterUpsert, when set, is called with each batch of incidents once it
	// is committed. serve wires it to the alerting engine, so a new shooting
	// raises its near-repeat alert and an area crossing its threshold pages
	// its team as soon as the rows land, not at the next detection run.
	AfterUpsert func(ctx context.Context, incs []geo.Incident)
	// Observer is told about every finished load, failed ones included, so
	// the process can count rows without ingest knowing about metrics.
	// Nil: nobody is told.
	Observer Observer
}

// Observer receives the summary of each finished load or push. err is the
// load's error, nil when it succeeded; the summary then holds what was
// written before the failure.
type Observer interface {
	LoadFinished(s *Summary, err error)
}

// observe tells the observer, if any.
func (o *Options) observe(s *Summary, err error) {
	if o.Observer != nil {
		o.Observer.LoadFinished(s, err)
	}
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Kinds == nil {
		o.Kinds = geo.DefaultKinds()
	}
}

// expectRows returns the callback that tells a store preparing for large
// loads (geo.LoadSizer) the load's expected size, once, as soon as the feed
// can estimate it from the rows read so far; nil when either side cannot.
// It is called from the reader, before the rows it counts are written, so
// the store can decide at the load's first upserts.
func expectRows(st geo.Store, feed Feed, loadID int64) func(int) {
	sz, ok := st.(geo.LoadSizer)
	est, ok2 := feed.(rowEstimator)
	if !ok || !ok2 {
		return nil
	}
	told := false
	return func(read int) {
		if told {
			return
		}
		if n := est.estimateRows(read); n > 0 {
			told = true
			sz.ExpectRows(loadID, n)
		}
	}
}

// chunk is a run of consecutive records (or their outcomes) in feed order.
type chunk struct {
	seq  int
	recs []Record
	outs []outcome
}

// Load runs one feed through a mapping into the store as one recorded
// load. Rows are transformed by a pool of workers and upserted in batches
// while later rows are still being read; incidents of merging sources are
// written once the whole feed is read, since a victim row may come last.
// A cancelled load is recorded as failed; running it again completes it.
func Load(ctx context.Context, st geo.Store, city *cities.City, m *Mapping, feed Feed, opts Options) (Summary, error) {
	opts.defaults()
	started := opts.Now()
	sum := newSummary(m.ID)
	if opts.Areas == nil {
		idx, err := LoadAreaIndex(ctx, st)
		if err != nil {
			return sum, err
		}
		opts.Areas = idx
	}
	l, err := st.StartLoad(ctx, m.ID)
	if err != nil {
		return sum, fmt.Errorf("ingest %s: start load: %w", m.ID, err)
	}
	sum.LoadID = l.ID
	t := newTransformer(m, city, opts.Areas, opts.Geocoder, opts.Kinds, opts.Now())
	col, runErr := runPipeline(ctx, st, t, feed, l.ID, &opts, &sum, expectRows(st, feed, l.ID))
	if runErr == nil && !opts.Incremental {
		runErr = resolveRecovered(ctx, st, m.ID, col, &sum)
	}
	sum.Duration = opts.Now().Sub(started)
	l.RowsRead, l.Added, l.Changed, l.Unchanged, l.Quarantined = sum.RowsRead, sum.Added, sum.Changed, sum.Unchanged, sum.Quarantined
	l.Status = geo.LoadDone
	if runErr != nil {
		l.Status, l.Error = geo.LoadFailed, runErr.Error()
	}
	fin := opts.Now()
	l.FinishedAt = &fin
	// The load's record must be written even when ctx was cancelled, or the
	// changelog would show it running forever.
	if err := st.FinishLoad(context.WithoutCancel(ctx), l); err != nil && runErr == nil {
		runErr = fmt.Errorf("ingest %s: finish load: %w", m.ID, err)
	}
	opts.observe(&sum, runErr)
	if runErr != nil {
		return sum, fmt.Errorf("ingest %s: %w", m.ID, runErr)
	}
	opts.Logger.Info("ingest_done", slog.String("source", m.ID), slog.Int64("load_id", l.ID),
		slog.Int("rows", sum.RowsRead), slog.Int("added", sum.Added), slog.Int("changed", sum.Changed),
		slog.Int("unchanged", sum.Unchanged), slog.Int("quarantined", sum.Quarantined),
		slog.Duration("duration", sum.Duration))
	return sum, nil
}

// runPipeline reads, transforms and writes. Stages: one reader, a pool of
// transform workers, and this goroutine, which puts outcomes back in feed
// order (so keys, duplicates and merges are decided the same way on every
// run) and hands batches to a writer goroutine.
// rows, if not nil, is told the number of rows read so far after each
// chunk.
func runPipeline(ctx context.Context, st geo.Store, t *transformer, feed Feed, loadID int64, opts *Options, sum *Summary, rows func(int)) (*collector, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	in := make(chan chunk, opts.Workers*2)
	out := make(chan chunk, opts.Workers*2)
	var readErr error
	go func() {
		defer close(in)
		readErr = readChunks(ctx, feed, in, opts.Progress, rows)
		if readErr != nil {
			cancel(readErr)
		}
	}()
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range in {
				c.outs = make([]outcome, len(c.recs))
				for i := range c.recs {
					c.outs[i] = t.apply(ctx, &c.recs[i])
				}
				c.recs = nil
				select {
				case out <- c:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(out) }()

	w := newWriter(ctx, st, loadID, opts.BatchSize, sum)
	w.after = opts.AfterUpsert
	col := newCollector(t.m, w, sum)
	pending := map[int]chunk{}
	next := 0
	for c := range out {
		pending[c.seq] = c
		for {
			pc, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			for i := range pc.outs {
				col.add(&pc.outs[i])
			}
		}
		if w.failed() {
			cancel(w.err())
			break
		}
	}
	// Drain so the workers can exit.
	for range out {
	}
	if err := context.Cause(ctx); err != nil {
		w.close()
		return col, err
	}
	col.finish()
	if err := w.close(); err != nil {
		return col, err
	}
	return col, readErr
}

// readChunks sends the feed's records in numbered chunks.
func readChunks(ctx context.Context, feed Feed, in chan<- chunk, progress, rows func(int)) error {
	c := chunk{recs: make([]Record, 0, chunkSize)}
	read := 0
	send := func() bool {
		select {
		case in <- c:
		case <-ctx.Done():
			return false
		}
		if progress != nil {
			progress(len(c.recs))
		}
		read += len(c.recs)
		if rows != nil && ctx.Err() == nil {
			rows(read)
		}
		c = chunk{seq: c.seq + 1, recs: make([]Record, 0, chunkSize)}
		return true
	}
	err := feed.Each(ctx, func(r Record) error {
		c.recs = append(c.recs, r)
		if len(c.recs) == chunkSize && !send() {
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(c.recs) > 0 && !send() {
		return ctx.Err()
	}
	return nil
}

// collector turns ordered outcomes into incidents and quarantined rows.
type collector struct {
	m      *Mapping
	w      *writer
	sum    *Summary
	seen   map[string]struct{}
	dups   map[string]int
	qseen  map[string]int
	qkeys  map[string]bool
	merged map[string]*agg
	order  []string
}

// agg is one incident being merged from victim rows.
type agg struct {
	inc  geo.Incident
	raws []json.RawMessage
}

func newCollector(m *Mapping, w *writer, sum *Summary) *collector {
	c := &collector{m: m, w: w, sum: sum, seen: map[string]struct{}{}, dups: map[string]int{},
		qseen: map[string]int{}, qkeys: map[string]bool{}}
	if m.Key.Merge {
		c.merged = map[string]*agg{}
	}
	return c
}

func (c *collector) add(o *outcome) {
	c.sum.RowsRead++
	switch {
	case o.filtered != "":
		c.sum.Filtered[o.filtered]++
		return
	case o.reason != "":
		c.quarantine(o)
		return
	}
	if c.merged != nil {
		c.merge(o)
		return
	}
	if _, dup := c.seen[o.key]; dup {
		if len(c.m.Key.Columns) > 0 || c.m.Columns.ID != "" {
			o.quarantine(geo.ReasonBadRow, "key %q repeats an earlier row and the mapping does not merge", o.key)
			c.quarantine(o)
			return
		}
		// No id: identical rows are distinct events we cannot tell apart,
		// so each gets its occurrence number.
		c.dups[o.key]++
		o.key = o.key + "#" + strconv.Itoa(c.dups[o.key]+1)
		o.inc.SourceID = o.key
	}
	c.seen[o.key] = struct{}{}
	c.sum.countIncident(&o.inc)
	c.w.addIncident(o.inc)
}

func (c *collector) merge(o *outcome) {
	a, ok := c.merged[o.key]
	if !ok {
		c.merged[o.key] = &agg{inc: o.inc, raws: []json.RawMessage{o.raw}}
		c.order = append(c.order, o.key)
		return
	}
	c.sum.Merged++
	mergeInto(&a.inc, &o.inc, c.m.Key.KindPrecedence)
	a.raws = append(a.raws, o.raw)
}

// mergeInto folds victim row b into incident a.
func mergeInto(a, b *geo.Incident, precedence []geo.Kind) {
	a.Victims += b.Victims
	a.Naloxone += b.Naloxone
	if a.Kind != b.Kind {
		for _, k := range precedence {
			if k == a.Kind {
				break
			}
			if k == b.Kind {
				a.Kind = b.Kind
				break
			}
		}
	}
	for _, f := range b.Flags {
		if !a.HasFlag(f) {
			a.Flags = append(a.Flags, f)
		}
	}
}

func (c *collector) quarantine(o *outcome) {
	k := o.key
	c.qseen[k]++
	if n := c.qseen[k]; n > 1 {
		k = k + "#" + strconv.Itoa(n)
	}
	c.sum.Quarantined++
	c.sum.ByReason[o.reason]++
	c.qkeys[k] = true
	if len(c.sum.Examples[o.reason]) < maxExamples {
		c.sum.Examples[o.reason] = append(c.sum.Examples[o.reason], fmt.Sprintf("line %d: %s", o.line, o.detail))
	}
	c.w.addQuarantine(geo.QuarantinedRow{Source: c.m.ID, RowKey: k, Reason: o.reason, Detail: o.detail, Raw: o.raw})
}

// hasIncident reports whether this load produced an incident with key k.
func (c *collector) hasIncident(k string) bool {
	if c.merged != nil {
		_, ok := c.merged[k]
		return ok
	}
	_, ok := c.seen[k]
	return ok
}

// finish writes the merged incidents, in order of first appearance.
func (c *collector) finish() {
	for _, k := range c.order {
		a := c.merged[k]
		if len(a.raws) > 1 {
			a.inc.Raw = joinRaw(a.raws)
		}
		c.sum.countIncident(&a.inc)
		c.w.addIncident(a.inc)
	}
}

// joinRaw makes a JSON array of the merged rows, kept for audit.
func joinRaw(raws []json.RawMessage) json.RawMessage {
	n := 2
	for _, r := range raws {
		n += len(r) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, r := range raws {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return append(b, ']')
}

// resolveRecovered marks as resolved the quarantined rows of earlier loads
// whose key became an incident in this full load (a mapping fix followed by
// a reload rather than a re-process), so the quarantine only lists rows
// that still fail.
func resolveRecovered(ctx context.Context, st geo.Store, source string, col *collector, sum *Summary) error {
	var ids []int64
	for off := 0; ; off += 1000 {
		rows, err := st.ListQuarantine(ctx, geo.QuarantineFilter{Source: source, Limit: 1000, Offset: off})
		if err != nil {
			return fmt.Errorf("list quarantine: %w", err)
		}
		for _, r := range rows {
			if r.LoadID != sum.LoadID && !col.qkeys[r.RowKey] && col.hasIncident(baseKey(r.RowKey)) {
				ids = append(ids, r.ID)
			}
		}
		if len(rows) < 1000 {
			break
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if err := st.ResolveQuarantine(ctx, ids); err != nil {
		return fmt.Errorf("resolve quarantine: %w", err)
	}
	sum.Resolved += len(ids)
	return nil
}

// baseKey strips the occurrence suffix ("#2") of a row key.
func baseKey(k string) string {
	for i := len(k) - 1; i > 0; i-- {
		c := k[i]
		if c == '#' {
			return k[:i]
		}
		if c < '0' || c > '9' {
			break
		}
	}
	return k
}

func orDefault(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

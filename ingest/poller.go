package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"hotspots/cities"
	"hotspots/geo"
)

// DefaultPollEvery is the polling interval of sources that set none.
const DefaultPollEvery = 15 * time.Minute

// Poller pulls the city's remote sources on their schedules. Each source's
// watermark (the largest value of its since field that was loaded, or the
// digest of a whole-file feed) is kept in the store, so a restarted
// process continues where the last one stopped instead of reloading
// everything.
type Poller struct {
	st      geo.Store
	city    *cities.City
	sources []*Mapping
	fetcher *Fetcher
	opts    Options
	log     *slog.Logger
}

// PollerOptions configure a Poller.
type PollerOptions struct {
	Options
	Fetcher *Fetcher
	// Sources overrides the city's polled mappings (tests, one-off runs).
	Sources []*Mapping
}

// NewPoller returns a poller over every mapping of the city that has a
// poll URL.
func NewPoller(st geo.Store, city *cities.City, o PollerOptions) (*Poller, error) {
	o.defaults()
	srcs := o.Sources
	if srcs == nil {
		all, err := CityMappings(city)
		if err != nil {
			return nil, err
		}
		for _, m := range all {
			if m.Poll != nil && m.Poll.URL != "" {
				srcs = append(srcs, m)
			}
		}
	}
	for _, m := range srcs {
		if m.Poll == nil || m.Poll.URL == "" {
			return nil, fmt.Errorf("poller: source %s has no poll url", m.ID)
		}
	}
	f := o.Fetcher
	if f == nil {
		f = &Fetcher{Logger: o.Logger}
	}
	return &Poller{st: st, city: city, sources: srcs, fetcher: f, opts: o.Options, log: o.Logger}, nil
}

// Sources returns the ids of the polled sources.
func (p *Poller) Sources() []string {
	out := make([]string, len(p.sources))
	for i, m := range p.sources {
		out[i] = m.ID
	}
	return out
}

// Run polls every source now and then on its interval until ctx ends. A
// failed poll is logged and retried at the next tick; it never stops the
// other sources.
func (p *Poller) Run(ctx context.Context) error {
	if len(p.sources) == 0 {
		p.log.Info("poller_idle", slog.String("city", p.city.Slug))
		<-ctx.Done()
		return nil
	}
	var wg sync.WaitGroup
	for _, m := range p.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			every := m.Poll.Every
			if every <= 0 {
				every = DefaultPollEvery
			}
			for {
				if _, err := p.PollOnce(ctx, m); err != nil && ctx.Err() == nil {
					p.log.Error("poll_failed", slog.String("source", m.ID), slog.Any("error", err))
				}
				t := time.NewTimer(every)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

// PollOnce pulls one source from its watermark, loads what came and, when
// the load succeeded, advances the watermark.
func (p *Poller) PollOnce(ctx context.Context, m *Mapping) (Summary, error) {
	wm, err := p.st.Watermark(ctx, m.ID)
	if err != nil {
		return Summary{}, fmt.Errorf("poll %s: watermark: %w", m.ID, err)
	}
	opts := p.opts
	var (
		feed Feed
		next = wm
	)
	switch m.Format {
	case FormatArcGIS, FormatSocrata:
		if m.Poll.Since == "" {
			return Summary{}, fmt.Errorf("poll %s: %s sources need poll.since_field", m.ID, m.Format)
		}
		opts.Incremental = wm != ""
		var mu sync.Mutex
		feed = watchField(RemoteFeed(m, p.fetcher, m.Poll.URL, wm), m.Poll.Since, func(v string) {
			mu.Lock()
			defer mu.Unlock()
			if laterMark(v, next) {
				next = v
			}
		})
	case FormatCSV, FormatGeoJSON:
		body, err := p.fetcher.Get(ctx, m.Poll.URL)
		if err != nil {
			return Summary{}, fmt.Errorf("poll %s: %w", m.ID, err)
		}
		sum := sha256.Sum256(body)
		next = "sha256:" + hex.EncodeToString(sum[:])
		if next == wm {
			p.log.Info("poll_unchanged", slog.String("source", m.ID))
			return Summary{Source: m.ID}, nil
		}
		mk := CSVFeed
		if m.Format == FormatGeoJSON {
			mk = GeoJSONFeed
		}
		feed = mk(strings.NewReader(string(body)))
	default:
		return Summary{}, fmt.Errorf("poll %s: format %s cannot be polled", m.ID, m.Format)
	}
	s, err := Load(ctx, p.st, p.city, m, feed, opts)
	if err != nil {
		return s, err
	}
	if next != wm {
		if err := p.st.SetWatermark(ctx, m.ID, next); err != nil {
			return s, fmt.Errorf("poll %s: set watermark: %w", m.ID, err)
		}
	}
	p.log.Info("poll_done", slog.String("source", m.ID), slog.String("watermark", next),
		slog.Int("rows", s.RowsRead), slog.Int("added", s.Added))
	return s, nil
}

// watchField calls see with the value of column field of every record.
func watchField(f Feed, field string, see func(string)) Feed {
	return FeedFunc(func(ctx context.Context, fn func(Record) error) error {
		return f.Each(ctx, func(r Record) error {
			if v := strings.TrimSpace(r.Get(field)); v != "" {
				see(v)
			}
			return fn(r)
		})
	})
}

// laterMark reports whether watermark value a is after b: numerically for
// epoch milliseconds (ArcGIS), as text for ISO timestamps (Socrata).
func laterMark(a, b string) bool {
	if b == "" {
		return true
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 == nil && err2 == nil {
		return x > y
	}
	return a > b
}

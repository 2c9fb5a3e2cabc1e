package notify

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"hotspots/geo"
)

// EventSource is the part of the store a broker reads.
type EventSource interface {
	AlertEvents(ctx context.Context, afterID int64, limit int) ([]geo.AlertEvent, error)
	LastAlertEventID(ctx context.Context) (int64, error)
}

// Broker fans alert events out to server-sent event streams. It reads the
// alert history from the store rather than hearing about events in memory,
// so a stream sees every event whichever process raised it, and a client
// that reconnects with Last-Event-ID misses nothing. It polls only while
// someone listens, sharing one query among all listeners.
type Broker struct {
	src  EventSource
	poll time.Duration
	page int
	log  *slog.Logger

	mu      sync.Mutex
	subs    map[chan geo.AlertEvent]struct{}
	running bool
	stop    context.CancelFunc
}

// brokerBuffer is how many events a slow listener may lag before it is
// dropped; it reconnects and resumes from the history.
const brokerBuffer = 256

// NewBroker returns a broker polling src every poll (1 s when 0).
func NewBroker(src EventSource, poll time.Duration, log *slog.Logger) *Broker {
	if poll <= 0 {
		poll = time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return &Broker{src: src, poll: poll, page: 500, log: log, subs: map[chan geo.AlertEvent]struct{}{}}
}

// Subscribe returns a channel of events newer than the moment of the call.
// The channel is closed when ctx ends or when the listener falls too far
// behind; either way the listener should resume from the history.
func (b *Broker) Subscribe(ctx context.Context) (<-chan geo.AlertEvent, error) {
	ch := make(chan geo.AlertEvent, brokerBuffer)
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.running {
		last, err := b.src.LastAlertEventID(ctx)
		if err != nil {
			return nil, fmt.Errorf("notify: broker start: %w", err)
		}
		pctx, cancel := context.WithCancel(context.Background())
		b.running, b.stop = true, cancel
		go b.run(pctx, last)
	}
	b.subs[ch] = struct{}{}
	context.AfterFunc(ctx, func() { b.drop(ch) })
	return ch, nil
}

// Listeners returns how many streams are subscribed.
func (b *Broker) Listeners() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

func (b *Broker) drop(ch chan geo.AlertEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[ch]; !ok {
		return
	}
	delete(b.subs, ch)
	close(ch)
	if len(b.subs) == 0 && b.running {
		b.stop()
		b.running = false
	}
}

func (b *Broker) run(ctx context.Context, last int64) {
	t := time.NewTicker(b.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			evs, err := b.src.AlertEvents(ctx, last, b.page)
			if err != nil {
				if ctx.Err() == nil {
					b.log.Warn("broker_poll_failed", slog.Any("error", err))
				}
				break
			}
			for _, ev := range evs {
				b.publish(ev)
				last = ev.ID
			}
			if len(evs) < b.page {
				break
			}
		}
	}
}

func (b *Broker) publish(ev geo.AlertEvent) {
	b.mu.Lock()
	var slow []chan geo.AlertEvent
	for ch := range b.subs {
		select {
		case ch <- ev:
		default:
			slow = append(slow, ch)
		}
	}
	b.mu.Unlock()
	for _, ch := range slow {
		b.log.Warn("broker_listener_dropped", slog.Int64("event_id", ev.ID))
		b.drop(ch)
	}
}

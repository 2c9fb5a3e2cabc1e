package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"hotspots/geo"
	"hotspots/geo/alerting"
)

// PoolConfig tunes a worker pool. Zero fields take the defaults shown.
type PoolConfig struct {
	// Worker names this pool in leases; unique per process (default
	// host-pid-random).
	Worker string
	// Workers is how many sends run at once (4).
	Workers int
	// Lease is how long a claimed delivery is ours (1 min); it must exceed
	// SendTimeout so a live worker never loses a lease mid-send.
	Lease time.Duration
	// SendTimeout bounds one attempt (20 s).
	SendTimeout time.Duration
	// Poll is how often the outbox is polled when idle (1 s); Wake skips
	// the wait.
	Poll time.Duration
	// MaxAttempts moves a delivery to dead after this many failures (8).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the retry delay: base·2^(n-1),
	// jittered ±20%, capped at max (10 s, 1 h).
	BackoffBase, BackoffMax time.Duration
	// Now is the clock retry times are computed on; it should be the
	// store's (nil: time.Now).
	Now func() time.Time
}

func (c *PoolConfig) defaults() {
	if c.Worker == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		c.Worker = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	def(&c.Lease, time.Minute)
	def(&c.SendTimeout, 20*time.Second)
	def(&c.Poll, time.Second)
	def(&c.BackoffBase, 10*time.Second)
	def(&c.BackoffMax, time.Hour)
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// PoolStats counts what a pool did since it started.
type PoolStats struct {
	Sent, Failed, Dead, LeaseLost int64
}

// Pool drains the delivery outbox: it claims due deliveries with a lease,
// sends each through the sender of its channel, and records the outcome.
// Several pools (in several processes) may run against one store.
type Pool struct {
	store   geo.DeliveryService
	senders map[geo.ChannelType]Sender
	render  alerting.Renderer
	cfg     PoolConfig
	log     *slog.Logger
	wake    chan struct{}

	sent, failed, dead, lost atomic.Int64
}

// NewPool returns a pool; senders maps channel types to senders, render
// renders alert views (area names, map links).
func NewPool(store geo.DeliveryService, senders map[geo.ChannelType]Sender, render alerting.Renderer, cfg PoolConfig, log *slog.Logger) (*Pool, error) {
	cfg.defaults()
	if cfg.SendTimeout >= cfg.Lease {
		return nil, fmt.Errorf("notify: send timeout %s must be shorter than the lease %s", cfg.SendTimeout, cfg.Lease)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Pool{store: store, senders: senders, render: render, cfg: cfg,
		log: log.With(slog.String("worker", cfg.Worker)), wake: make(chan struct{}, 1)}, nil
}

// Worker returns the pool's lease name.
func (p *Pool) Worker() string { return p.cfg.Worker }

// Stats returns the pool's counters.
func (p *Pool) Stats() PoolStats {
	return PoolStats{Sent: p.sent.Load(), Failed: p.failed.Load(), Dead: p.dead.Load(), LeaseLost: p.lost.Load()}
}

// Wake makes an idle pool poll now; the alerting engine calls it after it
// enqueued deliveries, so an alert goes out in milliseconds, not at the
// next poll. It never blocks.
func (p *Pool) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run claims and sends until ctx ends. Cancelling ctx abandons in-flight
// sends without recording them: their leases expire and another pool takes
// them over (the receiver may then see a repeat, which the idempotency key
// lets it drop). Store errors are logged and retried, never returned, so a
// database restart does not stop delivery.
func (p *Pool) Run(ctx context.Context) error {
	slots := make(chan struct{}, p.cfg.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	errDelay := p.cfg.Poll
	for ctx.Err() == nil {
		free := p.cfg.Workers - len(slots)
		var jobs []geo.DeliveryJob
		var err error
		if free > 0 {
			jobs, err = p.store.ClaimDeliveries(ctx, geo.DeliveryClaim{Worker: p.cfg.Worker, Limit: free,
				Lease: p.cfg.Lease, MaxAttempts: p.cfg.MaxAttempts})
		}
		if err != nil && ctx.Err() == nil {
			p.log.Error("delivery_claim_failed", slog.Any("error", err))
			p.sleep(ctx, errDelay)
			errDelay = min(2*errDelay, 30*time.Second)
			continue
		}
		errDelay = p.cfg.Poll
		for _, job := range jobs {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				p.deliver(ctx, job)
			}()
		}
		if free > 0 && len(jobs) == free {
			continue // probably more due
		}
		if free == 0 {
			// All workers busy: wait for one to finish.
			select {
			case slots <- struct{}{}:
				<-slots
			case <-ctx.Done():
			}
			continue
		}
		p.sleep(ctx, p.cfg.Poll)
	}
	return nil
}

func (p *Pool) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-p.wake:
	}
}

// deliver makes one attempt and records it.
func (p *Pool) deliver(ctx context.Context, job geo.DeliveryJob) {
	d := job.Delivery
	log := p.log.With(slog.Int64("delivery_id", d.ID), slog.Int64("alert_id", d.AlertID),
		slog.String("channel", string(d.Channel)), slog.Int("attempt", d.Attempts))
	err := p.send(ctx, job)
	if ctx.Err() != nil {
		log.Warn("delivery_abandoned", slog.Any("error", err))
		return // killed: the lease expires and another worker takes over
	}
	if err == nil {
		if p.record(ctx, log, func(ctx context.Context) error {
			return p.store.MarkSent(ctx, d.ID, p.cfg.Worker, d.Attempts)
		}) {
			p.sent.Add(1)
			log.Debug("delivery_sent")
		}
		return
	}
	var retryAt *time.Time
	if !IsPermanent(err) && d.Attempts < p.cfg.MaxAttempts {
		t := p.cfg.Now().Add(p.backoff(d.Attempts, err))
		retryAt = &t
	}
	if p.record(ctx, log, func(ctx context.Context) error {
		return p.store.MarkFailed(ctx, d.ID, p.cfg.Worker, d.Attempts, err.Error(), retryAt)
	}) {
		if retryAt == nil {
			p.dead.Add(1)
			log.Error("delivery_dead", slog.Any("error", err))
		} else {
			p.failed.Add(1)
			log.Warn("delivery_failed", slog.Any("error", err), slog.Time("retry_at", *retryAt))
		}
	}
}

func (p *Pool) send(ctx context.Context, job geo.DeliveryJob) error {
	s, ok := p.senders[job.Delivery.Channel]
	if !ok {
		return fmt.Errorf("%s: %w", job.Delivery.Channel, errNoSender)
	}
	if job.Event.ID == 0 || job.Subscription.ID == 0 {
		// Deleting a subscription or alert deletes its deliveries, so a
		// job without them was loaded incompletely: try again later.
		return fmt.Errorf("delivery %d: event or subscription not loaded", job.Delivery.ID)
	}
	sctx, cancel := context.WithTimeout(ctx, p.cfg.SendTimeout)
	defer cancel()
	return s.Send(sctx, NewMessage(job, p.render))
}

// record stores an outcome, retrying briefly through store hiccups (a
// dropped connection) while the lease lasts, because a lost "sent" means a
// repeat send. It reports whether the outcome was stored.
func (p *Pool) record(ctx context.Context, log *slog.Logger, fn func(context.Context) error) bool {
	delay := 50 * time.Millisecond
	deadline := time.Now().Add(p.cfg.Lease / 2)
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := fn(rctx)
		cancel()
		switch {
		case err == nil:
			return true
		case geo.ErrorCode(err) == geo.ECONFLICT:
			p.lost.Add(1)
			log.Warn("delivery_lease_lost", slog.Any("error", err))
			return false
		case ctx.Err() != nil || time.Now().Add(delay).After(deadline):
			log.Error("delivery_record_failed", slog.Any("error", err))
			return false
		}
		p.sleep(ctx, delay)
		delay = min(2*delay, 2*time.Second)
	}
}

// backoff is the delay before attempt n+1 after n failures.
func (p *Pool) backoff(n int, err error) time.Duration {
	d := p.cfg.BackoffBase << min(n-1, 30)
	if d <= 0 || d > p.cfg.BackoffMax {
		d = p.cfg.BackoffMax
	}
	d = time.Duration(float64(d) * (0.8 + 0.4*mrand.Float64()))
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.After > d {
		d = min(ra.After, p.cfg.BackoffMax)
	}
	return d
}

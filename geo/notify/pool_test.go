package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"hotspots/geo"
)

var quiet = slog.New(slog.DiscardHandler)

// memOutbox is an in-memory geo.DeliveryService with the stores' claim and
// lease rules, for testing the pool without a database.
type memOutbox struct {
	mu   sync.Mutex
	rows map[int64]*geo.Delivery
	job  geo.DeliveryJob
}

func newOutbox(job geo.DeliveryJob, n int) *memOutbox {
	o := &memOutbox{rows: map[int64]*geo.Delivery{}, job: job}
	for i := 1; i <= n; i++ {
		d := job.Delivery
		d.ID, d.Attempts, d.Status, d.NextAttemptAt = int64(i), 0, geo.DeliveryPending, time.Now()
		d.IdempotencyKey = fmt.Sprintf("key-%d", i)
		o.rows[d.ID] = &d
	}
	return o
}

func (o *memOutbox) ClaimDeliveries(_ context.Context, c geo.DeliveryClaim) ([]geo.DeliveryJob, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	var out []geo.DeliveryJob
	for id := int64(1); id <= int64(len(o.rows)) && len(out) < c.Limit; id++ {
		d := o.rows[id]
		due := d.Status == geo.DeliveryPending && !d.NextAttemptAt.After(now)
		expired := d.Status == geo.DeliverySending && d.ClaimedUntil.Before(now)
		if expired && d.Attempts >= c.MaxAttempts {
			d.Status = geo.DeliveryDead
			continue
		}
		if !due && !expired {
			continue
		}
		until := now.Add(c.Lease)
		d.Status, d.ClaimedBy, d.ClaimedUntil = geo.DeliverySending, c.Worker, &until
		d.Attempts++
		job := o.job
		job.Delivery = *d
		out = append(out, job)
	}
	return out, nil
}

func (o *memOutbox) holds(id int64, worker string, attempt int) (*geo.Delivery, error) {
	d := o.rows[id]
	if d.Status != geo.DeliverySending || d.ClaimedBy != worker || d.Attempts != attempt {
		return nil, geo.Errorf(geo.ECONFLICT, "lease lost")
	}
	return d, nil
}

func (o *memOutbox) MarkSent(_ context.Context, id int64, worker string, attempt int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	d, err := o.holds(id, worker, attempt)
	if err != nil {
		return err
	}
	d.Status = geo.DeliverySent
	return nil
}

func (o *memOutbox) MarkFailed(_ context.Context, id int64, worker string, attempt int, reason string, retryAt *time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	d, err := o.holds(id, worker, attempt)
	if err != nil {
		return err
	}
	d.LastError = reason
	if retryAt == nil {
		d.Status = geo.DeliveryDead
		return nil
	}
	d.Status, d.NextAttemptAt = geo.DeliveryPending, *retryAt
	return nil
}

func (o *memOutbox) FindDeliveries(context.Context, geo.DeliveryFilter) ([]geo.Delivery, error) {
	return nil, errors.New("not used")
}

func (o *memOutbox) RequeueDelivery(context.Context, int64) (geo.Delivery, error) {
	return geo.Delivery{}, errors.New("not used")
}

func (o *memOutbox) DeliveryCounts(context.Context) (map[geo.DeliveryStatus]int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[geo.DeliveryStatus]int{}
	for _, d := range o.rows {
		out[d.Status]++
	}
	return out, nil
}

// scriptSender fails the first n sends of each key with err, then succeeds.
type scriptSender struct {
	mu    sync.Mutex
	n     int
	err   error
	calls map[string]int
}

func (s *scriptSender) Send(_ context.Context, m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[m.Payload.ID]++
	if s.calls[m.Payload.ID] <= s.n {
		return s.err
	}
	return nil
}

func runUntil(t *testing.T, p *Pool, o *memOutbox, done func(map[geo.DeliveryStatus]int) bool) map[geo.DeliveryStatus]int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { _ = p.Run(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, _ := o.DeliveryCounts(ctx)
		if done(c) {
			return c
		}
		time.Sleep(5 * time.Millisecond)
	}
	c, _ := o.DeliveryCounts(ctx)
	t.Fatalf("pool did not finish: %v", c)
	return nil
}

func TestPoolOutcomes(t *testing.T) {
	job := testJob(geo.ViewOutreach, geo.Channel{Type: geo.ChannelWebhook, URL: "http://unused", Secret: secret})
	fast := PoolConfig{Workers: 3, Poll: 5 * time.Millisecond, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
		MaxAttempts: 4, Lease: time.Second, SendTimeout: 500 * time.Millisecond}
	tests := map[string]struct {
		sender   *scriptSender
		sent     int
		dead     int
		attempts int // sends per delivery
	}{
		"first try":              {&scriptSender{}, 10, 0, 1},
		"two failures then ok":   {&scriptSender{n: 2, err: errors.New("connection refused")}, 10, 0, 3},
		"always failing is dead": {&scriptSender{n: 100, err: errors.New("HTTP 500")}, 0, 10, 4},
		"permanent is dead now":  {&scriptSender{n: 100, err: Permanent(errors.New("HTTP 410"))}, 0, 10, 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := newOutbox(job, 10)
			p, err := NewPool(o, map[geo.ChannelType]Sender{geo.ChannelWebhook: tc.sender}, testRenderer(), fast, quiet)
			if err != nil {
				t.Fatal(err)
			}
			c := runUntil(t, p, o, func(c map[geo.DeliveryStatus]int) bool { return c[geo.DeliverySent]+c[geo.DeliveryDead] == 10 })
			if c[geo.DeliverySent] != tc.sent || c[geo.DeliveryDead] != tc.dead {
				t.Fatalf("counts = %v, want %d sent %d dead", c, tc.sent, tc.dead)
			}
			for key, n := range tc.sender.calls {
				if n != tc.attempts {
					t.Fatalf("%s sent %d times, want %d", key, n, tc.attempts)
				}
			}
			for _, d := range o.rows {
				if tc.dead > 0 && d.LastError == "" {
					t.Fatalf("dead delivery %d has no reason", d.ID)
				}
			}
			st := p.Stats()
			if st.Sent != int64(tc.sent) || st.Dead != int64(tc.dead) {
				t.Fatalf("stats = %+v", st)
			}
		})
	}
}

func TestPoolRejectsLeaseShorterThanSend(t *testing.T) {
	if _, err := NewPool(newOutbox(geo.DeliveryJob{}, 0), nil, testRenderer(), PoolConfig{Lease: time.Second, SendTimeout: 2 * time.Second}, nil); err == nil {
		t.Fatal("NewPool accepted a lease shorter than the send timeout")
	}
}

func TestBackoff(t *testing.T) {
	p, _ := NewPool(newOutbox(geo.DeliveryJob{}, 0), nil, testRenderer(), PoolConfig{BackoffBase: 10 * time.Second, BackoffMax: time.Hour}, nil)
	tests := map[string]struct {
		n      int
		err    error
		lo, hi time.Duration
	}{
		"first":            {1, errors.New("x"), 8 * time.Second, 12 * time.Second},
		"third":            {3, errors.New("x"), 32 * time.Second, 48 * time.Second},
		"capped":           {40, errors.New("x"), 48 * time.Minute, 72 * time.Minute},
		"retry-after wins": {1, &RetryAfterError{Err: errors.New("x"), After: 5 * time.Minute}, 5 * time.Minute, 5 * time.Minute},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for i := 0; i < 20; i++ {
				if d := p.backoff(tc.n, tc.err); d < tc.lo || d > tc.hi {
					t.Fatalf("backoff(%d) = %s, want %s..%s", tc.n, d, tc.lo, tc.hi)
				}
			}
		})
	}
}

// memEvents is an in-memory event source.
type memEvents struct {
	mu  sync.Mutex
	evs []geo.AlertEvent
}

func (m *memEvents) add(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < n; i++ {
		m.evs = append(m.evs, geo.AlertEvent{ID: int64(len(m.evs) + 1), Type: geo.EventRaised})
	}
}

func (m *memEvents) AlertEvents(_ context.Context, after int64, limit int) ([]geo.AlertEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []geo.AlertEvent
	for _, e := range m.evs {
		if e.ID > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memEvents) LastAlertEventID(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.evs)), nil
}

func TestBroker(t *testing.T) {
	src := &memEvents{}
	src.add(3) // history before anyone listens is not replayed
	b := NewBroker(src, 2*time.Millisecond, quiet)
	b.page = 50
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	a, err := b.Subscribe(ctx1)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := b.Subscribe(ctx2)
	src.add(200) // several poll pages
	for _, ch := range []<-chan geo.AlertEvent{a, c} {
		for want := int64(4); want <= 203; want++ {
			select {
			case ev := <-ch:
				if ev.ID != want {
					t.Fatalf("got event %d, want %d", ev.ID, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("timed out waiting for event %d", want)
			}
		}
	}
	cancel1()
	for range a {
	} // closed on cancel
	deadline := time.Now().Add(5 * time.Second)
	for b.Listeners() != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if b.Listeners() != 1 {
		t.Fatalf("listeners = %d, want 1", b.Listeners())
	}
	t.Run("slow listener is dropped", func(t *testing.T) {
		src.add(brokerBuffer + 10)
		deadline := time.Now().Add(5 * time.Second)
		for b.Listeners() != 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		n := 0
		for range c {
			n++
		}
		if n != brokerBuffer {
			t.Fatalf("slow listener got %d events before being dropped", n)
		}
	})
}

package notify_test

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hotspots/geo"
	"hotspots/geo/notify"
	"hotspots/geo/postgis"
	"hotspots/geo/postgis/postgistest"
)

// The fault tests run on real PostGIS (HOTSPOTS_TEST_DATABASE_URL; they
// skip without it, and fail under CI=true). Each drives the whole path:
// incident -> rule -> alert and delivery in one transaction -> worker pool
// -> signed webhook, and asserts that every alert arrives.

// fastPool retries quickly so a test's outage is covered in seconds.
func fastPool(worker string) notify.PoolConfig {
	return notify.PoolConfig{Worker: worker, Workers: 4, Poll: 20 * time.Millisecond, Lease: 2 * time.Second,
		SendTimeout: time.Second, MaxAttempts: 100, BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond}
}

func TestFaultReceiverDown(t *testing.T) {
	w := newWorld(t, postgistest.MustOpenDB(t), 40)
	ctx := context.Background()
	p := w.pool(fastPool("w1"))
	w.engine.Enqueued = p.Wake
	stop := run(p)
	defer stop()
	for _, code := range w.areas[:10] {
		if err := w.overdose(ctx, code); err != nil {
			t.Fatal(err)
		}
	}
	w.settle(10 * time.Second)
	// The receiver goes away; alerts keep coming; it comes back later.
	w.rcv.down()
	for _, code := range w.areas[10:40] {
		if err := w.overdose(ctx, code); err != nil {
			t.Fatal(err)
		}
	}
	// A case for an alert that already arrived: it must be re-sent too.
	if err := w.overdose(ctx, w.areas[0]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if st := p.Stats(); st.Failed == 0 {
		t.Fatalf("no failed attempts while the receiver was down: %+v", st)
	}
	w.rcv.up()
	// Nothing reached a closed port, so nothing can be repeated.
	w.checkEveryAlertArrived(0)
}

func TestFaultWorkerKilled(t *testing.T) {
	w := newWorld(t, postgistest.MustOpenDB(t), 30)
	ctx := context.Background()
	// The first worker's requests reach the receiver but hang; the worker
	// is then killed (its context cancelled) with its leases held.
	w.rcv.setHang(true)
	cfg := fastPool("doomed")
	cfg.Lease, cfg.SendTimeout = 600*time.Millisecond, 500*time.Millisecond
	doomed := w.pool(cfg)
	stopDoomed := run(doomed)
	for _, code := range w.areas[:20] {
		if err := w.overdose(ctx, code); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for received, _, _ := w.rcv.counts(); received < 4 && time.Now().Before(deadline); received, _, _ = w.rcv.counts() {
		time.Sleep(5 * time.Millisecond)
	}
	stopDoomed()
	// A worker that claimed and died without ever sending: its rows are
	// taken over too once the lease runs out.
	if _, err := w.store.ClaimDeliveries(ctx, geo.DeliveryClaim{Worker: "vanished", Limit: 5, Lease: 300 * time.Millisecond, MaxAttempts: 100}); err != nil {
		t.Fatal(err)
	}
	w.rcv.setHang(false)
	for _, code := range w.areas[20:30] {
		if err := w.overdose(ctx, code); err != nil {
			t.Fatal(err)
		}
	}
	heir := w.pool(fastPool("heir"))
	stopHeir := run(heir)
	defer stopHeir()
	// Only requests that reached the receiver before the kill can repeat.
	w.checkEveryAlertArrived(4)
	if heir.Stats().Sent == 0 || doomed.Stats().Sent != 0 {
		t.Fatalf("doomed %+v, heir %+v", doomed.Stats(), heir.Stats())
	}
}

// appURL is the test database URL for schema with an application_name the
// test can find the pool's backends by.
func appURL(t *testing.T, schema, app string) string {
	u, err := url.Parse(postgistest.SchemaURL(t, schema))
	if err != nil {
		t.Skipf("non-URL database address: %v", err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestFaultConnectionsKilled(t *testing.T) {
	schema := postgistest.NewSchema(t)
	app := "hotspots_fault_" + schema
	ctx := context.Background()
	store, err := postgis.Open(ctx, appURL(t, schema, app), postgis.Options{MaxConns: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, store, 40)
	admin, err := pgx.Connect(ctx, postgistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	p := w.pool(fastPool("w1"))
	w.engine.Enqueued = p.Wake
	stop := run(p)
	defer stop()

	// Kill every backend of the store's pool every 250 ms while alerts are
	// raised and delivered.
	var kills, killed atomic.Int64
	kctx, kcancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-kctx.Done():
				return
			case <-tick.C:
			}
			var n int64
			err := admin.QueryRow(kctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE application_name = $1 AND pid <> pg_backend_pid()`, app).Scan(&n)
			if err == nil {
				kills.Add(1)
				killed.Add(n)
			}
		}
	}()
	for _, code := range w.areas {
		if err := w.overdose(ctx, code); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	kcancel()
	wg.Wait()
	t.Logf("%d kill rounds terminated %d backends", kills.Load(), killed.Load())
	if killed.Load() == 0 {
		t.Fatal("no backend was terminated: the test did not test anything")
	}
	// A repeat needs a send whose "sent" could not be recorded for half a
	// lease through reconnects; allow one per kill round.
	w.checkEveryAlertArrived(int(kills.Load()))
}

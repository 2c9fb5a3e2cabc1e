package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
	"hotspots/geo/alerting"
	"hotspots/geo/notify"
	"hotspots/geo/notify/webhook"
)

var quiet = slog.New(slog.DiscardHandler)

const secret = "whsec_faults_0123456789abcdef"

// receiver is a webhook endpoint on loopback that can be taken down and
// brought back on the same address, made to hang, and that counts what it
// receives by idempotency key after checking the signature.
type receiver struct {
	t    testing.TB
	addr string

	mu       sync.Mutex
	srv      *http.Server
	keys     map[string]int
	latest   map[int64]int // alert id -> highest revision received
	arrived  map[int64]time.Time
	badSig   int
	received int
	hang     bool
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t, keys: map[string]int{}, latest: map[int64]int{}, arrived: map[int64]time.Time{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.down)
	return r
}

func (r *receiver) URL() string { return "http://" + r.addr + "/hook" }

func (r *receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// down closes the listener and every connection: senders get "connection
// refused" until up.
func (r *receiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (r *receiver) up() {
	var ln net.Listener
	var err error
	for i := 0; i < 100; i++ { // the port may linger for a moment
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("receiver up again on %s: %v", r.addr, err)
	}
	r.serve(ln)
}

func (r *receiver) setHang(h bool) {
	r.mu.Lock()
	r.hang = h
	r.mu.Unlock()
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var p struct {
		ID    string `json:"id"`
		Alert struct {
			ID       int64 `json:"id"`
			Revision int   `json:"revision"`
		} `json:"alert"`
	}
	_ = json.Unmarshal(body, &p)
	r.mu.Lock()
	if webhook.VerifyRequest(req, body, time.Now(), 0, []byte(secret)) != nil || p.ID != req.Header.Get(webhook.IdempotencyHeader) {
		r.badSig++
		r.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	r.received++
	r.keys[p.ID]++
	if p.Alert.Revision > r.latest[p.Alert.ID] {
		r.latest[p.Alert.ID] = p.Alert.Revision
	}
	if _, ok := r.arrived[p.Alert.ID]; !ok {
		r.arrived[p.Alert.ID] = time.Now()
	}
	hang := r.hang
	r.mu.Unlock()
	if hang {
		<-req.Context().Done() // received, but the answer never comes
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// counts returns deliveries received, distinct keys, and repeats.
func (r *receiver) counts() (received, unique, dup int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.keys {
		unique++
		dup += n - 1
	}
	return r.received, unique, dup
}

// world is a store with two areas, an engine raising an alert for every
// overdose (threshold 1 per area), one webhook subscription and a receiver.
type world struct {
	t      testing.TB
	store  geo.Store
	engine *alerting.Engine
	rcv    *receiver
	sub    geo.Subscription
	load   int64
	seq    int
	areas  []string
	points map[string]orb.Point
}

func newWorld(t testing.TB, store geo.Store, nAreas int) *world {
	ctx := context.Background()
	w := &world{t: t, store: store, rcv: newReceiver(t), points: map[string]orb.Point{}}
	// A grid of small square areas downtown, one per expected alert.
	var areas []geo.Area
	cols := 40
	for i := 0; i < nAreas; i++ {
		x, y := i%cols, i/cols
		lon0, lat0 := -76.66+float64(x)*0.002, 39.27+float64(y)*0.002
		code := fmt.Sprintf("g%04d", i)
		areas = append(areas, geo.Area{Layer: "grid", Code: code, Name: "Grid " + code,
			Geometry: orb.MultiPolygon{{{{lon0, lat0}, {lon0 + 0.002, lat0}, {lon0 + 0.002, lat0 + 0.002}, {lon0, lat0 + 0.002}, {lon0, lat0}}}}})
		w.areas = append(w.areas, code)
		w.points[code] = orb.Point{lon0 + 0.001, lat0 + 0.001}
	}
	if err := store.PutLayer(ctx, geo.AreaLayer{ID: "grid", Name: "Grid", Kind: "custom"}, areas); err != nil {
		t.Fatal(err)
	}
	cfg := alerting.DefaultConfig()
	cfg.Cooldown = 0
	cfg.NearRepeat.Enabled = false
	cfg.Thresholds = []alerting.Threshold{{Layer: "grid", Kind: geo.KindOverdoseNonFatal, Window: 24 * time.Hour, Min: 1}}
	e, err := alerting.NewEngine(store, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	w.engine = e
	w.sub, err = store.CreateSubscription(ctx, geo.Subscription{Team: "t", Name: "all", Active: true, View: geo.ViewAnalyst,
		Channels: []geo.Channel{{Type: geo.ChannelWebhook, URL: w.rcv.URL(), Secret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := store.StartLoad(ctx, "fault")
	if err != nil {
		t.Fatal(err)
	}
	w.load = l.ID
	return w
}

// overdose stores one overdose in area code and runs the rules, retrying
// through store errors (the connection-killing test) since both steps are
// idempotent.
func (w *world) overdose(ctx context.Context, code string) error {
	w.seq++
	p := w.points[code]
	cell, _ := geo.CellFromPoint(p, geo.FinestRes)
	now := time.Now().UTC()
	inc := geo.Incident{Source: "fault", SourceID: fmt.Sprint(w.seq), Kind: geo.KindOverdoseNonFatal, OccurredAt: now,
		TimeKnown: true, Day: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC), Location: p,
		Precision: geo.PrecisionExact, Cell: cell, Victims: 1, Areas: map[string]string{"grid": code}}
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if _, err = w.store.UpsertIncidents(ctx, w.load, []geo.Incident{inc}); err == nil {
			if _, err = w.engine.AfterLoad(ctx, []geo.Incident{inc}); err == nil {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("overdose in %s: %w", code, err)
}

func (w *world) pool(cfg notify.PoolConfig) *notify.Pool {
	r, err := w.engine.Renderer(context.Background(), "")
	if err != nil {
		w.t.Fatal(err)
	}
	p, err := notify.NewPool(w.store, map[geo.ChannelType]notify.Sender{geo.ChannelWebhook: notify.NewWebhookSender(2 * time.Second)},
		r, cfg, quiet)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// run starts p until the returned stop is called (which waits for it).
func run(p *notify.Pool) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// settle waits until no delivery is pending or sending.
func (w *world) settle(timeout time.Duration) map[geo.DeliveryStatus]int {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := w.store.DeliveryCounts(context.Background())
		if err == nil && c[geo.DeliveryPending]+c[geo.DeliverySending] == 0 {
			return c
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("deliveries did not settle: %v (%v)", c, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkEveryAlertArrived asserts the outcome every fault test wants: every
// delivery sent, every alert received at its final revision, every sent
// delivery received, and repeats only within maxDup.
func (w *world) checkEveryAlertArrived(maxDup int) {
	w.t.Helper()
	ctx := context.Background()
	counts := w.settle(30 * time.Second)
	alerts, err := w.store.FindAlerts(ctx, geo.AlertFilter{})
	if err != nil {
		w.t.Fatal(err)
	}
	w.rcv.mu.Lock()
	missing := []string{}
	for _, a := range alerts {
		if w.rcv.latest[a.ID] != a.Revision {
			missing = append(missing, fmt.Sprintf("alert %d rev %d (got rev %d)", a.ID, a.Revision, w.rcv.latest[a.ID]))
		}
	}
	badSig := w.rcv.badSig
	w.rcv.mu.Unlock()
	received, unique, dup := w.rcv.counts()
	w.t.Logf("alerts %d, deliveries %v, received %d, distinct %d, duplicated %d", len(alerts), counts, received, unique, dup)
	if len(missing) > 0 {
		w.t.Fatalf("%d alerts never arrived at their last revision: %s", len(missing), strings.Join(missing[:min(5, len(missing))], "; "))
	}
	if counts[geo.DeliveryDead] != 0 || counts[geo.DeliverySent] != unique || badSig != 0 {
		w.t.Fatalf("sent %d, distinct received %d, dead %d, bad signatures %d", counts[geo.DeliverySent], unique, counts[geo.DeliveryDead], badSig)
	}
	if dup > maxDup {
		w.t.Fatalf("%d repeats, want at most %d", dup, maxDup)
	}
}

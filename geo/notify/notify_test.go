package notify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
	"hotspots/geo/alerting"
	"hotspots/geo/notify/webhook"
)

var t0 = time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)

const secret = "whsec_test_0123456789abcdef"

func testJob(view geo.AlertView, channels ...geo.Channel) geo.DeliveryJob {
	origin := orb.Point{-76.621234, 39.291234}
	a := geo.Alert{ID: 5, Key: "near_repeat:shooting:882aa8c2b3fffff", Rule: geo.RuleNearRepeat,
		Kinds: []geo.Kind{geo.KindShootingNonFatal}, Severity: geo.SeverityStrong, Status: geo.AlertOpen,
		Title: "Near-repeat risk zone (~150 m) after a non-fatal shooting in West Side", Areas: []string{"nsa:west"},
		Cells: []geo.Cell{0x892aa8c2b27ffff}, Count: 1, Revision: 1, WindowFrom: t0, WindowTo: t0.Add(14 * 24 * time.Hour),
		Cases:  []geo.AlertCase{{IncidentID: 42, Kind: geo.KindShootingNonFatal, OccurredAt: t0, Point: &origin}},
		Origin: &origin}
	return geo.DeliveryJob{
		Delivery:     geo.Delivery{ID: 9, AlertID: 5, EventID: 11, Revision: 1, SubscriptionID: 3, Channel: channels[0].Type, IdempotencyKey: "a5-r1-s3-webhook", Attempts: 1},
		Event:        geo.AlertEvent{ID: 11, AlertID: 5, Revision: 1, Type: geo.EventRaised, At: t0, Alert: a},
		Subscription: geo.Subscription{ID: 3, Team: "west", Name: "West shootings", View: view, Channels: channels, Active: true},
	}
}

func testRenderer() alerting.Renderer {
	return alerting.Renderer{AreaName: func(id string) string { return map[string]string{"nsa:west": "West Side"}[id] },
		MapURL: "https://map.example.org"}
}

// receiver is a webhook endpoint that verifies signatures and counts what
// it receives by idempotency key.
type receiver struct {
	mu       sync.Mutex
	status   int
	header   http.Header
	bodies   [][]byte
	verified int
	keys     map[string]int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.keys == nil {
		rc.keys = map[string]int{}
	}
	rc.header = r.Header.Clone()
	rc.bodies = append(rc.bodies, body)
	if webhook.VerifyRequest(r, body, time.Now(), 0, []byte(secret)) == nil {
		rc.verified++
	}
	rc.keys[r.Header.Get(webhook.IdempotencyHeader)]++
	if rc.status != 0 {
		if rc.status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "120")
		}
		w.WriteHeader(rc.status)
		_, _ = w.Write([]byte("receiver says no"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func TestWebhookSender(t *testing.T) {
	tests := map[string]struct {
		status    int
		view      geo.AlertView
		permanent bool
		retryIn   time.Duration
		ok        bool
	}{
		"accepted, outreach":    {0, geo.ViewOutreach, false, 0, true},
		"accepted, analyst":     {0, geo.ViewAnalyst, false, 0, true},
		"server error retries":  {http.StatusInternalServerError, geo.ViewOutreach, false, 0, false},
		"busy with retry-after": {http.StatusServiceUnavailable, geo.ViewOutreach, false, 120 * time.Second, false},
		"gone is permanent":     {http.StatusGone, geo.ViewOutreach, true, 0, false},
		"redirect not followed": {http.StatusFound, geo.ViewOutreach, false, 0, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rc := &receiver{status: tc.status}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			job := testJob(tc.view, geo.Channel{Type: geo.ChannelWebhook, URL: srv.URL + "/hook", Secret: secret})
			err := NewWebhookSender(time.Second).Send(context.Background(), NewMessage(job, testRenderer()))
			if (err == nil) != tc.ok || IsPermanent(err) != tc.permanent {
				t.Fatalf("Send = %v; want ok %v permanent %v", err, tc.ok, tc.permanent)
			}
			var ra *RetryAfterError
			if tc.retryIn > 0 && (!errors.As(err, &ra) || ra.After != tc.retryIn) {
				t.Fatalf("Send = %v, want retry after %s", err, tc.retryIn)
			}
			if rc.verified != 1 || rc.keys["a5-r1-s3-webhook"] != 1 {
				t.Fatalf("receiver verified %d, keys %v", rc.verified, rc.keys)
			}
			if h := rc.header; h.Get(webhook.EventHeader) != "alert.raised" || h.Get(webhook.DeliveryHeader) != "9" ||
				h.Get(webhook.AttemptHeader) != "1" || h.Get("Content-Type") != "application/json" {
				t.Fatalf("headers = %v", h)
			}
			var p struct {
				ID    string         `json:"id"`
				Type  string         `json:"type"`
				Alert map[string]any `json:"alert"`
			}
			if err := json.Unmarshal(rc.bodies[0], &p); err != nil {
				t.Fatal(err)
			}
			_, hasCases := p.Alert["cases"]
			if p.ID != "a5-r1-s3-webhook" || p.Type != "alert.raised" || p.Alert["view"] != string(tc.view) ||
				hasCases != (tc.view == geo.ViewAnalyst) || p.Alert["map_url"] != "https://map.example.org/#alert=5" {
				t.Fatalf("payload = %s", rc.bodies[0])
			}
			if tc.view == geo.ViewOutreach && strings.Contains(string(rc.bodies[0]), "-76.62") {
				t.Fatalf("outreach payload carries a coordinate: %s", rc.bodies[0])
			}
		})
	}
}

// smtpServer is a minimal SMTP server for tests: it speaks just enough of
// RFC 5321 for net/smtp and records each message. Recipients starting with
// "nobody@" are refused with 550; when busy, MAIL gets 451.
type smtpServer struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []smtpMsg
	busy bool
}

type smtpMsg struct {
	from string
	to   []string
	data string
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) { _, _ = io.WriteString(c, line+"\r\n") }
	say("220 localhost ESMTP test")
	var m smtpMsg
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-localhost")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			s.mu.Lock()
			busy := s.busy
			s.mu.Unlock()
			if busy {
				say("451 try again later")
				continue
			}
			from, _, _ := strings.Cut(strings.TrimSpace(line)[10:], ">")
			m = smtpMsg{from: strings.TrimPrefix(from, "<")}
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			to := strings.Trim(strings.TrimSpace(line)[8:], "<>")
			if strings.HasPrefix(to, "nobody@") {
				say("550 no such user")
				continue
			}
			m.to = append(m.to, to)
			say("250 ok")
		case cmd == "DATA":
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			m.data = b.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		case cmd == "RSET", cmd == "NOOP":
			say("250 ok")
		default:
			say("502 not implemented")
		}
	}
}

func (s *smtpServer) messages() []smtpMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMsg(nil), s.msgs...)
}

func TestEmailSender(t *testing.T) {
	srv := startSMTP(t)
	es, err := NewEmailSender(SMTPConfig{Addr: srv.ln.Addr().String(), From: "alerts@health.example.org", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	es.Now = func() time.Time { return t0 }
	t.Run("delivered", func(t *testing.T) {
		job := testJob(geo.ViewAnalyst, geo.Channel{Type: geo.ChannelEmail, To: []string{"lead@example.org", "team@example.org"}})
		if err := es.Send(context.Background(), NewMessage(job, testRenderer())); err != nil {
			t.Fatalf("Send: %v", err)
		}
		msgs := srv.messages()
		if len(msgs) != 1 || msgs[0].from != "alerts@health.example.org" || len(msgs[0].to) != 2 {
			t.Fatalf("server got %+v", msgs)
		}
		head, body, _ := strings.Cut(msgs[0].data, "\r\n\r\n")
		plain, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Message-ID: <a5-r1-s3-webhook@health.example.org>", "X-Hotspots-Idempotency-Key: a5-r1-s3-webhook",
			"Subject: [STRONG] Near-repeat"} {
			if !strings.Contains(head, want) {
				t.Fatalf("headers lack %q:\n%s", want, head)
			}
		}
		for _, want := range []string{"West Side", "https://map.example.org/#alert=5", "892aa8c2b27ffff", "Cases:     1"} {
			if !strings.Contains(string(plain), want) {
				t.Fatalf("body lacks %q:\n%s", want, plain)
			}
		}
		// Even an analyst subscription's mail carries no coordinates.
		if strings.Contains(string(plain), "-76.62") || strings.Contains(string(plain), "39.29") {
			t.Fatalf("email carries a coordinate:\n%s", plain)
		}
	})
	t.Run("unknown mailbox is permanent", func(t *testing.T) {
		job := testJob(geo.ViewOutreach, geo.Channel{Type: geo.ChannelEmail, To: []string{"nobody@example.org"}})
		if err := es.Send(context.Background(), NewMessage(job, testRenderer())); !IsPermanent(err) {
			t.Fatalf("Send = %v, want a permanent error", err)
		}
	})
	t.Run("busy relay is retried", func(t *testing.T) {
		srv.mu.Lock()
		srv.busy = true
		srv.mu.Unlock()
		defer func() { srv.mu.Lock(); srv.busy = false; srv.mu.Unlock() }()
		job := testJob(geo.ViewOutreach, geo.Channel{Type: geo.ChannelEmail, To: []string{"lead@example.org"}})
		if err := es.Send(context.Background(), NewMessage(job, testRenderer())); err == nil || IsPermanent(err) {
			t.Fatalf("Send = %v, want a retryable error", err)
		}
	})
	t.Run("relay down is retried", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		down := &EmailSender{Cfg: SMTPConfig{Addr: addr, From: "a@b.org", Timeout: time.Second}}
		job := testJob(geo.ViewOutreach, geo.Channel{Type: geo.ChannelEmail, To: []string{"lead@example.org"}})
		if err := down.Send(context.Background(), NewMessage(job, testRenderer())); err == nil || IsPermanent(err) {
			t.Fatalf("Send = %v, want a retryable error", err)
		}
	})
}

package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hotspots/geo"
	"hotspots/geo/notify/webhook"
)

// WebhookSender POSTs the JSON payload, signed with the subscription's secret
// (HMAC-SHA256 over the timestamp and body; see package webhook).
type WebhookSender struct {
	// Client sends the requests; nil uses one with a 15 s timeout that does
	// not follow redirects (a redirected POST would turn into a GET).
	Client *http.Client
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time
	// UserAgent identifies the sender.
	UserAgent string
}

// NewWebhookSender returns a sender with its own HTTP client.
func NewWebhookSender(timeout time.Duration) *WebhookSender {
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	return &WebhookSender{Client: &http.Client{
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, UserAgent: "hotspots-webhook/1"}
}

// Send implements Sender. 2xx is success; 410 Gone is permanent (the
// receiver says the endpoint is retired); everything else, connection
// errors included, is retried.
func (w *WebhookSender) Send(ctx context.Context, m Message) error {
	ch, err := channel(m.Job.Subscription, geo.ChannelWebhook)
	if err != nil {
		return err
	}
	body, err := marshal(m.Payload)
	if err != nil {
		return err
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ch.URL, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("webhook request: %w", err))
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", w.UserAgent)
	h.Set(webhook.SignatureHeader, webhook.Header(now(), body, []byte(ch.Secret)))
	h.Set(webhook.IdempotencyHeader, m.Payload.ID)
	h.Set(webhook.EventHeader, m.Payload.Type)
	h.Set(webhook.DeliveryHeader, strconv.FormatInt(m.Job.Delivery.ID, 10))
	h.Set(webhook.AttemptHeader, strconv.Itoa(m.Attempt))
	client := w.Client
	if client == nil {
		client = NewWebhookSender(0).Client
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook post: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("webhook: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
	switch resp.StatusCode {
	case http.StatusGone:
		return Permanent(err)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), now()); ok {
			return &RetryAfterError{Err: err, After: d}
		}
	}
	return err
}

// retryAfter parses a Retry-After value (seconds or an HTTP date).
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// errNoSender is returned for a channel without a configured sender.
var errNoSender = errors.New("no sender configured for this channel")

// Package notify delivers alerts: a pool of workers drains the delivery
// outbox (at least once, with an idempotency key, exponential backoff and a
// dead-letter state), sending through channels (signed webhooks, SMTP
// email); a broker fans the alert history out to server-sent event streams.
//
// Delivery state lives in the store, never in memory, so several service
// processes can run pools side by side and a killed worker's deliveries are
// taken over when its lease runs out.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"hotspots/geo"
	"hotspots/geo/alerting"
)

// Sender sends one delivery over one channel type. It returns nil only when
// the receiver has accepted the message; a *PermanentError when retrying
// cannot help; anything else is retried with backoff.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// PermanentError marks a failure that no retry will fix (a webhook answering
// 410 Gone, a mailbox that does not exist): the delivery goes straight to the
// dead-letter state.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error { return &PermanentError{Err: err} }

// RetryAfterError asks for the next attempt no sooner than After (an HTTP
// 429 or 503 with Retry-After).
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// Message is one delivery ready to send: the rendered alert view and the
// delivery's identity, which receivers use to drop repeats.
type Message struct {
	Job geo.DeliveryJob
	// Attempt is the 1-based attempt number.
	Attempt int
	// Payload is the JSON body sent to webhooks (see Payload).
	Payload Payload
	// View is the rendered alert (alerting.OutreachView or AnalystView).
	View any
	// Outreach is the outreach rendering, which plain-text channels use
	// whatever the view, so email never carries points.
	Outreach alerting.OutreachView
}

// Payload is the JSON document a webhook receives.
type Payload struct {
	// ID is the delivery's idempotency key, also sent as Idempotency-Key.
	ID   string `json:"id"`
	Type string `json:"type"` // alert.raised, alert.updated, alert.reopened
	// EventID orders events of one alert; At is when the event happened.
	EventID      int64     `json:"event_id"`
	At           time.Time `json:"at"`
	Subscription struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
		Team string `json:"team"`
	} `json:"subscription"`
	Alert any `json:"alert"`
}

// EventName is the webhook event name of an alert event type.
func EventName(t geo.AlertEventType) string { return "alert." + string(t) }

// NewMessage renders a claimed job in the subscription's view.
func NewMessage(job geo.DeliveryJob, r alerting.Renderer) Message {
	a := job.Event.Alert
	m := Message{Job: job, Attempt: job.Delivery.Attempts, View: r.Render(a, job.Subscription.View), Outreach: r.Outreach(a)}
	p := &m.Payload
	p.ID, p.Type, p.EventID, p.At = job.Delivery.IdempotencyKey, EventName(job.Event.Type), job.Event.ID, job.Event.At
	p.Subscription.ID, p.Subscription.Name, p.Subscription.Team = job.Subscription.ID, job.Subscription.Name, job.Subscription.Team
	p.Alert = m.View
	return m
}

// channel returns the subscription's channel of type t.
func channel(s geo.Subscription, t geo.ChannelType) (geo.Channel, error) {
	for _, c := range s.Channels {
		if c.Type == t {
			return c, nil
		}
	}
	return geo.Channel{}, Permanent(fmt.Errorf("subscription %d no longer has a %s channel", s.ID, t))
}

func marshal(p Payload) ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, Permanent(fmt.Errorf("encode payload: %w", err))
	}
	return b, nil
}

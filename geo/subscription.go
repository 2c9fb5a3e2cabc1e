package geo

import (
	"context"
	"time"

	"github.com/paulmach/orb"
)

// ChannelType is how a subscription is told about alerts.
type ChannelType string

// Channels. Webhook and email deliveries go through the outbox (at least
// once, retried, dead-lettered); SSE is the live stream the map's alerts
// panel reads, which resumes from the alert history instead.
const (
	ChannelWebhook ChannelType = "webhook"
	ChannelEmail   ChannelType = "email"
	ChannelSSE     ChannelType = "sse"
)

// Queued reports whether the channel is delivered through the outbox.
func (c ChannelType) Queued() bool { return c == ChannelWebhook || c == ChannelEmail }

// Channel is one destination of a subscription.
type Channel struct {
	Type ChannelType `json:"type"`
	// URL is the webhook endpoint.
	URL string `json:"url,omitempty"`
	// Secret signs webhook bodies (HMAC-SHA256 with a timestamp). It is
	// write-only through the API.
	Secret string `json:"secret,omitempty"`
	// To are the email recipients.
	To []string `json:"to,omitempty"`
}

// Circle is a radius around a point, the usual "tell me about anything within
// 500 m of our office" subscription.
type Circle struct {
	Center  orb.Point `json:"center"` // lon, lat
	RadiusM float64   `json:"radius_m"`
}

// AlertView is which rendering of an alert a subscription receives.
type AlertView string

// Views. Outreach is the default: areas, counts, window and map link, but no
// incident points; analyst adds the details.
const (
	ViewOutreach AlertView = "outreach"
	ViewAnalyst  AlertView = "analyst"
)

// Subscription is a team's standing request for alerts: where (named areas,
// a drawn polygon, a circle, H3 cells; together they form a union, and none
// means the whole city), what (kinds, rules, minimum severity) and how
// (channels).
type Subscription struct {
	ID   int64
	Team string
	Name string
	// Areas are "layer:code" names such as "neighborhood:sandtown_winchester".
	Areas   []string
	Polygon orb.MultiPolygon
	Circle  *Circle
	Cells   []Cell
	// Kinds and Rules restrict what is sent; empty means all.
	Kinds       []Kind
	Rules       []AlertRule
	MinSeverity Severity
	View        AlertView
	Channels    []Channel
	Active      bool
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// HasWhere reports whether the subscription limits where alerts come from.
func (s *Subscription) HasWhere() bool {
	return len(s.Areas) > 0 || len(s.Polygon) > 0 || s.Circle != nil || len(s.Cells) > 0
}

// SubscriptionFilter selects subscriptions. Zero fields do not filter.
type SubscriptionFilter struct {
	Team   string
	Active *bool
	Limit  int
	Offset int
}

// SubscriptionService stores subscriptions.
type SubscriptionService interface {
	// CreateSubscription stores s and returns it with ID and times set.
	CreateSubscription(ctx context.Context, s Subscription) (Subscription, error)
	// FindSubscriptionByID returns one subscription; ENOTFOUND if none.
	FindSubscriptionByID(ctx context.Context, id int64) (Subscription, error)
	// FindSubscriptions returns subscriptions ordered by ID.
	FindSubscriptions(ctx context.Context, f SubscriptionFilter) ([]Subscription, error)
	// UpdateSubscription replaces every field but ID, CreatedBy and
	// CreatedAt; ENOTFOUND if none.
	UpdateSubscription(ctx context.Context, s Subscription) (Subscription, error)
	// DeleteSubscription removes it and its pending deliveries.
	DeleteSubscription(ctx context.Context, id int64) error
}

// DeliveryStatus is where a delivery is in the outbox.
type DeliveryStatus string

// Delivery statuses. Sending rows carry a lease; a worker that dies leaves
// its lease to expire and another takes the row over. Dead rows stay visible
// until an admin requeues them.
const (
	DeliveryPending DeliveryStatus = "pending"
	DeliverySending DeliveryStatus = "sending"
	DeliverySent    DeliveryStatus = "sent"
	DeliveryDead    DeliveryStatus = "dead"
)

// Delivery is one send of one alert revision to one subscription channel.
type Delivery struct {
	ID             int64
	AlertID        int64
	EventID        int64
	Revision       int
	SubscriptionID int64
	Channel        ChannelType
	// IdempotencyKey is sent with every attempt; receivers drop repeats.
	IdempotencyKey string
	Status         DeliveryStatus
	Attempts       int
	NextAttemptAt  time.Time
	LastError      string
	ClaimedBy      string
	ClaimedUntil   *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	SentAt         *time.Time
}

// DeliveryJob is a claimed delivery with what a worker needs to send it: the
// event it carries (with the alert as of that event) and the subscription.
type DeliveryJob struct {
	Delivery     Delivery
	Event        AlertEvent
	Subscription Subscription
}

// DeliveryClaim asks for due deliveries.
type DeliveryClaim struct {
	// Worker names the claimer; it must be unique per running pool.
	Worker string
	Limit  int
	// Lease is how long the claim holds; after it another worker may take
	// the row over.
	Lease time.Duration
	// MaxAttempts: a row whose lease expired after this many attempts is
	// moved to dead instead of being claimed again.
	MaxAttempts int
}

// DeliveryFilter selects deliveries. Zero fields do not filter.
type DeliveryFilter struct {
	ID             int64
	AlertID        int64
	SubscriptionID int64
	Status         DeliveryStatus
	Limit          int
	Offset         int
}

// DeliveryService is the outbox workers drain.
type DeliveryService interface {
	// ClaimDeliveries leases up to Limit due deliveries (pending and due, or
	// sending with an expired lease), counts the attempt and returns them
	// oldest due first. Concurrent claimers never get the same row.
	ClaimDeliveries(ctx context.Context, c DeliveryClaim) ([]DeliveryJob, error)
	// MarkSent records success of the attempt the worker holds; ECONFLICT if
	// the lease was lost (another worker took the row over).
	MarkSent(ctx context.Context, id int64, worker string, attempt int) error
	// MarkFailed records a failed attempt: the row is retried at retryAt, or
	// moved to dead when retryAt is nil. ECONFLICT if the lease was lost.
	MarkFailed(ctx context.Context, id int64, worker string, attempt int, reason string, retryAt *time.Time) error
	// FindDeliveries returns deliveries, newest first.
	FindDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// RequeueDelivery moves a dead delivery back to pending with its
	// attempts reset; ECONFLICT unless it is dead.
	RequeueDelivery(ctx context.Context, id int64) (Delivery, error)
	// DeliveryCounts counts deliveries by status.
	DeliveryCounts(ctx context.Context) (map[DeliveryStatus]int, error)
}

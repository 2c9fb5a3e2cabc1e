package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"hotspots/geo/notify"
	"hotspots/ops"
)

// ServeCmd serves the API and the analyst map, and runs the service's
// background jobs: alert delivery, the alert sweep, polling of the city's
// sources and scheduled detection.
type ServeCmd struct {
	Listen    string        `name:"listen" env:"HOTSPOTS_LISTEN" default:":8080" help:"Address to listen on, host:port."`
	Grace     time.Duration `name:"grace" env:"HOTSPOTS_SHUTDOWN_GRACE" default:"15s" help:"How long in-flight requests get to finish on SIGINT/SIGTERM."`
	PublicURL string        `name:"public-url" env:"HOTSPOTS_PUBLIC_URL" help:"Public address of the map, used in alert links (e.g. https://hotspots.health.city.gov/). Empty: http://localhost:PORT/ (set it in production)."`
	Poll      bool          `name:"poll" env:"HOTSPOTS_POLL" default:"true" negatable:"" help:"Poll the city's sources that have a poll URL in this process (--no-poll when a separate 'ingest --watch' worker does it)."`
	Detect    bool          `name:"detect" env:"HOTSPOTS_DETECT" default:"true" negatable:"" help:"Run detection in this process: daily at --detect-at and after new data settles."`
	DetectAt  string        `name:"detect-at" env:"HOTSPOTS_DETECT_AT" default:"06:00" help:"Local time of day (city time zone) of the daily detection run, HH:MM."`
	Settle    time.Duration `name:"detect-settle" env:"HOTSPOTS_DETECT_SETTLE" default:"2m" help:"After data changes (an ingest, a push), wait until it has been quiet this long, then detect."`
	Metrics   bool          `name:"metrics" env:"HOTSPOTS_METRICS" default:"true" negatable:"" help:"Serve Prometheus metrics at /metrics (operational counters only; restrict it to the monitoring network)."`
	Retention string        `name:"retention" env:"HOTSPOTS_RETENTION" help:"Purge point-level data (locations, addresses, raw rows) of incidents older than this, daily, keeping aggregates: e.g. 2y, 18w, 90d. Empty: keep everything."`
	HTTP      HTTPFlags     `embed:""`
	SMTP      SMTPFlags     `embed:"" prefix:"smtp-"`
}

// HTTPFlags are the API's hardening settings.
type HTTPFlags struct {
	MaxBody    int64    `name:"max-body-bytes" env:"HOTSPOTS_MAX_BODY_BYTES" default:"1048576" help:"Largest JSON request body accepted (413 above)."`
	MaxUpload  int64    `name:"max-upload-bytes" env:"HOTSPOTS_MAX_UPLOAD_BYTES" default:"33554432" help:"Largest area-layer upload or push batch accepted (413 above)."`
	RateLimit  float64  `name:"rate-limit" env:"HOTSPOTS_RATE_LIMIT" default:"50" help:"Requests per second allowed per API key (anonymous callers: per client address); tiles have their own bucket, 10 times larger; 0 turns limits off. 429 with Retry-After above."`
	RateBurst  int      `name:"rate-burst" env:"HOTSPOTS_RATE_BURST" help:"Burst above the rate limit; 0: twice the rate."`
	CORS       []string `name:"cors-origin" env:"HOTSPOTS_CORS_ORIGINS" sep:"," help:"Origins allowed to call the API from a browser (e.g. https://dashboard.city.gov); none: same origin only."`
	TrustProxy bool     `name:"trust-proxy" env:"HOTSPOTS_TRUST_PROXY" help:"Take the client address from X-Forwarded-For (only behind a proxy that sets it)."`
}

func (f HTTPFlags) options() HTTPOptions {
	return HTTPOptions{MaxBodyBytes: f.MaxBody, MaxUploadBytes: f.MaxUpload, RateLimit: f.RateLimit,
		RateBurst: f.RateBurst, CORSOrigins: f.CORS, TrustProxy: f.TrustProxy}
}

// timeOfDay parses HH:MM into a duration since midnight.
func timeOfDay(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("--detect-at %q: want HH:MM", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// SMTPFlags configure the email alert channel.
type SMTPFlags struct {
	Addr     string `name:"addr" env:"HOTSPOTS_SMTP_ADDR" help:"SMTP relay host:port for email alerts. Empty: no email channel."`
	From     string `name:"from" env:"HOTSPOTS_SMTP_FROM" help:"Sender address of alert emails."`
	Username string `name:"username" env:"HOTSPOTS_SMTP_USERNAME" help:"SMTP user (PLAIN auth, over TLS or to localhost only)."`
	Password string `name:"password" env:"HOTSPOTS_SMTP_PASSWORD" help:"SMTP password."`
	TLS      bool   `name:"require-tls" env:"HOTSPOTS_SMTP_REQUIRE_TLS" help:"Refuse relays that do not offer STARTTLS."`
}

func (f SMTPFlags) config() notify.SMTPConfig {
	return notify.SMTPConfig{Addr: f.Addr, From: f.From, Username: f.Username, Password: f.Password, RequireTLS: f.TLS}
}

// Validate checks the listen address before anything is opened, so a bad
// port is reported as such rather than as a failure later on.
func (s ServeCmd) Validate() error {
	if s.Retention != "" {
		if _, err := ops.ParseAge(s.Retention); err != nil {
			return err
		}
	}
	if s.HTTP.MaxBody <= 0 || s.HTTP.MaxUpload <= 0 || s.HTTP.RateLimit < 0 || s.HTTP.RateBurst < 0 {
		return fmt.Errorf("--max-body-bytes and --max-upload-bytes must be positive, --rate-limit and --rate-burst not negative")
	}
	if _, err := timeOfDay(s.DetectAt); err != nil {
		return err
	}
	if s.Settle <= 0 {
		return fmt.Errorf("--detect-settle must be positive")
	}
	if s.SMTP.Addr != "" && s.SMTP.From == "" {
		return fmt.Errorf("--smtp-from is required with --smtp-addr")
	}
	return validateListen(s.Listen)
}

func validateListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("listen address %q: port must be a number from 0 to 65535", addr)
	}
	return nil
}

// Run opens the store (migrating it), makes sure the city's areas are
// loaded, then serves until a signal arrives.
func (s ServeCmd) Run(ctx context.Context, a *App) error {
	city, st, err := a.openForWork(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	at, _ := timeOfDay(s.DetectAt) // checked by Validate
	public := s.PublicURL
	if public == "" {
		public = "http://" + localURLHost(s.Listen) + "/"
	}
	o := ServiceOptions{Listen: s.Listen, Grace: s.Grace, PublicURL: public, Poll: s.Poll, SMTP: s.SMTP.config(),
		Detect: s.Detect, DetectAt: at, DetectSettle: s.Settle, Metrics: s.Metrics, HTTP: s.HTTP.options()}
	if s.Retention != "" {
		o.Retention, _ = ops.ParseAge(s.Retention) // checked by Validate
	}
	svc, err := a.newService(ctx, st, city, o)
	if err != nil {
		return err
	}
	return svc.run(ctx, o)
}

// localURLHost is the host:port of a listen address as a local browser
// reaches it: an empty or wildcard host becomes localhost.
func localURLHost(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func hostForURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		return net.JoinHostPort("localhost", strconv.Itoa(tcp.Port))
	}
	return tcp.String()
}

package geocode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"hotspots/geo"
)

// HTTPConfig configures the HTTP geocoder adapters. Public geocoders limit
// request rates and fail transiently, so every adapter shares one
// rate-limited, retrying client.
type HTTPConfig struct {
	// BaseURL is the service root, e.g. a self-hosted Pelias or Nominatim.
	BaseURL string
	// Client is the HTTP client; nil means a plain http.Client (timeouts
	// come from Timeout, per attempt).
	Client *http.Client
	// Rate is the sustained request rate per second and Burst the bucket
	// size; Nominatim's public policy is one request per second.
	Rate  float64
	Burst int
	// Timeout bounds each attempt; the caller's context bounds the whole call.
	Timeout time.Duration
	// Retries is how many times a 5xx, 429 or timed-out attempt is retried.
	Retries int
	// Backoff is the first retry delay; it doubles per retry up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// UserAgent identifies the caller, as public geocoders require.
	UserAgent string
	// City, State and Zip complete single-line addresses from police feeds,
	// which name only the street.
	City, State, Zip string
}

// withDefaults fills unset fields with conservative values.
func (c HTTPConfig) withDefaults() HTTPConfig {
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	if c.Rate <= 0 {
		c.Rate = 1
	}
	if c.Burst <= 0 {
		c.Burst = 1
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.Backoff <= 0 {
		c.Backoff = 500 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.UserAgent == "" {
		c.UserAgent = "hotspots-geocoder/1"
	}
	return c
}

// httpDoer runs requests under the rate limit with per-attempt timeouts and
// retries with exponential backoff.
type httpDoer struct {
	cfg     HTTPConfig
	limiter *rate.Limiter
}

func newHTTPDoer(cfg HTTPConfig) (*httpDoer, HTTPConfig, error) {
	if cfg.BaseURL == "" {
		return nil, cfg, geo.Errorf(geo.EINVALID, "geocode: base URL is required")
	}
	cfg = cfg.withDefaults()
	return &httpDoer{cfg: cfg, limiter: rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst)}, cfg, nil
}

// statusError is a non-2xx response.
type statusError struct {
	code       int
	body       string
	retryAfter time.Duration
}

func (e *statusError) Error() string {
	return fmt.Sprintf("status %d: %.200s", e.code, e.body)
}

// do sends the request built by build (called once per attempt, since a
// request body cannot be replayed) and returns the 2xx response body.
func (d *httpDoer) do(ctx context.Context, build func(ctx context.Context) (*http.Request, error)) ([]byte, error) {
	backoff := d.cfg.Backoff
	for attempt := 0; ; attempt++ {
		if err := d.limiter.Wait(ctx); err != nil {
			return nil, fmt.Errorf("geocode: rate limit wait: %w", err)
		}
		body, err := d.attempt(ctx, build)
		if err == nil {
			return body, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("geocode: request: %w", ctx.Err())
		}
		var se *statusError
		retryable := !errors.As(err, &se) || se.code >= 500 || se.code == http.StatusTooManyRequests
		if !retryable {
			return nil, &geo.Error{Code: geo.EINVALID, Message: "geocode: service rejected request: " + err.Error()}
		}
		if attempt >= d.cfg.Retries {
			code := geo.EUNAVAILABLE
			if se != nil && se.code == http.StatusTooManyRequests {
				code = geo.ERATELIMIT
			}
			return nil, fmt.Errorf("geocode: giving up after %d attempts: %w", attempt+1,
				errors.Join(geo.Errorf(code, "geocoder unavailable"), err))
		}
		wait := backoff
		if se != nil && se.retryAfter > 0 {
			wait = se.retryAfter
		}
		wait = min(wait, d.cfg.MaxBackoff)
		backoff = min(backoff*2, d.cfg.MaxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("geocode: backoff: %w", ctx.Err())
		case <-t.C:
		}
	}
}

func (d *httpDoer) attempt(ctx context.Context, build func(ctx context.Context) (*http.Request, error)) ([]byte, error) {
	actx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := build(actx)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", d.cfg.UserAgent)
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		se := &statusError{code: resp.StatusCode, body: string(body)}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			se.retryAfter = time.Duration(s) * time.Second
		}
		return nil, se
	}
	return body, nil
}

// fullAddress appends the configured city, state and zip.
func (c HTTPConfig) fullAddress(street string) string {
	s := street
	for _, p := range []string{c.City, c.State, c.Zip} {
		if p != "" {
			s += ", " + p
		}
	}
	return s
}

// sourcePrecision is the precision an external point deserves given the
// written address: a BPD block number is a block however exactly it was
// interpolated.
func sourcePrecision(address string, fine geo.Precision) geo.Precision {
	a, err := ParseAddress(address)
	if err != nil || fine != geo.PrecisionInterpolated {
		return fine
	}
	if a.Cross != nil {
		return geo.PrecisionIntersection
	}
	if a.Block || (a.HasNumber && a.Number%100 == 0) {
		return geo.PrecisionBlock
	}
	return fine
}

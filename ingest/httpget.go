package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Fetcher gets feed pages over HTTP with a per-attempt timeout and retries
// with exponential backoff and jitter, because open-data portals time out
// and rate-limit often; after the last attempt the error is reported.
type Fetcher struct {
	Client *http.Client
	// Attempts is the number of tries per request; 0 means 5.
	Attempts int
	// Backoff is the first wait between tries, doubled each time up to
	// MaxBackoff; 0 means 500 ms and 30 s.
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one attempt; 0 means 60 s.
	Timeout time.Duration
	// MaxBytes bounds a response body; 0 means 256 MiB.
	MaxBytes int64
	Logger   *slog.Logger
	// UserAgent is sent with every request.
	UserAgent string
}

func (f *Fetcher) defaults() Fetcher {
	g := *f
	if g.Client == nil {
		g.Client = http.DefaultClient
	}
	if g.Attempts <= 0 {
		g.Attempts = 5
	}
	if g.Backoff <= 0 {
		g.Backoff = 500 * time.Millisecond
	}
	if g.MaxBackoff <= 0 {
		g.MaxBackoff = 30 * time.Second
	}
	if g.Timeout <= 0 {
		g.Timeout = 60 * time.Second
	}
	if g.MaxBytes <= 0 {
		g.MaxBytes = 256 << 20
	}
	if g.Logger == nil {
		g.Logger = slog.Default()
	}
	if g.UserAgent == "" {
		g.UserAgent = "hotspots-ingest"
	}
	return g
}

// HTTPError is a response with a non-2xx status.
type HTTPError struct {
	URL    string
	Status int
	Body   string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %d: %s", e.URL, e.Status, e.Body)
}

// retryable reports whether a status is worth another try.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500
}

// Get returns the body of url, retrying transient failures.
func (f *Fetcher) Get(ctx context.Context, url string) ([]byte, error) {
	g := f.defaults()
	wait := g.Backoff
	var last error
	for attempt := 1; attempt <= g.Attempts; attempt++ {
		body, retry, err := g.once(ctx, url)
		if err == nil {
			return body, nil
		}
		last = err
		if !retry || attempt == g.Attempts || ctx.Err() != nil {
			break
		}
		d := wait/2 + rand.N(wait/2+1)
		g.Logger.Warn("fetch_retry", slog.String("url", url), slog.Int("attempt", attempt),
			slog.Duration("wait", d), slog.Any("error", err))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("fetch %s: %w (after %v)", url, ctx.Err(), last)
		case <-t.C:
		}
		wait = min(wait*2, g.MaxBackoff)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, ctx.Err())
	}
	return nil, fmt.Errorf("fetch %s: %w", url, last)
}

func (g *Fetcher) once(ctx context.Context, url string) (body []byte, retry bool, err error) {
	actx, cancel := context.WithTimeout(ctx, g.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, url, nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("User-Agent", g.UserAgent)
	req.Header.Set("Accept", "application/json, text/csv, */*")
	resp, err := g.Client.Do(req)
	if err != nil {
		// Network errors and attempt timeouts are transient; the caller's
		// own cancellation is not.
		return nil, ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, retryable(resp.StatusCode), &HTTPError{URL: url, Status: resp.StatusCode, Body: string(b)}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, g.MaxBytes+1))
	if err != nil {
		return nil, ctx.Err() == nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(b)) > g.MaxBytes {
		return nil, false, errors.New("response larger than " + strconv.FormatInt(g.MaxBytes, 10) + " bytes")
	}
	return b, false, nil
}

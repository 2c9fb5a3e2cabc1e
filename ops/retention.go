// Package ops holds the operational jobs of a hotspots deployment that are
// not part of serving a request: retention of point-level data today.
//
// The jobs work through the geo interfaces, so the same code runs against
// PostGIS and the embedded store, from the purge command or on a schedule
// inside serve.
package ops

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Purger is the part of geo.Store retention needs.
type Purger interface {
	// PurgePoints strips location, address and raw row from incidents that
	// occurred before cutoff, keeping their cell, day, kind and areas.
	PurgePoints(ctx context.Context, cutoff time.Time) (int, error)
	// PurgeAlertPoints strips case points and origins from alerts whose
	// window ended before cutoff: an alert copies its cases' points, so
	// purging incidents alone would leave them there.
	PurgeAlertPoints(ctx context.Context, cutoff time.Time) (int, error)
}

// Purged counts what one purge stripped.
type Purged struct {
	Incidents int // incidents that lost their point, address and raw row
	Alerts    int // alerts that lost their case points
}

// Day and Year are the units ParseAge adds to Go's durations. A year is
// 365 days: retention is a policy of "about two years", and a fixed length
// keeps the cutoff a pure function of now.
const (
	Day  = 24 * time.Hour
	Year = 365 * Day
)

// ParseAge parses a retention age: a number with a unit of y (years), w
// (weeks) or d (days), as operators write policies ("2y", "18w", "90d"), or
// anything time.ParseDuration takes ("720h"). The age must be positive.
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	unit := map[byte]time.Duration{'y': Year, 'w': 7 * Day, 'd': Day}
	var d time.Duration
	if n := len(s); n > 1 && unit[s[n-1]] != 0 {
		v, err := strconv.ParseFloat(s[:n-1], 64)
		if err != nil {
			return 0, fmt.Errorf("age %q: %w", s, err)
		}
		d = time.Duration(v * float64(unit[s[n-1]]))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("age %q: want a number with y, w or d, or a Go duration: %w", s, err)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("age %q: must be positive", s)
	}
	return d, nil
}

// Purge removes the point-level detail of incidents older than age at now,
// and the case points of alerts whose window ended before then, and
// returns how many of each it stripped. Aggregates (cell and area counts,
// indicators, detections) are unchanged, since the incidents keep their
// cells, days, kinds and areas.
func Purge(ctx context.Context, st Purger, age time.Duration, now time.Time, log *slog.Logger) (Purged, error) {
	if age <= 0 {
		return Purged{}, fmt.Errorf("retention: age %s must be positive", age)
	}
	if log == nil {
		log = slog.Default()
	}
	cutoff := now.Add(-age)
	start := time.Now()
	var p Purged
	var err error
	if p.Incidents, err = st.PurgePoints(ctx, cutoff); err != nil {
		return Purged{}, fmt.Errorf("retention: purge points before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	if p.Alerts, err = st.PurgeAlertPoints(ctx, cutoff); err != nil {
		return p, fmt.Errorf("retention: purge alert points before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	log.Info("retention_purged", slog.Time("cutoff", cutoff), slog.Int("incidents", p.Incidents),
		slog.Int("alerts", p.Alerts), slog.Duration("duration", time.Since(start)))
	return p, nil
}

// RunRetention purges points older than age now and then every interval
// until ctx ends. Errors are logged and the next tick tries again, so a
// database restart does not end retention for the life of the process.
// It returns nil when ctx ends; serve runs it in its own goroutine.
func RunRetention(ctx context.Context, st Purger, age, every time.Duration, log *slog.Logger) error {
	if age <= 0 || every <= 0 {
		return fmt.Errorf("retention: age %s and interval %s must be positive", age, every)
	}
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := Purge(ctx, st, age, time.Now(), log); err != nil && ctx.Err() == nil {
			log.Error("retention_failed", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

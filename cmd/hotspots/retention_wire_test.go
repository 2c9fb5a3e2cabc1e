package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"hotspots/cities"
	"hotspots/geo/sqlite"
)

// TestServeGivesAlertsTheRetention checks that serve's retention age also
// reaches the alert sweep, so alert case points are dropped at the same age
// as incident points, and that without one both keep everything.
func TestServeGivesAlertsTheRetention(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hotspots.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	city, err := cities.Open("baltimore")
	if err != nil {
		t.Fatal(err)
	}
	a := &App{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Stdout: io.Discard}
	for _, age := range []time.Duration{2 * 365 * 24 * time.Hour, 0} {
		svc, err := a.newService(ctx, st, city, ServiceOptions{Retention: age})
		if err != nil {
			t.Fatal(err)
		}
		if got := svc.engine.Config().PointsRetention; got != age {
			t.Errorf("serve with retention %s: alert points retention %s", age, got)
		}
	}
}

package main

import (
	"context"
	"fmt"
	"time"

	"hotspots/ops"
)

// PurgeCmd strips point-level data (location, address, raw feed row) from
// incidents older than a retention age, keeping their cells, days, kinds
// and areas so maps, detections and indicators over that period stay the
// same, and the case points alerts copied from them. It is the one-off
// form of the retention serve can schedule.
type PurgeCmd struct {
	OlderThan string `name:"older-than" required:"" env:"HOTSPOTS_RETENTION" help:"Retention age: points of incidents older than this are purged, e.g. 2y, 18w, 90d or 720h."`
}

// Validate parses the age before the store is opened.
func (c PurgeCmd) Validate() error {
	_, err := ops.ParseAge(c.OlderThan)
	return err
}

// Run purges once and prints how many incidents lost their points.
func (c PurgeCmd) Run(ctx context.Context, a *App) error {
	age, err := ops.ParseAge(c.OlderThan)
	if err != nil {
		return err
	}
	st, err := a.OpenStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	p, err := ops.Purge(ctx, st, age, now, a.Log)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "purged points of %d incidents that occurred before %s and case points of %d alerts that ended before then (%s store)\n",
		p.Incidents, now.Add(-age).UTC().Format(time.DateOnly), p.Alerts, a.StoreKind())
	return nil
}

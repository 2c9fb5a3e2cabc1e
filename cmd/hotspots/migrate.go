package main

import (
	"context"
	"fmt"

	"hotspots/ingest/areas"
)

// MigrateCmd applies the embedded migrations. Two processes may run it at
// once: the stores serialise on an advisory lock, and a second run is a no-op.
type MigrateCmd struct {
	ReloadAreas bool `name:"reload-areas" help:"Also (re)load the city's area layers and populations from its configuration, e.g. after a boundary or population update. Custom layers uploaded by admins are kept."`
}

// Run applies migrations and reports the store.
func (c MigrateCmd) Run(ctx context.Context, a *App) error {
	// The city is read even when only migrating, so a bad configuration
	// fails the deployment's first step rather than the service later.
	city, err := a.OpenCity()
	if err != nil {
		return err
	}
	st, err := a.OpenStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Ready(ctx); err != nil {
		return fmt.Errorf("after migrate: %w", err)
	}
	fmt.Fprintf(a.Stdout, "migrations applied (%s store)\n", a.StoreKind())
	if c.ReloadAreas {
		if err := areas.LoadCity(ctx, st, city); err != nil {
			return fmt.Errorf("area layers: %w", err)
		}
		fmt.Fprintf(a.Stdout, "area layers of %s loaded (%d)\n", city.Name, len(city.Layers))
	}
	return nil
}

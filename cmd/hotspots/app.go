package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"hotspots/cities"
	"hotspots/geo"
	"hotspots/geo/postgis"
	"hotspots/geo/sqlite"
	"hotspots/ingest/areas"
)

// App carries what every subcommand needs; kong passes it to Run methods.
type App struct {
	Globals
	Log    *slog.Logger
	Stdout io.Writer
}

// migratingStore is a store that can bring its own schema up to date.
type migratingStore interface {
	geo.Store
	Migrate(ctx context.Context) error
}

// OpenStore opens PostGIS when a database URL is configured and the embedded
// store in the data folder otherwise, so a machine with Go alone can run the
// main job. With migrate, the schema is brought up to date first.
func (a *App) OpenStore(ctx context.Context, migrate bool) (migratingStore, error) {
	var (
		st  migratingStore
		err error
	)
	if a.DatabaseURL != "" {
		st, err = postgis.Open(ctx, a.DatabaseURL, postgis.Options{Logger: a.Log})
		if err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
	} else {
		if err := os.MkdirAll(a.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		path := filepath.Join(a.DataDir, "hotspots.db")
		st, err = sqlite.Open(ctx, path, sqlite.Options{Logger: a.Log})
		if err != nil {
			return nil, fmt.Errorf("embedded store %s: %w", path, err)
		}
	}
	if migrate {
		if err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, fmt.Errorf("migrate: %w", err)
		}
	}
	return st, nil
}

// OpenCity loads the configured city.
func (a *App) OpenCity() (*cities.City, error) {
	c, err := cities.Open(a.City)
	if err != nil {
		return nil, fmt.Errorf("city: %w", err)
	}
	return c, nil
}

// StoreKind names the store in use, for logs and the version command.
func (a *App) StoreKind() string {
	if a.DatabaseURL != "" {
		return "postgis"
	}
	return "embedded"
}

// openForWork loads the city and opens the store migrated and holding the
// city's area layers: what serve, demo and ingest start with. The caller
// closes the store.
func (a *App) openForWork(ctx context.Context) (*cities.City, migratingStore, error) {
	city, err := a.OpenCity()
	if err != nil {
		return nil, nil, err
	}
	st, err := a.OpenStore(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	if err := a.ensureAreas(ctx, st, city); err != nil {
		st.Close()
		return nil, nil, err
	}
	return city, st, nil
}

// ensureAreas loads the city's area layers into the store when any of them
// is missing, so incidents get their neighborhood, CSA and districts at
// ingest. Layers already there are left alone: reloading them is
// `hotspots migrate --reload-areas`' job.
func (a *App) ensureAreas(ctx context.Context, st geo.Store, city *cities.City) error {
	have, err := st.Layers(ctx)
	if err != nil {
		return fmt.Errorf("area layers: %w", err)
	}
	got := map[string]bool{}
	for _, l := range have {
		got[l.ID] = true
	}
	for _, l := range city.Layers {
		if !got[l.ID] {
			a.Log.Info("loading area layers", "city", city.Slug)
			if err := areas.LoadCity(ctx, st, city); err != nil {
				return fmt.Errorf("area layers: %w", err)
			}
			return nil
		}
	}
	return nil
}

package main

import (
	"context"
	"fmt"
)

// MigrateCmd applies the embedded migrations. Two processes may run it at
// once: the stores serialise on an advisory lock, and a second run is a no-op.
type MigrateCmd struct{}

// Run applies migrations and reports the store.
func (MigrateCmd) Run(ctx context.Context, a *App) error {
	st, err := a.OpenStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Ready(ctx); err != nil {
		return fmt.Errorf("after migrate: %w", err)
	}
	fmt.Fprintf(a.Stdout, "migrations applied (%s store)\n", a.StoreKind())
	return nil
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"hotspots/api"
	"hotspots/cities"
)

// ServeCmd serves the API and the analyst map.
type ServeCmd struct {
	Listen string        `name:"listen" env:"HOTSPOTS_LISTEN" default:":8080" help:"Address to listen on, host:port."`
	Grace  time.Duration `name:"grace" env:"HOTSPOTS_SHUTDOWN_GRACE" default:"15s" help:"How long in-flight requests get to finish on SIGINT/SIGTERM."`
}

// Validate checks the listen address before anything is opened, so a bad
// port is reported as such rather than as a failure later on.
func (s ServeCmd) Validate() error { return validateListen(s.Listen) }

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

// Run opens the store (migrating it), then serves until a signal arrives.
func (s ServeCmd) Run(ctx context.Context, a *App) error {
	city, err := a.OpenCity()
	if err != nil {
		return err
	}
	st, err := a.OpenStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	return a.serve(ctx, st, city, s.Listen, s.Grace, nil)
}

// serve runs the HTTP server; onReady is called with the URL once listening.
func (a *App) serve(ctx context.Context, st migratingStore, city *cities.City, listen string, grace time.Duration, onReady func(url string)) error {
	srv := api.New(api.Config{Store: st, City: city, Logger: a.Log, Version: Version()})
	return srv.Serve(ctx, listen, grace, func(addr net.Addr) {
		url := "http://" + hostForURL(addr)
		a.Log.Info("serving", slog.String("url", url), slog.String("store", a.StoreKind()), slog.String("city", city.Slug))
		if onReady != nil {
			onReady(url)
		}
	})
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

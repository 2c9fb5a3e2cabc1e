package ingest

import (
	"context"
	"fmt"
	"time"

	"hotspots/cities"
	"hotspots/geo"
)

// DemoOptions configure LoadDemo.
type DemoOptions struct {
	RunOptions
	// Seed of the simulated overdose stream.
	Seed uint64
	// SimFrom and SimTo bound the simulated stream's local dates (To
	// exclusive); zero: SimOptions' defaults. SimLastSpikeAtEnd plants its
	// last spike on the final days, so a stream ending yesterday shows a
	// live spike.
	SimFrom, SimTo    time.Time
	SimLastSpikeAtEnd bool
}

// LoadDemo loads what the city's demo section lists: each bundled sample
// through its mapping, then, when demo.simulated_overdoses is set, the
// simulated overdose stream of that size. Re-running it changes nothing.
// It returns one summary per load, and the spikes planted in the
// simulated stream.
func LoadDemo(ctx context.Context, st geo.Store, city *cities.City, o DemoOptions) ([]Summary, []SimSpike, error) {
	var out []Summary
	if o.Geocoder == nil {
		g, err := CityGeocoder(city)
		if err != nil {
			return nil, nil, err
		}
		o.Geocoder = g
	}
	for _, d := range city.Demo.Loads {
		s, err := Run(ctx, st, city, d.Mapping, d.File, o.RunOptions)
		if err != nil {
			return out, nil, fmt.Errorf("demo %s: %w", d.File, err)
		}
		out = append(out, s)
	}
	n := city.Demo.SimulatedOverdoses
	if n <= 0 {
		return out, nil, nil
	}
	s, spikes, err := SimulateOverdoses(ctx, st, city, SimOptions{Seed: o.Seed, N: n, From: o.SimFrom, To: o.SimTo, LastSpikeAtEnd: o.SimLastSpikeAtEnd}, o.Options)
	if err != nil {
		return out, nil, fmt.Errorf("demo: simulated overdoses: %w", err)
	}
	return append(out, s), spikes, nil
}

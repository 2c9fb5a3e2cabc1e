// Package detect runs the detectors of geo/cluster, geo/temporal and
// geo/spatial over a store's counts: it builds the count cube of each kind
// group (overdoses; shootings with homicides) from CellDayCounts and
// AreaDayCounts at one H3 resolution, runs every configured detector on the
// data up to an as-of day, and hands each run with its findings to a sink.
// It holds no SQL and no HTTP: it reads through the Source interface
// (geo.Store satisfies it) and writes through a Sink function.
//
// The service calls it in three places with the same two calls:
//
//	r, err := detect.New(store, city, detect.DefaultConfig(), detect.EngineSink(engine, nil))
//	summary, err := r.Run(ctx, time.Now())
//	summary.WriteTable(os.Stdout)
//
// `hotspots detect` runs it once; serve runs it daily and after each ingest.
// EngineSink hands each run to alerting.Engine.Detected, so the run, its
// findings and the alerts they raise are written in one transaction;
// StoreSink uses Store.SaveRun when no alerting engine runs. A Runner is
// safe for concurrent use: runs are serialised.
//
// Days are calendar days in the city's time zone, as geo.Incident.Day is;
// the as-of instant's local date is the last day analysed, inclusive.
//
// Runs are reproducible: every Monte Carlo detector draws from a seed
// derived from Config.Seed (or from the as-of date when it is 0), the group
// and the detector name, and each stored run keeps that seed, its data
// window and its parameters as JSON, so the same data, parameters and seed
// give identical findings.
package detect

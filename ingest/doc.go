// Package ingest turns real incident feeds into validated, H3-indexed,
// area-assigned incidents in a geo.Store.
//
// A feed is described by a declarative mapping (one YAML file per source):
// its format, which columns hold the date, time, coordinates and address,
// how descriptions or codes classify into kinds, the key that merges
// victim rows into incidents, and the source's traps (sentinel points,
// fake UTC offsets, randomized coordinates). Rows that cannot be used are
// quarantined with a machine-readable geo.Reason, never dropped silently,
// and can be re-processed after a mapping fix.
//
// Loads are idempotent: incidents are upserted by (source, key), so the same
// file twice changes nothing, a changed row becomes a revision, and a load
// that was interrupted is completed by running it again.
package ingest

// Package geo is the domain root of hotspots: incidents, H3 cells, areas,
// detection findings, alerts and the storage interfaces that the PostGIS and
// embedded stores implement.
//
// It imports only the standard library, orb and H3, so that the detectors,
// the ingest pipeline, the tile encoder and the HTTP API can all depend on it
// without depending on each other or on a database driver.
package geo

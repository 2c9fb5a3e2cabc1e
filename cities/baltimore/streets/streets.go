// Package streets embeds Baltimore's trimmed street centerlines and named
// intersections (see README.md for origin, licence and transformation), so
// the offline geocoder works from a clean clone and from any working
// directory. Other cities point the geocoder at their own folder instead.
package streets

import "embed"

// FS holds centerlines.csv.gz and intersections.csv.gz at its root; pass it
// with dir "." to geocode.LoadOffline.
//
//go:embed centerlines.csv.gz intersections.csv.gz
var FS embed.FS

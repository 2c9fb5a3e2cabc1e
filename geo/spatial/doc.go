// Package spatial holds the hot-spot detectors that work on a map of cells:
// Getis-Ord Gi* and Gi, local Moran's I, their permutation tests, and
// Emerging Hot Spot Analysis over a space-time cube.
//
// It is a pure package: values in, findings out, no SQL and no HTTP. Every
// statistic is defined exactly as the R reference (spdep, stats) in the
// project's oracle fixtures, so results can be re-derived outside the
// service. A Graph fixes the study area: its cells, in order, are the n of
// every formula, and cells with zero counts inside the area must be included
// because leaving them out changes every z-score.
package spatial

// Package temporal holds the detectors that watch one count series (an
// area's or a cell's daily incidents) for a rise: EARS C1, C2 and C3, the
// Poisson CUSUMs and a Poisson EWMA chart.
//
// It is a pure package: a series in, one result per monitored day out, no
// SQL and no HTTP. EARS and the CUSUMs reproduce the R package surveillance
// (earsC, algo.cusum, algo.glrpois) exactly, quirks included, because those
// are what health departments' reference analyses run; each doc comment says
// where the package departs from its textbook description.
//
// Series are indexed from 0; Day fields are those indices. A series must be
// complete: a day without incidents is a 0, not a gap.
package temporal

// Package trend holds the monotonic-trend tests the hot-spot detectors use on
// time series: the Mann-Kendall test with tie correction, Kendall's tau-b and
// the exact small-sample null distribution.
//
// It is a pure package (values in, results out) and reproduces R's
// stats::cor.test(1:n, x, method = "kendall") and the oracle's direct
// formulas to floating-point precision, so that a trend reported by the
// service can be re-derived in R by anyone who doubts it.
package trend

package evaluate

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"text/tabwriter"
	"time"
)

// quiet drops the runner's per-run log lines: an evaluation makes hundreds.
var quiet = slog.New(slog.DiscardHandler)

// WriteTable prints the results as one aligned table per background.
func WriteTable(w io.Writer, results ...*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, r := range results {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		o := r.Options
		fmt.Fprintf(tw, "%s: %d outbreaks of %d cases within %.0f m over %d days (lag %d), %s..%s, %d replications, seed %d\n",
			r.Background, o.Trials, o.Size, o.RadiusM, o.Duration, o.Lag,
			r.From.Format(time.DateOnly), r.To.AddDate(0, 0, -1).Format(time.DateOnly), o.Replications, o.Seed)
		fmt.Fprintln(tw, "DETECTOR\tSENSITIVITY\tDETECTED\tMEDIAN DAYS\tFALSE ALARMS/MONTH\t")
		for _, row := range r.Rows {
			med := "-"
			if !math.IsNaN(row.MedianDays) {
				med = fmt.Sprintf("%.1f", row.MedianDays)
			}
			fmt.Fprintf(tw, "%s\t%.0f%%\t%d/%d\t%s\t%.1f\t\n", row.Detector, 100*row.Sensitivity,
				row.Detected, row.Trials, med, row.FalseAlarmsPerMonth)
		}
		fmt.Fprintf(tw, "(%s)\n", r.Duration.Round(time.Millisecond))
	}
	return tw.Flush()
}

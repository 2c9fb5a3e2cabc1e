package detect

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteTable prints the summary as an aligned table, one line per run, for
// the detect command and the demo's output.
func (s Summary) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Detection as of %s (seed %d)\n", s.Day.Format(time.DateOnly), s.Seed)
	fmt.Fprintln(tw, "GROUP\tDETECTOR\tFINDINGS\tSIGNALS\tWINDOW\tRUN SEED\tTIME\t")
	for _, r := range s.Runs {
		if r.Err != nil {
			fmt.Fprintf(tw, "%s\t%s\tfailed: %v\t\t\t\t%s\t\n", r.Group, r.Detector, r.Err, roundDuration(r.Duration))
			continue
		}
		window := fmt.Sprintf("%s..%s", r.From.Format(time.DateOnly), r.To.AddDate(0, 0, -1).Format(time.DateOnly))
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%s\t\n", r.Group, r.Detector, r.Findings, r.Signals, window, r.Seed, roundDuration(r.Duration))
	}
	fmt.Fprintf(tw, "total\t\t%d\t%d\t\t\t%s\t\n", s.Findings(), s.Signals(), roundDuration(s.Duration))
	return tw.Flush()
}

// Signals is the total number of signal findings.
func (s Summary) Signals() int {
	n := 0
	for _, r := range s.Runs {
		n += r.Signals
	}
	return n
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

package ingest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"hotspots/geo"
)

// maxExamples is how many example details per reason a summary keeps.
const maxExamples = 3

// Summary is what one load did, printed by `hotspots ingest` so an operator
// sees at a glance how many rows were used and why the others were not.
type Summary struct {
	Source      string
	LoadID      int64
	RowsRead    int
	Incidents   int // incidents after victim rows were merged
	Victims     int
	Merged      int // rows folded into another row's incident
	Added       int
	Changed     int
	Unchanged   int
	Quarantined int
	// Resolved counts earlier quarantined rows that now passed.
	Resolved int
	// Purged counts quarantined rows a re-process skipped because
	// retention removed their content (geo.DetailPurged); they stay
	// quarantined and are counted in Quarantined too.
	Purged   int
	ByReason map[geo.Reason]int
	// Examples holds a few quarantine details per reason.
	Examples map[geo.Reason][]string
	// Filtered counts rows left out on purpose, by filter.
	Filtered map[string]int
	ByKind   map[geo.Kind]int
	Flags    map[string]int
	Duration time.Duration
}

func newSummary(source string) Summary {
	return Summary{
		Source: source, ByReason: map[geo.Reason]int{}, Examples: map[geo.Reason][]string{},
		Filtered: map[string]int{}, ByKind: map[geo.Kind]int{}, Flags: map[string]int{},
	}
}

func (s *Summary) countIncident(inc *geo.Incident) {
	s.Incidents++
	s.Victims += inc.Victims
	s.ByKind[inc.Kind]++
	for _, f := range inc.Flags {
		s.Flags[f]++
	}
}

// FilteredTotal is the number of rows filters left out.
func (s *Summary) FilteredTotal() int {
	n := 0
	for _, v := range s.Filtered {
		n += v
	}
	return n
}

// Accounted reports whether every row read is an incident, a merged victim
// row, a quarantined row or a filtered row: the "nothing dropped silently"
// invariant tests check.
func (s *Summary) Accounted() bool {
	return s.RowsRead == s.Incidents+s.Merged+s.Quarantined+s.FilteredTotal()
}

// Print writes the summary as an aligned table, quarantine reasons by count.
func (s *Summary) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "source\t%s\t(load %d, %s)\n", s.Source, s.LoadID, s.Duration.Round(time.Millisecond))
	fmt.Fprintf(tw, "rows read\t%d\t\n", s.RowsRead)
	fmt.Fprintf(tw, "incidents\t%d\t(%d victims; %d rows merged)\n", s.Incidents, s.Victims, s.Merged)
	fmt.Fprintf(tw, "  added\t%d\t\n  changed\t%d\t\n  unchanged\t%d\t\n", s.Added, s.Changed, s.Unchanged)
	for _, k := range sortedKeys(s.ByKind) {
		fmt.Fprintf(tw, "  kind %s\t%d\t\n", k, s.ByKind[k])
	}
	for _, k := range sortedKeys(s.Flags) {
		fmt.Fprintf(tw, "  flag %s\t%d\t\n", k, s.Flags[k])
	}
	fmt.Fprintf(tw, "filtered\t%d\t\n", s.FilteredTotal())
	for _, k := range sortedKeys(s.Filtered) {
		fmt.Fprintf(tw, "  %s\t%d\t\n", k, s.Filtered[k])
	}
	fmt.Fprintf(tw, "quarantined\t%d\t\n", s.Quarantined)
	reasons := sortedKeys(s.ByReason)
	sort.SliceStable(reasons, func(i, j int) bool { return s.ByReason[reasons[i]] > s.ByReason[reasons[j]] })
	for _, r := range reasons {
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", r, s.ByReason[r], strings.Join(s.Examples[r], "; "))
	}
	if s.Resolved > 0 {
		fmt.Fprintf(tw, "resolved from quarantine\t%d\t\n", s.Resolved)
	}
	if s.Purged > 0 {
		fmt.Fprintf(tw, "purged by retention, skipped\t%d\t\n", s.Purged)
	}
	return tw.Flush()
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

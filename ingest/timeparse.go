package ingest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Special format names accepted beside Go layouts.
const (
	// FormatHHMM reads clock times written as 1 to 4 digits without a
	// colon, as BPD exports do: "2316" is 23:16, "137" is 01:37, "49" is
	// 00:49.
	FormatHHMM = "hhmm"
	// FormatEpochMS reads milliseconds since 1970 (ArcGIS date fields).
	FormatEpochMS = "epoch_ms"
	// FormatEpochS reads seconds since 1970.
	FormatEpochS = "epoch_s"
)

// clock is a time of day.
type clock struct{ h, m, s int }

// cleanTime strips the debris BPD time cells carry (a stray backtick in
// "1040`", quotes, dots) while keeping digits, colons, spaces and AM/PM.
func cleanTime(v string) string {
	if t := strings.TrimSpace(v); onlyClockDigits(t) {
		return t // nothing to strip: the usual "03:54:00", without a copy
	}
	return cleanTimeGeneral(v)
}

// cleanTimeGeneral is cleanTime for any cell.
func cleanTimeGeneral(v string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(v) {
		switch {
		case r >= '0' && r <= '9', r == ':', r == ' ':
			b.WriteRune(r)
		case r == 'A' || r == 'P' || r == 'M' || r == 'a' || r == 'p' || r == 'm':
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// onlyClockDigits reports whether v holds nothing but digits and colons.
func onlyClockDigits(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < '0' || c > '9') && c != ':' {
			return false
		}
	}
	return true
}

// parseClock parses a time-of-day cell with the formats in order. A value
// holding two spellings of one time ("0149 01:49") is tried whole first and
// then field by field, and accepted when a field parses.
func parseClock(v string, formats []string) (clock, error) {
	c := cleanTime(v)
	if c == "" {
		return clock{}, fmt.Errorf("time %q: no digits", v)
	}
	cands := []string{c}
	// cleanTime leaves single spaces between fields: without one there is
	// a single field, and no slice of fields to allocate.
	if strings.IndexByte(c, ' ') >= 0 {
		if f := strings.Fields(c); len(f) > 1 {
			cands = append(cands, f...)
		}
	}
	for _, cand := range cands {
		for _, f := range formats {
			if t, ok := parseClockFormat(cand, f); ok {
				return t, nil
			}
		}
	}
	return clock{}, fmt.Errorf("time %q matches none of %q", v, formats)
}

func parseClockFormat(v, format string) (clock, bool) {
	if format == FormatHHMM {
		if len(v) == 0 || len(v) > 4 {
			return clock{}, false
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return clock{}, false
		}
		h, m := n/100, n%100
		if h > 23 || m > 59 {
			return clock{}, false
		}
		return clock{h, m, 0}, true
	}
	t, err := time.Parse(format, v)
	if err != nil {
		return clock{}, false
	}
	return clock{t.Hour(), t.Minute(), t.Second()}, true
}

// parseDate parses a date cell with the layouts in order and returns its
// calendar date. Any clock time or UTC offset in the cell is ignored on
// purpose: feeds such as Tempe's and Philadelphia's write local dates as
// "2021-08-01 00:00:00+00", and honouring that fake offset would move every
// incident to the previous evening.
func parseDate(v string, formats []string) (y int, m time.Month, d int, err error) {
	v = strings.TrimSpace(v)
	for _, f := range formats {
		if t, ok := parseWithLayout(v, f, time.UTC); ok {
			y, m, d = t.Date()
			return y, m, d, nil
		}
	}
	return 0, 0, 0, fmt.Errorf("date %q matches none of %q", v, formats)
}

// parseDateTime parses a cell holding an instant with the layouts in order:
// an offset in the value is honoured; without one the wall clock is read in
// loc.
func parseDateTime(v string, formats []string, loc *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	for _, f := range formats {
		if t, ok := parseWithLayout(v, f, loc); ok {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("date-time %q matches none of %q", v, formats)
}

func parseWithLayout(v, layout string, loc *time.Location) (time.Time, bool) {
	switch layout {
	case FormatEpochMS, FormatEpochS:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return time.Time{}, false
		}
		if layout == FormatEpochS {
			f *= 1000
		}
		return time.UnixMilli(int64(f)).In(loc), true
	case FormatHHMM:
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(layout, v, loc)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

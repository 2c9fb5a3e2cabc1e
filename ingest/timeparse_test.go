package ingest

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParseClock(t *testing.T) {
	bpd := []string{"15:04:05", "15:04", FormatHHMM}
	cases := map[string]struct {
		in      string
		h, m, s int
		bad     bool
	}{
		"hh:mm:ss":                {in: "23:53:00", h: 23, m: 53},
		"h:mm:ss":                 {in: "0:32:00", h: 0, m: 32},
		"hh:mm":                   {in: "12:27", h: 12, m: 27},
		"hhmm":                    {in: "2316", h: 23, m: 16},
		"hmm":                     {in: "137", h: 1, m: 37},
		"mm after midnight":       {in: "49", h: 0, m: 49},
		"stray backtick":          {in: "1040`", h: 10, m: 40},
		"two spellings":           {in: "0149 01:49", h: 1, m: 49},
		"padded":                  {in: "  0905 ", h: 9, m: 5},
		"hour 24 is not a time":   {in: "2400", bad: true},
		"minute 60 is not a time": {in: "1260", bad: true},
		"five digits":             {in: "12345", bad: true},
		"letters only":            {in: "noon", bad: true},
		"empty after cleaning":    {in: "``", bad: true},
		"seconds kept":            {in: "08:03:39", h: 8, m: 3, s: 39},
		"negative sign is debris": {in: "-0130", h: 1, m: 30},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := parseClock(tc.in, bpd)
			if tc.bad {
				if err == nil {
					t.Fatalf("parseClock(%q) = %+v, want error", tc.in, c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c != (clock{tc.h, tc.m, tc.s}) {
				t.Fatalf("parseClock(%q) = %+v, want %d:%d:%d", tc.in, c, tc.h, tc.m, tc.s)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	cases := map[string]struct {
		in      string
		formats []string
		want    string
		bad     bool
	}{
		"MM/DD/YYYY":              {in: "07/07/2018", formats: []string{"01/02/2006"}, want: "2018-07-07"},
		"M/D/YY pivot 2000s":      {in: "1/2/05", formats: []string{"1/2/06"}, want: "2005-01-02"},
		"M/D/YY two digit month":  {in: "12/27/17", formats: []string{"1/2/06"}, want: "2017-12-27"},
		"YYYY-MM-DD":              {in: "2020-11-13", formats: []string{"2006-01-02"}, want: "2020-11-13"},
		"fake UTC midnight":       {in: "2021-08-01 00:00:00+00", formats: []string{"2006-01-02 15:04:05-07"}, want: "2021-08-01"},
		"Tempe slash fake offset": {in: "2017/01/03 00:00:00+00", formats: []string{"2006/01/02 15:04:05-07"}, want: "2017-01-03"},
		// 07:00 UTC is local midnight in Arizona: still the same local date.
		"Tempe local midnight in UTC": {in: "2017/01/09 07:00:00+00", formats: []string{"2006/01/02 15:04:05-07"}, want: "2017-01-09"},
		"late offset keeps date":      {in: "2021-08-01 23:00:00+00", formats: []string{"2006-01-02 15:04:05-07"}, want: "2021-08-01"},
		"second format used":          {in: "2020-01-05", formats: []string{"01/02/2006", "2006-01-02"}, want: "2020-01-05"},
		"no format fits":              {in: "05.01.2020", formats: []string{"01/02/2006", "2006-01-02"}, bad: true},
		"impossible day":              {in: "02/30/2019", formats: []string{"01/02/2006"}, bad: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			y, m, d, err := parseDate(tc.in, tc.formats)
			if tc.bad {
				if err == nil {
					t.Fatalf("parseDate(%q) = %d-%d-%d, want error", tc.in, y, m, d)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly); got != tc.want {
				t.Fatalf("parseDate(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseDateTimeHonoursOffsetsAndZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	formats := []string{time.RFC3339, "2006-01-02 15:04:05", "01/02/2006 03:04:05 PM", FormatEpochMS}
	cases := map[string]struct {
		in   string
		want time.Time
	}{
		"RFC 3339 with offset": {"2023-03-01T22:15:00-05:00", time.Date(2023, 3, 2, 3, 15, 0, 0, time.UTC)},
		"local wall clock":     {"2023-07-01 22:15:00", time.Date(2023, 7, 2, 2, 15, 0, 0, time.UTC)},
		"12-hour clock":        {"01/01/2017 12:03:00 AM", time.Date(2017, 1, 1, 5, 3, 0, 0, time.UTC)},
		"ArcGIS epoch ms":      {"1514764800000", time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := parseDateTime(tc.in, formats, ny)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) {
				t.Fatalf("parseDateTime(%q) = %v, want %v", tc.in, got.UTC(), tc.want)
			}
		})
	}
}

// cleanTime's shortcut for cells of digits and colons gives what the
// general path gives, and parseClock's single-field shortcut what splitting
// gives.
func TestCleanTimeFastPathMatchesGeneral(t *testing.T) {
	pieces := []string{"0", "1", "9", ":", " ", "\t", "`", "A", "pm", ".", "\u00a0", "é", "\xff"}
	r := rand.New(rand.NewPCG(13, 14))
	for range 100000 {
		var b strings.Builder
		for range r.IntN(9) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		v := b.String()
		if got, want := cleanTime(v), cleanTimeGeneral(v); got != want {
			t.Fatalf("cleanTime(%q) = %q, general path %q", v, got, want)
		}
	}
}

func FuzzCleanTimeFastPath(f *testing.F) {
	for _, s := range []string{"03:54:00", " 0149 ", "1040`", "0149 01:49", "", "12:30 PM"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := cleanTime(v), cleanTimeGeneral(v); got != want {
			t.Fatalf("cleanTime(%q) = %q, general path %q", v, got, want)
		}
	})
}

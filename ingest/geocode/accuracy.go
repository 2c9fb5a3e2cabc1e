package geocode

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"

	"hotspots/geo"
)

// Case is one reference pair: an address and where an independent geocoder
// (Google for the Trace cases, BPD for Part 1 rows) put it.
type Case struct {
	Address string
	Want    orb.Point // lon, lat
	Source  string
}

// ReadCases reads an address,lon,lat CSV (the testdata case format) and tags
// every case with source.
func ReadCases(r io.Reader, source string) ([]Case, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("geocode: cases header: %w", err)
	}
	if len(header) < 3 || header[0] != "address" || header[1] != "lon" || header[2] != "lat" {
		return nil, geo.Errorf(geo.EINVALID, "geocode: cases header %v, want address,lon,lat", header)
	}
	var out []Case
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("geocode: cases line %d: %w", line, err)
		}
		lon, err1 := strconv.ParseFloat(rec[1], 64)
		lat, err2 := strconv.ParseFloat(rec[2], 64)
		if err1 != nil || err2 != nil {
			return nil, geo.Errorf(geo.EINVALID, "geocode: cases line %d: bad coordinate", line)
		}
		out = append(out, Case{Address: rec[0], Want: orb.Point{lon, lat}, Source: source})
	}
}

// Row is one line of an accuracy report.
type Row struct {
	Group string
	// Cases is the number of cases in the group.
	Cases int
	// Matched is the number of usable (unambiguous, matched) results;
	// MatchedPct is it as a share of the group's cases. For precision
	// groups every case is matched, so MatchedPct is the group's share of
	// all cases instead.
	Matched    int
	MatchedPct float64
	// Error distances of matched results, in metres.
	MedianM, P90M float64
	Within100     float64 // share of matched results within 100 m, in percent
}

// Report summarises a geocoder against reference cases.
type Report struct {
	Total, Matched, Ambiguous, Unmatched, Errors int
	FirstError                                   string
	Overall                                      Row
	ByPrecision                                  []Row
	BySource                                     []Row
	// Reasons counts unusable results by quarantine detail prefix, for
	// finding what to fix next.
	Reasons map[string]int
}

// MatchedPct is the overall share of cases that got a usable result.
func (r Report) MatchedPct() float64 { return r.Overall.MatchedPct }

// MedianErrorM is the overall median error in metres.
func (r Report) MedianErrorM() float64 { return r.Overall.MedianM }

// Accuracy geocodes every case with g and compares the result with the
// reference point. Geocoder errors are counted, not fatal, so a flaky HTTP
// geocoder still gets a report.
func Accuracy(ctx context.Context, g Geocoder, cases []Case) Report {
	rep := Report{Total: len(cases), Reasons: map[string]int{}}
	addrs := make([]string, len(cases))
	for i, c := range cases {
		addrs[i] = c.Address
	}
	results, err := g.GeocodeBatch(ctx, addrs)
	if err != nil {
		// Fall back to one at a time so one failure does not void the report.
		results = make([]Result, len(cases))
		for i, a := range addrs {
			r, err := g.Geocode(ctx, a)
			if err != nil {
				rep.Errors++
				if rep.FirstError == "" {
					rep.FirstError = err.Error()
				}
				r = Result{Precision: geo.PrecisionUnmatched, Reason: geo.ReasonUngeocodable, Detail: "error"}
			}
			results[i] = r
		}
	}
	type obs struct {
		matched bool
		errM    float64
	}
	all := make([]obs, len(cases))
	byPrec := map[geo.Precision][]float64{}
	bySrc := map[string][]obs{}
	for i, r := range results {
		o := obs{matched: r.OK()}
		switch {
		case r.Ambiguous:
			rep.Ambiguous++
		case !r.OK():
			rep.Unmatched++
		}
		if o.matched {
			rep.Matched++
			o.errM = orbgeo.Distance(r.Point, cases[i].Want)
			byPrec[r.Precision] = append(byPrec[r.Precision], o.errM)
		} else {
			d, _, _ := strings.Cut(r.Detail, ":")
			rep.Reasons[string(r.Reason)+" "+d]++
		}
		all[i] = o
		bySrc[cases[i].Source] = append(bySrc[cases[i].Source], o)
	}
	row := func(group string, obs []obs) Row {
		var errs []float64
		for _, o := range obs {
			if o.matched {
				errs = append(errs, o.errM)
			}
		}
		r := summarise(group, errs)
		r.Cases = len(obs)
		r.MatchedPct = pct(len(errs), len(obs))
		return r
	}
	rep.Overall = row("all", all)
	for _, p := range []geo.Precision{geo.PrecisionInterpolated, geo.PrecisionBlock, geo.PrecisionIntersection, geo.PrecisionStreet} {
		if errs, ok := byPrec[p]; ok {
			r := summarise("precision="+string(p), errs)
			r.Cases = len(errs)
			r.MatchedPct = pct(len(errs), len(cases))
			rep.ByPrecision = append(rep.ByPrecision, r)
		}
	}
	srcs := make([]string, 0, len(bySrc))
	for s := range bySrc {
		srcs = append(srcs, s)
	}
	sort.Strings(srcs)
	for _, s := range srcs {
		rep.BySource = append(rep.BySource, row("source="+s, bySrc[s]))
	}
	return rep
}

func summarise(group string, errs []float64) Row {
	r := Row{Group: group, Matched: len(errs)}
	if len(errs) == 0 {
		return r
	}
	sort.Float64s(errs)
	r.MedianM = quantile(errs, 0.5)
	r.P90M = quantile(errs, 0.9)
	within := sort.SearchFloat64s(errs, 100.0000001)
	r.Within100 = pct(within, len(errs))
	return r
}

// quantile is the linear-interpolation quantile of sorted xs (R type 7).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 1 {
		return xs[0]
	}
	h := q * float64(len(xs)-1)
	i := int(h)
	if i+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[i] + (h-float64(i))*(xs[i+1]-xs[i])
}

func pct(k, n int) float64 {
	if n == 0 {
		return 0
	}
	return 100 * float64(k) / float64(n)
}

// WriteTable prints the report as an aligned text table.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "group\tcases\tmatched\tmatched %\tmedian m\tp90 m\t<=100 m %\t")
	rows := append([]Row{r.Overall}, r.ByPrecision...)
	rows = append(rows, r.BySource...)
	for _, x := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t\n", x.Group, x.Cases, x.Matched, x.MatchedPct, x.MedianM, x.P90M, x.Within100)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("geocode: write report: %w", err)
	}
	_, err := fmt.Fprintf(w, "ambiguous %d, unmatched %d, errors %d (precision rows: matched %% is the share of all cases)\n",
		r.Ambiguous, r.Unmatched, r.Errors)
	if err != nil {
		return fmt.Errorf("geocode: write report: %w", err)
	}
	return nil
}

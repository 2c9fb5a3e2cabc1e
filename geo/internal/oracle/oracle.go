// Package oracle reads the reference fixtures (R spdep, surveillance, stats
// and a reference space-time permutation scan) that the detector tests must
// agree with.
//
// Tests read the fixture folder named by HOTSPOTS_ORACLE_DIR when it is set,
// a folder laid out like one seed folder of the oracle generator, so a case
// generated with a new seed runs with no code change. Otherwise they run every
// seed folder committed under testdata.
package oracle

import (
	"encoding/csv"

	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"testing"
)

// Dirs returns the fixture folders to test against.
func Dirs(tb testing.TB) []string {
	tb.Helper()
	if d := os.Getenv("HOTSPOTS_ORACLE_DIR"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "nodes.csv")); err != nil {
			tb.Fatalf("HOTSPOTS_ORACLE_DIR=%s: %v", d, err)
		}
		return []string{d}
	}
	_, file, _, _ := runtime.Caller(0)
	matches, err := filepath.Glob(filepath.Join(filepath.Dir(file), "testdata", "seed-*"))
	if err != nil || len(matches) == 0 {
		tb.Fatalf("no oracle fixtures found next to %s", file)
	}
	sort.Strings(matches)
	return matches
}

// Table is a CSV file read into rows keyed by column name.
type Table struct {
	Header []string
	Rows   []Row
}

// Row is one CSV row; values are looked up by column name.
type Row map[string]string

// Read reads dir/name. It fails the test on any error.
func Read(tb testing.TB, dir, name string) Table {
	tb.Helper()
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		tb.Fatalf("oracle: %v", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatalf("oracle: %s: %v", name, err)
	}
	if len(recs) == 0 {
		tb.Fatalf("oracle: %s is empty", name)
	}
	t := Table{Header: recs[0]}
	for _, rec := range recs[1:] {
		r := make(Row, len(rec))
		for i, v := range rec {
			r[t.Header[i]] = v
		}
		t.Rows = append(t.Rows, r)
	}
	return t
}

// Has reports whether the column exists in the row.
func (r Row) Has(col string) bool { _, ok := r[col]; return ok }

// NA reports whether the value is missing ("NA").
func (r Row) NA(col string) bool { return r[col] == "NA" }

// Float parses a column as float64; NA gives NaN. Use NA to tell a real NaN
// from a missing value.
func (r Row) Float(tb testing.TB, col string) float64 {
	tb.Helper()
	v, ok := r[col]
	if !ok {
		tb.Fatalf("oracle: no column %q", col)
	}
	if v == "NA" {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		tb.Fatalf("oracle: column %q: %v", col, err)
	}
	return f
}

// Int parses a column as int.
func (r Row) Int(tb testing.TB, col string) int {
	tb.Helper()
	v, err := strconv.Atoi(r[col])
	if err != nil {
		tb.Fatalf("oracle: column %q value %q: %v", col, r[col], err)
	}
	return v
}

// Close reports whether got agrees with want within the deterministic-double
// tolerance of the oracle README: |got-want| <= tol*max(1,|want|), with NaN
// and infinities required to match exactly.
func Close(got, want, tol float64) bool {
	switch {
	case math.IsNaN(want):
		return math.IsNaN(got)
	case math.IsInf(want, 0):
		return got == want
	}
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// RelClose reports relative agreement, for p-values in the far tail.
func RelClose(got, want, rel float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	if want == 0 {
		return math.Abs(got) <= rel
	}
	return math.Abs(got-want) <= rel*math.Abs(want)
}

// MonteCarloClose reports whether a Monte Carlo p-value from bGo replicates
// agrees with a reference from bRef replicates, by the README's bound.
func MonteCarloClose(pGo, pRef float64, bGo, bRef int) bool {
	tol := 4*math.Sqrt(pRef*(1-pRef)*(1/float64(bGo)+1/float64(bRef))) +
		1/float64(bGo+1) + 1/float64(bRef+1)
	return math.Abs(pGo-pRef) <= tol
}

// Name is a short label for a fixture folder in test names.
func Name(dir string) string { return filepath.Base(dir) }

// MonteCarloCloseClamped is MonteCarloClose with the variance term taken at
// pRef clamped into [1/(bRef+1), 1-1/(bRef+1)]. At p = 1 (every replicate
// at least as extreme, common for cylinders with a tiny positive score) the
// README bound's binomial SD is 0 and would demand agreement to the
// resolution of the two runs, although a true p of 0.998 gives p = 1 in 999
// replicates one time in eight. The clamp uses the smallest variance the
// reference could have resolved, symmetric to the README's floor rule.
func MonteCarloCloseClamped(pGo, pRef float64, bGo, bRef int) bool {
	lo := 1 / float64(bRef+1)
	pv := math.Min(math.Max(pRef, lo), 1-lo)
	tol := 4*math.Sqrt(pv*(1-pv)*(1/float64(bGo)+1/float64(bRef))) +
		1/float64(bGo+1) + 1/float64(bRef+1)
	return math.Abs(pGo-pRef) <= tol
}

package postgis_test

import (
	"fmt"
	"testing"
	"time"

	"hotspots/geo"
	"hotspots/geo/postgis/postgistest"
	"hotspots/geo/storetest"
)

// benchRows is the size of one benchmark load, in batches of benchBatch as
// ingest sends them.
const (
	benchRows  = 100_000
	benchBatch = 10_000
)

// BenchmarkUpsertIncidents loads 100,000 new incidents per iteration into a
// table that grows across iterations, then re-sends the last load unchanged,
// and reports rows per second for both. The project's target is 50,000
// rows/s end to end on 2 cores, so the store alone must be well above it.
func BenchmarkUpsertIncidents(b *testing.B) {
	db := postgistest.MustOpenDB(b)
	base := storetest.Incidents(benchRows, 99)
	ctx := b.Context()
	var inserted, unchanged time.Duration
	var last []geo.Incident
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		incs := make([]geo.Incident, len(base))
		for j, inc := range base {
			inc.Source = fmt.Sprintf("bench-%d", i)
			incs[j] = inc
		}
		start := time.Now()
		for lo := 0; lo < len(incs); lo += benchBatch {
			res, err := db.UpsertIncidents(ctx, 0, incs[lo:min(lo+benchBatch, len(incs))])
			if err != nil {
				b.Fatal(err)
			}
			if res.Added != benchBatch {
				b.Fatalf("batch added %d, want %d", res.Added, benchBatch)
			}
		}
		inserted += time.Since(start)
		last = incs
	}
	b.StopTimer()
	start := time.Now()
	for lo := 0; lo < len(last); lo += benchBatch {
		res, err := db.UpsertIncidents(ctx, 0, last[lo:min(lo+benchBatch, len(last))])
		if err != nil {
			b.Fatal(err)
		}
		if res.Unchanged != benchBatch {
			b.Fatalf("re-sent batch: %+v", res)
		}
	}
	unchanged = time.Since(start)
	b.ReportMetric(float64(b.N*benchRows)/inserted.Seconds(), "inserted_rows/s")
	b.ReportMetric(float64(benchRows)/unchanged.Seconds(), "unchanged_rows/s")
}

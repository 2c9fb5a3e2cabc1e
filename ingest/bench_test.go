package ingest

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"hotspots/geo"
)

// BenchmarkIngestCSV loads coordinate-bearing rows end to end (parse,
// validate, H3, area assignment against a real area layer when the city
// ships one, upsert) into a fresh store per iteration and reports rows/s.
// HOTSPOTS_BENCH_ROWS sets the row count (default 50,000);
// scripts/bench-ingest.sh runs the 1,000,000-row PostGIS comparison.
func BenchmarkIngestCSV(b *testing.B) {
	n := 50000
	if v, err := strconv.Atoi(os.Getenv("HOTSPOTS_BENCH_ROWS")); err == nil && v > 0 {
		n = v
	}
	var data bytes.Buffer
	if err := WriteSyntheticCSV(&data, n, 1); err != nil {
		b.Fatal(err)
	}
	city := MustCity(b, "baltimore")
	m := mustMapping(b, SyntheticMapping)
	idx := &AreaIndex{}
	if areas := realNeighborhoodsTB(b); areas != nil {
		idx.Add(neighborhoodLayer, areas)
	}
	kinds := append([]struct {
		name string
		open func(testing.TB) geo.Store
	}{{"pipeline", func(testing.TB) geo.Store { return nullStore{} }}}, storeKinds...)
	for _, sk := range kinds {
		b.Run(sk.name, func(b *testing.B) {
			var total time.Duration
			rows := 0
			for b.Loop() {
				b.StopTimer()
				st := sk.open(b)
				b.StartTimer()
				start := time.Now()
				s, err := Load(context.Background(), st, city, m, CSVFeed(bytes.NewReader(data.Bytes())), Options{Logger: discard, Areas: idx})
				if err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				rows += s.RowsRead
				if s.Added != n {
					b.Fatalf("added %d of %d", s.Added, n)
				}
			}
			b.ReportMetric(float64(rows)/total.Seconds(), "rows/s")
		})
	}
}

// nullStore discards writes: BenchmarkIngestCSV/pipeline measures parsing,
// validation, H3 and areas without a store's cost.
type nullStore struct{ geo.Store }

func (nullStore) StartLoad(context.Context, string) (geo.Load, error) { return geo.Load{ID: 1}, nil }
func (nullStore) FinishLoad(context.Context, geo.Load) error          { return nil }
func (nullStore) UpsertIncidents(_ context.Context, _ int64, incs []geo.Incident) (geo.UpsertResult, error) {
	return geo.UpsertResult{Added: len(incs)}, nil
}
func (nullStore) QuarantineRows(context.Context, []geo.QuarantinedRow) error { return nil }
func (nullStore) ListQuarantine(context.Context, geo.QuarantineFilter) ([]geo.QuarantinedRow, error) {
	return nil, nil
}

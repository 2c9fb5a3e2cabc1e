package geo

import (
	"context"
	"time"
)

// AreaBinCounter is an optional capability of a Store: counts and victims
// per area of one layer and kind, summed over the bins between consecutive
// edges and reported at each bin's first day. Indicators only need sums
// over period windows, so a store that bins server-side sends one row per
// area, bin and kind instead of one per area, day and kind: for a year of
// months with its 3-year baseline, about 50 times fewer rows. The API uses
// it when the store has it and AreaDayCounts otherwise.
type AreaBinCounter interface {
	// AreaBinCounts aggregates the incidents of f.Layer and f.Kinds with
	// edges[0] <= Day < edges[len(edges)-1]; edges are distinct days at
	// 00:00 UTC in increasing order. f.From and f.To are ignored. As in
	// AreaDayCounts, incidents without an area in the layer count under "".
	AreaBinCounts(ctx context.Context, f AreaCountFilter, edges []time.Time) ([]AreaDayCount, error)
}

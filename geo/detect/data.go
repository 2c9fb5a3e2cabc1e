package detect

import (
	"context"
	"fmt"
	"slices"
	"time"

	"hotspots/geo"
	"hotspots/geo/cluster"
	"hotspots/geo/spatial"
)

// groupData is the count cube of one kind group: the study cells and the
// sparse counts of every cell-day of the span, read once and shared by the
// group's detectors.
type groupData struct {
	r    *Runner
	cfg  Config
	g    Group
	day0 time.Time // date of day index 0
	days int       // the span; day days-1 is the as-of day
	// cells are the study cells, ascending: the city's cells plus any cell
	// holding an incident.
	cells  []geo.Cell
	counts []cellDay
	layers []geo.AreaLayer
	seed   uint64

	graph *spatial.Graph // k-ring graph of cells, built on first use
	knox  *cluster.KnoxResult
	// temporalDays is the longest series a temporal detector of the group
	// reads; areas caches the area series of that length.
	temporalDays int
	areas        []series
}

type cellDay struct {
	cell, day int32
	n         int32
}

// load reads the group's counts of the span days ending on day.
func (r *Runner) load(ctx context.Context, g Group, day time.Time, span int) (*groupData, error) {
	gd := &groupData{r: r, cfg: r.cfg, g: g, day0: day.AddDate(0, 0, -(span - 1)), days: span}
	from, to := gd.day0, day.AddDate(0, 0, 1)
	rows, err := r.src.CellDayCounts(ctx, geo.CellCountFilter{Res: r.cfg.Res, Kinds: g.Kinds, From: &from, To: &to})
	if err != nil {
		return nil, fmt.Errorf("cell day counts: %w", err)
	}
	area := r.studyArea()
	if area == nil && len(rows) == 0 && r.city == nil {
		return nil, geo.Errorf(geo.EINVALID, "no study area: set a city or StudyCells")
	}
	cells := slices.Clone(area)
	for _, row := range rows {
		cells = append(cells, row.Cell)
	}
	slices.Sort(cells)
	gd.cells = slices.Compact(cells)
	for _, row := range rows {
		i, _ := slices.BinarySearch(gd.cells, row.Cell)
		d := gd.dayIndex(row.Day)
		if d < 0 || d >= span || row.Count <= 0 {
			continue
		}
		gd.counts = append(gd.counts, cellDay{cell: int32(i), day: int32(d), n: int32(row.Count)})
	}
	return gd, nil
}

func (gd *groupData) dayIndex(t time.Time) int {
	return int(t.Sub(gd.day0).Round(time.Hour).Hours()) / 24
}

// asOf is the date of the last day.
func (gd *groupData) asOf() time.Time { return gd.day0.AddDate(0, 0, gd.days-1) }

// lastDays returns the first day index and date of the last n days, and
// the exclusive end date.
func (gd *groupData) lastDays(n int) (first int, from, to time.Time) {
	first = gd.days - n
	return first, gd.day0.AddDate(0, 0, first), gd.day0.AddDate(0, 0, gd.days)
}

// cube returns the dense cube of the last n days.
func (gd *groupData) cube(n int) (*cluster.Cube, time.Time, error) {
	first, from, _ := gd.lastDays(n)
	c, err := cluster.NewCube(max(1, len(gd.cells)), n)
	if err != nil {
		return nil, from, err
	}
	for _, cd := range gd.counts {
		if int(cd.day) >= first {
			if err := c.Add(int(cd.cell), int(cd.day)-first, int(cd.n)); err != nil {
				return nil, from, err
			}
		}
	}
	return c, from, nil
}

// sums returns each cell's count over the last n days.
func (gd *groupData) sums(n int) []float64 {
	first, _, _ := gd.lastDays(n)
	x := make([]float64, len(gd.cells))
	for _, cd := range gd.counts {
		if int(cd.day) >= first {
			x[cd.cell] += float64(cd.n)
		}
	}
	return x
}

// ring returns the k-ring graph of the study cells.
func (gd *groupData) ring() (*spatial.Graph, error) {
	if gd.graph == nil {
		g, err := spatial.KRing(gd.cells, gd.cfg.RingK)
		if err != nil {
			return nil, err
		}
		gd.graph = g
	}
	return gd.graph, nil
}

// series is one area's daily counts over the last n days.
type series struct {
	layer, area string
	y           []float64
}

// areaSeries returns the daily series of every area with incidents in the
// last n days, per layer, plus a city-wide series when no layer is of kind
// city. Areas are in code order, so findings come out in a stable order.
// The counts are read once per group, for the longest temporal detector,
// and shared: EARS and the charts of one group ask the store once per
// layer.
func (gd *groupData) areaSeries(ctx context.Context, n int) ([]series, error) {
	if gd.areas == nil {
		all, err := gd.loadAreaSeries(ctx, max(n, gd.temporalDays))
		if err != nil {
			return nil, err
		}
		gd.areas = all
	}
	out := make([]series, 0, len(gd.areas))
	for _, s := range gd.areas {
		y := s.y[len(s.y)-n:]
		if slices.ContainsFunc(y, func(v float64) bool { return v != 0 }) {
			out = append(out, series{layer: s.layer, area: s.area, y: y})
		}
	}
	return out, nil
}

// loadAreaSeries reads the series of the last n days.
func (gd *groupData) loadAreaSeries(ctx context.Context, n int) ([]series, error) {
	first, from, to := gd.lastDays(n)
	var out []series
	hasCity := false
	for _, l := range gd.layers {
		hasCity = hasCity || l.Kind == "city"
		rows, err := gd.r.src.AreaDayCounts(ctx, geo.AreaCountFilter{Layer: l.ID, Kinds: gd.g.Kinds, From: &from, To: &to})
		if err != nil {
			return nil, fmt.Errorf("area day counts %s: %w", l.ID, err)
		}
		byArea := map[string][]float64{}
		for _, row := range rows {
			d := gd.dayIndex(row.Day) - first
			if row.Area == "" || d < 0 || d >= n {
				continue
			}
			y := byArea[row.Area]
			if y == nil {
				y = make([]float64, n)
				byArea[row.Area] = y
			}
			y[d] += float64(row.Count)
		}
		codes := make([]string, 0, len(byArea))
		for c := range byArea {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		for _, c := range codes {
			out = append(out, series{layer: l.ID, area: c, y: byArea[c]})
		}
	}
	if !hasCity {
		y := make([]float64, n)
		for _, cd := range gd.counts {
			if d := int(cd.day) - first; d >= 0 {
				y[d] += float64(cd.n)
			}
		}
		slug := "city"
		if gd.r.city != nil && gd.r.city.Slug != "" {
			slug = gd.r.city.Slug
		}
		out = append(out, series{layer: "city", area: slug, y: y})
	}
	return out, nil
}

package api

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/paulmach/orb/geojson"

	"hotspots/geo"
	"hotspots/geo/indicator"
)

// areasTTL is how long a layer's areas, and results computed on them, are
// cached. Layers change only when the city is reloaded or an admin uploads
// one (which clears the caches), so the TTL only bounds how stale another
// process's change can look.
const areasTTL = 5 * time.Minute

// maxCachedResults bounds the result cache. A dashboard asks the same few
// questions over and over, and every answer stays right until the data
// version moves, so a small cache serves nearly every request: computing
// one means aggregating every incident of four years in the store.
const maxCachedResults = 64

// defaultPeriods is how many periods a request without from covers.
var defaultPeriods = map[indicator.PeriodKind]int{
	indicator.Week: 26, indicator.Month: 12, indicator.Quarter: 8, indicator.Year: 5, indicator.Custom: 1,
}

// indicatorHandler serves the Neighborhood Stat indicators, the methods
// page, the data changelog and area layer uploads.
type indicatorHandler struct {
	s     *Server
	kinds geo.KindSet
	now   func() time.Time

	mu      sync.Mutex
	areas   map[string]cachedAreas
	span    dataSpan
	results map[resultKey]cachedResult
}

// resultKey identifies a computed result: the resolved query and the data
// version it was computed at.
type resultKey struct {
	query   string
	version int64
}

type cachedResult struct {
	res *indicatorResult
	at  time.Time
}

type cachedAreas struct {
	areas []geo.Area
	at    time.Time
}

// dataSpan is the first and last day with any incident, for the data
// version it was computed at.
type dataSpan struct {
	version     int64
	valid, any  bool
	first, last time.Time
}

func (s *Server) newIndicatorHandler() *indicatorHandler {
	return &indicatorHandler{s: s, kinds: geo.DefaultKinds(), now: time.Now, areas: map[string]cachedAreas{},
		results: map[resultKey]cachedResult{}}
}

// indicatorQuery is a validated indicators request.
type indicatorQuery struct {
	layer   geo.AreaLayer
	kinds   []geo.Kind
	period  indicator.PeriodKind
	periods []indicator.Period
	from    time.Time
	to      time.Time
	format  string
	goal    indicator.Goal
	public  bool
}

var indicatorParams = []string{"layer", "kinds", "period", "from", "to", "format", "target_kinds", "target_baseline", "target_reduction"}

// parseIndicatorQuery validates the query string; every problem is a 400
// naming the parameter.
func (h *indicatorHandler) parseIndicatorQuery(c echo.Context, layerID string) (indicatorQuery, error) {
	ctx := c.Request().Context()
	v := c.QueryParams()
	var q indicatorQuery
	for name := range v {
		if !slices.Contains(indicatorParams, name) || (name == "layer" && c.Param("layer") != "") {
			return q, invalid(name, "unknown parameter %q (allowed: %s)", name, strings.Join(indicatorParams, ", "))
		}
		if len(v[name]) > 1 {
			return q, invalid(name, "parameter %q given %d times", name, len(v[name]))
		}
	}
	var err error
	if q.layer, err = h.layer(ctx, layerID); err != nil {
		return q, err
	}
	if q.kinds, err = h.parseKinds(v, "kinds"); err != nil {
		return q, err
	}
	if q.period, err = indicator.ParsePeriodKind(or(v.Get("period"), string(indicator.Month))); err != nil {
		return q, err
	}
	if q.format = or(v.Get("format"), "json"); !slices.Contains([]string{"json", "csv", "geojson"}, q.format) {
		return q, invalid("format", "unknown format %q (json, csv, geojson)", q.format)
	}
	if err := h.parseRange(ctx, v, &q); err != nil {
		return q, err
	}
	if q.goal, err = h.parseGoal(v); err != nil {
		return q, err
	}
	q.public = !principal(c).SeesUnsuppressed()
	return q, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (h *indicatorHandler) layer(ctx context.Context, id string) (geo.AreaLayer, error) {
	if id == "" {
		return geo.AreaLayer{}, invalid("layer", "layer is required")
	}
	layers, err := h.s.cfg.Store.Layers(ctx)
	if err != nil {
		return geo.AreaLayer{}, err
	}
	var ids []string
	for _, l := range layers {
		if l.ID == id {
			return l, nil
		}
		ids = append(ids, l.ID)
	}
	return geo.AreaLayer{}, invalid("layer", "unknown layer %q (known: %s)", id, strings.Join(ids, ", "))
}

func (h *indicatorHandler) parseKinds(v url.Values, name string) ([]geo.Kind, error) {
	s := v.Get(name)
	if s == "" {
		return h.cityTargetKinds()
	}
	kinds, err := h.kinds.ParseKinds(s)
	if err != nil {
		return nil, invalid(name, "%s", geo.ErrorMessage(err))
	}
	if len(kinds) == 0 {
		return nil, invalid(name, "no kinds in %q", s)
	}
	return kinds, nil
}

// cityTargetKinds are the default kinds: the ones the city's target is
// about (fatal and non-fatal shootings in Baltimore).
func (h *indicatorHandler) cityTargetKinds() ([]geo.Kind, error) {
	var out []geo.Kind
	for _, k := range h.s.cfg.City.Target.Kinds {
		out = append(out, geo.Kind(k))
	}
	if len(out) == 0 {
		return nil, invalid("kinds", "kinds is required: the city configures no default")
	}
	return out, nil
}

func parseDay(v url.Values, name string) (time.Time, bool, error) {
	s := v.Get(name)
	if s == "" {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Year() < 1900 || t.Year() > 2200 {
		return time.Time{}, false, invalid(name, "%s %q is not a date YYYY-MM-DD between 1900 and 2200", name, s)
	}
	return t, true, nil
}

// parseRange sets from, to and the periods. to is exclusive and defaults to
// the day after the last day with data; from defaults to a year's worth of
// periods (26 weeks, 12 months, 8 quarters, 5 years) before to.
func (h *indicatorHandler) parseRange(ctx context.Context, v url.Values, q *indicatorQuery) error {
	from, hasFrom, err := parseDay(v, "from")
	if err != nil {
		return err
	}
	to, hasTo, err := parseDay(v, "to")
	if err != nil {
		return err
	}
	tomorrow := indicator.Date(h.now().In(h.s.cfg.City.Location)).AddDate(0, 0, 1)
	if hasTo && to.After(tomorrow) {
		return invalid("to", "to %s is in the future (the last day with data can be at most today, %s)",
			to.Format(time.DateOnly), tomorrow.AddDate(0, 0, -1).Format(time.DateOnly))
	}
	if !hasTo {
		to = tomorrow
		if sp, err := h.dataSpan(ctx); err != nil {
			return err
		} else if sp.any {
			to = sp.last.AddDate(0, 0, 1)
		}
	}
	if !hasFrom {
		from = indicator.Back(q.period, to, defaultPeriods[q.period])
	}
	if !from.Before(to) {
		return invalid("from", "from %s must be before to %s (to is exclusive)", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	q.from, q.to = from, to
	q.periods, err = indicator.Periods(q.period, from, to)
	return err
}

func (h *indicatorHandler) parseGoal(v url.Values) (indicator.Goal, error) {
	t := h.s.cfg.City.Target
	g := indicator.Goal{BaselineYear: t.BaselineYear, AnnualReduction: t.AnnualReduction}
	var err error
	if v.Has("target_kinds") {
		if g.Kinds, err = h.parseKinds(v, "target_kinds"); err != nil {
			return g, err
		}
	} else {
		for _, k := range t.Kinds {
			g.Kinds = append(g.Kinds, geo.Kind(k))
		}
	}
	if s := v.Get("target_baseline"); s != "" {
		if g.BaselineYear, err = strconv.Atoi(s); err != nil {
			return g, invalid("target_baseline", "target_baseline %q is not a year", s)
		}
	}
	if s := v.Get("target_reduction"); s != "" {
		if g.AnnualReduction, err = strconv.ParseFloat(s, 64); err != nil {
			return g, invalid("target_reduction", "target_reduction %q is not a number (0.15 for 15%%)", s)
		}
	}
	if len(g.Kinds) == 0 && g.BaselineYear == 0 {
		return g, nil // the city has no target
	}
	return g, g.Validate()
}

// areasOf returns a layer's areas, cached.
func (h *indicatorHandler) areasOf(ctx context.Context, layer string) ([]geo.Area, error) {
	h.mu.Lock()
	e, ok := h.areas[layer]
	h.mu.Unlock()
	if ok && h.now().Sub(e.at) < areasTTL {
		return e.areas, nil
	}
	areas, err := h.s.cfg.Store.Areas(ctx, layer)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.areas[layer] = cachedAreas{areas: areas, at: h.now()}
	h.mu.Unlock()
	return areas, nil
}

func (h *indicatorHandler) forgetAreas() {
	h.mu.Lock()
	h.areas = map[string]cachedAreas{}
	h.results = map[resultKey]cachedResult{}
	h.mu.Unlock()
}

// key is the cache key of a resolved query: everything the result depends
// on except the data version.
func (q indicatorQuery) key() string {
	return fmt.Sprintf("%s|%v|%s|%s|%s|%v|%v", q.layer.ID, q.kinds, q.period, q.from.Format(time.DateOnly),
		q.to.Format(time.DateOnly), q.goal, q.public)
}

// cachedCompute is compute behind the result cache. Results are immutable
// once made, so callers share them.
func (h *indicatorHandler) cachedCompute(ctx context.Context, q indicatorQuery) (*indicatorResult, error) {
	ver, err := h.s.cfg.Store.DataVersion(ctx)
	if err != nil {
		return nil, err
	}
	k := resultKey{q.key(), ver}
	h.mu.Lock()
	e, ok := h.results[k]
	h.mu.Unlock()
	if ok && h.now().Sub(e.at) < areasTTL {
		return e.res, nil
	}
	res, err := h.compute(ctx, q)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.results) >= maxCachedResults {
		var oldest resultKey
		first := true
		for k, e := range h.results {
			if first || e.at.Before(h.results[oldest].at) {
				oldest, first = k, false
			}
		}
		delete(h.results, oldest)
	}
	h.results[k] = cachedResult{res: res, at: h.now()}
	return res, nil
}

// dataSpan returns the first and last day with data, recomputed only when
// the data version moves. The first day bounds comparisons: a baseline
// reaching before it would count missing data as zeros.
func (h *indicatorHandler) dataSpan(ctx context.Context) (dataSpan, error) {
	ver, err := h.s.cfg.Store.DataVersion(ctx)
	if err != nil {
		return dataSpan{}, err
	}
	h.mu.Lock()
	sp := h.span
	h.mu.Unlock()
	if sp.valid && sp.version == ver {
		return sp, nil
	}
	rows, err := h.s.cfg.Store.CellDayCounts(ctx, geo.CellCountFilter{Res: 0})
	if err != nil {
		return dataSpan{}, err
	}
	sp = dataSpan{version: ver, valid: true}
	for _, r := range rows {
		if !sp.any || r.Day.Before(sp.first) {
			sp.first = r.Day
		}
		if !sp.any || r.Day.After(sp.last) {
			sp.last = r.Day
		}
		sp.any = true
	}
	h.mu.Lock()
	h.span = sp
	h.mu.Unlock()
	return sp, nil
}

// indicatorResult is a computed request, before rendering.
type indicatorResult struct {
	q       indicatorQuery
	areas   []geo.Area
	table   *indicator.Table
	targets *indicator.TargetTable
	span    dataSpan
}

// compute fetches the counts and computes the indicators and targets.
func (h *indicatorHandler) compute(ctx context.Context, q indicatorQuery) (*indicatorResult, error) {
	areas, err := h.areasOf(ctx, q.layer.ID)
	if err != nil {
		return nil, err
	}
	sp, err := h.dataSpan(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := h.counts(ctx, q.layer, q.kinds, indicator.Edges(q.period, q.periods))
	if err != nil {
		return nil, err
	}
	// The first incident only bounds where the data begin; feeds start on
	// month boundaries, so coverage is taken from the first of that month.
	var dataStart time.Time
	if sp.any {
		dataStart = time.Date(sp.first.Year(), sp.first.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	in := indicator.Input{Areas: areas, Counts: counts, Kinds: q.kinds, Period: q.period, Periods: q.periods, DataStart: dataStart}
	if q.public {
		in.SuppressBelow = h.s.cfg.City.Privacy.SuppressBelow
	}
	tb, err := indicator.Compute(in)
	if err != nil {
		return nil, err
	}
	res := &indicatorResult{q: q, areas: areas, table: tb, span: sp}
	if res.targets, err = h.targets(ctx, q, areas, in.SuppressBelow); err != nil {
		return nil, err
	}
	return res, nil
}

// counts fetches the counts Compute needs to sum over the windows between
// edges: binned by the store when it can (geo.AreaBinCounter), daily
// otherwise. The range is clipped to the layer's validity: a redrawn layer
// has no areas for incidents outside it, and counting those as "in no
// area" would be wrong.
func (h *indicatorHandler) counts(ctx context.Context, l geo.AreaLayer, kinds []geo.Kind, edges []time.Time) ([]geo.AreaDayCount, error) {
	edges = clipEdges(edges, l.ValidFrom, l.ValidTo)
	if len(edges) < 2 {
		return nil, nil
	}
	f := geo.AreaCountFilter{Layer: l.ID, Kinds: kinds}
	if b, ok := h.s.cfg.Store.(geo.AreaBinCounter); ok {
		return b.AreaBinCounts(ctx, f, edges)
	}
	f.From, f.To = &edges[0], &edges[len(edges)-1]
	return h.s.cfg.Store.AreaDayCounts(ctx, f)
}

// clipEdges keeps the edges inside [from, to), adding the bounds as edges.
func clipEdges(edges []time.Time, from, to *time.Time) []time.Time {
	if len(edges) == 0 {
		return nil
	}
	lo, hi := edges[0], edges[len(edges)-1]
	if from != nil && indicator.Date(*from).After(lo) {
		lo = indicator.Date(*from)
	}
	if to != nil && indicator.Date(*to).Before(hi) {
		hi = indicator.Date(*to)
	}
	if !lo.Before(hi) {
		return nil
	}
	out := []time.Time{lo}
	for _, e := range edges {
		if e.After(lo) && e.Before(hi) {
			out = append(out, e)
		}
	}
	return append(out, hi)
}

// targets tracks the goal in the year of the range's last day, when that
// year is not before the goal's baseline year.
func (h *indicatorHandler) targets(ctx context.Context, q indicatorQuery, areas []geo.Area, suppress int) (*indicator.TargetTable, error) {
	year := q.to.AddDate(0, 0, -1).Year()
	if len(q.goal.Kinds) == 0 || year < q.goal.BaselineYear {
		return nil, nil
	}
	// Only the baseline year and the year so far count: two narrow queries
	// instead of every year in between.
	base := time.Date(q.goal.BaselineYear, 1, 1, 0, 0, 0, 0, time.UTC)
	spans := [][]time.Time{{base, base.AddDate(1, 0, 0)}}
	if year > q.goal.BaselineYear {
		spans = append(spans, []time.Time{time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC), q.to})
	} else {
		spans[0][1] = q.to
	}
	var counts []geo.AreaDayCount
	for _, edges := range spans {
		c, err := h.counts(ctx, q.layer, q.goal.Kinds, edges)
		if err != nil {
			return nil, err
		}
		counts = append(counts, c...)
	}
	return indicator.Targets(indicator.TargetInput{Areas: areas, Counts: counts, Goal: q.goal, Year: year,
		AsOf: q.to, SuppressBelow: suppress})
}

// IndicatorsResponse is the JSON body of GET /api/v1/indicators.
type IndicatorsResponse struct {
	Layer         layerJSON              `json:"layer"`
	Kinds         []geo.Kind             `json:"kinds"`
	Period        indicator.PeriodKind   `json:"period"`
	From          string                 `json:"from"`
	To            string                 `json:"to"`
	DataStart     string                 `json:"data_start,omitempty"`
	DataEnd       string                 `json:"data_end,omitempty"`
	SuppressBelow int                    `json:"suppress_below"`
	UnstableBelow int                    `json:"unstable_below"`
	Periods       []periodJSON           `json:"periods"`
	Areas         []indicator.Row        `json:"areas"`
	Unassigned    indicator.Row          `json:"unassigned"`
	City          indicator.Row          `json:"city"`
	Targets       *indicator.TargetTable `json:"targets"`
	Methods       string                 `json:"methods"`
}

type layerJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Vintage   string `json:"vintage,omitempty"`
	Source    string `json:"source,omitempty"`
	ValidFrom string `json:"valid_from,omitempty"`
	ValidTo   string `json:"valid_to,omitempty"`
}

type periodJSON struct {
	Start   string `json:"start"`
	End     string `json:"end"`
	Partial bool   `json:"partial,omitempty"`
}

func toLayerJSON(l geo.AreaLayer) layerJSON {
	out := layerJSON{ID: l.ID, Name: l.Name, Kind: l.Kind, Vintage: l.Vintage, Source: l.Source}
	if l.ValidFrom != nil {
		out.ValidFrom = l.ValidFrom.Format(time.DateOnly)
	}
	if l.ValidTo != nil {
		out.ValidTo = l.ValidTo.Format(time.DateOnly)
	}
	return out
}

func (r *indicatorResult) response(p geo.Principal) IndicatorsResponse {
	out := IndicatorsResponse{
		Layer: toLayerJSON(r.q.layer), Kinds: r.q.kinds, Period: r.q.period,
		From: r.q.periods[0].Start.Format(time.DateOnly), To: r.q.to.Format(time.DateOnly),
		SuppressBelow: r.table.SuppressBelow, UnstableBelow: indicator.DefaultUnstableBelow,
		Unassigned: r.table.Unassigned, City: r.table.City, Targets: r.targets, Methods: "/api/v1/methods",
	}
	if r.span.any {
		out.DataStart, out.DataEnd = r.span.first.Format(time.DateOnly), r.span.last.Format(time.DateOnly)
	}
	for _, per := range r.table.Periods {
		out.Periods = append(out.Periods, periodJSON{per.Start.Format(time.DateOnly), per.End.Format(time.DateOnly), per.Partial})
	}
	out.Areas = []indicator.Row{}
	for _, row := range r.table.Areas {
		if p.CoversArea(r.q.layer.ID + ":" + row.Code) {
			out.Areas = append(out.Areas, row)
		}
	}
	if r.targets != nil && p.Role == geo.RoleOutreach && len(p.Areas) > 0 {
		t := *r.targets
		t.Areas = slices.DeleteFunc(slices.Clone(t.Areas), func(a indicator.TargetRow) bool {
			return !p.CoversArea(r.q.layer.ID + ":" + a.Code)
		})
		out.Targets = &t
	}
	return out
}

// indicatorsHandler serves GET /api/v1/indicators: every area of a layer,
// as JSON, CSV (one row per area and period) or GeoJSON (areas with their
// indicators, for maps).
func (h *indicatorHandler) indicatorsHandler(c echo.Context) error {
	q, err := h.parseIndicatorQuery(c, c.QueryParam("layer"))
	if err != nil {
		return err
	}
	res, err := h.cachedCompute(c.Request().Context(), q)
	if err != nil {
		return err
	}
	body := res.response(principal(c))
	c.Response().Header().Set("Cache-Control", "no-cache")
	switch q.format {
	case "csv":
		return writeIndicatorsCSV(c, body)
	case "geojson":
		return writeIndicatorsGeoJSON(c, body, res.areas)
	}
	return c.JSON(http.StatusOK, body)
}

// AreaIndicatorsResponse is the JSON body of GET
// /api/v1/indicators/{layer}/{code}.
type AreaIndicatorsResponse struct {
	Layer         layerJSON            `json:"layer"`
	Kinds         []geo.Kind           `json:"kinds"`
	Period        indicator.PeriodKind `json:"period"`
	From          string               `json:"from"`
	To            string               `json:"to"`
	SuppressBelow int                  `json:"suppress_below"`
	UnstableBelow int                  `json:"unstable_below"`
	Periods       []periodJSON         `json:"periods"`
	Area          indicator.Row        `json:"area"`
	City          indicator.Row        `json:"city"`
	Target        *areaTargetJSON      `json:"target"`
	Methods       string               `json:"methods"`
}

type areaTargetJSON struct {
	Goal     indicator.Goal      `json:"goal"`
	Year     int                 `json:"year"`
	Through  string              `json:"through"`
	Fraction float64             `json:"fraction_of_year"`
	Area     indicator.TargetRow `json:"area"`
	City     indicator.TargetRow `json:"city"`
}

// areaIndicatorsHandler serves GET /api/v1/indicators/{layer}/{code}. The
// whole layer is computed so that the area's suppressed cells are the same
// as in the layer's table: suppressing one row alone would let a caller
// combine the two answers.
func (h *indicatorHandler) areaIndicatorsHandler(c echo.Context) error {
	layer, code := c.Param("layer"), c.Param("code")
	if _, err := h.layer(c.Request().Context(), layer); err != nil {
		return geo.Errorf(geo.ENOTFOUND, "%s", geo.ErrorMessage(err)) // a path segment: not found, not invalid
	}
	q, err := h.parseIndicatorQuery(c, layer)
	if err != nil {
		return err
	}
	if q.format != "json" {
		return invalid("format", "per-area indicators are JSON only")
	}
	p := principal(c)
	if !p.CoversArea(layer + ":" + code) {
		return geo.Errorf(geo.EFORBIDDEN, "area %s:%s is outside your team's areas", layer, code)
	}
	res, err := h.cachedCompute(c.Request().Context(), q)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(res.table.Areas, func(r indicator.Row) bool { return r.Code == code })
	if i < 0 {
		return geo.Errorf(geo.ENOTFOUND, "no area %q in layer %q", code, layer)
	}
	full := res.response(p)
	out := AreaIndicatorsResponse{Layer: full.Layer, Kinds: full.Kinds, Period: full.Period, From: full.From, To: full.To,
		SuppressBelow: full.SuppressBelow, UnstableBelow: full.UnstableBelow, Periods: full.Periods,
		Area: res.table.Areas[i], City: res.table.City, Methods: full.Methods}
	if t := res.targets; t != nil {
		out.Target = &areaTargetJSON{Goal: t.Goal, Year: t.Year, Through: t.Through.Format(time.DateOnly),
			Fraction: t.Fraction, Area: t.Areas[i], City: t.City}
	}
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.JSON(http.StatusOK, out)
}

// csvColumns are the columns of the CSV format, one row per area and
// period; row_type tells areas from the "in no area" and city rows.
var csvColumns = []string{"layer", "row_type", "code", "name", "population", "population_year", "excluded",
	"period_start", "period_end", "partial", "count", "victims", "suppressed", "rate_per_1k", "rate_per_10k", "unstable",
	"prev", "change_prev", "change_prev_pct", "year_ago", "change_year_ago", "change_year_ago_pct",
	"baseline_3y", "change_baseline_pct", "rank", "rank_rate", "share", "trend", "trend_p"}

func writeIndicatorsCSV(c echo.Context, r IndicatorsResponse) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="indicators-%s-%s-%s.csv"`, r.Layer.ID, r.From, r.To))
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write(csvColumns)
	type typedRow struct {
		kind string
		row  indicator.Row
	}
	var rows []typedRow
	for _, a := range r.Areas {
		rows = append(rows, typedRow{"area", a})
	}
	rows = append(rows, typedRow{"unassigned", r.Unassigned}, typedRow{"city", r.City})
	for _, x := range rows {
		trend, trendP := "", ""
		if x.row.Trend != nil {
			trend, trendP = x.row.Trend.Direction, fnum(x.row.Trend.P)
		}
		for j, cell := range x.row.Cells {
			per := r.Periods[j]
			_ = w.Write([]string{r.Layer.ID, x.kind, x.row.Code, x.row.Name, inum(x.row.Population), yearStr(x.row.PopulationYear),
				strconv.FormatBool(x.row.Excluded), per.Start, per.End, strconv.FormatBool(per.Partial),
				inum(cell.Count), inum(cell.Victims), strconv.FormatBool(cell.Suppressed), fnum(cell.RatePer1k), fnum(cell.RatePer10k),
				strconv.FormatBool(cell.Unstable), inum(cell.Prev), inum(cell.ChangePrev), fnum(cell.ChangePrevPct),
				inum(cell.YearAgo), inum(cell.ChangeYearAgo), fnum(cell.ChangeYearAgoPct), fnum(cell.Baseline), fnum(cell.ChangeBaselinePct),
				inum(cell.Rank), inum(cell.RankRate), fnum(cell.Share), trend, trendP})
		}
	}
	w.Flush()
	return w.Error()
}

func inum(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

func fnum(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'g', 10, 64)
}

func yearStr(y int) string {
	if y == 0 {
		return ""
	}
	return strconv.Itoa(y)
}

// writeIndicatorsGeoJSON writes the areas as features with their
// indicators: the last period's main figures flat (for styling a map) and
// every period under "periods".
func writeIndicatorsGeoJSON(c echo.Context, r IndicatorsResponse, areas []geo.Area) error {
	geom := make(map[string]*geo.Area, len(areas))
	for i := range areas {
		geom[areas[i].Code] = &areas[i]
	}
	fc := geojson.NewFeatureCollection()
	for _, row := range r.Areas {
		a := geom[row.Code]
		var f *geojson.Feature
		if a != nil && len(a.Geometry) > 0 {
			f = geojson.NewFeature(a.Geometry)
		} else {
			f = &geojson.Feature{Type: "Feature", Properties: geojson.Properties{}}
		}
		last := row.Cells[len(row.Cells)-1]
		f.Properties = geojson.Properties{
			"layer": r.Layer.ID, "code": row.Code, "name": row.Name, "population": row.Population,
			"population_year": row.PopulationYear, "excluded": row.Excluded,
			"period_start": r.Periods[len(r.Periods)-1].Start, "period_end": r.Periods[len(r.Periods)-1].End,
			"count": last.Count, "suppressed": last.Suppressed, "rate_per_10k": last.RatePer10k, "unstable": last.Unstable,
			"change_year_ago_pct": last.ChangeYearAgoPct, "rank": last.Rank, "share": last.Share,
			"periods": row.Cells, "total": row.Total, "trend": row.Trend,
		}
		fc.Append(f)
	}
	fc.ExtraMembers = geojson.Properties{"kinds": r.Kinds, "period": r.Period, "from": r.From, "to": r.To,
		"suppress_below": r.SuppressBelow, "periods": r.Periods, "city": r.City, "methods": r.Methods}
	c.Response().Header().Set(echo.HeaderContentType, "application/geo+json")
	return c.JSON(http.StatusOK, fc)
}

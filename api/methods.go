package api

import (
	_ "embed"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"hotspots/geo"
	"hotspots/geo/indicator"
)

// openapiJSON describes the API. It is a static file so that it is
// reviewed like code; TestOpenAPICoversRoutes fails when a route of this
// package is missing from it.
//
//go:embed openapi.json
var openapiJSON []byte

// openapiHandler serves GET /api/v1/openapi.json.
func (h *indicatorHandler) openapiHandler(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openapiJSON)
}

// MethodsResponse is the public description of how every indicator is
// made: definitions, formulas, sources, population vintages and when the
// data last changed.
type MethodsResponse struct {
	City       string                 `json:"city"`
	Indicators []indicator.Definition `json:"indicators"`
	Layers     []methodsLayer         `json:"layers"`
	Privacy    methodsPrivacy         `json:"privacy"`
	Target     indicator.Goal         `json:"target"`
	// LastUpdate is when the latest successful load finished.
	LastUpdate *time.Time      `json:"last_update"`
	Sources    []methodsSource `json:"sources"`
	Changelog  string          `json:"changelog"`
}

type methodsLayer struct {
	layerJSON
	Areas int `json:"areas"`
	// PopulationYear is the census vintage of the denominators.
	PopulationYear   int    `json:"population_year,omitempty"`
	PopulationSource string `json:"population_source"`
	// PopulationKnown of Areas have a population; the others have no rate.
	PopulationKnown int      `json:"population_known"`
	PopulationZero  int      `json:"population_zero"`
	PopulationTotal int      `json:"population_total"`
	Excluded        []string `json:"excluded,omitempty"`
}

type methodsPrivacy struct {
	SuppressBelow int    `json:"suppress_below"`
	UnstableBelow int    `json:"unstable_below"`
	Rule          string `json:"rule"`
}

type methodsSource struct {
	Source   string     `json:"source"`
	LastLoad *time.Time `json:"last_load"`
	Status   string     `json:"status"`
}

// methodsLoadLimit is how many recent loads the methods page scans for
// sources and the last update.
const methodsLoadLimit = 1000

func (h *indicatorHandler) methods(c echo.Context) (MethodsResponse, error) {
	ctx := c.Request().Context()
	city := h.s.cfg.City
	out := MethodsResponse{City: city.Name, Indicators: indicator.Definitions(), Changelog: "/api/v1/changelog",
		Privacy: methodsPrivacy{SuppressBelow: city.Privacy.SuppressBelow, UnstableBelow: indicator.DefaultUnstableBelow,
			Rule: suppressionRule(city.Privacy.SuppressBelow)},
		Target: indicator.Goal{BaselineYear: city.Target.BaselineYear, AnnualReduction: city.Target.AnnualReduction}}
	for _, k := range city.Target.Kinds {
		out.Target.Kinds = append(out.Target.Kinds, geo.Kind(k))
	}
	layers, err := h.s.cfg.Store.Layers(ctx)
	if err != nil {
		return out, err
	}
	popSource := map[string]string{}
	for _, l := range city.Layers {
		if l.Population != nil {
			popSource[l.ID] = l.Population.Source
		}
	}
	for _, l := range layers {
		areas, err := h.areasOf(ctx, l.ID)
		if err != nil {
			return out, err
		}
		ml := methodsLayer{layerJSON: toLayerJSON(l), Areas: len(areas), PopulationSource: popSource[l.ID]}
		if ml.PopulationSource == "" {
			ml.PopulationSource = "given with the layer's polygons"
		}
		for _, a := range areas {
			if a.Population != nil {
				ml.PopulationKnown++
				ml.PopulationTotal += *a.Population
				ml.PopulationYear = max(ml.PopulationYear, a.PopulationYear)
				if *a.Population == 0 {
					ml.PopulationZero++
				}
			}
			if a.Excluded {
				ml.Excluded = append(ml.Excluded, a.Name)
			}
		}
		out.Layers = append(out.Layers, ml)
	}
	loads, err := h.s.cfg.Store.ListLoads(ctx, "", methodsLoadLimit)
	if err != nil {
		return out, err
	}
	seen := map[string]bool{}
	for _, l := range loads { // newest first
		if l.Status == geo.LoadDone && l.FinishedAt != nil && (out.LastUpdate == nil || l.FinishedAt.After(*out.LastUpdate)) {
			out.LastUpdate = l.FinishedAt
		}
		if !seen[l.Source] {
			seen[l.Source] = true
			at := l.StartedAt
			if l.FinishedAt != nil {
				at = *l.FinishedAt
			}
			out.Sources = append(out.Sources, methodsSource{Source: l.Source, LastLoad: &at, Status: l.Status})
		}
	}
	slices.SortFunc(out.Sources, func(a, b methodsSource) int { return strings.Compare(a.Source, b.Source) })
	return out, nil
}

func suppressionRule(k int) string {
	return "Public counts from 1 to " + strconv.Itoa(k-1) + " are withheld, with enough other cells that none can be recovered " +
		"from row, column or city totals; rates, changes, ranks and trends resting on them are withheld too."
}

// methodsHandler serves GET /api/v1/methods.
func (h *indicatorHandler) methodsHandler(c echo.Context) error {
	m, err := h.methods(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}

var methodsPage = template.Must(template.New("methods").Funcs(template.FuncMap{
	"date": func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"pct": func(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) + "%" },
}).Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>How the indicators are made: {{.City}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<main>
<h1>How the {{.City}} indicators are made</h1>
<p>Data last updated: {{date .LastUpdate}}. Every load is listed in the <a href="{{.Changelog}}">data changelog</a>.
The same information is available as <a href="/api/v1/methods">JSON</a>.</p>

<h2>Indicators</h2>
<dl>
{{range .Indicators}}<dt id="{{.ID}}"><strong>{{.Name}}</strong></dt>
<dd><p>{{.Plain}}</p><p><code>{{.Formula}}</code></p>{{if .Notes}}<p>{{.Notes}}</p>{{end}}</dd>
{{end}}</dl>

<h2>Small numbers</h2>
<p>{{.Privacy.Rule}} Rates resting on fewer than {{.Privacy.UnstableBelow}} incidents are marked unstable.</p>

<h2>Target</h2>
<p>Baseline year {{.Target.BaselineYear}}, reduction {{pct .Target.AnnualReduction}} a year, for:
{{range $i, $k := .Target.Kinds}}{{if $i}}, {{end}}{{$k}}{{end}}.</p>

<h2>Areas and populations</h2>
<table>
<thead><tr><th>Layer</th><th>Areas</th><th>Boundaries</th><th>Valid</th><th>Population</th><th>Vintage</th><th>Areas with a population</th></tr></thead>
<tbody>
{{range .Layers}}<tr><td>{{.Name}} (<code>{{.ID}}</code>)</td><td>{{.Areas}}</td><td>{{.Source}}</td>
<td>{{if .ValidFrom}}from {{.ValidFrom}} {{end}}{{if .ValidTo}}until {{.ValidTo}}{{end}}{{if and (not .ValidFrom) (not .ValidTo)}}always{{end}}</td>
<td>{{.PopulationSource}}</td><td>{{if .PopulationYear}}{{.PopulationYear}}{{else}}none{{end}}</td>
<td>{{.PopulationKnown}} ({{.PopulationZero}} with none living there){{if .Excluded}}; not ranked: {{range $i, $e := .Excluded}}{{if $i}}, {{end}}{{$e}}{{end}}{{end}}</td></tr>
{{end}}</tbody>
</table>

<h2>Sources</h2>
<ul>
{{range .Sources}}<li><code>{{.Source}}</code>: last load {{date .LastLoad}} ({{.Status}})</li>
{{else}}<li>No data loaded yet.</li>
{{end}}</ul>
</main>
</body>
</html>
`))

// methodsPageHandler serves GET /methods, the methods as a plain page.
func (h *indicatorHandler) methodsPageHandler(c echo.Context) error {
	m, err := h.methods(c)
	if err != nil {
		return err
	}
	securityHeaders(c.Response().Header())
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(http.StatusOK)
	return methodsPage.Execute(c.Response(), m)
}

// ChangelogEntry is one load in the public data changelog.
type ChangelogEntry struct {
	ID          int64      `json:"id"`
	Source      string     `json:"source"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	Status      string     `json:"status"`
	RowsRead    int        `json:"rows_read"`
	Added       int        `json:"added"`
	Changed     int        `json:"changed"`
	Unchanged   int        `json:"unchanged"`
	Quarantined int        `json:"quarantined"`
	// Error is shown to analysts and admins only: it may name internals.
	Error string `json:"error,omitempty"`
}

// ChangelogResponse is the body of GET /api/v1/changelog.
type ChangelogResponse struct {
	Loads []ChangelogEntry `json:"loads"`
}

// changelogHandler serves GET /api/v1/changelog: every load, newest first,
// with how many incidents it added, changed (each change is a revision in
// the audit trail) and quarantined.
func (h *indicatorHandler) changelogHandler(c echo.Context) error {
	v := c.QueryParams()
	for name := range v {
		if name != "source" && name != "limit" {
			return invalid(name, "unknown parameter %q (allowed: source, limit)", name)
		}
	}
	limit := 100
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > methodsLoadLimit {
			return invalid("limit", "limit %q must be a whole number from 1 to %d", s, methodsLoadLimit)
		}
		limit = n
	}
	loads, err := h.s.cfg.Store.ListLoads(c.Request().Context(), v.Get("source"), limit)
	if err != nil {
		return err
	}
	showErrors := principal(c).SeesPoints()
	out := ChangelogResponse{Loads: []ChangelogEntry{}}
	for _, l := range loads {
		e := ChangelogEntry{ID: l.ID, Source: l.Source, StartedAt: l.StartedAt, FinishedAt: l.FinishedAt, Status: l.Status,
			RowsRead: l.RowsRead, Added: l.Added, Changed: l.Changed, Unchanged: l.Unchanged, Quarantined: l.Quarantined}
		if showErrors {
			e.Error = l.Error
		}
		out.Loads = append(out.Loads, e)
	}
	return c.JSON(http.StatusOK, out)
}

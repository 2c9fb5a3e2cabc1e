package alerting

import (
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// square returns a closed square ring from (lon0, lat0) to (lon1, lat1).
func square(lon0, lat0, lon1, lat1 float64) orb.Polygon {
	return orb.Polygon{{{lon0, lat0}, {lon1, lat0}, {lon1, lat1}, {lon0, lat1}, {lon0, lat0}}}
}

// testCity is a 6 x 4 km box around downtown Baltimore with two
// neighbourhoods side by side and one CSA covering both.
var testCity = orb.MultiPolygon{square(-76.66, 39.27, -76.59, 39.31)}

var (
	westPoly = square(-76.63, 39.28, -76.61, 39.30)
	eastPoly = square(-76.61, 39.28, -76.59, 39.30)
)

func testLayers() []geo.AreaLayer {
	return []geo.AreaLayer{
		{ID: "nsa", Name: "Neighborhoods", Kind: "neighborhood"},
		{ID: "csa", Name: "CSAs", Kind: "csa"},
	}
}

func testAreas() []geo.Area {
	return []geo.Area{
		{Layer: "nsa", Code: "west", Name: "West Side", Geometry: orb.MultiPolygon{westPoly}},
		{Layer: "nsa", Code: "east", Name: "East Side", Geometry: orb.MultiPolygon{eastPoly}},
		{Layer: "csa", Code: "downtown", Name: "Downtown", Geometry: orb.MultiPolygon{square(-76.63, 39.28, -76.59, 39.30)}},
	}
}

func testMatcher(tb testing.TB) *Matcher {
	tb.Helper()
	return NewMatcher(testLayers(), testAreas(), testCity, 9)
}

// westPoint and eastPoint lie well inside their neighbourhoods.
var (
	westPoint = orb.Point{-76.62, 39.29}
	eastPoint = orb.Point{-76.60, 39.29}
	farPoint  = orb.Point{-76.65, 39.275} // in the city, in no neighbourhood
)

func mustCell(tb testing.TB, p orb.Point, res int) geo.Cell {
	tb.Helper()
	c, err := geo.CellFromPoint(p, res)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

var t0 = time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)

func incident(tb testing.TB, id int64, kind geo.Kind, p orb.Point, at time.Time, areas map[string]string) geo.Incident {
	tb.Helper()
	return geo.Incident{ID: id, Source: "test", SourceID: string(rune('a' + id)), Kind: kind, OccurredAt: at,
		Location: p, Cell: mustCell(tb, p, geo.FinestRes), Areas: areas}
}

func ptr[T any](v T) *T { return &v }

package tiles

import (
	"io/fs"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"hotspots/cities"
	"hotspots/geo"
)

var centre = orb.Point{-76.6122, 39.2904}

// seeded returns a store with 12 shootings and 3 overdoses in one res-9
// cell, 2 homicides in another, over June 2022.
func seeded() *memStore {
	m := &memStore{areas: map[string][]geo.Area{}}
	var incs []geo.Incident
	for i := range 12 {
		incs = append(incs, inc(centre[0], centre[1], geo.KindShootingNonFatal, "2022-06-1"+itoa(i%10)))
	}
	for i := range 3 {
		incs = append(incs, inc(centre[0], centre[1], geo.KindOverdoseFatal, "2022-06-2"+itoa(i)))
	}
	for i := range 2 {
		incs = append(incs, inc(centre[0]+0.01, centre[1]+0.01, geo.KindHomicide, "2022-05-0"+itoa(i+1)))
	}
	m.add(incs...)
	return m
}

func decodeTile(t *testing.T, tl *Tile) map[string]*mvt.Layer {
	t.Helper()
	ls, err := mvt.Unmarshal(tl.Raw)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*mvt.Layer{}
	for _, l := range ls {
		out[l.Name] = l
	}
	if len(tl.Raw) < GzipMinBytes {
		if tl.Gzip != nil {
			t.Fatalf("a %d-byte tile kept gzipped", len(tl.Raw))
		}
		return out
	}
	gz, err := mvt.UnmarshalGzipped(tl.Gzip)
	if err != nil || len(gz) != len(ls) {
		t.Fatalf("gzipped tile differs: %v", err)
	}
	return out
}

func TestServiceHexCachesAggregateAndTiles(t *testing.T) {
	m := seeded()
	s := NewService(Config{Store: m, VersionTTL: -1})
	z13 := maptile.At(centre, 13)
	req := Request{Layer: LayerHex, Tile: z13}
	tl, err := s.Tile(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	hex := decodeTile(t, tl)[LayerHex]
	if hex == nil || len(hex.Features) != 2 {
		t.Fatalf("want the centre and homicide hexagons in the z13 tile, got %v", hex)
	}
	props := byCellProps(hex)[cellAt(centre, 9)]
	if props["n_shooting"] != 12.0 || props["n_overdose"] != 3.0 || props["n_total"] != 15.0 {
		t.Fatalf("counts: %v", props)
	}
	// A neighbouring tile at the same zoom reuses the aggregate.
	if _, err := s.Tile(ctx, Request{Layer: LayerHex, Tile: maptile.New(z13.X+1, z13.Y, 13)}); err != nil {
		t.Fatal(err)
	}
	if n := m.Calls("CellCounts"); n != 1 {
		t.Fatalf("CellCounts called %d times for two tiles of one aggregate", n)
	}
	again, _ := s.Tile(ctx, req)
	if again != tl {
		t.Fatal("same tile not served from the byte cache")
	}
	etag1, _ := s.ETag(ctx, req)
	// New data: the version moves, caches are dropped, counts update.
	m.add(inc(centre[0], centre[1], geo.KindShootingFatal, "2022-06-25"))
	etag2, _ := s.ETag(ctx, req)
	if etag1 == etag2 {
		t.Fatal("ETag did not change with the data version")
	}
	tl2, err := s.Tile(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := byCellProps(decodeTile(t, tl2)[LayerHex])[cellAt(centre, 9)]["n_shooting"]; got != 13.0 {
		t.Fatalf("after new data n_shooting = %v, want 13", got)
	}
	if n := m.Calls("CellCounts"); n != 2 {
		t.Fatalf("CellCounts called %d times, want 2 (one rebuild)", n)
	}
}

// byCellProps indexes a hex layer's properties by the cell id string.
func byCellProps(l *mvt.Layer) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, f := range l.Features {
		out[f.Properties["cell"].(string)] = f.Properties
	}
	return out
}

func cellAt(p orb.Point, res int) string {
	c, _ := geo.CellFromPoint(p, res)
	return c.String()
}

func TestServiceVersionTTLSparesStore(t *testing.T) {
	m := seeded()
	now := time.Date(2022, 7, 1, 12, 0, 0, 0, time.UTC)
	s := NewService(Config{Store: m, VersionTTL: time.Second, Now: func() time.Time { return now }})
	for i := range 20 {
		if _, err := s.Tile(ctx, Request{Layer: LayerHex, Tile: maptile.New(uint32(2350+i), 3122, 13)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Calls("DataVersion"); n != 1 {
		t.Fatalf("DataVersion asked %d times within one TTL", n)
	}
	now = now.Add(2 * time.Second)
	_, _ = s.Tile(ctx, Request{Layer: LayerHex, Tile: maptile.New(2352, 3122, 13)})
	if n := m.Calls("DataVersion"); n != 2 {
		t.Fatalf("DataVersion asked %d times after the TTL, want 2", n)
	}
}

func TestServicePublicView(t *testing.T) {
	s := NewService(Config{Store: seeded(), VersionTTL: -1})
	tests := []struct {
		name  string
		z     maptile.Zoom
		below int
		check func(t *testing.T, l *mvt.Layer)
	}{
		{"analyst z16 res 11", 16, 0, func(t *testing.T, l *mvt.Layer) {
			for _, f := range l.Features {
				if c, _ := geo.ParseCell(f.Properties["cell"].(string)); c.Res() != 11 {
					t.Fatalf("analyst z16 cell res %d, want 11", c.Res())
				}
			}
		}},
		{"public capped at res 9 and suppressed", 16, 11, func(t *testing.T, l *mvt.Layer) {
			for _, f := range l.Features {
				if c, _ := geo.ParseCell(f.Properties["cell"].(string)); c.Res() != PublicMaxRes {
					t.Fatalf("public cell res %d", c.Res())
				}
			}
			p := byCellProps(l)[cellAt(centre, PublicMaxRes)]
			// 12 shootings shown; 3 overdoses hidden, so the total is too.
			if p["n_shooting"] != 12.0 || p["n_overdose"] != nil || p["n_total"] != nil || p["suppressed"] != true {
				t.Fatalf("public props %v", p)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl, err := s.Tile(ctx, Request{Layer: LayerHex, Tile: maptile.At(centre, tt.z), SuppressBelow: tt.below})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, decodeTile(t, tl)[LayerHex])
		})
	}
}

func TestServiceWindowEndsAtDataEnd(t *testing.T) {
	s := NewService(Config{Store: seeded(), VersionTTL: -1,
		Now: func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }})
	end, err := s.DataEnd(ctx)
	if err != nil || !end.Equal(time.Date(2022, 6, 22, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("data end %v %v, want 2022-06-22", end, err)
	}
	// The last 7 days (06-16..06-22) hold 4 shootings (06-16..06-19) and 3 overdoses.
	idx, err := s.HexIndexFor(ctx, 9, Query{WindowDays: 7})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := geo.CellFromPoint(centre, 9)
	fam, total := idx.Counts(c)
	if total != 7 || fam["shooting"] != 4 || fam["overdose"] != 3 {
		t.Fatalf("7d window counts %v total %d", fam, total)
	}
}

func TestServiceIncidents(t *testing.T) {
	s := NewService(Config{Store: seeded(), VersionTTL: -1})
	tile := maptile.At(centre, 15)
	if _, err := s.Tile(ctx, Request{Layer: LayerIncidents, Tile: tile}); geo.ErrorCode(err) != geo.EFORBIDDEN {
		t.Fatalf("points without permission: got %v, want forbidden", err)
	}
	tl, err := s.Tile(ctx, Request{Layer: LayerIncidents, Tile: tile, Points: true,
		Query: Query{Kinds: []geo.Kind{geo.KindShootingNonFatal}}})
	if err != nil {
		t.Fatal(err)
	}
	l := decodeTile(t, tl)[LayerIncidents]
	if l == nil || len(l.Features) != 12 {
		t.Fatalf("want 12 shooting points, got %v", l)
	}
	for _, f := range l.Features {
		if _, ok := f.Geometry.(orb.Point); !ok {
			t.Fatalf("geometry %T", f.Geometry)
		}
		day, ok := f.Properties["day"].(float64)
		if !ok || day < float64(dayNumber(time.Date(2022, 6, 10, 0, 0, 0, 0, time.UTC))) {
			t.Fatalf("day should be an integer day number, got %#v", f.Properties["day"])
		}
		for k, v := range f.Properties {
			if s, ok := v.(string); ok && len(s) > 10 && k != "kind" && k != "precision" {
				t.Fatalf("per-point text property %s=%q", k, s)
			}
		}
	}
	s2 := NewService(Config{Store: seeded(), VersionTTL: -1, MaxPoints: 5})
	tl, _ = s2.Tile(ctx, Request{Layer: LayerIncidents, Tile: tile, Points: true})
	ls := decodeTile(t, tl)
	if len(ls[LayerIncidents].Features) != 5 || ls["incidents_truncated"] == nil {
		t.Fatalf("cap of 5 points not applied or not flagged: %v", ls)
	}
}

func TestServiceAreas(t *testing.T) {
	m := seeded()
	box := func(lon, lat, d float64) orb.MultiPolygon {
		return orb.MultiPolygon{{{{lon - d, lat - d}, {lon + d, lat - d}, {lon + d, lat + d}, {lon - d, lat + d}, {lon - d, lat - d}}}}
	}
	m.areas["nbhd"] = []geo.Area{
		{Layer: "nbhd", Code: "downtown", Name: "Downtown", Geometry: box(centre[0], centre[1], 0.003)},
		{Layer: "nbhd", Code: "north", Name: "North", Geometry: box(centre[0]+0.01, centre[1]+0.01, 0.003)},
	}
	for i := range m.incs {
		if m.incs[i].Location[0] < centre[0]+0.005 {
			m.incs[i].Areas = map[string]string{"nbhd": "downtown"}
		} else {
			m.incs[i].Areas = map[string]string{"nbhd": "north"}
		}
	}
	s := NewService(Config{Store: m, VersionTTL: -1})
	if _, err := s.Tile(ctx, Request{Layer: LayerAreas, Tile: maptile.At(centre, 13)}); geo.ErrorCode(err) != geo.EINVALID {
		t.Fatalf("areas without area_layer: %v", err)
	}
	for _, tt := range []struct {
		name  string
		below int
		want  map[string]map[string]any
	}{
		{"analyst", 0, map[string]map[string]any{"downtown": {"n_total": 15.0}, "north": {"n_homicide": 2.0, "n_total": 2.0}}},
		{"public", 11, map[string]map[string]any{"downtown": {"suppressed": true, "n_shooting": 12.0}, "north": {"suppressed": true, "n_total": nil}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tl, err := s.Tile(ctx, Request{Layer: LayerAreas, Tile: maptile.At(centre, 12), Query: Query{AreaLayer: "nbhd"}, SuppressBelow: tt.below})
			if err != nil {
				t.Fatal(err)
			}
			l := decodeTile(t, tl)[LayerAreas]
			if l == nil || len(l.Features) != 2 {
				t.Fatalf("want 2 areas, got %v", l)
			}
			for _, f := range l.Features {
				for k, v := range tt.want[f.Properties["code"].(string)] {
					if f.Properties[k] != v {
						t.Fatalf("%s %s = %v, want %v (%v)", f.Properties["code"], k, f.Properties[k], v, f.Properties)
					}
				}
			}
		})
	}
}

func TestServiceFindingLayers(t *testing.T) {
	m := seeded()
	c, _ := geo.CellFromPoint(centre, 9)
	p := 0.001
	m.findings = []geo.Finding{
		{ID: 1, RunID: 1, Detector: "gistar", Kind: "hotspot", Cells: []geo.Cell{c}, Score: 3.2, PValue: &p, Category: "hot_99"},
		{ID: 2, RunID: 2, Detector: "stpscan", Kind: "cluster", Cells: c.Disk(1), Observed: 9, Expected: 2.5, PValue: &p,
			Start: time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2022, 6, 14, 0, 0, 0, 0, time.UTC),
			Stats: map[string]float64{"ri": 365}},
	}
	s := NewService(Config{Store: m, VersionTTL: -1})
	tile := maptile.At(centre, 14)
	tl, err := s.Tile(ctx, Request{Layer: LayerHotspots, Tile: tile})
	if err != nil {
		t.Fatal(err)
	}
	hs := decodeTile(t, tl)[LayerHotspots]
	if hs == nil || len(hs.Features) != 1 || hs.Features[0].Properties["category"] != "hot_99" || hs.Features[0].Properties["cell"] != c.String() {
		t.Fatalf("hotspots layer %v", hs)
	}
	for _, tt := range []struct {
		name     string
		below    int
		observed any
	}{{"analyst", 0, 9.0}, {"public", 11, nil}} {
		tl, err := s.Tile(ctx, Request{Layer: LayerClusters, Tile: tile, SuppressBelow: tt.below})
		if err != nil {
			t.Fatal(err)
		}
		cl := decodeTile(t, tl)[LayerClusters]
		if cl == nil || len(cl.Features) != 1 {
			t.Fatalf("%s: clusters layer %v", tt.name, cl)
		}
		props := cl.Features[0].Properties
		if props["observed"] != tt.observed || props["start"] != "2022-06-01" || props["ri"] != 365.0 {
			t.Fatalf("%s: cluster props %v", tt.name, props)
		}
		if tt.observed == nil && props["o_e"] != nil {
			t.Fatalf("public O/E would reveal the observed count: %v", props)
		}
		if poly, ok := cl.Features[0].Geometry.(orb.Polygon); !ok || len(poly) != 1 {
			t.Fatalf("cluster of 7 cells should be one polygon without holes, got %T", cl.Features[0].Geometry)
		}
	}
}

func TestServiceStreetsByZoom(t *testing.T) {
	s := NewService(Config{Store: seeded(), VersionTTL: -1,
		Streets: func() ([]Street, error) {
			return []Street{
				{Line: orb.LineString{{centre[0] - 0.01, centre[1]}, {centre[0] + 0.01, centre[1]}}, Class: StreetMajor},
				{Line: orb.LineString{{centre[0], centre[1] - 0.001}, {centre[0], centre[1] + 0.001}}, Class: StreetMinor},
				{Line: orb.LineString{{centre[0] + 0.0001, centre[1] - 0.0005}, {centre[0] + 0.0001, centre[1] + 0.0005}}, Class: StreetAlley},
			}, nil
		},
		Boundary: orb.MultiPolygon{{{{-76.7, 39.2}, {-76.5, 39.2}, {-76.5, 39.37}, {-76.7, 39.37}, {-76.7, 39.2}}}},
	})
	for _, tt := range []struct {
		z       maptile.Zoom
		classes int
	}{{10, 1}, {13, 2}, {16, 3}} {
		tl, err := s.Tile(ctx, Request{Layer: LayerStreets, Tile: maptile.At(centre, tt.z)})
		if err != nil {
			t.Fatal(err)
		}
		ls := decodeTile(t, tl)
		if ls["streets"] == nil || len(ls["streets"].Features) != tt.classes {
			t.Fatalf("z%d: want %d streets, got %v", tt.z, tt.classes, ls["streets"])
		}
		if tt.z == 10 && ls["city"] == nil {
			t.Fatal("city outline missing at z10")
		}
	}
}

func TestServiceUnknownLayer(t *testing.T) {
	s := NewService(Config{Store: seeded()})
	if _, err := s.Tile(ctx, Request{Layer: "roads", Tile: maptile.New(0, 0, 0)}); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Fatalf("unknown layer: %v", err)
	}
}

func TestLoadStreets(t *testing.T) {
	fsys := fstest.MapFS{"c.csv": {Data: []byte("id,subtype,featype,geometry\n" +
		"0,STRPRD,AVE,-76.534034 39.323497;-76.534424 39.323715\n" +
		"1,STREX,,-76.6 39.3;-76.61 39.31;-76.62 39.32\n" +
		"2,STRALY,,-76.6 39.3;-76.6001 39.3001\n" +
		"3,STRPRD,ST,-76.5 39.2;-76.51 39.21|-76.52 39.22;-76.53 39.23\n")}}
	got, err := LoadStreets(fsys, "c.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{StreetMinor, StreetMajor, StreetAlley, StreetMinor, StreetMinor}
	if len(got) != 5 {
		t.Fatalf("got %d streets", len(got))
	}
	for i, s := range got {
		if s.Class != want[i] {
			t.Errorf("street %d class %s, want %s", i, s.Class, want[i])
		}
	}
	if got[1].Line[2] != (orb.Point{-76.62, 39.32}) {
		t.Fatalf("vertex order or parsing: %v", got[1].Line)
	}
	fsys["bad.csv"] = &fstest.MapFile{Data: []byte("subtype,geometry\nSTRPRD,-76.5 x\n")}
	if _, err := LoadStreets(fsys, "bad.csv"); err == nil {
		t.Fatal("bad vertex accepted")
	}
}

func TestLoadBundledBaltimoreStreets(t *testing.T) {
	c, err := cities.Open("baltimore")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(c.FS, "streets/centerlines.csv.gz"); err != nil {
		t.Skipf("no bundled centerlines: %v", err)
	}
	got, err := LoadStreets(c.FS, "streets/centerlines.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 40000 {
		t.Fatalf("only %d centerlines", len(got))
	}
}

// TestServiceConcurrent builds tiles from many goroutines while new data
// arrives; run with -race it guards the caches' locking, and it checks
// that concurrent requests for one aggregate share a single build.
func TestServiceConcurrent(t *testing.T) {
	m := seeded()
	s := NewService(Config{Store: m, VersionTTL: -1})
	z := maptile.At(centre, 14)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				tile := maptile.New(z.X+uint32(i%3), z.Y+uint32(g%3), 14)
				if _, err := s.Tile(ctx, Request{Layer: LayerHex, Tile: tile}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := m.Calls("CellCounts"); n != 1 {
		t.Fatalf("80 concurrent tiles of one aggregate ran %d CellCounts", n)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 5 {
			m.add(inc(centre[0], centre[1], geo.KindHomicide, "2022-06-22"))
		}
	}()
	for i := range 50 {
		if _, err := s.Tile(ctx, Request{Layer: LayerHex, Tile: maptile.New(z.X+uint32(i%4), z.Y, 14)}); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	tl, err := s.Tile(ctx, Request{Layer: LayerHex, Tile: z})
	if err != nil {
		t.Fatal(err)
	}
	if got := byCellProps(decodeTile(t, tl)[LayerHex])[cellAt(centre, 9)]["n_homicide"]; got != 5.0 {
		t.Fatalf("after concurrent writes n_homicide = %v, want 5", got)
	}
}

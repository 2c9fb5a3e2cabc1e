package tiles

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb/maptile"

	"hotspots/geo"
)

// TestETagFormat pins the validator's form, W/"<version>-<findings>-<hash>"
// with the hash FNV-1a over "layer|query|suppress|points|grant", so a
// deploy does not change the ETags clients and proxies hold, and checks
// that each part of the view gives its own tag.
func TestETagFormat(t *testing.T) {
	ctx := context.Background()
	m := seeded()
	s := NewService(Config{Store: m, VersionTTL: -1})
	v, err := m.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	end, err := s.DataEnd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)
	reqs := []Request{
		{Layer: LayerHex, Query: Query{WindowDays: 30}},
		{Layer: LayerHex, Query: Query{WindowDays: 30}, SuppressBelow: 11},
		{Layer: LayerHex, Query: Query{WindowDays: 30}, SuppressBelow: 11, Grant: []string{"neighborhood:A", "csa:B"}},
		{Layer: LayerHex, Query: Query{Kinds: []geo.Kind{geo.KindOverdoseFatal, geo.KindShootingFatal}, From: from}},
		{Layer: LayerIncidents, Query: Query{}, Points: true},
		{Layer: LayerAreas, Query: Query{AreaLayer: "csa", To: from}},
	}
	seen := map[string]int{}
	for i, r := range reqs {
		r.Tile = maptile.New(2352, 3122, 13)
		got, err := s.ETag(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		h := fnv.New64a()
		fmt.Fprintf(h, "%s|%s|%d|%t|%s", r.Layer, r.Query.key(end, r.Layer == LayerAreas), r.SuppressBelow, r.Points,
			strings.Join(r.Grant, ","))
		want := `W/"` + strconv.FormatInt(v, 36) + "--" + strconv.FormatUint(h.Sum64(), 36) + `"`
		if got != want {
			t.Errorf("request %d: ETag %s, want %s", i, got, want)
		}
		if j, dup := seen[got]; dup {
			t.Errorf("requests %d and %d share ETag %s", j, i, got)
		}
		seen[got] = i
	}
}

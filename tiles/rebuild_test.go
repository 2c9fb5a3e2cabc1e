package tiles

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/paulmach/orb/maptile"

	"hotspots/geo"
)

// gatedStore blocks CellCounts while gated, so a test can hold a rebuild
// in the middle and see what requests get meanwhile.
type gatedStore struct {
	*memStore
	gated atomic.Bool
	gate  chan struct{}
}

func (g *gatedStore) CellCounts(ctx context.Context, f geo.CellCountFilter) ([]geo.CellCount, error) {
	if g.gated.Load() {
		<-g.gate
	}
	return g.memStore.CellCounts(ctx, f)
}

// TestBackgroundRebuildServesPreviousVersion checks that with
// BackgroundRebuild a tile request after a write is answered from the
// previous version's aggregate, with the previous ETag, while the new one
// is built (the store's CellCounts is held, so a request that waited for
// it would hang), and that once it is built the new counts and a new ETag
// are served without another query.
func TestBackgroundRebuildServesPreviousVersion(t *testing.T) {
	g := &gatedStore{memStore: seeded(), gate: make(chan struct{})}
	s := NewService(Config{Store: g, VersionTTL: -1, BackgroundRebuild: true})
	req := Request{Layer: LayerHex, Tile: maptile.At(centre, 13)}
	shootings := func() any {
		tl, err := s.Tile(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return byCellProps(decodeTile(t, tl)[LayerHex])[cellAt(centre, 9)]["n_shooting"]
	}
	if got := shootings(); got != 12.0 {
		t.Fatalf("n_shooting = %v, want 12", got)
	}
	etag1, err := s.ETag(ctx, req)
	if err != nil {
		t.Fatal(err)
	}

	g.gated.Store(true)
	g.add(inc(centre[0], centre[1], geo.KindShootingFatal, "2022-06-25"))
	if got := shootings(); got != 12.0 {
		t.Fatalf("during the rebuild n_shooting = %v, want the previous 12", got)
	}
	if etag, _ := s.ETag(ctx, req); etag != etag1 {
		t.Fatalf("during the rebuild ETag %s, want the previous %s", etag, etag1)
	}

	close(g.gate)
	s.rebuilds.Wait()
	calls := g.Calls("CellCounts")
	if got := shootings(); got != 13.0 {
		t.Fatalf("after the rebuild n_shooting = %v, want 13", got)
	}
	if etag, _ := s.ETag(ctx, req); etag == etag1 {
		t.Fatal("ETag unchanged after the rebuild")
	}
	if n := g.Calls("CellCounts"); n != calls {
		t.Fatalf("the request after the rebuild queried the store again (%d calls, want %d)", n, calls)
	}
}

// TestBackgroundRebuildOffInvalidatesAtOnce is the default: a write is
// seen by the next request.
func TestBackgroundRebuildOffInvalidatesAtOnce(t *testing.T) {
	m := seeded()
	s := NewService(Config{Store: m, VersionTTL: -1})
	req := Request{Layer: LayerHex, Tile: maptile.At(centre, 13)}
	if _, err := s.Tile(ctx, req); err != nil {
		t.Fatal(err)
	}
	m.add(inc(centre[0], centre[1], geo.KindShootingFatal, "2022-06-25"))
	tl, err := s.Tile(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := byCellProps(decodeTile(t, tl)[LayerHex])[cellAt(centre, 9)]["n_shooting"]; got != 13.0 {
		t.Fatalf("n_shooting = %v, want 13", got)
	}
}

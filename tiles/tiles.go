// Package tiles builds the Mapbox Vector Tiles of the analyst map: it
// validates z/x/y addresses, aggregates counts into H3 hexagons, findings and
// areas, projects and clips them to tiles and encodes them with orb's
// encoding/mvt. It knows nothing of HTTP or of any database driver: it reads
// through the geo store interfaces and hands back bytes.
package tiles

import (
	"strconv"

	"github.com/paulmach/orb/maptile"

	"hotspots/geo"
)

const (
	// Extent is the tile coordinate range, MapLibre's default.
	Extent = 4096
	// Buffer is how far (in tile units) geometry is kept beyond the tile
	// edge, so polygons cut at tile edges join without seams or hairlines.
	Buffer = 64
	// MaxZoom is the deepest zoom served; beyond it tiles are smaller than
	// the finest H3 cell stored and only cost work.
	MaxZoom = 22
)

// Layer names served under /tiles/{layer}/.
const (
	LayerHex       = "hex"
	LayerHotspots  = "hotspots"
	LayerClusters  = "clusters"
	LayerAreas     = "areas"
	LayerIncidents = "incidents"
	LayerStreets   = "streets"
)

// LayerNames lists every served layer in the order the map draws them.
var LayerNames = []string{LayerStreets, LayerAreas, LayerHex, LayerHotspots, LayerClusters, LayerIncidents}

// KnownLayer reports whether name is a served layer.
func KnownLayer(name string) bool {
	for _, l := range LayerNames {
		if l == name {
			return true
		}
	}
	return false
}

// ParseTile parses and bounds a z/x/y address before any work is done:
// z in 0..MaxZoom and x, y in 0..2^z-1. Errors name the offending part.
func ParseTile(zs, xs, ys string) (maptile.Tile, error) {
	z, err := strconv.ParseUint(zs, 10, 8)
	if err != nil || z > MaxZoom {
		return maptile.Tile{}, geo.FieldErrorf("z", "zoom %q must be an integer in 0..%d", zs, MaxZoom)
	}
	n := uint64(1) << z
	x, err := strconv.ParseUint(xs, 10, 32)
	if err != nil || x >= n {
		return maptile.Tile{}, geo.FieldErrorf("x", "x %q must be an integer in 0..%d at zoom %d", xs, n-1, z)
	}
	y, err := strconv.ParseUint(ys, 10, 32)
	if err != nil || y >= n {
		return maptile.Tile{}, geo.FieldErrorf("y", "y %q must be an integer in 0..%d at zoom %d", ys, n-1, z)
	}
	return maptile.New(uint32(x), uint32(y), maptile.Zoom(z)), nil
}

// ResForZoom picks the H3 resolution of the hex layer for a zoom, so that a
// hexagon stays a few dozen pixels wide on screen:
//
//	zoom    resolution  edge
//	 0-10    7          ~1.4 km
//	11-12    8          ~530 m
//	13-14    9          ~200 m
//	15      10          ~76 m
//	16+     11          ~29 m
func ResForZoom(z maptile.Zoom) int {
	switch {
	case z <= 10:
		return 7
	case z <= 12:
		return 8
	case z <= 14:
		return 9
	case z == 15:
		return 10
	}
	return 11
}

// PublicMaxRes is the finest resolution shown to callers who get suppressed
// counts: a resolution-11 hexagon is about one house wide, so showing that
// it holds "1 to 10" incidents would still point at a victim's door.
const PublicMaxRes = 9

// Suppressed reports whether a count must be hidden from the public: counts
// from 1 to below-1 are small enough to identify people. Zero is not
// suppressed, since "nothing here" identifies nobody.
func Suppressed(n, below int) bool { return n > 0 && n < below }

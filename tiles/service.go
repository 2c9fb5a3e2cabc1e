package tiles

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"hotspots/geo"
)

// Store is the part of geo.Store the tiles read. geo.Store satisfies it; a
// narrow interface keeps test fakes small.
type Store interface {
	CellCounts(ctx context.Context, f geo.CellCountFilter) ([]geo.CellCount, error)
	CellDayCounts(ctx context.Context, f geo.CellCountFilter) ([]geo.CellDayCount, error)
	AreaDayCounts(ctx context.Context, f geo.AreaCountFilter) ([]geo.AreaDayCount, error)
	Areas(ctx context.Context, layer string) ([]geo.Area, error)
	FindIncidents(ctx context.Context, f geo.IncidentFilter) ([]geo.Incident, error)
	ListFindings(ctx context.Context, f geo.FindingFilter) ([]geo.Finding, error)
	DataVersion(ctx context.Context) (int64, error)
}

// Config configures a Service.
type Config struct {
	Store Store
	// Kinds is the city's kind set (default geo.DefaultKinds).
	Kinds geo.KindSet
	// Location is the city's time zone, used to turn days into instants for
	// the points layer (default UTC).
	Location *time.Location
	// Streets loads the offline basemap's centerlines; it is called once,
	// on the first streets tile, so processes that never draw the basemap
	// never read the file. Nil means no streets.
	Streets func() ([]Street, error)
	// Boundary is the city outline drawn on the basemap.
	Boundary orb.MultiPolygon
	// CacheBytes bounds the encoded tile cache (default 64 MiB; <0 disables).
	CacheBytes int
	// VersionTTL is how long a data version is trusted before the store is
	// asked again: tiles may lag new data by this much, and in exchange a
	// tile request touches no database at all (default 1s; <0 asks always).
	VersionTTL time.Duration
	// FindingsTTL is how long detector findings are reused; detection runs
	// do not change the data version (default 30s).
	FindingsTTL time.Duration
	// MaxPoints caps the points of one incidents tile (default 20,000).
	MaxPoints int
	Logger    *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Observer is told how long each tile took and whether it came from
	// the cache, so the process can keep latency histograms and a hit rate
	// without this package knowing about metrics. Nil: nobody is told.
	Observer Observer
	// BackgroundRebuild keeps serving the previous data version's tiles and
	// hex aggregates while the new version's aggregates are rebuilt off the
	// request path, then switches to them at once (see rebuild.go). Tiles
	// then lag a write by one rebuild, as they already lag it by
	// VersionTTL, and no request waits for a rebuild: during a bulk load,
	// when every committed batch moves the version, that wait is what
	// dominates tile latency.
	BackgroundRebuild bool
}

// Observer receives one call per Tile request. cached is true when the
// encoded tile came from the cache; err is the request's error, if any.
type Observer interface {
	TileServed(layer string, cached bool, d time.Duration, err error)
}

// Request is one tile request after parsing and authorisation.
type Request struct {
	Layer string
	Tile  maptile.Tile
	Query Query
	// SuppressBelow > 1 suppresses counts from 1 to SuppressBelow-1 and caps
	// the hex resolution at PublicMaxRes (the public view).
	SuppressBelow int
	// Points is true when the caller may see exact incident locations.
	Points bool
	// Grant lists areas ("layer:code") inside which counts are shown
	// unsuppressed although SuppressBelow applies elsewhere: an outreach
	// team's own areas, so its map shows what its indicators and series
	// already give it, and the rest of the city as the public sees it. A
	// hexagon is inside when its centre is (as the cell series check
	// has it), an area of the areas layer when its code is granted.
	Grant []string
}

// Service builds and caches tiles. It is safe for concurrent use.
type Service struct {
	cfg   Config
	cache *Cache

	mu          sync.Mutex
	version     int64
	checkedAt   time.Time
	haveVer     bool
	dataEnd     *time.Time // nil until computed for version
	hex         map[string]*hexEntry
	areas       map[string]*areaEntry
	areaGeo     map[string]*areaGeoEntry
	findings    map[string]*findingsEntry
	streets     *streetIndex
	streetsOnce sync.Once
	rebuilding  bool           // a background rebuild is running
	rebuilds    sync.WaitGroup // background rebuilds, for tests
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	if cfg.Kinds == nil {
		cfg.Kinds = geo.DefaultKinds()
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = 64 << 20
	}
	if cfg.VersionTTL == 0 {
		cfg.VersionTTL = time.Second
	}
	if cfg.FindingsTTL == 0 {
		cfg.FindingsTTL = 30 * time.Second
	}
	if cfg.MaxPoints == 0 {
		cfg.MaxPoints = 20000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{
		cfg: cfg, cache: NewCache(cfg.CacheBytes),
		hex: map[string]*hexEntry{}, areas: map[string]*areaEntry{},
		areaGeo: map[string]*areaGeoEntry{}, findings: map[string]*findingsEntry{},
	}
}

// Kinds is the service's kind set.
func (s *Service) Kinds() geo.KindSet { return s.cfg.Kinds }

// Version returns the current data version, asking the store at most once
// per VersionTTL. A changed version purges every cache.
func (s *Service) Version(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.versionLocked(ctx)
}

func (s *Service) versionLocked(ctx context.Context) (int64, error) {
	now := s.cfg.Now()
	if s.haveVer && s.cfg.VersionTTL > 0 && now.Sub(s.checkedAt) < s.cfg.VersionTTL {
		return s.version, nil
	}
	v, err := s.cfg.Store.DataVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("tiles: data version: %w", err)
	}
	if s.haveVer && v != s.version && s.cfg.BackgroundRebuild && len(s.hex) > 0 {
		// Keep answering with the version whose aggregates are built.
		s.checkedAt = now
		if !s.rebuilding {
			s.startRebuildLocked(v)
		}
		return s.version, nil
	}
	if s.haveVer && v != s.version {
		s.cache.Purge()
		clear(s.hex)
		clear(s.areas)
		clear(s.areaGeo)
		s.dataEnd = nil
		s.cfg.Logger.Debug("tiles_invalidated", slog.Int64("old_version", s.version), slog.Int64("version", v))
	}
	s.version, s.checkedAt, s.haveVer = v, now, true
	return v, nil
}

// DataEnd returns the last day with data (zero when the store is empty):
// relative windows end there. It is computed once per data version, looking
// back one month first, then a year, then everywhere, so a live feed costs
// a small query.
func (s *Service) DataEnd(ctx context.Context) (time.Time, error) {
	_, end, err := s.versionEnd(ctx)
	return end, err
}

// versionEnd is Version and DataEnd under one lock (and one look at the
// clock), as every tile request's ETag needs both.
func (s *Service) versionEnd(ctx context.Context) (int64, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.versionLocked(ctx)
	if err != nil {
		return 0, time.Time{}, err
	}
	end, err := s.dataEndLocked(ctx)
	return v, end, err
}

func (s *Service) dataEndLocked(ctx context.Context) (time.Time, error) {
	if s.dataEnd != nil {
		return *s.dataEnd, nil
	}
	end, err := s.queryDataEnd(ctx)
	if err != nil {
		return time.Time{}, err
	}
	s.dataEnd = &end
	return end, nil
}

// queryDataEnd asks the store for the last day with data.
func (s *Service) queryDataEnd(ctx context.Context) (time.Time, error) {
	today := s.cfg.Now().In(s.cfg.Location)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	var end time.Time
	for _, back := range []int{35, 400, -1} {
		f := geo.CellCountFilter{Res: 0}
		if back > 0 {
			from := today.AddDate(0, 0, -back)
			f.From = &from
		}
		rows, err := s.cfg.Store.CellDayCounts(ctx, f)
		if err != nil {
			return time.Time{}, fmt.Errorf("tiles: data end: %w", err)
		}
		for _, r := range rows {
			if r.Day.After(end) {
				end = r.Day
			}
		}
		if !end.IsZero() {
			break
		}
	}
	return end, nil
}

// ETag returns the validator of a tile request's representation: the data
// version, the findings generation for finding layers, and a hash of the
// layer, query and privacy view. It costs no tile work, so a 304 is cheap.
func (s *Service) ETag(ctx context.Context, r Request) (string, error) {
	v, end, err := s.versionEnd(ctx)
	if err != nil {
		return "", err
	}
	tok := ""
	if r.Layer == LayerHotspots || r.Layer == LayerClusters {
		fe, err := s.findingsFor(ctx, r.Layer)
		if err != nil {
			return "", err
		}
		tok = fe.token
	}
	var buf [256]byte
	b := append(buf[:0], r.Layer...)
	b = append(b, '|')
	b = r.Query.appendKey(b, end, r.Layer == LayerAreas)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(r.SuppressBelow), 10)
	b = append(b, '|')
	b = strconv.AppendBool(b, r.Points)
	b = append(b, '|')
	for i, g := range r.Grant {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, g...)
	}
	h := fnv64a(b)
	b = append(b[:0], `W/"`...)
	b = strconv.AppendInt(b, v, 36)
	b = append(b, '-')
	b = append(b, tok...)
	b = append(b, '-')
	b = strconv.AppendUint(b, h, 36)
	b = append(b, '"')
	return string(b), nil
}

// fnv64a is FNV-1a, 64 bits: ETags must hash alike in every process and
// release, which rules out maphash; inline, it costs no allocation.
func fnv64a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// Tile builds (or fetches from the cache) one tile.
func (s *Service) Tile(ctx context.Context, r Request) (*Tile, error) {
	return s.TileTagged(ctx, r, "")
}

// TileTagged is Tile for a caller that already holds the request's ETag
// (the HTTP handler, which needs it first for If-None-Match), so it is not
// worked out twice; "" works it out.
func (s *Service) TileTagged(ctx context.Context, r Request, etag string) (*Tile, error) {
	if s.cfg.Observer == nil {
		t, _, err := s.tile(ctx, r, etag)
		return t, err
	}
	start := time.Now()
	t, cached, err := s.tile(ctx, r, etag)
	s.cfg.Observer.TileServed(r.Layer, cached, time.Since(start), err)
	return t, err
}

// tile is TileTagged; cached reports a cache hit.
func (s *Service) tile(ctx context.Context, r Request, etag string) (t *Tile, cached bool, err error) {
	if !KnownLayer(r.Layer) {
		return nil, false, geo.Errorf(geo.ENOTFOUND, "unknown tile layer %q", r.Layer)
	}
	if r.Layer == LayerIncidents && !r.Points {
		return nil, false, geo.Errorf(geo.EFORBIDDEN, "exact incident locations are for analysts only")
	}
	if r.Layer == LayerAreas && r.Query.AreaLayer == "" {
		return nil, false, geo.FieldErrorf("area_layer", "area_layer is required for the areas layer")
	}
	if etag == "" {
		if etag, err = s.ETag(ctx, r); err != nil {
			return nil, false, err
		}
	}
	var kb [160]byte
	k := append(kb[:0], r.Layer...)
	k = append(k, '/')
	k = strconv.AppendInt(k, int64(r.Tile.Z), 10)
	k = append(k, '/')
	k = strconv.AppendInt(k, int64(r.Tile.X), 10)
	k = append(k, '/')
	k = strconv.AppendInt(k, int64(r.Tile.Y), 10)
	k = append(k, '|')
	k = append(k, etag...)
	if t, ok := s.cache.Get(k); ok {
		return t, true, nil
	}
	var layers []*mvt.Layer
	switch r.Layer {
	case LayerHex:
		raw, err := s.hexTile(ctx, r)
		if err != nil {
			return nil, false, err
		}
		if t, err = gzipped(raw); err != nil {
			return nil, false, err
		}
		s.cache.putKey(k, t)
		return t, false, nil
	case LayerHotspots, LayerClusters:
		layers, err = s.findingsTile(ctx, r)
	case LayerAreas:
		layers, err = s.areasTile(ctx, r)
	case LayerIncidents:
		layers, err = s.pointsTile(ctx, r)
	case LayerStreets:
		layers = s.streetsTile(r.Tile)
	}
	if err != nil {
		return nil, false, err
	}
	t, err = encode(layers...)
	if err != nil {
		return nil, false, err
	}
	s.cache.putKey(k, t)
	return t, false, nil
}

// CacheLen is the number of cached tiles, for tests and metrics.
func (s *Service) CacheLen() int { return s.cache.Len() }

// hexEntry is one aggregate, built once by whoever asks first while later
// callers wait on the same build.
type hexEntry struct {
	once    sync.Once
	idx     *HexIndex
	err     error
	version int64
	res     int   // what the aggregate is of, so a background rebuild
	q       Query // can build the next version's
}

// HexIndexFor returns the aggregate for a resolution and query, building it
// with one CellCounts query when the data version has moved.
func (s *Service) HexIndexFor(ctx context.Context, res int, q Query) (*HexIndex, error) {
	end, err := s.DataEnd(ctx)
	if err != nil {
		return nil, err
	}
	var kb [96]byte
	k := appendHexKey(kb[:0], res, q, end)
	s.mu.Lock()
	e, ok := s.hex[string(k)] // no allocation for the lookup
	if !ok {
		if len(s.hex) >= 64 {
			clear(s.hex) // a crude bound; the map rarely sees more than a few queries
		}
		e = &hexEntry{version: s.version, res: res, q: q}
		s.hex[string(k)] = e
	}
	s.mu.Unlock()
	e.once.Do(func() { e.idx, e.err = s.buildHex(ctx, res, q, end) })
	if e.err != nil {
		s.mu.Lock()
		if s.hex[string(k)] == e {
			delete(s.hex, string(k)) // let the next request retry
		}
		s.mu.Unlock()
		return nil, e.err
	}
	return e.idx, nil
}

// hexKey names the aggregate of a resolution and query.
func hexKey(res int, q Query, end time.Time) string {
	return string(appendHexKey(nil, res, q, end))
}

func appendHexKey(b []byte, res int, q Query, end time.Time) []byte {
	b = strconv.AppendInt(b, int64(res), 10)
	b = append(b, '|')
	return q.appendKey(b, end, false)
}

// buildHex builds one aggregate with one CellCounts query.
func (s *Service) buildHex(ctx context.Context, res int, q Query, end time.Time) (*HexIndex, error) {
	from, to := q.Days(end)
	counts, err := s.cfg.Store.CellCounts(ctx, geo.CellCountFilter{Res: res, Kinds: q.Kinds, From: from, To: to})
	if err != nil {
		return nil, fmt.Errorf("tiles: hex aggregate res %d: %w", res, err)
	}
	return NewHexIndex(res, q.Families(s.cfg.Kinds), counts), nil
}

// hexTile encodes a hex tile from the aggregate of its resolution.
func (s *Service) hexTile(ctx context.Context, r Request) ([]byte, error) {
	res := ResForZoom(r.Tile.Z)
	if r.SuppressBelow > 1 && res > PublicMaxRes {
		res = PublicMaxRes
	}
	idx, err := s.HexIndexFor(ctx, res, r.Query)
	if err != nil {
		return nil, err
	}
	var open []bool
	if r.SuppressBelow > 1 && len(r.Grant) > 0 {
		if open, err = s.grantMask(ctx, idx, r.Grant); err != nil {
			return nil, err
		}
	}
	return idx.Encode(r.Tile, r.SuppressBelow, open), nil
}

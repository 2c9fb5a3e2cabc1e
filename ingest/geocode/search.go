package geocode

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// searchHit is one candidate from a search API, before resolution.
type searchHit struct {
	pt    orb.Point
	score float64
	prec  geo.Precision
	label string
}

// searchBase is shared by the single-address search adapters.
type searchBase struct {
	doer *httpDoer
	cfg  HTTPConfig
	// AmbiguityRadius: equally good candidates farther apart are ambiguous.
	AmbiguityRadius float64
	// Limit is how many candidates to ask for.
	Limit int
}

func newSearchBase(cfg HTTPConfig) (searchBase, error) {
	d, cfg, err := newHTTPDoer(cfg)
	if err != nil {
		return searchBase{}, err
	}
	return searchBase{doer: d, cfg: cfg, AmbiguityRadius: 250, Limit: 5}, nil
}

func (s *searchBase) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	u := strings.TrimRight(s.cfg.BaseURL, "/") + path + "?" + q.Encode()
	return s.doer.do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
}

// resolveSearch picks the best candidate; a runner-up scoring within 0.05
// of it but more than AmbiguityRadius away makes the result ambiguous.
func (s *searchBase) resolveSearch(address string, all []searchHit) Result {
	if len(all) == 0 {
		return unmatched("no search results")
	}
	hits := all[:0:0]
	for _, h := range all {
		if h.prec != geo.PrecisionUnmatched {
			hits = append(hits, h)
		}
	}
	if len(hits) == 0 {
		return unmatched("only results coarser than a street")
	}
	best := 0
	for i, h := range hits {
		if h.score > hits[best].score {
			best = i
		}
	}
	b := hits[best]
	r := Result{
		Point:      b.pt,
		Score:      clampScore(b.score),
		Precision:  sourcePrecision(address, b.prec),
		Matched:    b.label,
		Candidates: 1,
	}
	for i, h := range hits {
		if i != best && h.score >= b.score-tierWidth && metres(h.pt, b.pt) > s.AmbiguityRadius {
			r.Candidates++
		}
	}
	if r.Candidates > 1 {
		r.Ambiguous = true
		r.Reason = geo.ReasonAmbiguousAddr
		r.Detail = fmt.Sprintf("%d equally good results more than %.0f m apart", r.Candidates, s.AmbiguityRadius)
	}
	return r
}

// Nominatim geocodes with an OpenStreetMap Nominatim search API
// (GET /search?q=…&format=json, answering [{lat, lon, display_name,
// importance, class, type}]). Self-host it for bulk use: the public
// instance allows one request per second.
type Nominatim struct{ searchBase }

// NewNominatim returns a Nominatim adapter.
func NewNominatim(cfg HTTPConfig) (*Nominatim, error) {
	b, err := newSearchBase(cfg)
	if err != nil {
		return nil, err
	}
	return &Nominatim{b}, nil
}

type nominatimPlace struct {
	Lat         string  `json:"lat"`
	Lon         string  `json:"lon"`
	DisplayName string  `json:"display_name"`
	Importance  float64 `json:"importance"`
	Class       string  `json:"class"`
	Type        string  `json:"type"`
}

// Geocode resolves one address.
func (n *Nominatim) Geocode(ctx context.Context, address string) (Result, error) {
	q := url.Values{"q": {n.cfg.fullAddress(address)}, "format": {"json"}, "limit": {strconv.Itoa(n.Limit)}}
	body, err := n.get(ctx, "/search", q)
	if err != nil {
		return Result{}, fmt.Errorf("geocode: nominatim: %w", err)
	}
	var places []nominatimPlace
	if err := json.Unmarshal(body, &places); err != nil {
		return Result{}, fmt.Errorf("geocode: nominatim: decode: %w", err)
	}
	hits := make([]searchHit, 0, len(places))
	for _, p := range places {
		lat, err1 := strconv.ParseFloat(p.Lat, 64)
		lon, err2 := strconv.ParseFloat(p.Lon, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		hits = append(hits, searchHit{pt: orb.Point{lon, lat}, score: p.Importance, prec: nominatimPrecision(p), label: p.DisplayName})
	}
	return n.resolveSearch(address, hits), nil
}

// nominatimPrecision maps OSM feature classes: a house or building is an
// address point, a highway is only the street.
func nominatimPrecision(p nominatimPlace) geo.Precision {
	switch {
	case p.Class == "place" && p.Type == "house", p.Class == "building":
		return geo.PrecisionInterpolated
	default:
		return geo.PrecisionStreet
	}
}

// GeocodeBatch resolves addresses one request at a time, under the rate limit.
func (n *Nominatim) GeocodeBatch(ctx context.Context, addresses []string) ([]Result, error) {
	return geocodeEach(ctx, n, addresses)
}

// Pelias geocodes with a Pelias search API (GET /v1/search?text=…,
// answering a GeoJSON FeatureCollection whose features carry label,
// confidence, layer and match_type).
type Pelias struct{ searchBase }

// NewPelias returns a Pelias adapter.
func NewPelias(cfg HTTPConfig) (*Pelias, error) {
	b, err := newSearchBase(cfg)
	if err != nil {
		return nil, err
	}
	return &Pelias{b}, nil
}

type peliasCollection struct {
	Features []struct {
		Geometry struct {
			Coordinates []float64 `json:"coordinates"`
		} `json:"geometry"`
		Properties struct {
			Label      string  `json:"label"`
			Confidence float64 `json:"confidence"`
			Layer      string  `json:"layer"`
			MatchType  string  `json:"match_type"`
		} `json:"properties"`
	} `json:"features"`
}

// Geocode resolves one address.
func (p *Pelias) Geocode(ctx context.Context, address string) (Result, error) {
	q := url.Values{"text": {p.cfg.fullAddress(address)}, "size": {strconv.Itoa(p.Limit)}}
	body, err := p.get(ctx, "/v1/search", q)
	if err != nil {
		return Result{}, fmt.Errorf("geocode: pelias: %w", err)
	}
	var fc peliasCollection
	if err := json.Unmarshal(body, &fc); err != nil {
		return Result{}, fmt.Errorf("geocode: pelias: decode: %w", err)
	}
	hits := make([]searchHit, 0, len(fc.Features))
	for _, f := range fc.Features {
		if len(f.Geometry.Coordinates) < 2 {
			continue
		}
		hits = append(hits, searchHit{
			pt:    orb.Point{f.Geometry.Coordinates[0], f.Geometry.Coordinates[1]},
			score: f.Properties.Confidence,
			prec:  peliasPrecision(f.Properties.Layer),
			label: f.Properties.Label,
		})
	}
	return p.resolveSearch(address, hits), nil
}

// peliasPrecision maps Pelias layers; anything coarser than a street
// (neighbourhood, locality) is not a usable incident location.
func peliasPrecision(layer string) geo.Precision {
	switch layer {
	case "address", "venue":
		return geo.PrecisionInterpolated
	case "intersection":
		return geo.PrecisionIntersection
	case "street":
		return geo.PrecisionStreet
	default:
		return geo.PrecisionUnmatched
	}
}

// GeocodeBatch resolves addresses one request at a time, under the rate limit.
func (p *Pelias) GeocodeBatch(ctx context.Context, addresses []string) ([]Result, error) {
	return geocodeEach(ctx, p, addresses)
}

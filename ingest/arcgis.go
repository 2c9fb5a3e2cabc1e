package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// ArcGISQuery is a paged query of an ArcGIS REST FeatureServer layer.
type ArcGISQuery struct {
	// LayerURL is the layer endpoint, ".../FeatureServer/0".
	LayerURL string
	// Where filters rows; "" means "1=1".
	Where string
	// SinceField and Since add "SinceField >= TIMESTAMP 'Since'" for
	// incremental pulls; Since is epoch milliseconds, as ArcGIS dates are.
	SinceField string
	Since      string
	// PageSize is resultRecordCount; 0 means 1000. Servers may cap it at
	// their maxRecordCount, so paging advances by what was returned.
	PageSize int
	// OrderBy keeps pages stable while paging; "" means OBJECTID.
	OrderBy string
}

// arcgisPage is the Esri JSON response of a query.
type arcgisPage struct {
	Features []struct {
		Attributes map[string]any `json:"attributes"`
		Geometry   *struct {
			X *float64 `json:"x"`
			Y *float64 `json:"y"`
		} `json:"geometry"`
	} `json:"features"`
	ExceededTransferLimit bool `json:"exceededTransferLimit"`
	Error                 *struct {
		Code    int      `json:"code"`
		Message string   `json:"message"`
		Details []string `json:"details"`
	} `json:"error"`
}

// ArcGISFeed pages through a layer with resultOffset/resultRecordCount
// until a page comes back empty or without exceededTransferLimit.
// ArcGIS reports query errors with HTTP 200 and an "error" member; those
// are returned as errors, not read as an empty layer.
func ArcGISFeed(f *Fetcher, q ArcGISQuery) Feed {
	return FeedFunc(func(ctx context.Context, fn func(Record) error) error {
		size := q.PageSize
		if size <= 0 {
			size = 1000
		}
		hc := headerCache{}
		line, offset := 0, 0
		for {
			u, err := q.pageURL(offset, size)
			if err != nil {
				return err
			}
			body, err := f.Get(ctx, u)
			if err != nil {
				return fmt.Errorf("arcgis: %w", err)
			}
			var p arcgisPage
			if err := json.Unmarshal(body, &p); err != nil {
				return fmt.Errorf("arcgis %s: decode page at offset %d: %w", q.LayerURL, offset, err)
			}
			if p.Error != nil {
				return fmt.Errorf("arcgis %s: error %d: %s %s", q.LayerURL, p.Error.Code, p.Error.Message, strings.Join(p.Error.Details, "; "))
			}
			for _, ft := range p.Features {
				rec := propsRecord(&hc, ft.Attributes)
				line++
				rec.Line = line
				if g := ft.Geometry; g != nil && g.X != nil && g.Y != nil {
					pt := orb.Point{*g.X, *g.Y}
					rec.Point = &pt
				}
				if err := fn(rec); err != nil {
					return err
				}
			}
			if len(p.Features) == 0 || !p.ExceededTransferLimit {
				return nil
			}
			offset += len(p.Features)
		}
	})
}

func (q ArcGISQuery) pageURL(offset, size int) (string, error) {
	base := strings.TrimRight(q.LayerURL, "/")
	if !strings.HasSuffix(base, "/query") {
		base += "/query"
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("arcgis url %q: %w", q.LayerURL, err)
	}
	where := q.Where
	if where == "" {
		where = "1=1"
	}
	if q.SinceField != "" && q.Since != "" {
		ms, err := strconv.ParseInt(q.Since, 10, 64)
		if err != nil {
			return "", fmt.Errorf("arcgis watermark %q: want epoch milliseconds", q.Since)
		}
		ts := time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05")
		where = fmt.Sprintf("(%s) AND %s >= TIMESTAMP '%s'", where, q.SinceField, ts)
	}
	order := q.OrderBy
	if order == "" {
		order = "OBJECTID"
	}
	v := url.Values{}
	v.Set("where", where)
	v.Set("outFields", "*")
	v.Set("outSR", "4326")
	v.Set("returnGeometry", "true")
	v.Set("orderByFields", order)
	v.Set("resultOffset", strconv.Itoa(offset))
	v.Set("resultRecordCount", strconv.Itoa(size))
	v.Set("f", "json")
	u.RawQuery = v.Encode()
	return u.String(), nil
}

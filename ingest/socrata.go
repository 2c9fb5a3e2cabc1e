package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// SocrataQuery is a paged SODA query of a Socrata dataset.
type SocrataQuery struct {
	// ResourceURL is the dataset endpoint, ".../resource/wsfq-mvij.json".
	ResourceURL string
	// Where is a SoQL condition; SinceField and Since add
	// "SinceField >= 'Since'" for incremental pulls (floating timestamps
	// compare as text).
	Where      string
	SinceField string
	Since      string
	// PageSize is $limit; 0 means 1000.
	PageSize int
	// Order keeps pages stable; "" means SinceField then :id.
	Order string
}

// SocrataFeed pages with $limit/$offset until a short or empty page.
func SocrataFeed(f *Fetcher, q SocrataQuery) Feed {
	return FeedFunc(func(ctx context.Context, fn func(Record) error) error {
		size := q.PageSize
		if size <= 0 {
			size = 1000
		}
		hc := headerCache{}
		line := 0
		for offset := 0; ; offset += size {
			u, err := q.pageURL(offset, size)
			if err != nil {
				return err
			}
			body, err := f.Get(ctx, u)
			if err != nil {
				return fmt.Errorf("socrata: %w", err)
			}
			var rows []map[string]any
			if err := json.Unmarshal(body, &rows); err != nil {
				return fmt.Errorf("socrata %s: decode page at offset %d: %w", q.ResourceURL, offset, err)
			}
			for _, r := range rows {
				rec := propsRecord(&hc, r)
				line++
				rec.Line = line
				if err := fn(rec); err != nil {
					return err
				}
			}
			if len(rows) < size {
				return nil
			}
		}
	})
}

func (q SocrataQuery) pageURL(offset, size int) (string, error) {
	u, err := url.Parse(q.ResourceURL)
	if err != nil {
		return "", fmt.Errorf("socrata url %q: %w", q.ResourceURL, err)
	}
	var conds []string
	if q.Where != "" {
		conds = append(conds, "("+q.Where+")")
	}
	if q.SinceField != "" && q.Since != "" {
		conds = append(conds, fmt.Sprintf("%s >= '%s'", q.SinceField, strings.ReplaceAll(q.Since, "'", "''")))
	}
	order := q.Order
	if order == "" {
		order = ":id"
		if q.SinceField != "" {
			order = q.SinceField + ",:id"
		}
	}
	v := u.Query()
	if len(conds) > 0 {
		v.Set("$where", strings.Join(conds, " AND "))
	}
	v.Set("$order", order)
	v.Set("$limit", strconv.Itoa(size))
	v.Set("$offset", strconv.Itoa(offset))
	u.RawQuery = v.Encode()
	return u.String(), nil
}

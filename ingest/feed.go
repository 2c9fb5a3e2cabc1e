package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// Feed yields the records of one input in order. Each stops at the first
// error fn returns, and at ctx's end.
type Feed interface {
	Each(ctx context.Context, fn func(Record) error) error
}

// FeedFunc adapts a function to Feed.
type FeedFunc func(ctx context.Context, fn func(Record) error) error

// Each calls f.
func (f FeedFunc) Each(ctx context.Context, fn func(Record) error) error { return f(ctx, fn) }

// utf8BOM starts some exports (BPD 2018, Tempe); left in place it would
// become part of the first column's name.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// decompress returns r unzipped when it starts with the gzip magic bytes,
// so bundled samples can be stored compressed without a format switch.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(2)
	if err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	}
	return br, nil
}

// CSVFeed reads a CSV file with a header row. Rows with the wrong number of
// fields or broken quoting are passed on with Err set, to be quarantined.
func CSVFeed(r io.Reader) Feed {
	return FeedFunc(func(ctx context.Context, fn func(Record) error) error {
		dr, err := decompress(r)
		if err != nil {
			return err
		}
		br := bufio.NewReaderSize(dr, 1<<16)
		if b, err := br.Peek(3); err == nil && bytes.Equal(b, utf8BOM) {
			_, _ = br.Discard(3)
		}
		cr := csv.NewReader(br)
		cr.FieldsPerRecord = -1
		cr.LazyQuotes = true
		names, err := cr.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("csv: empty input, no header row")
			}
			return fmt.Errorf("csv header: %w", err)
		}
		for i := range names {
			names[i] = strings.TrimSpace(names[i])
		}
		h := NewHeader(names)
		line := 1
		for {
			if line%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			vals, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return ctx.Err()
			}
			line++
			rec := Record{Line: line, Header: h, Values: vals}
			var pe *csv.ParseError
			switch {
			case errors.As(err, &pe):
				rec.Err = pe
			case err != nil:
				return fmt.Errorf("csv line %d: %w", line, err)
			case len(vals) != len(names):
				rec.Err = fmt.Errorf("%d fields, header has %d", len(vals), len(names))
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
	})
}

// GeoJSONFeed reads a FeatureCollection. Properties become columns (in name
// order, since JSON objects are unordered); point geometries become the
// record's Point.
func GeoJSONFeed(r io.Reader) Feed {
	return FeedFunc(func(ctx context.Context, fn func(Record) error) error {
		dr, err := decompress(r)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(dr)
		if err != nil {
			return fmt.Errorf("geojson: %w", err)
		}
		fc, err := geojson.UnmarshalFeatureCollection(bytes.TrimPrefix(b, utf8BOM))
		if err != nil {
			return fmt.Errorf("geojson: %w", err)
		}
		hc := headerCache{}
		for i, f := range fc.Features {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec := propsRecord(&hc, f.Properties)
			rec.Line = i + 1
			if f.ID != nil {
				rec = withColumn(&hc, rec, "_id", stringOf(f.ID))
			}
			if p, ok := f.Geometry.(orb.Point); ok {
				rec.Point = &p
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// headerCache shares one Header between features with the same property
// names.
type headerCache map[string]*Header

func (hc headerCache) get(names []string) *Header {
	k := strings.Join(names, "\x00")
	if h, ok := hc[k]; ok {
		return h
	}
	h := NewHeader(names)
	hc[k] = h
	return h
}

// propsRecord turns a JSON object's members into a record, names sorted.
func propsRecord(hc *headerCache, props map[string]any) Record {
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	vals := make([]string, len(names))
	for i, k := range names {
		vals[i] = stringOf(props[k])
	}
	return Record{Header: hc.get(names), Values: vals}
}

// withColumn returns rec with one more column.
func withColumn(hc *headerCache, rec Record, name, value string) Record {
	names := append(append([]string(nil), rec.Header.Names...), name)
	rec.Values = append(rec.Values, value)
	rec.Header = hc.get(names)
	return rec
}

// joinedFeed appends the columns of a second table to every record, by
// key, as the Trace persons rows get their case's geocoded address.
func joinedFeed(base Feed, j *JoinConfig, other Feed) Feed {
	return FeedFunc(func(ctx context.Context, fn func(Record) error) error {
		var (
			names []string
			rows  = map[string][]string{}
		)
		err := other.Each(ctx, func(r Record) error {
			if names == nil {
				names = r.Header.Names
			}
			if r.Err != nil {
				return nil
			}
			k := strings.TrimSpace(r.Get(j.To))
			if _, dup := rows[k]; !dup && k != "" {
				rows[k] = r.Values
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("join %s: %w", j.File, err)
		}
		var (
			h     *Header
			baseH *Header
		)
		return base.Each(ctx, func(r Record) error {
			if r.Err != nil {
				return fn(r)
			}
			if baseH != r.Header {
				baseH = r.Header
				all := append(append([]string(nil), r.Header.Names...), JoinedColumn)
				for _, n := range names {
					all = append(all, JoinPrefix+n)
				}
				h = NewHeader(all)
			}
			vals := make([]string, 0, len(h.Names))
			vals = append(vals, r.Values...)
			other, ok := rows[strings.TrimSpace(r.Get(j.On))]
			if ok {
				vals = append(vals, "1")
				vals = append(vals, other...)
			} else {
				vals = append(vals, "")
				for range names {
					vals = append(vals, "")
				}
			}
			r.Header, r.Values = h, vals
			return fn(r)
		})
	})
}

// JoinedColumn is set to "1" on rows that found their join partner.
const JoinedColumn = "_joined"

// JoinPrefix starts the names of joined columns: the Trace addresses' lat
// column is "join.lat" in the persons mapping.
const JoinPrefix = "join."

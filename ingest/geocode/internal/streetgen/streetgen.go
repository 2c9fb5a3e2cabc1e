// Command streetgen rebuilds the trimmed street files bundled with a city
// (cities/<city>/streets) and the geocoder's accuracy case lists
// (ingest/geocode/testdata) from the full public data in ../shared/data.
//
// The repository must work without ../shared, so the geocoder only ever reads
// the trimmed copies; this program documents, and can repeat, exactly how they
// were made:
//
//	go run ./ingest/geocode/internal/streetgen -data ../shared/data -repo .
package main

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	data := flag.String("data", "../shared/data", "folder holding baltimore-streets/ and the case sources")
	repo := flag.String("repo", ".", "repository root to write into")
	flag.Parse()
	if err := run(*data, *repo); err != nil {
		slog.Error("streetgen failed", slog.Any("error", err))
		os.Exit(1)
	}
}

// run writes every generated file.
func run(data, repo string) error {
	jobs := []struct {
		dst string
		gz  bool
		gen func(w io.Writer) error
	}{
		{"cities/baltimore/streets/centerlines.csv.gz", true, func(w io.Writer) error {
			return withFile(filepath.Join(data, "baltimore-streets/street_centerlines.geojson"), func(r io.Reader) error {
				return WriteCenterlines(w, r)
			})
		}},
		{"cities/baltimore/streets/intersections.csv.gz", true, func(w io.Writer) error {
			return withFile(filepath.Join(data, "baltimore-streets/named_intersections.csv"), func(r io.Reader) error {
				return WriteIntersections(w, r)
			})
		}},
		{"ingest/geocode/testdata/cases_trace.csv", false, func(w io.Writer) error {
			return withFile(filepath.Join(data, "baltimore-shootings-trace-buzzfeed/baltimore-case-addresses.csv"), func(r io.Reader) error {
				return WriteCases(w, r, true, "location_address", "lng", "lat")
			})
		}},
		{"ingest/geocode/testdata/cases_bpd_part1.csv", false, func(w io.Writer) error {
			for i, f := range []string{"BPD_Part1_2018_jan_jul_shootings_homicides.csv", "BPD_Part1_2020_jan_nov_homicides.csv"} {
				err := withFile(filepath.Join(data, "baltimore-bpd-part1-samples", f), func(r io.Reader) error {
					return WriteCases(w, r, i == 0, "Location", "Longitude", "Latitude")
				})
				if err != nil {
					return err
				}
			}
			return nil
		}},
	}
	for _, j := range jobs {
		if err := writeOut(filepath.Join(repo, j.dst), j.gz, j.gen); err != nil {
			return fmt.Errorf("streetgen: %s: %w", j.dst, err)
		}
		slog.Info("wrote", slog.String("file", j.dst))
	}
	return nil
}

func withFile(path string, fn func(io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open source: %w", err)
	}
	defer f.Close()
	return fn(f)
}

// writeOut writes through an optional gzip layer with a zero header, so the
// output depends only on the input and reruns give identical bytes.
func writeOut(path string, gz bool, gen func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("mkdir: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	var w io.Writer = f
	var zw *gzip.Writer
	if gz {
		zw, _ = gzip.NewWriterLevel(f, gzip.BestCompression)
		w = zw
	}
	if err := gen(w); err != nil {
		f.Close()
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			f.Close()
			return fmt.Errorf("gzip: %w", err)
		}
	}
	return f.Close()
}

// CenterlineHeader is the column list of the trimmed centerline file.
var CenterlineHeader = []string{"id", "dirpre", "feanme", "featype", "dirsuf",
	"fraddl", "toaddl", "fraddr", "toaddr", "fraddla", "toaddla", "fraddra", "toaddra", "block_num", "geometry"}

type feature struct {
	Properties map[string]any `json:"properties"`
	Geometry   struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
}

// WriteCenterlines trims the DOT centerline GeoJSON to the columns the
// geocoder reads. id is the feature's position in the source, so a bundled row
// can always be traced back. geometry is "lon lat;lon lat…", parts of a
// MultiLineString separated by "|", coordinates rounded to 6 decimals.
func WriteCenterlines(w io.Writer, r io.Reader) error {
	var fc struct {
		Features []feature `json:"features"`
	}
	if err := json.NewDecoder(r).Decode(&fc); err != nil {
		return fmt.Errorf("decode geojson: %w", err)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(CenterlineHeader); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	for i, f := range fc.Features {
		geom, err := encodeGeometry(f.Geometry.Type, f.Geometry.Coordinates)
		if err != nil {
			return fmt.Errorf("feature %d: %w", i, err)
		}
		row := []string{strconv.Itoa(i)}
		for _, k := range CenterlineHeader[1 : len(CenterlineHeader)-1] {
			row = append(row, propString(f.Properties[k]))
		}
		row = append(row, geom)
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write row: %w", err)
		}
	}
	cw.Flush()
	return cw.Error()
}

// propString renders a GeoJSON property; JSON null becomes an empty cell.
func propString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

func encodeGeometry(typ string, raw json.RawMessage) (string, error) {
	var parts [][][]float64
	switch typ {
	case "LineString":
		var line [][]float64
		if err := json.Unmarshal(raw, &line); err != nil {
			return "", fmt.Errorf("linestring: %w", err)
		}
		parts = [][][]float64{line}
	case "MultiLineString":
		if err := json.Unmarshal(raw, &parts); err != nil {
			return "", fmt.Errorf("multilinestring: %w", err)
		}
	default:
		return "", fmt.Errorf("unsupported geometry %q", typ)
	}
	var b strings.Builder
	for pi, part := range parts {
		if pi > 0 {
			b.WriteByte('|')
		}
		for i, c := range part {
			if len(c) < 2 {
				return "", fmt.Errorf("short coordinate %v", c)
			}
			if i > 0 {
				b.WriteByte(';')
			}
			b.WriteString(coord(c[0]))
			b.WriteByte(' ')
			b.WriteString(coord(c[1]))
		}
	}
	return b.String(), nil
}

func coord(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
}

// WriteIntersections copies the named intersection list (id, name, lon, lat)
// with coordinates rounded to 6 decimals.
func WriteIntersections(w io.Writer, r io.Reader) error {
	return copyColumns(w, r, []string{"id", "name", "lon", "lat"}, []string{"id", "name", "lon", "lat"}, true, nil)
}

// WriteCases copies an address column and a coordinate pair into the
// address,lon,lat case format, dropping rows without coordinates. header is
// false when appending a second source to the same list.
func WriteCases(w io.Writer, r io.Reader, header bool, addrCol, lonCol, latCol string) error {
	skip := func(row []string) bool { return row[0] == "" || row[1] == "" || row[2] == "" }
	return copyColumns(w, r, []string{addrCol, lonCol, latCol}, []string{"address", "lon", "lat"}, header, skip)
}

// copyColumns writes the named source columns under a new header (written
// only when writeHeader is set), rounding lon/lat columns to 6 decimals.
func copyColumns(w io.Writer, r io.Reader, cols, header []string, writeHeader bool, skip func([]string) bool) error {
	cr := csv.NewReader(stripBOM(r))
	src, err := cr.Read()
	if err != nil {
		return fmt.Errorf("read header: %w", err)
	}
	idx := make([]int, len(cols))
	for i, c := range cols {
		idx[i] = -1
		for j, h := range src {
			if h == c {
				idx[i] = j
			}
		}
		if idx[i] < 0 {
			return fmt.Errorf("column %q missing", c)
		}
	}
	cw := csv.NewWriter(w)
	if writeHeader {
		if err := cw.Write(header); err != nil {
			return fmt.Errorf("write header: %w", err)
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		out := make([]string, len(idx))
		for i, j := range idx {
			out[i] = strings.TrimSpace(rec[j])
		}
		for i := range out {
			if header[i] == "lon" || header[i] == "lat" {
				if out[i] == "" {
					continue
				}
				v, err := strconv.ParseFloat(out[i], 64)
				if err != nil {
					return fmt.Errorf("coordinate %q: %w", out[i], err)
				}
				out[i] = coord(v)
			}
		}
		if skip != nil && skip(out) {
			continue
		}
		if err := cw.Write(out); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	cw.Flush()
	return cw.Error()
}

func stripBOM(r io.Reader) io.Reader {
	buf := make([]byte, 3)
	n, _ := io.ReadFull(r, buf)
	if n == 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF {
		return r
	}
	return io.MultiReader(strings.NewReader(string(buf[:n])), r)
}

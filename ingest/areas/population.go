package areas

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"

	"hotspots/cities"
	"hotspots/geo"
)

// readPopulation sets Population and PopulationYear of the areas from the
// configured table. Rows are matched by name through a NameIndex, so a
// table may use another publisher's spelling. A row naming no area is an
// error (a silently dropped denominator would inflate rates); an area
// without a row keeps a nil Population: unknown, never zero.
func readPopulation(fsys fs.FS, cfg cities.PopulationConfig, areas []geo.Area) error {
	b, err := readFile(fsys, cfg.File)
	if err != nil {
		return err
	}
	r := csv.NewReader(bytes.NewReader(b))
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: header: %w", cfg.File, err)
	}
	col := func(name string) (int, error) {
		if i := slices.Index(header, name); i >= 0 {
			return i, nil
		}
		return -1, fmt.Errorf("%s: no column %q", cfg.File, name)
	}
	nameCol, err1 := col(cfg.NameColumn)
	valCol, err2 := col(cfg.ValueColumn)
	filterCol := -1
	var err3 error
	if cfg.FilterColumn != "" {
		filterCol, err3 = col(cfg.FilterColumn)
	}
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	idx := NewNameIndex(areas)
	byCode := map[string]int{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("%s: %w", cfg.File, err)
		}
		if filterCol >= 0 && rec[filterCol] != cfg.FilterValue {
			continue
		}
		code, ok := idx.Resolve(rec[nameCol])
		if !ok {
			return fmt.Errorf("%s line %d: %q matches no single area", cfg.File, line, rec[nameCol])
		}
		if _, dup := byCode[code]; dup {
			return fmt.Errorf("%s line %d: second row for area %q", cfg.File, line, code)
		}
		n, err := parseCount(rec[valCol])
		if err != nil {
			return fmt.Errorf("%s line %d: %w", cfg.File, line, err)
		}
		byCode[code] = n
	}
	for i := range areas {
		if n, ok := byCode[areas[i].Code]; ok {
			areas[i].Population = &n
			areas[i].PopulationYear = cfg.Year
		}
	}
	return nil
}

// parseCount parses a head count written as an integer or as a float with
// a zero fraction ("889.000000", as shapefile exports write them).
func parseCount(s string) (int, error) {
	s = strings.TrimSpace(s)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("population %q: %w", s, err)
	}
	if f < 0 || math.Abs(f-math.Round(f)) > 1e-6 || f > math.MaxInt32 {
		return 0, fmt.Errorf("population %q: not a non-negative whole number", s)
	}
	return int(math.Round(f)), nil
}

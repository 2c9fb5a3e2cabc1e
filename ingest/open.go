package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	"hotspots/cities"
	"hotspots/geo"
)

// RunOptions are Options plus what Run needs to open its input.
type RunOptions struct {
	Options
	// ProgressOut receives a progress bar (terminal) or progress log lines;
	// nil: no progress.
	ProgressOut io.Writer
	// Fetcher gets URLs; nil: a Fetcher with defaults.
	Fetcher *Fetcher
}

// Run loads one input through one mapping: the entry point of `hotspots
// ingest`. mappingPath is a file path, or a path inside the city folder
// ("mappings/bpd-part1-2018.yaml"); input is a file path, a path inside the
// city folder ("sample/…"), or a URL. ArcGIS and Socrata mappings may leave
// input empty to pull their configured URL in full.
func Run(ctx context.Context, st geo.Store, city *cities.City, mappingPath, input string, opts RunOptions) (Summary, error) {
	m, err := OpenMapping(city, mappingPath)
	if err != nil {
		return Summary{}, err
	}
	if opts.Logger != nil && opts.Fetcher == nil {
		opts.Fetcher = &Fetcher{Logger: opts.Logger}
	}
	feed, size, closeFn, err := OpenFeed(ctx, city, m, input, opts.Fetcher)
	if err != nil {
		return Summary{}, err
	}
	defer closeFn()
	if opts.ProgressOut != nil {
		p := NewProgress(opts.ProgressOut, m.ID, size, opts.Logger)
		defer p.Finish()
		opts.Progress = p.Rows
		if size > 0 {
			feed = progressFeed(feed, p)
		}
	}
	return Load(ctx, st, city, m, feed, opts.Options)
}

// OpenMapping reads a mapping from a file, or from the city folder when no
// such file exists.
func OpenMapping(city *cities.City, name string) (*Mapping, error) {
	if st, err := os.Stat(name); err == nil && !st.IsDir() {
		return LoadMapping(os.DirFS(filepath.Dir(name)), filepath.Base(name))
	}
	if city != nil && city.FS != nil {
		return LoadMapping(city.FS, path.Clean(name))
	}
	return nil, fmt.Errorf("mapping %s: %w", name, fs.ErrNotExist)
}

// CityMappings loads every mapping the city lists under sources.
func CityMappings(city *cities.City) ([]*Mapping, error) {
	var out []*Mapping
	for _, s := range city.Sources {
		m, err := LoadMapping(city.FS, s)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// sizedFeed is a file or fetched body: it carries the input size to the
// progress wrapper and counts the bytes it reads, to estimate its rows.
type sizedFeed struct {
	open func() (io.ReadCloser, error)
	make func(io.Reader) Feed
	pr   *Progress
	size int64         // bytes; -1 or 0 when unknown
	read *atomic.Int64 // bytes read so far
}

func (s *sizedFeed) Each(ctx context.Context, fn func(Record) error) error {
	rc, err := s.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	var r io.Reader = rc
	if s.read != nil {
		s.read.Store(0)
		r = &byteCounter{r: r, n: s.read}
	}
	if s.pr != nil {
		r = s.pr.Reader(r)
	}
	return s.make(r).Each(ctx, fn)
}

// estimateMinBytes is how much of an input is read before its rows are
// estimated: the readers buffer up to 128 KB ahead of the rows handed out,
// so after 1 MB the estimate is at most about an eighth too low. Smaller
// inputs are never estimated; they hold too few rows for it to matter.
const estimateMinBytes = 1 << 20

// estimateRows estimates the input's total rows from rows, the rows read
// so far, and the share of the input they took; 0 when it cannot tell yet.
// Compressed inputs are measured in compressed bytes on both sides.
func (s *sizedFeed) estimateRows(rows int) int {
	if s.size <= 0 || s.read == nil || rows <= 0 {
		return 0
	}
	n := s.read.Load()
	if n < estimateMinBytes {
		return 0
	}
	return int(float64(rows) * float64(s.size) / float64(n))
}

// byteCounter counts the bytes read through it.
type byteCounter struct {
	r io.Reader
	n *atomic.Int64
}

func (c *byteCounter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// rowEstimator is a feed that can estimate its total rows from the rows
// read so far (0: not yet).
type rowEstimator interface {
	estimateRows(rows int) int
}

func progressFeed(f Feed, p *Progress) Feed {
	if sf, ok := f.(*sizedFeed); ok {
		c := *sf
		c.pr = p
		return &c
	}
	if jf, ok := f.(*joined); ok {
		c := *jf
		c.base = progressFeed(jf.base, p)
		return &c
	}
	return f
}

// joined is a Feed with a join, kept as a type so progress can wrap its
// base feed.
type joined struct {
	base  Feed
	j     *JoinConfig
	other Feed
}

func (j *joined) Each(ctx context.Context, fn func(Record) error) error {
	return joinedFeed(j.base, j.j, j.other).Each(ctx, fn)
}

// estimateRows estimates the base feed's rows, which the join does not
// change in number.
func (j *joined) estimateRows(rows int) int {
	if e, ok := j.base.(rowEstimator); ok {
		return e.estimateRows(rows)
	}
	return 0
}

// OpenFeed opens input for mapping m: a URL (fetched with retries), a file,
// or a file inside the city folder. It returns the feed, the input size
// in bytes (-1 when unknown) and a function releasing resources.
func OpenFeed(ctx context.Context, city *cities.City, m *Mapping, input string, f *Fetcher) (Feed, int64, func(), error) {
	noop := func() {}
	if f == nil {
		f = &Fetcher{}
	}
	if input == "" && m.Poll != nil {
		input = m.Poll.URL
	}
	if input == "" {
		return nil, 0, noop, fmt.Errorf("ingest %s: no input given and the mapping has no poll url", m.ID)
	}
	isURL := strings.HasPrefix(input, "http://") || strings.HasPrefix(input, "https://")
	switch m.Format {
	case FormatArcGIS, FormatSocrata:
		if !isURL {
			return nil, 0, noop, fmt.Errorf("ingest %s: %s input must be a URL, got %q", m.ID, m.Format, input)
		}
		return RemoteFeed(m, f, input, ""), -1, noop, nil
	case FormatPush:
		return nil, 0, noop, fmt.Errorf("ingest %s: push sources receive data through the API", m.ID)
	}
	mk := CSVFeed
	if m.Format == FormatGeoJSON {
		mk = GeoJSONFeed
	}
	var (
		open func() (io.ReadCloser, error)
		size int64 = -1
		fsys fs.FS
		dir  string
	)
	switch {
	case isURL:
		open = func() (io.ReadCloser, error) {
			b, err := f.Get(ctx, input)
			if err != nil {
				return nil, err
			}
			return io.NopCloser(bytes.NewReader(b)), nil
		}
	default:
		fsys, dir, size = resolveFile(city, input)
		if fsys == nil {
			return nil, 0, noop, fmt.Errorf("ingest %s: input %s: %w", m.ID, input, fs.ErrNotExist)
		}
		name := path.Join(dir, path.Base(filepath.ToSlash(input)))
		open = func() (io.ReadCloser, error) { return fsys.Open(name) }
	}
	var feed Feed = &sizedFeed{open: open, make: mk, size: size, read: new(atomic.Int64)}
	if m.Join != nil {
		if isURL {
			return nil, 0, noop, errors.New("ingest " + m.ID + ": joins need file inputs")
		}
		jname := path.Join(dir, m.Join.File)
		other := &sizedFeed{open: func() (io.ReadCloser, error) { return fsys.Open(jname) }, make: CSVFeed}
		feed = &joined{base: feed, j: m.Join, other: other}
	}
	return feed, size, noop, nil
}

// resolveFile finds input on disk or in the city folder and returns the
// file system and folder holding it.
func resolveFile(city *cities.City, input string) (fs.FS, string, int64) {
	if st, err := os.Stat(input); err == nil && !st.IsDir() {
		abs, err := filepath.Abs(input)
		if err != nil {
			return nil, "", 0
		}
		return os.DirFS(filepath.Dir(abs)), ".", st.Size()
	}
	if city == nil || city.FS == nil {
		return nil, "", 0
	}
	name := path.Clean(filepath.ToSlash(input))
	st, err := fs.Stat(city.FS, name)
	if err != nil || st.IsDir() {
		return nil, "", 0
	}
	return city.FS, path.Dir(name), st.Size()
}

// RemoteFeed builds the paged feed of an ArcGIS or Socrata mapping from
// since (a watermark; "" for everything).
func RemoteFeed(m *Mapping, f *Fetcher, u, since string) Feed {
	var pc PollConfig
	if m.Poll != nil {
		pc = *m.Poll
	}
	if m.Format == FormatArcGIS {
		return ArcGISFeed(f, ArcGISQuery{LayerURL: u, Where: pc.Where, SinceField: pc.Since, Since: since, PageSize: pc.PageSize})
	}
	return SocrataFeed(f, SocrataQuery{ResourceURL: u, Where: pc.Where, SinceField: pc.Since, Since: since, PageSize: pc.PageSize})
}

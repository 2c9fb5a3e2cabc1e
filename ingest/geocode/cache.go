package geocode

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// Cache stores geocode results by key. Re-running an ingest, or re-processing
// quarantine, asks for the same addresses again; a cache makes that free and
// keeps rate-limited services within their quotas.
type Cache interface {
	// Get returns the cached result for key.
	Get(key string) (Result, bool)
	// Put stores r under key.
	Put(key string, r Result) error
}

// FileCache is a Cache persisted as an append-only JSON-lines file, loaded
// into memory on open. Appends survive a crash up to the last complete
// line; a torn final line is skipped on the next open. Later lines win, so
// re-geocoding an address simply appends its new result.
type FileCache struct {
	mu   sync.Mutex
	path string
	f    *os.File
	w    *bufio.Writer
	m    map[string]Result
	log  *slog.Logger
}

type cacheLine struct {
	Key    string `json:"k"`
	Result Result `json:"r"`
}

// OpenFileCache opens (creating if needed) the cache file at path.
func OpenFileCache(path string, log *slog.Logger) (*FileCache, error) {
	if log == nil {
		log = slog.Default()
	}
	c := &FileCache{path: path, m: map[string]Result{}, log: log}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("geocode: read cache: %w", err)
	}
	for n, line := range bytes.Split(data, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var cl cacheLine
		if err := json.Unmarshal(line, &cl); err != nil {
			log.Warn("geocode_cache_bad_line", slog.String("path", path), slog.Int("line", n+1), slog.Any("error", err))
			continue
		}
		c.m[cl.Key] = cl.Result
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("geocode: open cache: %w", err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		// Terminate a torn line so the next append starts cleanly.
		if _, err := f.Write([]byte{'\n'}); err != nil {
			f.Close()
			return nil, fmt.Errorf("geocode: repair cache: %w", err)
		}
	}
	c.f, c.w = f, bufio.NewWriter(f)
	return c, nil
}

// Len reports how many keys the cache holds.
func (c *FileCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// Get returns the cached result for key.
func (c *FileCache) Get(key string) (Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[key]
	return r, ok
}

// Put stores r and appends it to the file buffer; Flush or Close writes it out.
func (c *FileCache) Put(key string, r Result) error {
	line, err := json.Marshal(cacheLine{Key: key, Result: r})
	if err != nil {
		return fmt.Errorf("geocode: encode cache line: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == nil {
		return errors.New("geocode: cache is closed")
	}
	c.m[key] = r
	if _, err := c.w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("geocode: write cache: %w", err)
	}
	return nil
}

// Flush writes buffered entries to the file.
func (c *FileCache) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == nil {
		return nil
	}
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("geocode: flush cache: %w", err)
	}
	return nil
}

// Close flushes and closes the file.
func (c *FileCache) Close() error {
	if err := c.Flush(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return nil
	}
	err := c.f.Close()
	c.f, c.w = nil, nil
	if err != nil {
		return fmt.Errorf("geocode: close cache: %w", err)
	}
	return nil
}

// Cached wraps a Geocoder with a Cache. Keys are the namespace plus the
// normalised address, so `1200 N Milton Ave.` and `1200 N MILTON AV` share
// an entry, and results from different geocoders never mix. Errors are not
// cached; unmatched and ambiguous results are, since they are answers.
type Cached struct {
	g         Geocoder
	c         Cache
	namespace string
	log       *slog.Logger
}

// NewCached wraps g; namespace names the geocoder and its configuration
// (e.g. "census:Public_AR_Current").
func NewCached(g Geocoder, c Cache, namespace string, log *slog.Logger) *Cached {
	if log == nil {
		log = slog.Default()
	}
	return &Cached{g: g, c: c, namespace: namespace, log: log}
}

func (c *Cached) key(address string) string {
	return c.namespace + "|" + NormalizeAddress(address)
}

// Geocode answers from the cache or asks the wrapped geocoder and stores
// the answer.
func (c *Cached) Geocode(ctx context.Context, address string) (Result, error) {
	k := c.key(address)
	if r, ok := c.c.Get(k); ok {
		return r, nil
	}
	r, err := c.g.Geocode(ctx, address)
	if err != nil {
		return Result{}, err
	}
	c.put(k, r)
	return r, nil
}

// put stores a result; a failing cache must not lose a paid-for answer, so
// the failure is logged and the result still returned.
func (c *Cached) put(k string, r Result) {
	if err := c.c.Put(k, r); err != nil {
		c.log.Warn("geocode_cache_put_failed", slog.String("key", k), slog.Any("error", err))
	}
}

// GeocodeBatch sends only the distinct uncached addresses to the wrapped
// geocoder, in one batch.
func (c *Cached) GeocodeBatch(ctx context.Context, addresses []string) ([]Result, error) {
	out := make([]Result, len(addresses))
	keys := make([]string, len(addresses))
	missIdx := map[string][]int{}
	var misses []string
	for i, a := range addresses {
		keys[i] = c.key(a)
		if r, ok := c.c.Get(keys[i]); ok {
			out[i] = r
			continue
		}
		if _, dup := missIdx[keys[i]]; !dup {
			misses = append(misses, a)
		}
		missIdx[keys[i]] = append(missIdx[keys[i]], i)
	}
	if len(misses) == 0 {
		return out, nil
	}
	rs, err := c.g.GeocodeBatch(ctx, misses)
	if err != nil {
		return nil, err
	}
	for j, a := range misses {
		k := c.key(a)
		c.put(k, rs[j])
		for _, i := range missIdx[k] {
			out[i] = rs[j]
		}
	}
	return out, nil
}

package tiles

import (
	"container/list"
	"sync"
)

// Cache is a byte-budgeted LRU of encoded tiles. Keys carry the data
// version, so new data never serves an old tile; Purge drops the old
// generation at once instead of waiting for it to age out.
type Cache struct {
	mu    sync.Mutex
	max   int
	size  int
	ll    *list.List
	items map[string]*list.Element
}

type cacheEntry struct {
	key  string
	tile *Tile
}

// NewCache returns a cache holding at most maxBytes of tiles; 0 disables it.
func NewCache(maxBytes int) *Cache {
	return &Cache{max: maxBytes, ll: list.New(), items: map[string]*list.Element{}}
}

// Get returns the cached tile for key. The key is bytes so a hit costs
// no allocation (the map lookup does not copy it).
func (c *Cache) Get(key []byte) (*Tile, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[string(key)]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*cacheEntry).tile, true
	}
	return nil, false
}

// putKey is Put with the key in bytes, converted only when the tile is
// kept (a tile request builds its key in a stack buffer).
func (c *Cache) putKey(key []byte, t *Tile) {
	if c.keeps(t) {
		c.Put(string(key), t)
	}
}

// keeps reports whether Put stores t: the cache is on and t takes at most
// a quarter of its budget.
func (c *Cache) keeps(t *Tile) bool { return c.max > 0 && t.Size() <= c.max/4 }

// Put stores a tile, evicting the least recently used beyond the budget.
func (c *Cache) Put(key string, t *Tile) {
	if !c.keeps(t) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.size -= e.Value.(*cacheEntry).tile.Size()
		e.Value.(*cacheEntry).tile = t
		c.size += t.Size()
		c.ll.MoveToFront(e)
	} else {
		c.items[key] = c.ll.PushFront(&cacheEntry{key: key, tile: t})
		c.size += t.Size()
	}
	for c.size > c.max {
		e := c.ll.Back()
		ce := e.Value.(*cacheEntry)
		c.ll.Remove(e)
		delete(c.items, ce.key)
		c.size -= ce.tile.Size()
	}
}

// Purge empties the cache.
func (c *Cache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ll.Init()
	clear(c.items)
	c.size = 0
}

// Len is the number of cached tiles.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

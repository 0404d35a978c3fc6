package personal

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Defaults of a Cache.
const (
	// DefaultCacheTTL bounds how long a node keeps using a key another node destroyed: a
	// live key is asked again after it. A TTL rather than a tombstone check on every use,
	// because the check is a round trip to the key store per event read (a rebuild reads
	// millions), while a TTL costs one query per subject per TTL and still makes an erasure
	// on one node take effect on all of them within seconds. A destroy made through the
	// Cache itself takes effect at once on its own node.
	DefaultCacheTTL = 2 * time.Second
	// DefaultCacheEntries bounds the memory: 100,000 keys are about 10 MB.
	DefaultCacheEntries = 100_000
)

// Cache is a Keys that remembers the answers of another, bounded in size and in time. A
// destroyed key (a tombstone is forever) is remembered until evicted; a live key or an
// absent one for DefaultCacheTTL.
type Cache struct {
	inner Keys
	ttl   time.Duration
	max   int
	now   func() time.Time

	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
	floor   string // periods before it are known destroyed
}

type cacheKey struct {
	period bool
	name   string
}

type cacheEntry struct {
	key     []byte
	err     error // ErrDestroyed or ErrNoKey
	expires time.Time
}

// CacheOption configures a Cache.
type CacheOption func(*Cache)

// WithTTL sets how long a live or absent key is remembered (DefaultCacheTTL).
func WithTTL(d time.Duration) CacheOption { return func(c *Cache) { c.ttl = d } }

// WithMaxEntries bounds how many keys are remembered (DefaultCacheEntries).
func WithMaxEntries(n int) CacheOption { return func(c *Cache) { c.max = max(n, 1) } }

// WithCacheClock sets the clock the TTL is measured by (tests).
func WithCacheClock(now func() time.Time) CacheOption { return func(c *Cache) { c.now = now } }

// NewCache caches inner's answers.
func NewCache(inner Keys, opts ...CacheOption) *Cache {
	c := &Cache{inner: inner, ttl: DefaultCacheTTL, max: DefaultCacheEntries, now: time.Now, entries: map[cacheKey]cacheEntry{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

var _ Keys = (*Cache)(nil)

// Unwrap returns the cached store.
func (c *Cache) Unwrap() Keys { return c.inner }

func (c *Cache) SubjectKey(ctx context.Context, subject string, create bool) ([]byte, error) {
	return c.get(ctx, cacheKey{name: subject}, create)
}

func (c *Cache) PeriodKey(ctx context.Context, month string, create bool) ([]byte, error) {
	c.mu.Lock()
	below := month < c.floor
	c.mu.Unlock()
	if below {
		return nil, ErrDestroyed
	}
	return c.get(ctx, cacheKey{period: true, name: month}, create)
}

func (c *Cache) get(ctx context.Context, k cacheKey, create bool) ([]byte, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok {
		switch {
		case errors.Is(e.err, ErrDestroyed):
			return nil, e.err
		case now.Before(e.expires) && (e.err == nil || !create):
			return e.key, e.err
		}
	}
	var key []byte
	var err error
	if k.period {
		key, err = c.inner.PeriodKey(ctx, k.name, create)
	} else {
		key, err = c.inner.SubjectKey(ctx, k.name, create)
	}
	if err == nil || errors.Is(err, ErrDestroyed) || errors.Is(err, ErrNoKey) {
		c.put(k, cacheEntry{key: key, err: err, expires: now.Add(c.ttl)})
	}
	return key, err
}

func (c *Cache) put(k cacheKey, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, present := c.entries[k]; !present && len(c.entries) >= c.max {
		for victim := range c.entries { // the map's iteration order: an arbitrary victim
			delete(c.entries, victim)
			break
		}
	}
	c.entries[k] = e
}

func (c *Cache) DestroySubject(ctx context.Context, subject string) error {
	if err := c.inner.DestroySubject(ctx, subject); err != nil {
		return err
	}
	c.put(cacheKey{name: subject}, cacheEntry{err: ErrDestroyed})
	return nil
}

func (c *Cache) DestroyPeriodsBefore(ctx context.Context, month string) (int, error) {
	n, err := c.inner.DestroyPeriodsBefore(ctx, month)
	if err != nil {
		return n, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.floor = max(c.floor, month)
	for k := range c.entries {
		if k.period && k.name < month {
			delete(c.entries, k)
		}
	}
	return n, nil
}

// Close closes the cached store.
func (c *Cache) Close() error { return c.inner.Close() }

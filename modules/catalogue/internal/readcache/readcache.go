// Package readcache remembers the catalogue's recent answers to reads:
// the catalogue service keeps one in front of its database, and a process
// that reaches the catalogue over HTTP may keep one in front of its client.
package readcache

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/bazaar-shop/bazaar/modules/catalogue"
)

// Cache remembers the catalogue's recent answers to reads for up to ttl: a
// shop's catalogue is read far more often than it is written, and a read
// from memory costs a fraction of one from the database, and far less than
// one over the network.
//
// The writes made through the holder of a Cache clear what they change at
// once (Forget), so one catalogue process (the monolith, or a lone
// catalogue service) never answers with a stale product. Every other
// holder — catalogue replicas on one database, a gateway in front of them
// — learns of the writes made elsewhere from the catalogue's count of
// changes: a read looks at it first whenever checkEvery has passed since
// the last look, and everything is dropped when it has moved. So a read
// that starts checkEvery after a write committed, through any replica,
// answers as the write left the product; ttl is only the backstop for a
// change made behind the count's back. A read for a caller that has seen
// a later count than the last look's (Vouches) looks at once.
//
// A nil *Cache remembers nothing.
type Cache struct {
	ttl      time.Duration
	now      func() time.Time
	products *lru.Cache[string, entry[catalogue.Product]]
	pages    *lru.Cache[PageKey, entry[catalogue.Page]]

	// changes reads the count of changes. Between looks, a read from
	// memory pays one atomic load (nextCheck) for them. One read looks at
	// a time (holding looking); the others due wait for its answer rather
	// than answer from what it may be about to drop.
	changes    func(context.Context) (int64, error)
	checkEvery time.Duration
	nextCheck  atomic.Int64 // Unix nanoseconds; 0: look before the first read
	looking    chan struct{}
	seen       int64        // the count at the last look, while holding looking
	seenOK     bool         // whether seen holds it: false before the first look and after a failed one
	vouched    atomic.Int64 // seen once the look is done, for current; -1 when not seenOK

	// A read that raced a write may have fetched the row as it was before
	// the write. version counts writes; an answer is remembered only if no
	// write began since its read did, and mu makes that check and the
	// remembering one step that a write's forget cannot split.
	mu      sync.Mutex
	version uint64
}

// PageKey is the query of a cached page, as List checks it: its limit
// given (never 0) and its q trimmed. A query by IDs is not one: it is
// answered from the products.
type PageKey struct {
	Limit     int
	Cursor, Q string
}

type entry[V any] struct {
	value V
	until time.Time
}

// Sizes bound the memory the cache takes: about 1 KiB a product, and a
// page holds at most catalogue.MaxLimit products.
const (
	cachedProducts = 10_000
	cachedPages    = 500
)

// New returns a cache of answers kept for up to ttl, which looks at the
// count of changes (changes) at most every checkEvery (0: before every
// read). A ttl of 0 turns it off: New returns nil.
func New(ttl, checkEvery time.Duration, now func() time.Time, changes func(context.Context) (int64, error)) *Cache {
	if ttl <= 0 {
		return nil
	}
	products, _ := lru.New[string, entry[catalogue.Product]](cachedProducts) // errs only on size <= 0
	pages, _ := lru.New[PageKey, entry[catalogue.Page]](cachedPages)
	r := &Cache{ttl: ttl, now: now, products: products, pages: pages,
		changes: changes, checkEvery: checkEvery, looking: make(chan struct{}, 1)}
	r.vouched.Store(-1) // nothing is vouched for before the first look
	return r
}

// check drops everything remembered if the catalogue changed, through any
// replica, since the last look at the count of changes; it looks at most
// every checkEvery, or at once when the last look saw fewer changes than
// the read is owed (seen; anyCount owes none). When the count cannot be
// read, what is remembered can no longer be vouched for: it is dropped
// too, and the read goes on to the database, which answers for itself. It
// reports whether the read may answer from memory: not when ctx ends while
// it waits for another look.
func (r *Cache) check(ctx context.Context, now time.Time, seen int64) bool {
	if now.UnixNano() < r.nextCheck.Load() && r.vouched.Load() >= seen {
		return true
	}
	select {
	case r.looking <- struct{}{}:
		defer func() { <-r.looking }()
	case <-ctx.Done():
		return false
	}
	// The look starts now: a change committed before it is seen by it.
	start := r.now()
	if start.UnixNano() < r.nextCheck.Load() && r.vouched.Load() >= seen {
		return true // another read looked, later than this one became due
	}
	n, err := r.changes(ctx)
	// The first look drops too: a fresh read, which does not look, may
	// have read the database before a change this look is the first to see.
	if err != nil || !r.seenOK || n != r.seen {
		r.Drop()
	}
	r.seen, r.seenOK = n, err == nil
	if err != nil {
		n = -1
	}
	r.vouched.Store(n)
	// Set only now, after the drop: until then, reads due wait above.
	r.nextCheck.Store(start.Add(r.checkEvery).UnixNano())
	return true
}

// anyCount is what a read owes when its caller says nothing of what it
// has seen: what the last look vouched for, or nothing, will do.
const anyCount = math.MinInt64

// Vouches reports whether what is remembered holds every change numbered
// up to seen (a count of changes a caller has seen, web.CatalogueSeen),
// looking at the count now when the last look saw fewer. A read for such
// a caller may then answer from memory: it holds that caller's own writes.
func (r *Cache) Vouches(ctx context.Context, seen int64) bool {
	return r != nil && r.check(ctx, r.now(), seen) && r.vouched.Load() >= seen
}

// Current reports whether what is remembered is exact now: the count of
// changes, read now, is the one the last look saw, so nothing was written
// through any replica since. A fresh read asks it rather than reading
// every product it wants: one row instead of many.
func (r *Cache) Current(ctx context.Context) bool {
	if r == nil {
		return false
	}
	if !r.check(ctx, r.now(), anyCount) {
		return false
	}
	vouched := r.vouched.Load()
	if vouched < 0 {
		return false
	}
	n, err := r.changes(ctx)
	return err == nil && n == vouched
}

// Drop forgets everything; a read that began before is not remembered.
func (r *Cache) Drop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.version++
	r.products.Purge()
	r.pages.Purge()
}

// Begin is called before reading what the cache stands in front of; the
// version it returns goes to the Remember methods.
func (r *Cache) Begin() uint64 {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.version
}

// Product is the product id as remembered, if it is.
func (r *Cache) Product(ctx context.Context, id string) (catalogue.Product, bool) {
	if r == nil {
		return catalogue.Product{}, false
	}
	if now := r.now(); r.check(ctx, now, anyCount) {
		return fresh(r.products, id, now)
	}
	return catalogue.Product{}, false
}

// Page is the page q as remembered, if it is. Its Data is shared: the
// caller clones it before handing it on.
func (r *Cache) Page(ctx context.Context, q PageKey) (catalogue.Page, bool) {
	if r == nil {
		return catalogue.Page{}, false
	}
	if now := r.now(); r.check(ctx, now, anyCount) {
		return fresh(r.pages, q, now)
	}
	return catalogue.Page{}, false
}

// RememberProduct keeps p, read since Begin returned version, unless a
// write came between.
func (r *Cache) RememberProduct(version uint64, p catalogue.Product) {
	if r != nil {
		remember(r, r.products, version, p.ID, p)
	}
}

// RememberProducts is RememberProduct for each product of one read.
func (r *Cache) RememberProducts(version uint64, ps []catalogue.Product) {
	for _, p := range ps {
		r.RememberProduct(version, p)
	}
}

// RememberPage keeps page q as RememberProduct keeps a product; page is
// the cache's from then on.
func (r *Cache) RememberPage(version uint64, q PageKey, page catalogue.Page) {
	if r != nil {
		remember(r, r.pages, version, q, page)
	}
}

// Forget is called after a write of product id (of none, "", for a
// create): that product and every page (any of which may list it) are read
// again. A read that began before is not remembered.
func (r *Cache) Forget(id string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.version++
	r.products.Remove(id)
	r.pages.Purge()
}

func fresh[K comparable, V any](c *lru.Cache[K, entry[V]], key K, now time.Time) (V, bool) {
	e, ok := c.Get(key)
	if !ok || !now.Before(e.until) {
		var zero V
		return zero, false
	}
	return e.value, true
}

func remember[K comparable, V any](r *Cache, c *lru.Cache[K, entry[V]], version uint64, key K, value V) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if version == r.version {
		c.Add(key, entry[V]{value: value, until: r.now().Add(r.ttl)})
	}
}

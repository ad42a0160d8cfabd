package service

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/bazaar-shop/bazaar/modules/catalogue"
)

// reads remembers the catalogue's recent answers to reads for up to ttl: a
// shop's catalogue is read far more often than it is written, and a read
// from memory costs a fraction of one from the database.
//
// This process's own writes clear what they change at once, so one
// catalogue process (the monolith, or a lone catalogue service) never
// answers with a stale product. Several catalogue replicas on one database
// do not hear of each other's writes: one may answer with a product changed
// through another for up to ttl.
//
// A nil *reads remembers nothing.
type reads struct {
	ttl      time.Duration
	now      func() time.Time
	products *lru.Cache[string, entry[catalogue.Product]]
	pages    *lru.Cache[pageKey, entry[catalogue.Page]]

	// A read that raced a write may have fetched the row as it was before
	// the write. version counts writes; an answer is remembered only if no
	// write began since its read did, and mu makes that check and the
	// remembering one step that a write's forget cannot split.
	mu      sync.Mutex
	version uint64
}

// pageKey is the query of a cached page. A query by IDs is not one: it is
// answered from the products.
type pageKey struct {
	limit     int
	cursor, q string
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

func newReads(ttl time.Duration, now func() time.Time) *reads {
	if ttl <= 0 {
		return nil
	}
	products, _ := lru.New[string, entry[catalogue.Product]](cachedProducts) // errs only on size <= 0
	pages, _ := lru.New[pageKey, entry[catalogue.Page]](cachedPages)
	return &reads{ttl: ttl, now: now, products: products, pages: pages}
}

// begin is called before reading the database; the version it returns
// goes to remember.
func (r *reads) begin() uint64 {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.version
}

func (r *reads) product(id string) (catalogue.Product, bool) {
	if r == nil {
		return catalogue.Product{}, false
	}
	return fresh(r.products, id, r.now())
}

func (r *reads) page(q pageKey) (catalogue.Page, bool) {
	if r == nil {
		return catalogue.Page{}, false
	}
	return fresh(r.pages, q, r.now())
}

func (r *reads) rememberProduct(version uint64, p catalogue.Product) {
	if r != nil {
		remember(r, r.products, version, p.ID, p)
	}
}

// rememberProducts is rememberProduct for each product of one read.
func (r *reads) rememberProducts(version uint64, ps []catalogue.Product) {
	for _, p := range ps {
		r.rememberProduct(version, p)
	}
}

func (r *reads) rememberPage(version uint64, q pageKey, page catalogue.Page) {
	if r != nil {
		remember(r, r.pages, version, q, page)
	}
}

// forget is called after a write of product id: that product and every
// page (any of which may list it) are read again.
func (r *reads) forget(id string) {
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

func remember[K comparable, V any](r *reads, c *lru.Cache[K, entry[V]], version uint64, key K, value V) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if version == r.version {
		c.Add(key, entry[V]{value: value, until: r.now().Add(r.ttl)})
	}
}

package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/catalogue/internal/readcache"
)

// Client is catalogue.Service over HTTP, for processes that do not host the
// catalogue. Reads and replaces may be retried; a create or a delete is sent
// again only if it never left this process.
type Client struct {
	m     *remote.Module
	cache *readcache.Cache // nil: every read crosses to the catalogue

	// forSeen: the cache answers only callers that say what they have seen
	// (WithSeenCache); else it answers every read, and keeps the count of
	// changes its callers may have seen (Seen).
	forSeen    bool
	learned    atomic.Int64 // the highest count read after a write through c
	doubtUntil atomic.Int64 // Unix nanoseconds: until then, Seen cannot say
	checkEvery time.Duration
	now        func() time.Time
}

var _ catalogue.Service = (*Client)(nil)

// NewClient returns a client of the catalogue at m.
func NewClient(m *remote.Module) *Client { return &Client{m: m} }

// WithCache makes the client answer a product, and a page of products,
// from memory for up to ttl, as the catalogue itself does (see readcache):
// its own writes, and those it is told of (Written), clear what they
// change at once; a write made elsewhere is seen by a read that starts
// checkEvery after it, when the client asks the catalogue for its count of
// changes (InternalRoutes). A query by IDs, or a fresh one, always crosses.
// A ttl of 0 turns it off.
//
// It is the cache of a gateway, which answers the public product reads
// itself: it also keeps what its callers may have seen (Seen), for the
// processes it passes their other requests to.
func (c *Client) WithCache(ttl, checkEvery time.Duration, now func() time.Time) *Client {
	c.cache = readcache.New(ttl, checkEvery, now, c.changes)
	c.checkEvery, c.now = checkEvery, now
	// Writes forwarded before this process started are held by every
	// cache that has looked since: checkEvery from now, all of them.
	c.doubtUntil.Store(now().Add(checkEvery).UnixNano())
	return c
}

// WithSeenCache is WithCache for a module that reads the catalogue on its
// callers' behalf (inventory asks whether a product is sold): the cache
// answers only a caller that says how many changes it has seen
// (web.CatalogueSeen, stamped by the gateway), and only once it holds every
// one of them, looking at the count at once if it must. So a product
// deleted through the gateway is unknown to the caller's next request,
// as in one process; a caller that says nothing is answered by the
// catalogue every time.
func (c *Client) WithSeenCache(ttl, checkEvery time.Duration, now func() time.Time) *Client {
	c.cache = readcache.New(ttl, checkEvery, now, c.changes)
	c.forSeen = true
	return c
}

// Seen is a count of the catalogue's changes that holds every write a
// caller of this process made through c, a gateway's client (WithCache):
// each is answered only once c has read a count that holds it (Written).
// It cannot say (false) for checkEvery after c starts, or after it failed
// to read the count that holds a write: by then every cache that looks
// each checkEvery holds that write anyway.
func (c *Client) Seen() (int64, bool) {
	if c == nil || c.cache == nil || c.forSeen || c.now().UnixNano() < c.doubtUntil.Load() {
		return 0, false
	}
	return c.learned.Load(), true
}

// Written tells the client's cache that product id was written around the
// client — by a request forwarded to the catalogue — or, with an empty id,
// that a product was created: what the write may have changed is read
// again, and a gateway's client reads the count of changes that holds the
// write (Seen). Call it once the write is answered, even when it failed.
func (c *Client) Written(ctx context.Context, id string) {
	if c.cache == nil {
		return
	}
	c.cache.Forget(id)
	if c.forSeen {
		return
	}
	n, err := c.changes(ctx)
	if err != nil {
		c.doubtUntil.Store(c.now().Add(c.checkEvery).UnixNano())
		return
	}
	for old := c.learned.Load(); n > old; old = c.learned.Load() {
		if c.learned.CompareAndSwap(old, n) {
			break
		}
	}
}

// cached reports whether a read for the caller of ctx may be answered from
// the cache.
func (c *Client) cached(ctx context.Context) bool {
	if !c.forSeen {
		return c.cache != nil
	}
	seen, ok := web.CatalogueSeen(ctx)
	return ok && c.cache.Vouches(ctx, seen)
}

// ForwardedRoutes is the catalogue's public API in a process that reaches
// the catalogue through c, a client with a cache: the reads are answered
// here, through c, by the handlers the catalogue serves them with; the
// writes are forwarded, with their Idempotency-Keys, to the catalogue that
// keeps those keys, and clear what they changed from c's cache before
// their answer is passed on.
func ForwardedRoutes(c *Client) []web.Route {
	written := func(g *gin.Context) { c.Written(g.Request.Context(), g.Param("id")) } // "" for a create
	routes := Routes(c)
	for i, rt := range routes {
		if rt.Method != http.MethodGet {
			routes[i].Handler = c.m.ForwardWrite(written)
		}
	}
	return routes
}

// changes asks the catalogue for its count of changes.
func (c *Client) changes(ctx context.Context) (int64, error) {
	var out Changes
	err := c.m.Call(ctx, http.MethodGet, changesPath, nil, &out, true, known)
	return out.Changes, err
}

// known turns the catalogue's problem codes back into its errors.
var known = errs.Index(catalogue.Errors...)

// Create adds a product.
func (c *Client) Create(ctx context.Context, in catalogue.ProductInput) (catalogue.Product, error) {
	var p catalogue.Product
	err := c.m.Call(ctx, http.MethodPost, productsPath, in, &p, false, known)
	c.Written(ctx, "") // even after an error: whether the write happened is not always known
	return p, err
}

// Get returns a live product.
func (c *Client) Get(ctx context.Context, id string) (catalogue.Product, error) {
	var p catalogue.Product
	if !remote.Segment(id) {
		return p, catalogue.ErrNotFound
	}
	if c.cached(ctx) {
		if p, ok := c.cache.Product(ctx, id); ok {
			return p, nil
		}
	}
	version := c.cache.Begin()
	if err := c.m.Call(ctx, http.MethodGet, web.Path(productPath, id), nil, &p, true, known); err != nil {
		return p, err
	}
	c.cache.RememberProduct(version, p)
	return p, nil
}

// List returns a page of live products. A fresh query asks with
// Cache-Control: no-cache, which the catalogue answers from its database.
func (c *Client) List(ctx context.Context, q catalogue.ListQuery) (catalogue.Page, error) {
	v := url.Values{}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	if len(q.IDs) > 0 {
		v.Set("ids", joinIDs(q.IDs))
	}
	var page catalogue.Page
	path := productsPath + "?" + v.Encode()
	if q.Fresh {
		return page, c.getFresh(ctx, path, &page)
	}
	if len(q.IDs) > 0 {
		err := c.m.Call(ctx, http.MethodGet, path, nil, &page, true, known)
		return page, err
	}
	// The key is the query as the catalogue reads it. A query it refuses
	// (a limit out of range, a cursor it never gave) is never remembered,
	// so it is sent, and refused, every time.
	key := readcache.PageKey{Limit: q.Limit, Cursor: q.Cursor, Q: strings.TrimSpace(q.Q)}
	if key.Limit == 0 {
		key.Limit = catalogue.DefaultLimit
	}
	if c.cached(ctx) {
		if kept, ok := c.cache.Page(ctx, key); ok {
			kept.Data = slices.Clone(kept.Data) // the caller's to change
			return kept, nil
		}
	}
	version := c.cache.Begin()
	if err := c.m.Call(ctx, http.MethodGet, path, nil, &page, true, known); err != nil {
		return page, err
	}
	if c.cache != nil {
		c.cache.RememberPage(version, key, catalogue.Page{Data: slices.Clone(page.Data), NextCursor: page.NextCursor})
	}
	return page, nil
}

// getFresh is the GET that Call makes, with Cache-Control: no-cache.
func (c *Client) getFresh(ctx context.Context, path string, out any) error {
	r := remote.Request{
		Method: http.MethodGet, Path: path, Repeatable: true, AsService: true,
		Header: []remote.Header{{Name: "Cache-Control", Value: "no-cache"}},
	}
	_, err := c.m.Do(ctx, r, nil, out, known)
	return err
}

// Update replaces the editable fields of a live product.
func (c *Client) Update(ctx context.Context, id string, in catalogue.ProductInput) (catalogue.Product, error) {
	var p catalogue.Product
	if !remote.Segment(id) {
		return p, catalogue.ErrNotFound
	}
	err := c.m.Call(ctx, http.MethodPut, web.Path(productPath, id), in, &p, true, known)
	c.Written(ctx, id)
	return p, err
}

// Delete removes a product from sale.
func (c *Client) Delete(ctx context.Context, id string) error {
	if !remote.Segment(id) {
		return catalogue.ErrNotFound
	}
	err := c.m.Call(ctx, http.MethodDelete, web.Path(productPath, id), nil, nil, false, known)
	c.Written(ctx, id)
	return err
}

// joinIDs puts ids on the wire, separated by commas. No product id holds a
// comma, so an id that does is sent as another id that names no product:
// the answer, and any validation error, is the same as the service's.
func joinIDs(ids []string) string {
	wire := make([]string, len(ids))
	for i, id := range ids {
		wire[i] = id
		if strings.Contains(id, ",") {
			wire[i] = "-"
		}
	}
	return strings.Join(wire, ",")
}

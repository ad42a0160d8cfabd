package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
)

// Client is catalogue.Service over HTTP, for processes that do not host the
// catalogue. Reads and replaces may be retried; a create or a delete is sent
// again only if it never left this process.
type Client struct{ m *remote.Module }

var _ catalogue.Service = (*Client)(nil)

// NewClient returns a client of the catalogue at m.
func NewClient(m *remote.Module) *Client { return &Client{m: m} }

// known turns the catalogue's problem codes back into its errors.
var known = errs.Index(catalogue.Errors...)

// Create adds a product.
func (c *Client) Create(ctx context.Context, in catalogue.ProductInput) (catalogue.Product, error) {
	var p catalogue.Product
	err := c.m.Call(ctx, http.MethodPost, productsPath, in, &p, false, known)
	return p, err
}

// Get returns a live product.
func (c *Client) Get(ctx context.Context, id string) (catalogue.Product, error) {
	var p catalogue.Product
	if !remote.Segment(id) {
		return p, catalogue.ErrNotFound
	}
	err := c.m.Call(ctx, http.MethodGet, web.Path(productPath, id), nil, &p, true, known)
	return p, err
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
	err := c.m.Call(ctx, http.MethodGet, path, nil, &page, true, known)
	return page, err
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
	return p, err
}

// Delete removes a product from sale.
func (c *Client) Delete(ctx context.Context, id string) error {
	if !remote.Segment(id) {
		return catalogue.ErrNotFound
	}
	return c.m.Call(ctx, http.MethodDelete, web.Path(productPath, id), nil, nil, false, known)
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

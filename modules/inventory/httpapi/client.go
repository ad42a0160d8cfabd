package httpapi

import (
	"context"
	"net/http"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/inventory"
)

// Client is inventory.Service over HTTP, for processes that do not host
// the inventory. Every reservation call is idempotent by its id, so all of
// them may be retried; Adjust is not, and is sent again only if it never
// left this process.
type Client struct{ m *remote.Module }

var _ inventory.Service = (*Client)(nil)

// NewClient returns a client of the inventory at m.
func NewClient(m *remote.Module) *Client { return &Client{m: m} }

// known turns the inventory's problem codes back into its errors.
var known = errs.Index(inventory.Errors...)

// Get returns the stock of a product.
func (c *Client) Get(ctx context.Context, productID string) (inventory.Level, error) {
	var lvl inventory.Level
	if !remote.Segment(productID) {
		return lvl, inventory.ErrProductNotFound
	}
	err := c.m.Call(ctx, http.MethodGet, web.Path(levelPath, productID), nil, &lvl, true, known)
	return lvl, err
}

// Set sets the units on hand; setting the same level twice is harmless, so
// it may be retried.
func (c *Client) Set(ctx context.Context, productID string, onHand int64) (inventory.Level, error) {
	var lvl inventory.Level
	if !remote.Segment(productID) {
		return lvl, inventory.ErrProductNotFound
	}
	err := c.m.Call(ctx, http.MethodPut, web.Path(levelPath, productID), SetRequest{OnHand: &onHand}, &lvl, true, known)
	return lvl, err
}

// Adjust changes the units on hand by delta.
func (c *Client) Adjust(ctx context.Context, productID string, delta int64, reason string) (inventory.Level, error) {
	var lvl inventory.Level
	if !remote.Segment(productID) {
		return lvl, inventory.ErrProductNotFound
	}
	err := c.m.Call(ctx, http.MethodPost, web.Path(adjustmentsPath, productID), AdjustRequest{Delta: delta, Reason: reason}, &lvl, false, known)
	return lvl, err
}

// Reserve holds every line or none.
func (c *Client) Reserve(ctx context.Context, id string, lines []inventory.Line) (inventory.Reservation, error) {
	var r inventory.Reservation
	err := c.m.Call(ctx, http.MethodPost, reservationsPath, ReserveRequest{ID: id, Lines: lines}, &r, true, known)
	return r, err
}

func (c *Client) settle(ctx context.Context, id, path string) error {
	if !remote.Segment(id) {
		if path == releasePath {
			return nil // releasing what was never reserved is a no-op
		}
		return inventory.ErrReservationNotFound
	}
	return c.m.Call(ctx, http.MethodPost, web.Path(path, id), nil, nil, true, known)
}

// Commit turns held units into sold ones.
func (c *Client) Commit(ctx context.Context, id string) error { return c.settle(ctx, id, commitPath) }

// Release gives held units back.
func (c *Client) Release(ctx context.Context, id string) error { return c.settle(ctx, id, releasePath) }

// Restock returns the units of a committed reservation to the shelf.
func (c *Client) Restock(ctx context.Context, id string) error { return c.settle(ctx, id, restockPath) }

package httpapi

import (
	"context"
	"net/http"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/webhooks"
)

// Client is webhooks.Service over HTTP, for processes that do not host the
// webhooks. Publish is idempotent by event id, so it may be retried;
// Register is not, and is sent again only if it never left this process.
type Client struct{ m *remote.Module }

var _ webhooks.Service = (*Client)(nil)

// NewClient returns a client of the webhooks at m.
func NewClient(m *remote.Module) *Client { return &Client{m: m} }

// known turns the webhooks' problem codes back into their errors.
var known = errs.Index(webhooks.Errors...)

// Register adds an endpoint.
func (c *Client) Register(ctx context.Context, u string, events []string) (webhooks.Endpoint, error) {
	var e webhooks.Endpoint
	err := c.m.Call(ctx, http.MethodPost, endpointsPath, RegisterRequest{URL: u, Events: events}, &e, false, known)
	return e, err
}

// List returns the live endpoints.
func (c *Client) List(ctx context.Context) ([]webhooks.Endpoint, error) {
	var out List[webhooks.Endpoint]
	err := c.m.Call(ctx, http.MethodGet, endpointsPath, nil, &out, true, known)
	return out.Data, err
}

// Delete removes an endpoint; deleting it again is not found.
func (c *Client) Delete(ctx context.Context, id string) error {
	if !remote.Segment(id) {
		return webhooks.ErrNotFound
	}
	return c.m.Call(ctx, http.MethodDelete, web.Path(endpointPath, id), nil, nil, true, known)
}

// Deliveries returns an endpoint's latest deliveries.
func (c *Client) Deliveries(ctx context.Context, endpointID string) ([]webhooks.Delivery, error) {
	var out List[webhooks.Delivery]
	if !remote.Segment(endpointID) {
		return nil, webhooks.ErrNotFound
	}
	err := c.m.Call(ctx, http.MethodGet, web.Path(deliveriesPath, endpointID), nil, &out, true, known)
	return out.Data, err
}

// Retry sends a delivery again as soon as possible.
func (c *Client) Retry(ctx context.Context, endpointID, deliveryID string) (webhooks.Delivery, error) {
	var d webhooks.Delivery
	if !remote.Segment(endpointID) || !remote.Segment(deliveryID) {
		return d, webhooks.ErrNotFound
	}
	path := web.Path(retryPath, endpointID, deliveryID)
	err := c.m.Call(ctx, http.MethodPost, path, nil, &d, true, known)
	return d, err
}

// Publish hands on events of an outbox.
func (c *Client) Publish(ctx context.Context, events []webhooks.Event) error {
	return c.m.Call(ctx, http.MethodPost, publishPath, PublishRequest{Events: events}, nil, true, known)
}

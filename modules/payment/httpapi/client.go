package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

// Client is payment.Service over HTTP. A checkout is sent again only if it
// never left this process; reads and refunds (idempotent by design) may be
// retried.
type Client struct{ m *remote.Module }

var _ payment.Service = (*Client)(nil)

// NewClient returns a client of the payment module at m.
func NewClient(m *remote.Module) *Client { return &Client{m: m} }

// known turns the payment module's problem codes back into contract errors.
var known = errs.Index(payment.Errors...)

// Checkout runs a purchase. A failure that names a payment comes back as a
// *payment.CheckoutError, as it does in-process.
func (c *Client) Checkout(ctx context.Context, req payment.CheckoutRequest) (payment.Payment, error) {
	var p payment.Payment
	var err error
	if req.IdempotencyKey != "" {
		// With a key, the checkout may be sent again: it happens once.
		// Hashed: the caller's key may be longer than a header key may be.
		sum := sha256.Sum256([]byte(req.IdempotencyKey))
		p.Replayed, err = c.m.CallWithKey(ctx, http.MethodPost, paymentsPath, hex.EncodeToString(sum[:]), req, &p, known)
	} else {
		err = c.m.Call(ctx, http.MethodPost, paymentsPath, req, &p, false, known)
	}
	var pe *remote.ProblemError
	if errors.As(err, &pe) && pe.Extension("payment_id") != "" {
		cause, decline := error(pe), pe.Extension("decline_code")
		if decline != "" {
			cause = &payment.Decline{Code: decline}
		}
		return payment.Payment{}, &payment.CheckoutError{PaymentID: pe.Extension("payment_id"), DeclineCode: decline,
			Err: cause, Replayed: p.Replayed}
	}
	if err != nil {
		return payment.Payment{}, err
	}
	return p, nil
}

// Get returns a payment.
func (c *Client) Get(ctx context.Context, id string) (payment.Payment, error) {
	var p payment.Payment
	if !remote.Segment(id) {
		return p, payment.ErrNotFound
	}
	err := c.m.Call(ctx, http.MethodGet, web.Path(paymentPath, id), nil, &p, true, known)
	return p, err
}

// List returns payments, newest first.
func (c *Client) List(ctx context.Context, q payment.ListQuery) (payment.Page, error) {
	v := url.Values{}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Status != "" {
		v.Set("status", string(q.Status))
	}
	var page payment.Page
	err := c.m.Call(ctx, http.MethodGet, paymentsPath+"?"+v.Encode(), nil, &page, true, known)
	return page, err
}

// Refund gives the money and the stock back.
func (c *Client) Refund(ctx context.Context, id string) (payment.Payment, error) {
	var p payment.Payment
	if !remote.Segment(id) {
		return p, payment.ErrNotFound
	}
	err := c.m.Call(ctx, http.MethodPost, web.Path(refundPath, id), nil, &p, true, known)
	return p, err
}

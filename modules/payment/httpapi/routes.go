// Package httpapi is the payment contract on the wire: the handlers that
// serve a payment.Service over HTTP. openapi/openapi.yaml describes it.
package httpapi

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/idempotency"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

// Routes is the payment module's public API.
// A process that does not host the module serves the same table by
// The payment module's paths, served by Routes and called by the Client.
const (
	paymentsPath = "/v1/payments"
	paymentPath  = "/v1/payments/:id"
	refundPath   = "/v1/payments/:id/refund"
)

// forwarding it.
func Routes(svc payment.Service) []web.Route {
	return []web.Route{
		// The checkout keeps its Idempotency-Key itself (see checkout).
		{Method: "POST", Path: paymentsPath, Access: web.Storefront, Handler: checkout(svc)},
		{Method: "GET", Path: paymentsPath, Access: web.Admin, Handler: list(svc)},
		{Method: "GET", Path: paymentPath, Access: web.Storefront, Handler: get(svc)},
		{Method: "POST", Path: refundPath, Access: web.Admin, Handler: refund(svc), Idempotent: true},
	}
}

// checkout honours an Idempotency-Key as every idempotent route does, but
// not through the shared idempotency records: the payment is the key's
// record (payment.CheckoutRequest.IdempotencyKey), so a checkout writes no
// record of its own and a repeat's answer is rebuilt from the payment.
func checkout(svc payment.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		key := c.GetHeader(idempotency.Header)
		if key != "" && !idempotency.ValidKey(key) {
			web.Error(c, idempotency.ErrBadKey)
			return
		}
		var req payment.CheckoutRequest
		if err := web.Decode(c, &req); err != nil {
			web.Error(c, err)
			return
		}
		if key != "" {
			req.IdempotencyKey = web.Principal(c) + " " + key
		}
		req.Owner = web.Principal(c)
		p, err := svc.Checkout(c.Request.Context(), req)
		var failed *payment.CheckoutError
		if p.Replayed || errors.As(err, &failed) && failed.Replayed {
			c.Header(idempotency.ReplayedHeader, "true")
		}
		if err != nil {
			if errors.Is(err, payment.ErrIdempotencyKeyInUse) {
				c.Header("Retry-After", "1")
			}
			web.Error(c, err)
			return
		}
		c.Header("Location", web.Path(paymentPath, p.ID))
		c.JSON(http.StatusCreated, p)
	}
}

// get answers a storefront key only with the payments it made: another
// key's payment is not found, as if it did not exist. Admins and peers
// read every payment.
func get(svc payment.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, err := svc.Get(c.Request.Context(), c.Param("id"))
		caller := web.CallerOf(c)
		if err == nil && caller.Role == "storefront" && p.Owner != caller.Principal() {
			err = payment.ErrNotFound
		}
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, p)
	}
}

func list(svc payment.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		limit, err := web.QueryLimit(c, payment.DefaultLimit, payment.MaxLimit)
		if err != nil {
			web.Error(c, err)
			return
		}
		q := payment.ListQuery{Limit: limit, Cursor: c.Query("cursor")}
		if raw := c.Query("status"); raw != "" {
			st, ok := payment.ParseStatus(raw)
			if !ok {
				web.Error(c, errs.InvalidField("status", "must be pending, succeeded, failed or refunded"))
				return
			}
			q.Status = st
		}
		page, err := svc.List(c.Request.Context(), q)
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, page)
	}
}

func refund(svc payment.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, err := svc.Refund(c.Request.Context(), c.Param("id"))
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, p)
	}
}

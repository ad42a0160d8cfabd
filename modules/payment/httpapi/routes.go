// Package httpapi is the payment contract on the wire: the handlers that
// serve a payment.Service over HTTP. openapi/openapi.yaml describes it.
package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/auth"
	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

// Routes registers the payment module's public API.
func Routes(r gin.IRouter, svc payment.Service, guard auth.Guard) {
	shop := guard.Require(auth.Storefront)
	admin := guard.Require(auth.Admin)
	r.POST("/v1/payments", shop, checkout(svc))
	r.GET("/v1/payments", admin, list(svc))
	r.GET("/v1/payments/:id", shop, get(svc))
	r.POST("/v1/payments/:id/refund", admin, refund(svc))
}

func checkout(svc payment.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req payment.CheckoutRequest
		if err := web.Decode(c, &req); err != nil {
			web.Error(c, err)
			return
		}
		p, err := svc.Checkout(c.Request.Context(), req)
		if err != nil {
			web.Error(c, err)
			return
		}
		c.Header("Location", "/v1/payments/"+p.ID)
		c.JSON(http.StatusCreated, p)
	}
}

func get(svc payment.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, err := svc.Get(c.Request.Context(), c.Param("id"))
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
				web.Error(c, errs.Invalid("status", "must be pending, succeeded, failed or refunded"))
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

// Package httpapi is the inventory contract on the wire: the handlers that
// serve an inventory.Service over HTTP. openapi/openapi.yaml describes it.
package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/inventory"
)

// Routes is the inventory's public API.
// A process that does not host the module serves the same table by
// The inventory's paths, served by Routes and InternalRoutes and called by
// the Client.
const (
	levelPath        = "/v1/inventory/:product_id"
	adjustmentsPath  = "/v1/inventory/:product_id/adjustments"
	reservationsPath = "/internal/v1/reservations"
	commitPath       = "/internal/v1/reservations/:id/commit"
	releasePath      = "/internal/v1/reservations/:id/release"
	restockPath      = "/internal/v1/reservations/:id/restock"
)

// forwarding it.
func Routes(svc inventory.Service) []web.Route {
	return []web.Route{
		{Method: "GET", Path: levelPath, Access: web.Storefront, Handler: get(svc)},
		{Method: "PUT", Path: levelPath, Access: web.Admin, Handler: set(svc), Idempotent: true},
		{Method: "POST", Path: adjustmentsPath, Access: web.Admin, Handler: adjust(svc), Idempotent: true},
	}
}

func get(svc inventory.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		lvl, err := svc.Get(c.Request.Context(), c.Param("product_id"))
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, lvl)
	}
}

// SetRequest is the body of PUT /v1/inventory/{product_id}. A pointer tells
// a missing on_hand from zero.
type SetRequest struct {
	OnHand *int64 `json:"on_hand"`
}

func set(svc inventory.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in SetRequest
		if err := web.Decode(c, &in); err != nil {
			web.Error(c, err)
			return
		}
		if in.OnHand == nil {
			web.Error(c, errs.InvalidField("on_hand", "is required"))
			return
		}
		lvl, err := svc.Set(c.Request.Context(), c.Param("product_id"), *in.OnHand)
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, lvl)
	}
}

// AdjustRequest is the body of POST /v1/inventory/{product_id}/adjustments.
type AdjustRequest struct {
	Delta  int64  `json:"delta"`
	Reason string `json:"reason"`
}

func adjust(svc inventory.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in AdjustRequest
		if err := web.Decode(c, &in); err != nil {
			web.Error(c, err)
			return
		}
		lvl, err := svc.Adjust(c.Request.Context(), c.Param("product_id"), in.Delta, in.Reason)
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, lvl)
	}
}

package httpapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/inventory"
)

// InternalRoutes are the calls other modules make and the public API does
// not offer: reserving stock for a checkout and settling the reservation.
// They need the service token, and a gateway never forwards them.
func InternalRoutes(svc inventory.Service) []web.Route {
	return []web.Route{
		{Method: "POST", Path: reservationsPath, Access: web.Internal, Handler: reserve(svc)},
		{Method: "POST", Path: commitPath, Access: web.Internal, Handler: settle(svc.Commit)},
		{Method: "POST", Path: releasePath, Access: web.Internal, Handler: settle(svc.Release)},
		{Method: "POST", Path: restockPath, Access: web.Internal, Handler: settle(svc.Restock)},
	}
}

// ReserveRequest is the body of POST /internal/v1/reservations.
type ReserveRequest struct {
	ID    string           `json:"id"`
	Lines []inventory.Line `json:"lines"`
}

func reserve(svc inventory.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in ReserveRequest
		if err := web.Decode(c, &in); err != nil {
			web.Error(c, err)
			return
		}
		r, err := svc.Reserve(c.Request.Context(), in.ID, in.Lines)
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, r)
	}
}

func settle(step func(ctx context.Context, id string) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := step(c.Request.Context(), c.Param("id")); err != nil {
			web.Error(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

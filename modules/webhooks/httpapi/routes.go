// Package httpapi is the webhooks contract on the wire: the routes that
// serve a webhooks.Service over HTTP, and the Client that implements it for
// processes that do not host the module.
package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/webhooks"
)

// Routes is the webhooks API, for admins. A process that does not host the
// The webhooks' paths, served by Routes and called by the Client.
const (
	endpointsPath  = "/v1/webhooks"
	endpointPath   = "/v1/webhooks/:id"
	deliveriesPath = "/v1/webhooks/:id/deliveries"
	retryPath      = "/v1/webhooks/:id/deliveries/:delivery_id/retry"
)

// module serves the same table by forwarding it.
func Routes(svc webhooks.Service) []web.Route {
	return []web.Route{
		{Method: "POST", Path: endpointsPath, Access: web.Admin, Handler: register(svc)},
		{Method: "GET", Path: endpointsPath, Access: web.Admin, Handler: list(svc)},
		{Method: "DELETE", Path: endpointPath, Access: web.Admin, Handler: remove(svc)},
		{Method: "GET", Path: deliveriesPath, Access: web.Admin, Handler: deliveries(svc)},
		{Method: "POST", Path: retryPath, Access: web.Admin, Handler: retry(svc)},
	}
}

// publishPath is where modules hand on the events of their outboxes.
const publishPath = "/internal/v1/events"

// InternalRoutes is what other modules call: the relay of their outboxes.
func InternalRoutes(svc webhooks.Service) []web.Route {
	return []web.Route{{Method: "POST", Path: publishPath, Access: web.Internal, Handler: publish(svc)}}
}

// RegisterRequest is the body of POST /v1/webhooks.
type RegisterRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// PublishRequest is the body of POST /internal/v1/events.
type PublishRequest struct {
	Events []webhooks.Event `json:"events"`
}

// List is the body of a list answer.
type List[T any] struct {
	Data []T `json:"data"`
}

func register(svc webhooks.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in RegisterRequest
		if err := web.Decode(c, &in); err != nil {
			web.Error(c, err)
			return
		}
		e, err := svc.Register(c.Request.Context(), in.URL, in.Events)
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusCreated, e)
	}
}

func list(svc webhooks.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		endpoints, err := svc.List(c.Request.Context())
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, List[webhooks.Endpoint]{Data: endpoints})
	}
}

func remove(svc webhooks.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := svc.Delete(c.Request.Context(), c.Param("id")); err != nil {
			web.Error(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

func deliveries(svc webhooks.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		list, err := svc.Deliveries(c.Request.Context(), c.Param("id"))
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, List[webhooks.Delivery]{Data: list})
	}
}

func retry(svc webhooks.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		d, err := svc.Retry(c.Request.Context(), c.Param("id"), c.Param("delivery_id"))
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusAccepted, d)
	}
}

func publish(svc webhooks.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in PublishRequest
		if err := web.Decode(c, &in); err != nil {
			web.Error(c, err)
			return
		}
		if err := svc.Publish(c.Request.Context(), in.Events); err != nil {
			web.Error(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

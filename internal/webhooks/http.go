package webhooks

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/web"
)

// Routes is the webhooks API, for admins. Every process serves it: the
// endpoints live in a database all processes share.
func (s *Service) Routes() []web.Route {
	return []web.Route{
		{Method: "POST", Path: "/v1/webhooks", Access: web.Admin, Handler: s.register},
		{Method: "GET", Path: "/v1/webhooks", Access: web.Admin, Handler: s.list},
		{Method: "DELETE", Path: "/v1/webhooks/:id", Access: web.Admin, Handler: s.remove},
		{Method: "GET", Path: "/v1/webhooks/:id/deliveries", Access: web.Admin, Handler: s.deliveries},
		{Method: "POST", Path: "/v1/webhooks/:id/deliveries/:delivery_id/retry", Access: web.Admin, Handler: s.retry},
	}
}

// RegisterRequest is the body of POST /v1/webhooks.
type RegisterRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

func (s *Service) register(c *gin.Context) {
	var in RegisterRequest
	if err := web.Decode(c, &in); err != nil {
		web.Error(c, err)
		return
	}
	e, err := s.Register(c.Request.Context(), in.URL, in.Events)
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusCreated, e)
}

func (s *Service) list(c *gin.Context) {
	list, err := s.List(c.Request.Context())
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"data": list})
}

func (s *Service) remove(c *gin.Context) {
	if err := s.Delete(c.Request.Context(), c.Param("id")); err != nil {
		web.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Service) deliveries(c *gin.Context) {
	list, err := s.Deliveries(c.Request.Context(), c.Param("id"))
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"data": list})
}

func (s *Service) retry(c *gin.Context) {
	d, err := s.Retry(c.Request.Context(), c.Param("id"), c.Param("delivery_id"))
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusAccepted, d)
}

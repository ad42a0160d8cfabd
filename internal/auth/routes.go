package auth

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/web"
)

// Key list limits.
const (
	defaultKeyLimit = 20
	maxKeyLimit     = 100
)

// Routes is the API-key endpoints. Only an edge serves them: the keys live
// in its database, shared by every edge replica of a layout.
func (k *Keys) Routes() []web.Route {
	return []web.Route{
		{Method: "POST", Path: "/v1/api-keys", Access: web.Admin, Handler: k.create},
		{Method: "GET", Path: "/v1/api-keys", Access: web.Admin, Handler: k.list},
		{Method: "DELETE", Path: "/v1/api-keys/:id", Access: web.Admin, Handler: k.revoke},
	}
}

func (k *Keys) create(c *gin.Context) {
	var in struct {
		Role string `json:"role"`
	}
	if err := web.Decode(c, &in); err != nil {
		web.Error(c, err)
		return
	}
	role, err := ParseRole(in.Role)
	if err != nil {
		web.Error(c, err)
		return
	}
	key, err := k.Create(c.Request.Context(), role)
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusCreated, key)
}

func (k *Keys) list(c *gin.Context) {
	limit, err := web.QueryLimit(c, defaultKeyLimit, maxKeyLimit)
	if err != nil {
		web.Error(c, err)
		return
	}
	page, err := k.List(c.Request.Context(), limit, c.Query("cursor"))
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func (k *Keys) revoke(c *gin.Context) {
	if err := k.Revoke(c.Request.Context(), c.Param("id")); err != nil {
		web.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

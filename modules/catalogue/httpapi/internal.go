package httpapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/web"
)

// changesPath is served by InternalRoutes and called by a Client with a
// cache.
const changesPath = "/internal/v1/catalogue/changes"

// Changes is the answer of GET /internal/v1/catalogue/changes.
type Changes struct {
	// Changes is the count of changes ever made to the catalogue: it moves
	// with every create, update and delete, through any replica.
	Changes int64 `json:"changes"`
}

// InternalRoutes are what other processes ask of the catalogue and the
// public API does not offer: its count of changes, which tells a process
// that keeps a cache of the catalogue's answers when to drop it. They need
// the service token, and a gateway never forwards them.
func InternalRoutes(changes func(context.Context) (int64, error)) []web.Route {
	return []web.Route{
		{Method: http.MethodGet, Path: changesPath, Access: web.Internal, Handler: func(c *gin.Context) {
			n, err := changes(c.Request.Context())
			if err != nil {
				web.Error(c, err)
				return
			}
			c.JSON(http.StatusOK, Changes{Changes: n})
		}},
	}
}

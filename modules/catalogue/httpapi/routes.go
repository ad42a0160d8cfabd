// Package httpapi is the catalogue contract on the wire: the handlers that
// serve a catalogue.Service over HTTP. openapi/openapi.yaml describes it.
package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/auth"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
)

// Routes registers the catalogue's public API. Reads need no key.
func Routes(r gin.IRouter, svc catalogue.Service, guard auth.Guard) {
	admin := guard.Require(auth.Admin)
	r.POST("/v1/products", admin, create(svc))
	r.GET("/v1/products", list(svc))
	r.GET("/v1/products/:id", get(svc))
	r.PUT("/v1/products/:id", admin, update(svc))
	r.DELETE("/v1/products/:id", admin, remove(svc))
}

func create(svc catalogue.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in catalogue.ProductInput
		if err := web.Decode(c, &in); err != nil {
			web.Error(c, err)
			return
		}
		p, err := svc.Create(c.Request.Context(), in)
		if err != nil {
			web.Error(c, err)
			return
		}
		c.Header("Location", "/v1/products/"+p.ID)
		c.JSON(http.StatusCreated, p)
	}
}

func list(svc catalogue.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		limit, err := web.QueryInt(c, "limit", catalogue.DefaultLimit)
		if err != nil {
			web.Error(c, err)
			return
		}
		page, err := svc.List(c.Request.Context(), catalogue.ListQuery{
			Limit: limit, Cursor: c.Query("cursor"), Q: c.Query("q"),
		})
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, page)
	}
}

func get(svc catalogue.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, err := svc.Get(c.Request.Context(), c.Param("id"))
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, p)
	}
}

func update(svc catalogue.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in catalogue.ProductInput
		if err := web.Decode(c, &in); err != nil {
			web.Error(c, err)
			return
		}
		p, err := svc.Update(c.Request.Context(), c.Param("id"), in)
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, p)
	}
}

func remove(svc catalogue.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := svc.Delete(c.Request.Context(), c.Param("id")); err != nil {
			web.Error(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

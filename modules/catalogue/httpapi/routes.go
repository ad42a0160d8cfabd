// Package httpapi is the catalogue contract on the wire: the handlers that
// serve a catalogue.Service over HTTP. openapi/openapi.yaml describes it.
package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
)

// The catalogue's paths, served by Routes and called by the Client.
const (
	productsPath = "/v1/products"
	productPath  = "/v1/products/:id"
)

// Routes is the catalogue's public API. Reads need no key.
// A process that does not host the module serves the same table by
// forwarding it.
func Routes(svc catalogue.Service) []web.Route {
	encoded := newEncodedProducts()
	return []web.Route{
		{Method: "POST", Path: productsPath, Access: web.Admin, Handler: create(svc), Idempotent: true},
		{Method: "GET", Path: productsPath, Access: web.Public, Handler: list(svc, encoded)},
		{Method: "GET", Path: productPath, Access: web.Public, Handler: get(svc, encoded)},
		{Method: "PUT", Path: productPath, Access: web.Admin, Handler: update(svc)},
		{Method: "DELETE", Path: productPath, Access: web.Admin, Handler: remove(svc)},
	}
}

// productBody is the wire form of catalogue.ProductInput. Price is a
// pointer so that a forgotten price is an error, not a free product.
type productBody struct {
	SKU         string `json:"sku"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Price       *int64 `json:"price"`
	Currency    string `json:"currency"`
}

func decodeProduct(c *gin.Context) (catalogue.ProductInput, error) {
	var b productBody
	if err := web.Decode(c, &b); err != nil {
		return catalogue.ProductInput{}, err
	}
	if b.Price == nil {
		return catalogue.ProductInput{}, errs.InvalidField("price", "is required")
	}
	return catalogue.ProductInput{SKU: b.SKU, Name: b.Name, Description: b.Description, Price: *b.Price, Currency: b.Currency}, nil
}

func create(svc catalogue.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		in, err := decodeProduct(c)
		if err != nil {
			web.Error(c, err)
			return
		}
		p, err := svc.Create(c.Request.Context(), in)
		if err != nil {
			web.Error(c, err)
			return
		}
		c.Header("Location", web.Path(productPath, p.ID))
		c.JSON(http.StatusCreated, p)
	}
}

func list(svc catalogue.Service, encoded *encodedProducts) gin.HandlerFunc {
	return func(c *gin.Context) {
		limit, err := web.QueryLimit(c, catalogue.DefaultLimit, catalogue.MaxLimit)
		if err != nil {
			web.Error(c, err)
			return
		}
		page, err := svc.List(c.Request.Context(), catalogue.ListQuery{
			Limit: limit, Cursor: c.Query("cursor"), Q: c.Query("q"), IDs: queryIDs(c),
			Fresh: noCache(c.Request.Header),
		})
		if err != nil {
			web.Error(c, err)
			return
		}
		body, err := encoded.page(page)
		if err != nil {
			web.Error(c, err)
			return
		}
		c.Data(http.StatusOK, jsonContentType, body)
	}
}

// queryIDs reads ids=a,b,c; a repeated ids parameter adds its ids. An
// empty ids= is one empty id, which List refuses, rather than no ids,
// which would list every product.
func queryIDs(c *gin.Context) []string {
	raw, ok := c.GetQueryArray("ids")
	if !ok {
		return nil
	}
	return strings.Split(strings.Join(raw, ","), ",")
}

// noCache reports whether the request carries Cache-Control: no-cache,
// HTTP's own way to ask for an answer the origin has not kept (RFC 9111,
// section 5.2.1.4): a checkout pricing its cart sends it.
func noCache(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		for directive := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(directive, "=")
			if strings.EqualFold(strings.TrimSpace(name), "no-cache") {
				return true
			}
		}
	}
	return false
}

func get(svc catalogue.Service, encoded *encodedProducts) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, err := svc.Get(c.Request.Context(), c.Param("id"))
		if err != nil {
			web.Error(c, err)
			return
		}
		body, err := encoded.body(p)
		if err != nil {
			web.Error(c, err)
			return
		}
		c.Data(http.StatusOK, jsonContentType, body)
	}
}

// jsonContentType is what gin's c.JSON answers with.
const jsonContentType = "application/json; charset=utf-8"

func update(svc catalogue.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		in, err := decodeProduct(c)
		if err != nil {
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

package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/catalogue/httpapi"
)

// lists is a catalogue that records the queries it is asked to list.
type lists struct {
	catalogue.Service
	got []catalogue.ListQuery
}

func (l *lists) List(_ context.Context, q catalogue.ListQuery) (catalogue.Page, error) {
	l.got = append(l.got, q)
	return catalogue.Page{Data: []catalogue.Product{}}, nil
}

// TestListCacheControl: GET /v1/products asks for a fresh list when, and
// only when, the request carries Cache-Control: no-cache, among other
// directives or not, in any case.
func TestListCacheControl(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	svc := &lists{}
	r := gin.New()
	for _, rt := range httpapi.Routes(svc) {
		r.Handle(rt.Method, rt.Path, rt.Handler)
	}
	for header, fresh := range map[string]bool{
		"":                     false,
		"no-cache":             true,
		"No-Cache":             true,
		"max-age=0, no-cache":  true,
		"no-store":             false,
		"max-age=0":            false,
		"no-cache-please-not":  false,
		" no-cache ,max-age=0": true,
	} {
		svc.got = nil
		req := httptest.NewRequest(http.MethodGet, "/v1/products?limit=5", nil)
		if header != "" {
			req.Header.Set("Cache-Control", header)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		require.Equal(t, http.StatusOK, w.Code, header)
		require.Len(t, svc.got, 1, header)
		require.Equal(t, fresh, svc.got[0].Fresh, "Cache-Control: %q", header)
	}
}

// products is a catalogue of one product, which the test changes.
type products struct {
	catalogue.Service
	p catalogue.Product
}

func (s *products) Get(_ context.Context, id string) (catalogue.Product, error) {
	if id != s.p.ID {
		return catalogue.Product{}, catalogue.ErrNotFound
	}
	return s.p, nil
}

// TestGetAnswersTheProductAsItIs: GET /v1/products/{id} answers exactly
// what encoding the product answers, and a product changed since its
// last read is answered changed, though its encoding is kept.
func TestGetAnswersTheProductAsItIs(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	svc := &products{p: catalogue.Product{ID: "prod_1", SKU: "MUG", Name: "Mug <blue>", Price: 1299, Currency: "EUR", CreatedAt: at, UpdatedAt: at}}
	r := gin.New()
	for _, rt := range httpapi.Routes(svc) {
		r.Handle(rt.Method, rt.Path, rt.Handler)
	}
	get := func(id string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/products/"+id, nil))
		return w
	}
	for _, change := range []func(p *catalogue.Product){
		func(*catalogue.Product) {}, // the same product twice: the kept body
		func(*catalogue.Product) {},
		func(p *catalogue.Product) { p.Price = 1499 },
		func(p *catalogue.Product) { p.Name = "Mug, red" },
		func(p *catalogue.Product) { p.UpdatedAt = p.UpdatedAt.Add(time.Second) },
	} {
		change(&svc.p)
		want, err := json.Marshal(svc.p)
		require.NoError(t, err)
		w := get("prod_1")
		require.Equal(t, http.StatusOK, w.Code)
		require.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
		require.JSONEq(t, string(want), w.Body.String())
		require.Equal(t, string(want), w.Body.String(), "byte for byte what c.JSON would write")
	}
	w := get("prod_2")
	require.Equal(t, http.StatusNotFound, w.Code)
	require.Contains(t, w.Body.String(), `"code":"not_found"`)
}

// pages is a catalogue that lists the page it is given.
type pages struct {
	catalogue.Service
	page catalogue.Page
}

func (p *pages) List(context.Context, catalogue.ListQuery) (catalogue.Page, error) {
	return p.page, nil
}

// TestListAnswersThePageAsItIs: GET /v1/products answers byte for byte
// what encoding the page answers, though it is built from the products'
// kept bodies: empty, null, with a cursor, and with a product changed
// between two reads.
func TestListAnswersThePageAsItIs(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	mug := catalogue.Product{ID: "prod_1", SKU: "MUG", Name: "Mug \"blue\" & <co>", Price: 1299, Currency: "EUR", CreatedAt: at, UpdatedAt: at}
	cup := catalogue.Product{ID: "prod_2", SKU: "CUP", Name: "Cup", Description: "é\u2028", Price: 0, Currency: "EUR", CreatedAt: at, UpdatedAt: at}
	changed := mug
	changed.Price, changed.UpdatedAt = 1499, at.Add(time.Minute)
	svc := &pages{}
	r := gin.New()
	for _, rt := range httpapi.Routes(svc) {
		r.Handle(rt.Method, rt.Path, rt.Handler)
	}
	for _, page := range []catalogue.Page{
		{Data: []catalogue.Product{}},
		{},
		{Data: []catalogue.Product{mug}},
		{Data: []catalogue.Product{mug, cup}, NextCursor: "cur_01abc"},
		{Data: []catalogue.Product{changed, cup}, NextCursor: "cur_\"odd\""},
	} {
		svc.page = page
		want, err := json.Marshal(page)
		require.NoError(t, err)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/products", nil))
		require.Equal(t, http.StatusOK, w.Code)
		require.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
		require.Equal(t, string(want), w.Body.String())
	}
}

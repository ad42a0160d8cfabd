package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

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

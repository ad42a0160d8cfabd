package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/auth"
	"github.com/bazaar-shop/bazaar/internal/identity"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/internal/web"
)

const token = "peers-token"

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// server serves one route of each access level behind keys, and answers
// with the caller the guard found and the body the handler read.
func server(keys *auth.Keys) http.Handler {
	r := gin.New()
	answer := func(c *gin.Context) {
		body, _ := io.ReadAll(c.Request.Body)
		who := web.CallerOf(c)
		c.JSON(http.StatusOK, gin.H{"key": who.Key, "role": who.Role, "body": string(body)})
	}
	web.Mount(r, []web.Route{
		{Method: "GET", Path: "/public", Access: web.Public, Handler: answer},
		{Method: "POST", Path: "/storefront", Access: web.Storefront, Handler: answer},
		{Method: "GET", Path: "/admin", Access: web.Admin, Handler: answer},
		{Method: "POST", Path: "/internal", Access: web.Internal, Handler: answer},
	}, keys, web.Own)
	return r
}

type answer struct {
	status int
	Key    string `json:"key"`
	Role   string `json:"role"`
	Body   string `json:"body"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

func send(t *testing.T, h http.Handler, method, path, body string, header map[string]string) answer {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	a := answer{status: rec.Code}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &a), rec.Body.String())
	return a
}

// TestModuleBehindTheEdge is a module process: no key database, so it
// serves only callers an edge asserts, and peers with the service token.
func TestModuleBehindTheEdge(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	module := server(auth.New(nil, "", token, c.now))
	signer := identity.NewSigner(token, c.now)
	shopper := identity.Caller{Key: "key_shop", Role: "storefront"}
	asserted := func(method, path, body string, who identity.Caller) map[string]string {
		return map[string]string{identity.Header: signer.Sign(method, path, []byte(body), who)}
	}

	t.Run("an asserted caller is served, with the body it sent", func(t *testing.T) {
		a := send(t, module, "POST", "/storefront", `{"n":1}`, asserted("POST", "/storefront", `{"n":1}`, shopper))
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, "key_shop", a.Key)
		require.Equal(t, `{"n":1}`, a.Body)
	})
	t.Run("the asserted role still decides", func(t *testing.T) {
		a := send(t, module, "GET", "/admin", "", asserted("GET", "/admin", "", shopper))
		require.Equal(t, http.StatusForbidden, a.status)
		a = send(t, module, "POST", "/storefront", "", asserted("POST", "/storefront", "", identity.Caller{}))
		require.Equal(t, http.StatusUnauthorized, a.status, "an anonymous caller, asserted")
	})
	t.Run("a raw API key, or nothing, is told to call through the gateway", func(t *testing.T) {
		for _, h := range []map[string]string{nil, {"Authorization": "Bearer bzr_some-real-looking-key"}} {
			for _, path := range []string{"/public", "/admin"} {
				a := send(t, module, "GET", path, "", h)
				require.Equal(t, http.StatusUnauthorized, a.status, path)
				require.Contains(t, a.Detail, "call through the gateway")
			}
		}
	})
	t.Run("forged, altered, expired and replayed assertions are refused", func(t *testing.T) {
		forged := identity.NewSigner("not-the-token", c.now).Sign("POST", "/storefront", nil, shopper)
		a := send(t, module, "POST", "/storefront", "", map[string]string{identity.Header: forged})
		require.Equal(t, http.StatusUnauthorized, a.status, "forged")
		require.Contains(t, a.Detail, "signature")

		h := asserted("POST", "/storefront", `{"amount":1}`, shopper)
		a = send(t, module, "POST", "/storefront", `{"amount":1000}`, h)
		require.Equal(t, http.StatusUnauthorized, a.status, "another body under the same assertion")
		h[identity.Header] = strings.Replace(h[identity.Header], "storefront", "admin", 1)
		a = send(t, module, "GET", "/admin", "", h)
		require.Equal(t, http.StatusUnauthorized, a.status, "a role raised in the assertion")

		h = asserted("GET", "/public", "", shopper)
		c.t = c.t.Add(time.Minute)
		a = send(t, module, "GET", "/public", "", h)
		require.Equal(t, http.StatusUnauthorized, a.status, "expired")
		require.Contains(t, a.Detail, "expired")

		h = asserted("GET", "/public", "", shopper)
		require.Equal(t, http.StatusOK, send(t, module, "GET", "/public", "", h).status)
		a = send(t, module, "GET", "/public", "", h)
		require.Equal(t, http.StatusUnauthorized, a.status, "replayed")
		require.Contains(t, a.Detail, "used before")
	})
	t.Run("internal routes need the service token, whoever is asserted", func(t *testing.T) {
		a := send(t, module, "POST", "/internal", "", asserted("POST", "/internal", "", identity.Caller{Key: "admin", Role: "admin"}))
		require.Equal(t, http.StatusUnauthorized, a.status)
		a = send(t, module, "POST", "/internal", "", map[string]string{auth.ServiceTokenHeader: token})
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, "service", a.Key)
	})
}

// TestEdgeKeys is an edge: it checks keys, lists and revokes them, and a
// second edge on the same key database sees a revocation within its
// memory of a key.
func TestEdgeKeys(t *testing.T) {
	t.Parallel()
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := engine.Open(t, "auth")
			c := &clock{t: time.Now().UTC().Truncate(time.Microsecond)}
			one := auth.New(db.DB, "configured-admin", token, c.now)
			two := auth.New(db.DB, "", token, c.now)
			edge1, edge2 := server(one), server(two)
			bearer := func(k string) map[string]string { return map[string]string{"Authorization": "Bearer " + k} }

			shop, err := one.Create(ctx, auth.Storefront)
			require.NoError(t, err)
			a := send(t, edge1, "POST", "/storefront", "", bearer(shop.Secret))
			require.Equal(t, http.StatusOK, a.status)
			require.Equal(t, shop.ID, a.Key, "a key is known by its id, the same on every edge")
			require.Equal(t, http.StatusOK, send(t, edge2, "POST", "/storefront", "", bearer(shop.Secret)).status)

			a = send(t, edge1, "GET", "/admin", "", bearer("configured-admin"))
			require.Equal(t, http.StatusOK, a.status)
			require.Equal(t, auth.ConfiguredAdmin, a.Key)

			a = send(t, edge1, "GET", "/public", "", bearer("bzr_invalid"))
			require.Equal(t, http.StatusUnauthorized, a.status, "a key sent to a public route is checked too")
			require.Equal(t, http.StatusOK, send(t, edge1, "GET", "/public", "", nil).status)

			page, err := one.List(ctx, 10, "")
			require.NoError(t, err)
			require.Len(t, page.Data, 1)
			require.Equal(t, shop.ID, page.Data[0].ID)
			require.Empty(t, page.Data[0].Secret, "a listed key never shows its secret")
			require.NotNil(t, page.Data[0].LastUsedAt, "its use was noted")

			require.NoError(t, one.Revoke(ctx, shop.ID))
			require.ErrorIs(t, one.Revoke(ctx, shop.ID), auth.ErrKeyNotFound, "revoked once")
			require.Equal(t, http.StatusUnauthorized, send(t, edge1, "POST", "/storefront", "", bearer(shop.Secret)).status,
				"the revoking edge refuses it at once")
			c.t = c.t.Add(6 * time.Second)
			require.Equal(t, http.StatusUnauthorized, send(t, edge2, "POST", "/storefront", "", bearer(shop.Secret)).status,
				"another edge refuses it once its memory of the key runs out")
			page, err = one.List(ctx, 10, "")
			require.NoError(t, err)
			require.Empty(t, page.Data)
		})
	}
}

func TestKeyListPages(t *testing.T) {
	t.Parallel()
	db := testdb.Engines()[0].Open(t, "auth")
	keys := auth.New(db.DB, "", "", time.Now)
	var made []string
	for range 5 {
		k, err := keys.Create(context.Background(), auth.Admin)
		require.NoError(t, err)
		made = append(made, k.ID)
	}
	var seen []string
	cursor := ""
	for {
		page, err := keys.List(context.Background(), 2, cursor)
		require.NoError(t, err)
		for _, k := range page.Data {
			seen = append(seen, k.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	require.Equal(t, made, seen)
}

package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/pagetest"
	"github.com/bazaar-shop/bazaar/internal/shoptest"
	"github.com/bazaar-shop/bazaar/internal/testdb"
)

// TestConsoleAccess: the console lets in an admin key only, holds a session
// of its own that a revoked key ends, refuses forms not from its pages, and
// slows down a guesser.
func TestConsoleAccess(t *testing.T) {
	base, admin := startShop(t, testdb.Engines()[0], nil)

	anonymous := pagetest.NewShopper(t, base)
	page := anonymous.Get("/console")
	require.Equal(t, http.StatusSeeOther, page.Status, "no session: sign in first")
	require.Equal(t, "/console/sign-in", page.Location)
	require.Equal(t, http.StatusForbidden, anonymous.Post("/console/sign-out", url.Values{"csrf": {"x"}}).Status)

	// A storefront key is no admin key.
	status, out := shoptest.Call(t, "POST", base+"/v1/api-keys", admin, `{"role":"storefront"}`)
	require.Equal(t, http.StatusCreated, status, "%s", out)
	var storefront struct{ Key string }
	require.NoError(t, json.Unmarshal(out, &storefront))
	form := anonymous.Get("/console/sign-in")
	page = anonymous.Post("/console/sign-in", url.Values{"csrf": {form.Field("csrf")}, "key": {storefront.Key}})
	require.Equal(t, http.StatusUnauthorized, page.Status)
	require.Contains(t, page.HTML, "not an admin API key")

	// A sign-in form from elsewhere is refused, even with the right key.
	other := pagetest.NewShopper(t, base)
	page = other.Post("/console/sign-in", url.Values{"csrf": {form.Field("csrf")}, "key": {admin}})
	require.Equal(t, http.StatusForbidden, page.Status)

	// An admin key made for the purpose: sign in, look, revoke it, out.
	status, out = shoptest.Call(t, "POST", base+"/v1/api-keys", admin, `{"role":"admin"}`)
	require.Equal(t, http.StatusCreated, status, "%s", out)
	var key struct{ ID, Key string }
	require.NoError(t, json.Unmarshal(out, &key))
	person := pagetest.NewShopper(t, base)
	form = person.Get("/console/sign-in")
	page = person.Follow("/console/sign-in", url.Values{"csrf": {form.Field("csrf")}, "key": {key.Key}})
	require.Equal(t, http.StatusOK, page.Status, "%s", page.HTML)
	require.Contains(t, page.HTML, "The layout")
	require.Contains(t, page.Header.Get("Content-Security-Policy"), "default-src 'none'")
	require.Equal(t, http.StatusForbidden, person.Post("/console/sign-out", url.Values{"csrf": {"forged"}}).Status)

	status, _ = shoptest.Call(t, "DELETE", base+"/v1/api-keys/"+key.ID, admin, "")
	require.Equal(t, http.StatusNoContent, status)
	require.Equal(t, http.StatusSeeOther, person.Get("/console").Status, "revoking the key ends its sessions")

	// Five wrong keys a minute from one address (the storefront key above
	// was one), then a pause, even for the right key.
	guesser := pagetest.NewShopper(t, base)
	for range 4 {
		form = guesser.Get("/console/sign-in")
		page = guesser.Post("/console/sign-in", url.Values{"csrf": {form.Field("csrf")}, "key": {"bzr_guess"}})
		require.Equal(t, http.StatusUnauthorized, page.Status)
	}
	form = guesser.Get("/console/sign-in")
	page = guesser.Post("/console/sign-in", url.Values{"csrf": {form.Field("csrf")}, "key": {admin}})
	require.Equal(t, http.StatusTooManyRequests, page.Status)
	require.NotEmpty(t, page.Header.Get("Retry-After"))
}

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

// TestConsoleSetsFaults: a person signed in to the console sets and clears
// the faults of calls to a module with its form; a bad number, or a form
// from elsewhere, changes nothing.
func TestConsoleSetsFaults(t *testing.T) {
	base, admin := startShop(t, testdb.Engines()[0], nil)
	person := pagetest.NewShopper(t, base)
	form := person.Get("/console/sign-in")
	page := person.Follow("/console/sign-in", url.Values{"csrf": {form.Field("csrf")}, "key": {admin}})
	require.Equal(t, http.StatusOK, page.Status, "%s", page.HTML)
	csrf := page.Field("csrf")
	faultsOf := func(module string) map[string]float64 {
		status, out := shoptest.Call(t, "GET", base+"/v1/faults", admin, "")
		require.Equal(t, http.StatusOK, status, "%s", out)
		var set struct{ Modules map[string]map[string]float64 }
		require.NoError(t, json.Unmarshal(out, &set))
		return set.Modules[module]
	}

	page = person.Follow("/console/faults", url.Values{"csrf": {csrf}, "module": {"inventory"},
		"latency_ms": {"2.5"}, "jitter_ms": {""}, "error_rate": {"0.1"}, "timeout_rate": {"0"}, "reset_rate": {"0.05"}})
	require.Equal(t, http.StatusOK, page.Status, "%s", page.HTML)
	require.Equal(t, map[string]float64{"latency_ms": 2.5, "jitter_ms": 0, "error_rate": 0.1, "timeout_rate": 0, "reset_rate": 0.05}, faultsOf("inventory"))
	require.Contains(t, page.HTML, `value="2.5"`, "the console shows the faults set")

	bad := person.Post("/console/faults", url.Values{"csrf": {csrf}, "module": {"inventory"}, "latency_ms": {"soon"}})
	require.Equal(t, http.StatusUnprocessableEntity, bad.Status)
	require.Contains(t, bad.HTML, "latency_ms")
	bad = person.Post("/console/faults", url.Values{"csrf": {csrf}, "module": {"inventory"}, "error_rate": {"0.9"}, "reset_rate": {"0.9"}})
	require.Equal(t, http.StatusUnprocessableEntity, bad.Status)
	require.Equal(t, http.StatusForbidden, person.Post("/console/faults", url.Values{"csrf": {"forged"}, "module": {"inventory"}, "clear": {"1"}}).Status)
	require.Equal(t, 2.5, faultsOf("inventory")["latency_ms"], "refused forms change nothing")

	page = person.Follow("/console/faults", url.Values{"csrf": {csrf}, "module": {"inventory"}, "clear": {"1"}})
	require.Equal(t, http.StatusOK, page.Status)
	require.Equal(t, map[string]float64{"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "timeout_rate": 0, "reset_rate": 0}, faultsOf("inventory"))
}

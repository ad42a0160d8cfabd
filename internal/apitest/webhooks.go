package apitest

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// webhooks walks the webhook endpoints that need no receiver: a server run
// with its defaults refuses to call into private networks.
func (s *suite) webhooks(t *testing.T) {
	t.Run("private and plain-http URLs are refused", func(t *testing.T) {
		for _, url := range []string{"https://127.0.0.1/hook", "https://169.254.169.254/latest", "http://example.com/hook"} {
			r := s.c.Do(t, "POST", "/v1/webhooks", s.admin, map[string]any{"url": url, "events": []string{"*"}})
			if r.Status == http.StatusCreated {
				t.Skip("this server allows private webhook URLs (webhooks.allow_private)")
			}
			r.Problem(t, http.StatusUnprocessableEntity, "webhook_url_not_allowed")
		}
	})
	t.Run("bad registrations list their fields", func(t *testing.T) {
		prob := s.c.Do(t, "POST", "/v1/webhooks", s.admin, map[string]any{"url": "not a url", "events": []string{"payment.exploded"}}).
			Problem(t, http.StatusUnprocessableEntity, "validation_failed")
		require.ElementsMatch(t, []string{"url", "events[0]"}, prob.Fields())
		s.c.Do(t, "POST", "/v1/webhooks", s.admin, Raw(`{"url":"https://example.com","events":["*"],"secret":"mine"}`)).
			Problem(t, http.StatusBadRequest, "malformed_request")
	})
	t.Run("list, and unknown endpoints", func(t *testing.T) {
		var list struct {
			Data []map[string]any `json:"data"`
		}
		s.c.Do(t, "GET", "/v1/webhooks", s.admin, nil).Expect(t, http.StatusOK, &list)
		for _, e := range list.Data {
			require.NotContains(t, e, "secret", "a secret is shown only when it is created")
		}
		s.c.Do(t, "DELETE", "/v1/webhooks/wh_missing", s.admin, nil).Problem(t, http.StatusNotFound, "not_found")
		s.c.Do(t, "GET", "/v1/webhooks/wh_missing/deliveries", s.admin, nil).Problem(t, http.StatusNotFound, "not_found")
		s.c.Do(t, "POST", "/v1/webhooks/wh_missing/deliveries/dlv_x/retry", s.admin, nil).Problem(t, http.StatusNotFound, "not_found")
	})
	t.Run("admins only", func(t *testing.T) {
		s.c.Do(t, "GET", "/v1/webhooks", s.storefront, nil).Problem(t, http.StatusForbidden, "forbidden")
		s.c.Do(t, "POST", "/v1/webhooks", "", map[string]any{"url": "https://example.com", "events": []string{"*"}}).
			Problem(t, http.StatusUnauthorized, "unauthorized")
	})
}

package apitest

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

// Run walks the whole public API: every route, its error cases and its
// auth rules. It needs only where the API is and an admin key.
func Run(t *testing.T, baseURL, adminKey string) {
	s := &suite{c: NewClient(t, baseURL), admin: adminKey}
	s.storefront = s.createKey(t, "storefront")

	t.Run("health", s.health)
	t.Run("auth", s.auth)
	t.Run("products", s.products)
	t.Run("product list", s.productList)
	t.Run("inventory", s.inventory)
	t.Run("checkout", s.checkout)
	t.Run("checkout rejects bad input", s.checkoutErrors)
	t.Run("refund", s.refund)
	t.Run("payment list", s.paymentList)
	t.Run("concurrent checkouts never oversell", s.concurrentCheckouts)
	t.Run("idempotency keys", s.idempotency)
	t.Run("webhooks", s.webhooks)
}

type suite struct {
	c          *Client
	admin      string
	storefront string
}

const (
	goodCard     = "4242424242424242"
	declinedCard = "4000000000000002"
	noFundsCard  = "4000000000009995"
)

// apiKey is a key as the API shows it.
type apiKey struct {
	ID         string     `json:"id"`
	Role       string     `json:"role"`
	Key        string     `json:"key"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func (s *suite) createKey(t *testing.T, role string) string {
	t.Helper()
	return s.newKey(t, role).Key
}

func (s *suite) newKey(t *testing.T, role string) apiKey {
	t.Helper()
	var key apiKey
	s.c.Do(t, "POST", "/v1/api-keys", s.admin, map[string]any{"role": role}).Expect(t, http.StatusCreated, &key)
	require.Equal(t, role, key.Role)
	require.NotEmpty(t, key.ID)
	require.NotEmpty(t, key.Key)
	return key
}

// listedKey finds a key in the list of live keys, page by page.
func (s *suite) listedKey(t *testing.T, id string) (apiKey, bool) {
	t.Helper()
	path := "/v1/api-keys?limit=100"
	for {
		var page struct {
			Data       []apiKey `json:"data"`
			NextCursor string   `json:"next_cursor"`
		}
		s.c.Do(t, "GET", path, s.admin, nil).Expect(t, http.StatusOK, &page)
		for _, k := range page.Data {
			require.Empty(t, k.Key, "a listed key never shows its secret")
			if k.ID == id {
				return k, true
			}
		}
		if page.NextCursor == "" {
			return apiKey{}, false
		}
		path = "/v1/api-keys?limit=100&cursor=" + page.NextCursor
	}
}

// product creates a product with stock on hand.
func (s *suite) product(t *testing.T, price int64, currency string, onHand int64) catalogue.Product {
	t.Helper()
	var p catalogue.Product
	s.c.Do(t, "POST", "/v1/products", s.admin, catalogue.ProductInput{
		SKU: unique("sku"), Name: unique("Product"), Description: "made by the API suite", Price: price, Currency: currency,
	}).Expect(t, http.StatusCreated, &p)
	if onHand > 0 {
		s.c.Do(t, "PUT", "/v1/inventory/"+p.ID, s.admin, map[string]any{"on_hand": onHand}).Expect(t, http.StatusOK, nil)
	}
	return p
}

func (s *suite) level(t *testing.T, productID string) inventory.Level {
	t.Helper()
	var lvl inventory.Level
	s.c.Do(t, "GET", "/v1/inventory/"+productID, s.admin, nil).Expect(t, http.StatusOK, &lvl)
	return lvl
}

func order(card string, items ...payment.Item) map[string]any {
	return map[string]any{
		"items": items,
		"card":  map[string]any{"number": card, "exp_month": 12, "exp_year": 2099, "cvc": "123"},
		"email": "buyer@example.com",
	}
}

func item(p catalogue.Product, qty int64) payment.Item {
	return payment.Item{ProductID: p.ID, Quantity: qty}
}

func (s *suite) buy(t *testing.T, items ...payment.Item) payment.Payment {
	t.Helper()
	var p payment.Payment
	s.c.Do(t, "POST", "/v1/payments", s.storefront, order(goodCard, items...)).Expect(t, http.StatusCreated, &p)
	require.Equal(t, payment.Succeeded, p.Status)
	return p
}

func (s *suite) health(t *testing.T) {
	var h map[string]any
	s.c.Do(t, "GET", "/healthz", "", nil).Expect(t, http.StatusOK, &h)
	require.Equal(t, "ok", h["status"])
	s.c.Do(t, "GET", "/readyz", "", nil).Expect(t, http.StatusOK, &h)
	require.Equal(t, "ok", h["status"])

	var doc map[string]any
	s.c.Do(t, "GET", "/openapi.json", "", nil).Expect(t, http.StatusOK, &doc)
	require.Contains(t, doc, "openapi")
	require.Contains(t, doc, "paths")

	t.Run("request id is kept or made", func(t *testing.T) {
		r := s.c.DoHeaders(t, "GET", "/healthz", "", nil, http.Header{"X-Request-Id": {"trace-me-123"}})
		require.Equal(t, "trace-me-123", r.Header.Get("X-Request-Id"))
		r = s.c.DoHeaders(t, "GET", "/healthz", "", nil, http.Header{"X-Request-Id": {"bad id\twith tab"}})
		require.NotEqual(t, "bad id\twith tab", r.Header.Get("X-Request-Id"))
	})
	t.Run("topology", func(t *testing.T) {
		var topo struct {
			Modules map[string]struct {
				Mode  string `json:"mode"`
				Ready bool   `json:"ready"`
			} `json:"modules"`
		}
		s.c.Do(t, "GET", "/v1/topology", s.admin, nil).Expect(t, http.StatusOK, &topo)
		for _, m := range []string{"catalogue", "inventory", "payment"} {
			require.Contains(t, []string{"local", "remote"}, topo.Modules[m].Mode, m)
			require.True(t, topo.Modules[m].Ready, "%s answers", m)
		}
		s.c.Do(t, "GET", "/v1/topology", s.storefront, nil).Problem(t, http.StatusForbidden, "forbidden")
		s.c.Do(t, "GET", "/v1/topology", "", nil).Problem(t, http.StatusUnauthorized, "unauthorized")
	})
	t.Run("faults", s.faults)
	t.Run("unknown routes and methods are problems", func(t *testing.T) {
		s.c.DoUndocumented(t, "GET", "/v1/nope").Problem(t, http.StatusNotFound, "route_not_found")
		s.c.DoUndocumented(t, "PATCH", "/v1/products").Problem(t, http.StatusMethodNotAllowed, "method_not_allowed")
	})
}

// faults sets and clears faults on calls to the storefront, which no
// module calls: the rest of the suite, running beside it, meets none.
func (s *suite) faults(t *testing.T) {
	type spec struct {
		LatencyMS   float64 `json:"latency_ms"`
		JitterMS    float64 `json:"jitter_ms"`
		ErrorRate   float64 `json:"error_rate"`
		TimeoutRate float64 `json:"timeout_rate"`
		ResetRate   float64 `json:"reset_rate"`
	}
	var set struct {
		Modules map[string]spec `json:"modules"`
	}
	s.c.Do(t, "GET", "/v1/faults", s.admin, nil).Expect(t, http.StatusOK, &set)
	require.Len(t, set.Modules, 5)

	want := spec{LatencyMS: 0.5, JitterMS: 0.25, ErrorRate: 0.125}
	var applied struct {
		Module    string `json:"module"`
		Faults    spec   `json:"faults"`
		Processes []struct {
			URL     string `json:"url"`
			Applied bool   `json:"applied"`
		} `json:"processes"`
	}
	s.c.Do(t, "PUT", "/v1/faults/storefront", s.admin, want).Expect(t, http.StatusOK, &applied)
	require.Equal(t, want, applied.Faults)
	for _, p := range applied.Processes {
		require.True(t, p.Applied, "every process of the layout takes the change: %+v", p)
	}
	s.c.Do(t, "GET", "/v1/faults", s.admin, nil).Expect(t, http.StatusOK, &set)
	require.Equal(t, want, set.Modules["storefront"])
	var topo struct {
		Modules map[string]struct {
			Faults *spec `json:"faults"`
		} `json:"modules"`
	}
	s.c.Do(t, "GET", "/v1/topology", s.admin, nil).Expect(t, http.StatusOK, &topo)
	require.Equal(t, &want, topo.Modules["storefront"].Faults)

	s.c.Do(t, "PUT", "/v1/faults/storefront", s.admin, map[string]any{}).Expect(t, http.StatusOK, &applied)
	s.c.Do(t, "GET", "/v1/faults", s.admin, nil).Expect(t, http.StatusOK, &set)
	require.Equal(t, spec{}, set.Modules["storefront"], "{} turns them off")

	s.c.Do(t, "PUT", "/v1/faults/storefront", s.admin, spec{ErrorRate: 0.75, ResetRate: 0.5}).Problem(t, http.StatusUnprocessableEntity, "validation_failed")
	s.c.Do(t, "PUT", "/v1/faults/storefront", s.admin, spec{LatencyMS: -1}).Problem(t, http.StatusUnprocessableEntity, "validation_failed")
	s.c.Do(t, "PUT", "/v1/faults/storefront", s.admin, map[string]any{"latency": 5}).Problem(t, http.StatusBadRequest, "malformed_request")
	s.c.Do(t, "PUT", "/v1/faults/warehouse", s.admin, spec{}).Problem(t, http.StatusNotFound, "not_found")
	s.c.Do(t, "PUT", "/v1/faults/storefront", s.storefront, spec{}).Problem(t, http.StatusForbidden, "forbidden")
	s.c.Do(t, "GET", "/v1/faults", "", nil).Problem(t, http.StatusUnauthorized, "unauthorized")
}

func (s *suite) auth(t *testing.T) {
	body := catalogue.ProductInput{SKU: unique("auth"), Name: "x", Price: 1, Currency: "EUR"}
	t.Run("no key is 401", func(t *testing.T) {
		r := s.c.Do(t, "POST", "/v1/products", "", body)
		r.Problem(t, http.StatusUnauthorized, "unauthorized")
		require.Contains(t, r.Header.Get("WWW-Authenticate"), "Bearer")
		s.c.Do(t, "GET", "/v1/inventory/prod_x", "", nil).Problem(t, http.StatusUnauthorized, "unauthorized")
		s.c.Do(t, "POST", "/v1/payments", "", order(goodCard)).Problem(t, http.StatusUnauthorized, "unauthorized")
		s.c.Do(t, "GET", "/v1/payments/pay_x", "", nil).Problem(t, http.StatusUnauthorized, "unauthorized")
		s.c.Do(t, "POST", "/v1/api-keys", "", map[string]any{"role": "admin"}).Problem(t, http.StatusUnauthorized, "unauthorized")
	})
	t.Run("unknown key is 401", func(t *testing.T) {
		s.c.Do(t, "POST", "/v1/products", "bzr_not-a-real-key", body).Problem(t, http.StatusUnauthorized, "unauthorized")
		s.c.DoHeaders(t, "POST", "/v1/products", "", body, http.Header{"Authorization": {"Basic Zm9vOmJhcg=="}}).
			Problem(t, http.StatusUnauthorized, "unauthorized")
	})
	t.Run("storefront may not administer", func(t *testing.T) {
		s.c.Do(t, "POST", "/v1/products", s.storefront, body).Problem(t, http.StatusForbidden, "forbidden")
		s.c.Do(t, "PUT", "/v1/products/prod_x", s.storefront, body).Problem(t, http.StatusForbidden, "forbidden")
		s.c.Do(t, "DELETE", "/v1/products/prod_x", s.storefront, nil).Problem(t, http.StatusForbidden, "forbidden")
		s.c.Do(t, "PUT", "/v1/inventory/prod_x", s.storefront, map[string]any{"on_hand": 1}).Problem(t, http.StatusForbidden, "forbidden")
		s.c.Do(t, "POST", "/v1/inventory/prod_x/adjustments", s.storefront, map[string]any{"delta": 1, "reason": "x"}).Problem(t, http.StatusForbidden, "forbidden")
		s.c.Do(t, "GET", "/v1/payments", s.storefront, nil).Problem(t, http.StatusForbidden, "forbidden")
		s.c.Do(t, "POST", "/v1/payments/pay_x/refund", s.storefront, nil).Problem(t, http.StatusForbidden, "forbidden")
		s.c.Do(t, "POST", "/v1/api-keys", s.storefront, map[string]any{"role": "admin"}).Problem(t, http.StatusForbidden, "forbidden")
	})
	t.Run("storefront may read stock and the catalogue without a key", func(t *testing.T) {
		p := s.product(t, 100, "EUR", 3)
		var lvl inventory.Level
		s.c.Do(t, "GET", "/v1/inventory/"+p.ID, s.storefront, nil).Expect(t, http.StatusOK, &lvl)
		require.Equal(t, int64(3), lvl.Available)
		s.c.Do(t, "GET", "/v1/products/"+p.ID, "", nil).Expect(t, http.StatusOK, nil)
		s.c.Do(t, "GET", "/v1/products", "", nil).Expect(t, http.StatusOK, nil)
	})
	t.Run("a created key works and has its role", func(t *testing.T) {
		admin2 := s.createKey(t, "admin")
		s.c.Do(t, "POST", "/v1/products", admin2, body).Expect(t, http.StatusCreated, nil)
	})
	t.Run("a key sent to a public route is checked", func(t *testing.T) {
		s.c.Do(t, "GET", "/v1/products/prod_x", "bzr_not-a-real-key", nil).Problem(t, http.StatusUnauthorized, "unauthorized")
	})
	t.Run("keys are listed without secrets, and revoked", func(t *testing.T) {
		key := s.newKey(t, "storefront")
		listed, ok := s.listedKey(t, key.ID)
		require.True(t, ok, "a new key is listed")
		require.Equal(t, "storefront", listed.Role)
		require.WithinDuration(t, key.CreatedAt, listed.CreatedAt, time.Second)
		s.c.Do(t, "GET", "/v1/inventory/prod_x", key.Key, nil).Problem(t, http.StatusNotFound, "not_found")
		listed, _ = s.listedKey(t, key.ID)
		require.NotNil(t, listed.LastUsedAt, "its use is noted")

		s.c.Do(t, "GET", "/v1/api-keys", key.Key, nil).Problem(t, http.StatusForbidden, "forbidden")
		s.c.Do(t, "DELETE", "/v1/api-keys/"+key.ID, key.Key, nil).Problem(t, http.StatusForbidden, "forbidden")
		s.c.Do(t, "DELETE", "/v1/api-keys/"+key.ID, s.admin, nil).Expect(t, http.StatusNoContent, nil)
		s.c.Do(t, "GET", "/v1/inventory/prod_x", key.Key, nil).Problem(t, http.StatusUnauthorized, "unauthorized")
		s.c.Do(t, "DELETE", "/v1/api-keys/"+key.ID, s.admin, nil).Problem(t, http.StatusNotFound, "not_found")
		_, ok = s.listedKey(t, key.ID)
		require.False(t, ok, "a revoked key is not listed")
		s.c.Do(t, "GET", "/v1/api-keys?limit=0", s.admin, nil).Problem(t, http.StatusUnprocessableEntity, "validation_failed")
	})
	t.Run("bad key requests", func(t *testing.T) {
		p := s.c.Do(t, "POST", "/v1/api-keys", s.admin, map[string]any{"role": "root"}).Problem(t, http.StatusUnprocessableEntity, "validation_failed")
		require.Equal(t, []string{"role"}, p.Fields())
		s.c.Do(t, "POST", "/v1/api-keys", s.admin, map[string]any{"role": "admin", "name": "x"}).Problem(t, http.StatusBadRequest, "malformed_request")
		s.c.Do(t, "POST", "/v1/api-keys", s.admin, Raw(`{"role":`)).Problem(t, http.StatusBadRequest, "malformed_request")
	})
}

package apitest

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

func withKey(key string) http.Header { return http.Header{"Idempotency-Key": {key}} }

// idempotency: a retried write with the same Idempotency-Key gets the first
// answer again and changes nothing a second time.
func (s *suite) idempotency(t *testing.T) {
	t.Run("a repeated checkout replays its answer and charges once", func(t *testing.T) {
		p := s.product(t, 900, "EUR", 5)
		key := unique("checkout")
		first := s.c.DoHeaders(t, "POST", "/v1/payments", s.storefront, order(goodCard, item(p, 2)), withKey(key))
		var paid payment.Payment
		first.Expect(t, http.StatusCreated, &paid)
		require.Empty(t, first.Header.Get("Idempotent-Replayed"))

		again := s.c.DoHeaders(t, "POST", "/v1/payments", s.storefront, order(goodCard, item(p, 2)), withKey(key))
		again.Expect(t, http.StatusCreated, nil)
		require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
		require.JSONEq(t, string(first.Body), string(again.Body), "the very same answer")
		require.Equal(t, int64(3), s.level(t, p.ID).OnHand, "stock was taken once")
	})
	t.Run("errors are replayed too", func(t *testing.T) {
		p := s.product(t, 900, "EUR", 5)
		key := unique("declined")
		first := s.c.DoHeaders(t, "POST", "/v1/payments", s.storefront, order(declinedCard, item(p, 1)), withKey(key))
		prob := first.Problem(t, http.StatusPaymentRequired, "card_declined")
		again := s.c.DoHeaders(t, "POST", "/v1/payments", s.storefront, order(declinedCard, item(p, 1)), withKey(key))
		require.Equal(t, prob.PaymentID, again.Problem(t, http.StatusPaymentRequired, "card_declined").PaymentID)
		require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	})
	t.Run("the same key for another request is 422", func(t *testing.T) {
		p := s.product(t, 900, "EUR", 5)
		key := unique("reused")
		s.c.DoHeaders(t, "POST", "/v1/payments", s.storefront, order(goodCard, item(p, 1)), withKey(key)).Expect(t, http.StatusCreated, nil)
		s.c.DoHeaders(t, "POST", "/v1/payments", s.storefront, order(goodCard, item(p, 2)), withKey(key)).
			Problem(t, http.StatusUnprocessableEntity, "idempotency_key_reused")
		require.Equal(t, int64(4), s.level(t, p.ID).OnHand)
	})
	t.Run("keys belong to the API key that sent them", func(t *testing.T) {
		p := s.product(t, 900, "EUR", 5)
		key := unique("scoped")
		other := s.createKey(t, "storefront")
		var a, b payment.Payment
		s.c.DoHeaders(t, "POST", "/v1/payments", s.storefront, order(goodCard, item(p, 1)), withKey(key)).Expect(t, http.StatusCreated, &a)
		s.c.DoHeaders(t, "POST", "/v1/payments", other, order(goodCard, item(p, 1)), withKey(key)).Expect(t, http.StatusCreated, &b)
		require.NotEqual(t, a.ID, b.ID)
		require.Equal(t, int64(3), s.level(t, p.ID).OnHand)
	})
	t.Run("concurrent repeats: one checkout, the rest wait or replay", func(t *testing.T) {
		p := s.product(t, 900, "EUR", 50)
		key := unique("burst")
		const n = 20
		statuses := make([]int, n)
		bodies := make([][]byte, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				r, ok := s.c.DoHeadersConcurrently(t, "POST", "/v1/payments", s.storefront, order(goodCard, item(p, 1)), withKey(key))
				if ok {
					statuses[i], bodies[i] = r.Status, r.Body
				}
			}(i)
		}
		wg.Wait()
		ids := map[string]bool{}
		for i, st := range statuses {
			switch st {
			case http.StatusCreated:
				var pay payment.Payment
				require.NoError(t, json.Unmarshal(bodies[i], &pay))
				ids[pay.ID] = true
			case http.StatusConflict:
				var prob Problem
				require.NoError(t, json.Unmarshal(bodies[i], &prob))
				require.Equal(t, "idempotency_key_in_use", prob.Code)
			default:
				t.Fatalf("request %d: %d %s", i, st, bodies[i])
			}
		}
		require.Len(t, ids, 1, "every 201 is the same payment")
		require.Equal(t, inventory.Level{ProductID: p.ID, OnHand: 49, Available: 49}, s.level(t, p.ID), "one charge, one reservation")
		var replay payment.Payment
		s.c.DoHeaders(t, "POST", "/v1/payments", s.storefront, order(goodCard, item(p, 1)), withKey(key)).Expect(t, http.StatusCreated, &replay)
		require.True(t, ids[replay.ID], "a repeat after the burst replays the 201")
	})
	t.Run("product creation, stock changes and refunds", func(t *testing.T) {
		in := catalogue.ProductInput{SKU: unique("idem"), Name: "Idempotent", Price: 100, Currency: "EUR"}
		key := unique("product")
		var a, b catalogue.Product
		s.c.DoHeaders(t, "POST", "/v1/products", s.admin, in, withKey(key)).Expect(t, http.StatusCreated, &a)
		s.c.DoHeaders(t, "POST", "/v1/products", s.admin, in, withKey(key)).Expect(t, http.StatusCreated, &b)
		require.Equal(t, a, b, "one product, not a duplicate-sku error")

		adj := map[string]any{"delta": 5, "reason": "delivery"}
		key = unique("adjust")
		s.c.DoHeaders(t, "POST", "/v1/inventory/"+a.ID+"/adjustments", s.admin, adj, withKey(key)).Expect(t, http.StatusOK, nil)
		s.c.DoHeaders(t, "POST", "/v1/inventory/"+a.ID+"/adjustments", s.admin, adj, withKey(key)).Expect(t, http.StatusOK, nil)
		require.Equal(t, int64(5), s.level(t, a.ID).OnHand, "a repeated delivery is counted once")

		key = unique("set")
		s.c.DoHeaders(t, "PUT", "/v1/inventory/"+a.ID, s.admin, map[string]any{"on_hand": 9}, withKey(key)).Expect(t, http.StatusOK, nil)
		s.c.DoHeaders(t, "PUT", "/v1/inventory/"+a.ID, s.admin, map[string]any{"on_hand": 8}, withKey(key)).
			Problem(t, http.StatusUnprocessableEntity, "idempotency_key_reused")

		paid := s.buy(t, item(a, 1))
		key = unique("refund")
		s.c.DoHeaders(t, "POST", "/v1/payments/"+paid.ID+"/refund", s.admin, nil, withKey(key)).Expect(t, http.StatusOK, nil)
		r := s.c.DoHeaders(t, "POST", "/v1/payments/"+paid.ID+"/refund", s.admin, nil, withKey(key))
		r.Expect(t, http.StatusOK, nil)
		require.Equal(t, "true", r.Header.Get("Idempotent-Replayed"))
		require.Equal(t, int64(9), s.level(t, a.ID).OnHand)
	})
	t.Run("a bad key is 422", func(t *testing.T) {
		p := s.product(t, 900, "EUR", 1)
		long := make([]byte, 256)
		for i := range long {
			long[i] = 'k'
		}
		s.c.DoHeaders(t, "POST", "/v1/payments", s.storefront, order(goodCard, item(p, 1)), withKey(string(long))).
			Problem(t, http.StatusUnprocessableEntity, "validation_failed")
		require.Equal(t, int64(1), s.level(t, p.ID).OnHand)
	})
}

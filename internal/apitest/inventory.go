package apitest

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/modules/inventory"
)

func (s *suite) inventory(t *testing.T) {
	p := s.product(t, 999, "GBP", 0)
	require.Equal(t, inventory.Level{ProductID: p.ID}, s.level(t, p.ID), "a product never stocked has zero of everything")

	var lvl inventory.Level
	s.c.Do(t, "PUT", "/v1/inventory/"+p.ID, s.admin, map[string]any{"on_hand": 10}).Expect(t, http.StatusOK, &lvl)
	require.Equal(t, inventory.Level{ProductID: p.ID, OnHand: 10, Available: 10}, lvl)

	t.Run("adjustments add and remove relative to now", func(t *testing.T) {
		var lvl inventory.Level
		s.c.Do(t, "POST", "/v1/inventory/"+p.ID+"/adjustments", s.admin, map[string]any{"delta": 5, "reason": "delivery"}).
			Expect(t, http.StatusOK, &lvl)
		require.Equal(t, int64(15), lvl.OnHand)
		s.c.Do(t, "POST", "/v1/inventory/"+p.ID+"/adjustments", s.admin, map[string]any{"delta": -3, "reason": "breakage"}).
			Expect(t, http.StatusOK, &lvl)
		require.Equal(t, int64(12), lvl.OnHand)
		s.c.Do(t, "POST", "/v1/inventory/"+p.ID+"/adjustments", s.admin, map[string]any{"delta": -13, "reason": "too many"}).
			Problem(t, http.StatusConflict, "insufficient_stock")
		require.Equal(t, int64(12), s.level(t, p.ID).OnHand, "a refused adjustment changes nothing")
	})
	t.Run("bad stock changes", func(t *testing.T) {
		prob := s.c.Do(t, "PUT", "/v1/inventory/"+p.ID, s.admin, map[string]any{"on_hand": -1}).
			Problem(t, http.StatusUnprocessableEntity, "validation_failed")
		require.Equal(t, []string{"on_hand"}, prob.Fields())
		s.c.Do(t, "PUT", "/v1/inventory/"+p.ID, s.admin, map[string]any{}).Problem(t, http.StatusUnprocessableEntity, "validation_failed")
		s.c.Do(t, "PUT", "/v1/inventory/"+p.ID, s.admin, Raw(`{"on_hand": "ten"}`)).Problem(t, http.StatusBadRequest, "malformed_request")
		s.c.Do(t, "PUT", "/v1/inventory/"+p.ID, s.admin, Raw(`{"on_hand": 1, "reserved": 0}`)).Problem(t, http.StatusBadRequest, "malformed_request")
		prob = s.c.Do(t, "POST", "/v1/inventory/"+p.ID+"/adjustments", s.admin, map[string]any{"delta": 0}).
			Problem(t, http.StatusUnprocessableEntity, "validation_failed")
		require.ElementsMatch(t, []string{"delta", "reason"}, prob.Fields())
		require.Equal(t, int64(12), s.level(t, p.ID).OnHand, "refused changes change nothing")
	})
	t.Run("unknown products are 404", func(t *testing.T) {
		s.c.Do(t, "GET", "/v1/inventory/prod_missing", s.admin, nil).Problem(t, http.StatusNotFound, "not_found")
		s.c.Do(t, "PUT", "/v1/inventory/prod_missing", s.admin, map[string]any{"on_hand": 1}).Problem(t, http.StatusNotFound, "not_found")
		s.c.Do(t, "POST", "/v1/inventory/prod_missing/adjustments", s.admin, map[string]any{"delta": 1, "reason": "x"}).
			Problem(t, http.StatusNotFound, "not_found")
	})
}

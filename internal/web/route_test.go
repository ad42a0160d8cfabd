package web

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPath(t *testing.T) {
	require.Equal(t, "/v1/products", Path("/v1/products"))
	require.Equal(t, "/v1/payments/pay_1/refund", Path("/v1/payments/:id/refund", "pay_1"))
	require.Equal(t, "/v1/webhooks/wh%2F1/deliveries/d%201/retry",
		Path("/v1/webhooks/:id/deliveries/:delivery_id/retry", "wh/1", "d 1"), "each parameter is one segment")
}

package service_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/outbox"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

// TestEvents: every outcome of a payment records its event with the
// payment, in the same transaction as the status change.
func TestEvents(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine)
			p := w.product(t, 700, 3)
			paid, err := w.payments.Checkout(ctx, cart(p, 1))
			require.NoError(t, err)
			declined := cart(p, 1)
			declined.Card.Number = "4000000000000002"
			_, err = w.payments.Checkout(ctx, declined)
			require.ErrorIs(t, err, payment.ErrCardDeclined)
			_, err = w.payments.Refund(ctx, paid.ID)
			require.NoError(t, err)
			_, err = w.payments.Refund(ctx, paid.ID) // no second event
			require.NoError(t, err)

			events, err := outbox.Pending(ctx, w.paymentDB.DB, 100)
			require.NoError(t, err)
			var types []string
			for _, e := range events {
				types = append(types, e.Type)
			}
			require.Equal(t, []string{"payment.succeeded", "payment.failed", "payment.refunded"}, types)
			var got payment.Payment
			require.NoError(t, json.Unmarshal(events[0].Data, &got))
			require.Equal(t, paid.ID, got.ID)
			require.Equal(t, payment.Succeeded, got.Status)
			require.Len(t, got.Items, 1)
			require.NotContains(t, string(events[0].Data), "4242424242424242")
		})
	}
}

package service_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/outbox"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/inventory/inventorytest"
	"github.com/bazaar-shop/bazaar/modules/inventory/service"
)

// TestEvents: stock changes record inventory.adjusted, and on hand falling
// to the threshold (5 here) records inventory.low_stock once per crossing,
// whether by an adjustment or by a sale.
func TestEvents(t *testing.T) {
	ctx := context.Background()
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine)
			db := engine.Open(t, "inventory")
			inv := service.New(db.DB, w.catalogue, ttl, 5, w.clock.Now)
			p := inventorytest.Product(t, inventorytest.Harness{Inventory: inv, Catalogue: w.catalogue}, 0)

			_, err := inv.Set(ctx, p, 10)
			require.NoError(t, err)
			_, err = inv.Adjust(ctx, p, -5, "breakage") // 5: low
			require.NoError(t, err)
			_, err = inv.Adjust(ctx, p, -1, "breakage") // 4: still low, no second alarm
			require.NoError(t, err)
			_, err = inv.Adjust(ctx, p, -100, "too much")
			require.ErrorIs(t, err, inventory.ErrInsufficientStock)
			_, err = inv.Adjust(ctx, p, 6, "delivery") // 10
			require.NoError(t, err)
			_, err = inv.Reserve(ctx, "sale", []inventory.Line{{ProductID: p, Quantity: 6}})
			require.NoError(t, err)
			require.NoError(t, inv.Commit(ctx, "sale"))  // 4: low again, by a sale
			require.NoError(t, inv.Restock(ctx, "sale")) // 10

			events, err := outbox.Pending(ctx, db.DB, 100)
			require.NoError(t, err)
			var types []string
			for _, e := range events {
				types = append(types, e.Type)
			}
			require.Equal(t, []string{
				"inventory.adjusted",                        // set 10
				"inventory.adjusted", "inventory.low_stock", // 5
				"inventory.adjusted",  // 4
				"inventory.adjusted",  // 10
				"inventory.low_stock", // sold down to 4
				"inventory.adjusted",  // restocked to 10
			}, types)
			require.JSONEq(t, `{"product_id":"`+p+`","on_hand":5,"reserved":0,"available":5,"threshold":5}`, string(events[2].Data))
		})
	}
}

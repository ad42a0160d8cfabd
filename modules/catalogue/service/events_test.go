package service_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/outbox"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/catalogue/service"
)

// TestEvents: every change records its event in the outbox, in the same
// transaction; a refused change records none.
func TestEvents(t *testing.T) {
	ctx := context.Background()
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			db := engine.Open(t, "catalogue")
			svc := service.New(db.DB, now)
			in := catalogue.ProductInput{SKU: "EV-1", Name: "Kettle", Price: 100, Currency: "EUR"}
			p, err := svc.Create(ctx, in)
			require.NoError(t, err)
			_, err = svc.Create(ctx, in)
			require.ErrorIs(t, err, catalogue.ErrDuplicateSKU)
			in.Name = "Kettle, red"
			_, err = svc.Update(ctx, p.ID, in)
			require.NoError(t, err)
			_, err = svc.Update(ctx, "prod_missing", in)
			require.ErrorIs(t, err, catalogue.ErrNotFound)
			require.NoError(t, svc.Delete(ctx, p.ID))
			require.ErrorIs(t, svc.Delete(ctx, p.ID), catalogue.ErrNotFound)

			events, err := outbox.Pending(ctx, db.DB, 100)
			require.NoError(t, err)
			var types []string
			for _, e := range events {
				types = append(types, e.Type)
			}
			require.Equal(t, []string{"product.created", "product.updated", "product.deleted"}, types,
				"one event per change, none for refused changes")
			var updated catalogue.Product
			require.NoError(t, json.Unmarshal(events[1].Data, &updated))
			require.Equal(t, "Kettle, red", updated.Name)
			require.JSONEq(t, `{"id":"`+p.ID+`","sku":"EV-1"}`, string(events[2].Data))

			require.NoError(t, outbox.Remove(ctx, db.DB, []string{events[0].ID}))
			events, err = outbox.Pending(ctx, db.DB, 100)
			require.NoError(t, err)
			require.Len(t, events, 2, "a removed event is no longer pending")
		})
	}
}

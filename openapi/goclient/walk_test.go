package goclient_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/launch"
	"github.com/bazaar-shop/bazaar/openapi/goclient"
)

// bearer sends a key with every request of a client.
func bearer(key string) goclient.ClientOption {
	return goclient.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+key)
		return nil
	})
}

// TestPurchaseWalk buys something from a running shop with the generated
// client alone, as a Go program using Bazaar would: every call compiles
// against the document and every answer decodes into its types.
func TestPurchaseWalk(t *testing.T) {
	dir := t.TempDir()
	bin, err := launch.Build(dir)
	require.NoError(t, err)
	layout, err := launch.Named(launch.Monolith)
	require.NoError(t, err)
	shop, err := launch.Start(context.Background(), layout, launch.Options{Binary: bin, Dir: dir})
	require.NoError(t, err)
	t.Cleanup(shop.Close)
	ctx := context.Background()

	admin, err := goclient.NewClientWithResponses(shop.URL(), bearer(shop.AdminKey))
	require.NoError(t, err)
	desc := "350 ml"
	product, err := admin.CreateProductWithResponse(ctx, nil, goclient.ProductInput{
		Sku: "MUG-GO", Name: "Blue mug", Description: &desc, Price: 1250, Currency: "EUR"})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, product.StatusCode(), "%s", product.Body)
	id := product.JSON201.Id
	stock, err := admin.SetStockLevelWithResponse(ctx, id, nil, goclient.SetStockRequest{OnHand: 10})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, stock.StatusCode(), "%s", stock.Body)

	key, err := admin.CreateApiKeyWithResponse(ctx, nil, goclient.CreateApiKeyRequest{Role: goclient.RoleStorefront})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, key.StatusCode(), "%s", key.Body)
	storefront, err := goclient.NewClientWithResponses(shop.URL(), bearer(key.JSON201.Key))
	require.NoError(t, err)

	order := func(number string, quantity int64) goclient.CheckoutRequest {
		return goclient.CheckoutRequest{Items: []goclient.CheckoutItem{{ProductId: id, Quantity: quantity}},
			Card:  goclient.Card{Number: number, ExpMonth: 12, ExpYear: int64(time.Now().Year() + 3), Cvc: "123"},
			Email: "ada@example.com"}
	}
	paid, err := storefront.CreatePaymentWithResponse(ctx, nil, order("4242424242424242", 2))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, paid.StatusCode(), "%s", paid.Body)
	require.Equal(t, goclient.PaymentStatusSucceeded, paid.JSON201.Status)
	require.EqualValues(t, 2500, paid.JSON201.Amount)

	declined, err := storefront.CreatePaymentWithResponse(ctx, nil, order("4000000000000002", 1))
	require.NoError(t, err)
	require.Equal(t, http.StatusPaymentRequired, declined.StatusCode())
	require.NotNil(t, declined.ApplicationproblemJSON402, "the problem decodes into its type")

	level, err := storefront.GetStockLevelWithResponse(ctx, id, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, level.StatusCode(), "%s", level.Body)
	require.EqualValues(t, 8, level.JSON200.OnHand, "two sold, the declined one not")
}

package storefront_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/modules/storefront"
)

func TestCart(t *testing.T) {
	var c storefront.Cart
	c, err := c.Add("a", 2)
	require.NoError(t, err)
	c, err = c.Add("a", 3)
	require.NoError(t, err)
	c, err = c.Add("b", 1)
	require.NoError(t, err)
	require.Equal(t, storefront.Cart{{"a", 5}, {"b", 1}}, c)
	require.Equal(t, int64(6), c.Units())

	for _, n := range []int64{0, -1, 100, 1_000_000_000_000} {
		_, err = c.Add("a", n)
		require.ErrorIs(t, err, storefront.ErrQuantity, "%d", n)
	}
	_, err = c.Add("a", 95)
	require.ErrorIs(t, err, storefront.ErrQuantity, "99 of a product at most")

	c, err = c.Set("a", 0)
	require.NoError(t, err)
	require.Equal(t, storefront.Cart{{"b", 1}}, c, "0 removes")
	_, err = c.Set("b", -1)
	require.ErrorIs(t, err, storefront.ErrQuantity)

	var full storefront.Cart
	for i := range storefront.MaxLines {
		full, err = full.Add(fmt.Sprint(i), 1)
		require.NoError(t, err)
	}
	_, err = full.Add("one more", 1)
	require.ErrorIs(t, err, storefront.ErrCartFull)
}

func TestShort(t *testing.T) {
	q := storefront.Quote{Lines: []storefront.QuoteLine{
		{Offer: storefront.Offer{Stock: storefront.Stock{Known: true, Available: 2}}, Quantity: 3},
		{Offer: storefront.Offer{Stock: storefront.Stock{Known: true, Available: 3}}, Quantity: 3},
		{Offer: storefront.Offer{Stock: storefront.Stock{}}, Quantity: 50}, // unknown: not held against it
	}}
	require.Len(t, q.Short(), 1)
}

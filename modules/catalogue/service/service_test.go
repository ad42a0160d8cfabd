package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/testclock"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/catalogue/cataloguetest"
	"github.com/bazaar-shop/bazaar/modules/catalogue/service"
)

// TestContract runs the catalogue contract suite against the local service
// on every database engine.
func TestContract(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			cataloguetest.Run(t, func(t *testing.T) catalogue.Service {
				return service.New(engine.Open(t, "catalogue").DB, now)
			})
		})
		// With the read cache on, every write is still seen by the next read.
		t.Run(engine.Name+"/cached", func(t *testing.T) {
			t.Parallel()
			cataloguetest.Run(t, func(t *testing.T) catalogue.Service {
				return service.New(engine.Open(t, "catalogue").DB, now).WithCache(time.Minute)
			})
		})
	}
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// TestCacheAcrossReplicas: two catalogue replicas on one database. Each
// sees its own writes at once; a write through the other shows once the
// cached answer is older than the TTL.
func TestCacheAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	db := testdb.Engines()[0].Open(t, "catalogue").DB
	clock := testclock.New(now())
	a := service.New(db, clock.Now).WithCache(5 * time.Second)
	b := service.New(db, clock.Now).WithCache(5 * time.Second)

	p, err := a.Create(ctx, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 450, Currency: "EUR"})
	require.NoError(t, err)
	got, err := a.Get(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, int64(450), got.Price)
	page, err := a.List(ctx, catalogue.ListQuery{})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)

	// b changes the price and adds a product: a still answers from memory.
	_, err = b.Update(ctx, p.ID, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 500, Currency: "EUR"})
	require.NoError(t, err)
	_, err = b.Create(ctx, catalogue.ProductInput{SKU: "COFFEE", Name: "Coffee", Price: 300, Currency: "EUR"})
	require.NoError(t, err)
	got, err = a.Get(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, int64(450), got.Price, "within the TTL a replica may answer from memory")
	page, err = a.List(ctx, catalogue.ListQuery{})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)

	clock.Advance(5 * time.Second)
	got, err = a.Get(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, int64(500), got.Price, "after the TTL it reads again")
	page, err = a.List(ctx, catalogue.ListQuery{})
	require.NoError(t, err)
	require.Len(t, page.Data, 2)

	// a's own writes show at once, in reads and in lists.
	_, err = a.Update(ctx, p.ID, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 520, Currency: "EUR"})
	require.NoError(t, err)
	got, err = a.Get(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, int64(520), got.Price)
	require.NoError(t, a.Delete(ctx, p.ID))
	_, err = a.Get(ctx, p.ID)
	require.ErrorIs(t, err, catalogue.ErrNotFound)
	page, err = a.List(ctx, catalogue.ListQuery{})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)

	// A page handed out is the caller's: changing it does not change the cache.
	page.Data[0].Name = "changed by the caller"
	again, err := a.List(ctx, catalogue.ListQuery{})
	require.NoError(t, err)
	require.Equal(t, "Coffee", again.Data[0].Name)
}

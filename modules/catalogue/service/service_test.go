package service_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

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
				return service.New(engine.Open(t, "catalogue").DB, now).WithCache(time.Minute, time.Second)
			})
		})
	}
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// The cache of replicas: what it remembers lives for ttl, and it looks for
// other replicas' changes every check.
const (
	ttl   = 5 * time.Second
	check = time.Second
)

// replicas returns two catalogue services with a cache on one database of
// engine, and the clock they both read: it moves only when a test moves it.
func replicas(t *testing.T, engine testdb.Engine) (*testclock.Clock, *service.Service, *service.Service) {
	db := engine.Open(t, "catalogue").DB
	clock := testclock.New(now())
	return clock, service.New(db, clock.Now).WithCache(ttl, check), service.New(db, clock.Now).WithCache(ttl, check)
}

// TestCacheAcrossReplicas: two catalogue replicas on one database. Each
// sees its own writes at once; a write through the other shows once the
// check interval has passed.
func TestCacheAcrossReplicas(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			cacheAcrossReplicas(t, engine)
		})
	}
}

func cacheAcrossReplicas(t *testing.T, engine testdb.Engine) {
	ctx := context.Background()
	clock, a, b := replicas(t, engine)

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
	require.Equal(t, int64(450), got.Price, "until the check a replica may answer from memory")
	page, err = a.List(ctx, catalogue.ListQuery{})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)

	clock.Advance(check)
	got, err = a.Get(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, int64(500), got.Price, "after the check it reads again")
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

// TestListByIDsAcrossReplicas is TestCacheAcrossReplicas for a query by
// ids: it answers from the products a replica remembers, whether a Get or
// an earlier query by ids read them, until the check or the replica's own
// write.
func TestListByIDsAcrossReplicas(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			listByIDsAcrossReplicas(t, engine)
		})
	}
}

func listByIDsAcrossReplicas(t *testing.T, engine testdb.Engine) {
	ctx := context.Background()
	clock, a, b := replicas(t, engine)
	tea, err := a.Create(ctx, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 450, Currency: "EUR"})
	require.NoError(t, err)
	cake, err := a.Create(ctx, catalogue.ProductInput{SKU: "CAKE", Name: "Cake", Price: 300, Currency: "EUR"})
	require.NoError(t, err)
	both := catalogue.ListQuery{IDs: []string{tea.ID, cake.ID}}
	prices := func(q catalogue.ListQuery) []int64 {
		t.Helper()
		page, err := a.List(ctx, q)
		require.NoError(t, err)
		var out []int64
		for _, p := range page.Data {
			out = append(out, p.Price)
		}
		return out
	}
	require.Equal(t, []int64{450, 300}, prices(both))

	// b changes tea and deletes cake: a still answers from memory, for
	// ids and for Get alike.
	_, err = b.Update(ctx, tea.ID, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 500, Currency: "EUR"})
	require.NoError(t, err)
	require.NoError(t, b.Delete(ctx, cake.ID))
	require.Equal(t, []int64{450, 300}, prices(both), "until the check a replica may answer from memory")
	got, err := a.Get(ctx, cake.ID)
	require.NoError(t, err)
	require.Equal(t, int64(300), got.Price, "a query by ids remembers its products as Get does")

	clock.Advance(check)
	require.Equal(t, []int64{500}, prices(both), "after the check it reads again")

	// Part from memory, part from the database: tea is remembered, coffee is new.
	coffee, err := b.Create(ctx, catalogue.ProductInput{SKU: "COFFEE", Name: "Coffee", Price: 250, Currency: "EUR"})
	require.NoError(t, err)
	_, err = b.Update(ctx, tea.ID, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 510, Currency: "EUR"})
	require.NoError(t, err)
	require.Equal(t, []int64{250, 500}, prices(catalogue.ListQuery{IDs: []string{coffee.ID, tea.ID}}))

	// a's own write shows at once.
	_, err = a.Update(ctx, tea.ID, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 520, Currency: "EUR"})
	require.NoError(t, err)
	require.Equal(t, []int64{250, 520}, prices(catalogue.ListQuery{IDs: []string{coffee.ID, tea.ID}}))
}

// TestListByIDsReadsOnce: a query by ids is one read of the database; with
// a cache, a read of only the products it does not hold, and none when it
// holds them all.
func TestListByIDsReadsOnce(t *testing.T) {
	ctx := context.Background()
	for name, ttl := range map[string]time.Duration{"uncached": 0, "cached": time.Minute} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := testdb.Engines()[0].Open(t, "catalogue").DB
			var reads atomic.Int64
			require.NoError(t, db.Callback().Query().After("gorm:query").Register("test:count", func(*gorm.DB) { reads.Add(1) }))
			clock := testclock.New(now())
			svc := service.New(db, clock.Now).WithCache(ttl, check)
			var made []string
			for _, sku := range []string{"A", "B", "C"} {
				p, err := svc.Create(ctx, catalogue.ProductInput{SKU: sku, Name: sku, Price: 100, Currency: "EUR"})
				require.NoError(t, err)
				made = append(made, p.ID)
			}
			list := func(ids ...string) int {
				t.Helper()
				reads.Store(0)
				page, err := svc.List(ctx, catalogue.ListQuery{IDs: ids})
				require.NoError(t, err)
				require.Len(t, page.Data, len(made))
				return int(reads.Load())
			}

			if ttl == 0 {
				require.Equal(t, 1, list(append(made, "prod_missing")...))
				require.Equal(t, 1, list(made...))
				return
			}
			require.Equal(t, 2, list(append(made, "prod_missing")...), "a look at the count of changes, then the products")
			require.Equal(t, 0, list(made...), "all remembered")
			clock.Advance(check)
			require.Equal(t, 1, list(made...), "a look at the count, which has not moved: all still remembered")
			require.NoError(t, svc.Delete(ctx, made[0]))
			p, err := svc.Create(ctx, catalogue.ProductInput{SKU: "D", Name: "D", Price: 100, Currency: "EUR"})
			require.NoError(t, err)
			made[0] = p.ID
			require.Equal(t, 1, list(made...), "one read for the product not remembered")
			clock.Advance(check)
			require.Equal(t, 2, list(made...), "the count moved, if only by its own writes: a look, then all read again")
		})
	}
}

// A read that races a write may fetch the row as it was before the write;
// the cache must not remember that answer past the write, whichever read
// it was: Get, List by ids or a page of List.
func TestReadRacingAWrite(t *testing.T) {
	reads := map[string]func(svc *service.Service, id string) (int64, error){
		"get": func(svc *service.Service, id string) (int64, error) {
			p, err := svc.Get(context.Background(), id)
			return p.Price, err
		},
		"list by ids": func(svc *service.Service, id string) (int64, error) {
			page, err := svc.List(context.Background(), catalogue.ListQuery{IDs: []string{id}})
			if err != nil || len(page.Data) != 1 {
				return 0, fmt.Errorf("%d products: %v", len(page.Data), err)
			}
			return page.Data[0].Price, nil
		},
		"a page": func(svc *service.Service, id string) (int64, error) {
			page, err := svc.List(context.Background(), catalogue.ListQuery{Q: "TEA"})
			if err != nil || len(page.Data) != 1 {
				return 0, fmt.Errorf("%d products: %v", len(page.Data), err)
			}
			return page.Data[0].Price, nil
		},
	}
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := testdb.Engines()[0].Open(t, "catalogue").DB
			svc := service.New(db, testclock.New(now()).Now).WithCache(time.Minute, check)
			tea, err := svc.Create(ctx, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 450, Currency: "EUR"})
			require.NoError(t, err)
			// The first read looks at the count of changes; the clock does
			// not move, so the read below makes no other look.
			_, err = svc.Get(ctx, "prod_missing")
			require.ErrorIs(t, err, catalogue.ErrNotFound)

			// The write runs right after the read's query, before it is remembered.
			var armed atomic.Bool
			require.NoError(t, db.Callback().Query().After("gorm:query").Register("test:race", func(*gorm.DB) {
				if armed.CompareAndSwap(true, false) {
					_, err := svc.Update(ctx, tea.ID, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 500, Currency: "EUR"})
					require.NoError(t, err)
				}
			}))
			armed.Store(true)
			price, err := read(svc, tea.ID)
			require.NoError(t, err)
			require.Equal(t, int64(450), price, "the read saw the row before the write")
			require.False(t, armed.Load(), "the write ran")

			price, err = read(svc, tea.ID)
			require.NoError(t, err)
			require.Equal(t, int64(500), price, "what the racing read saw was not remembered")
		})
	}
}

package service_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/testclock"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/catalogue/service"
)

// TestChangeThroughAnotherReplica: a product deleted or repriced through
// replica a, while replica b remembers it. A fresh read through b (what a
// checkout makes) sees the change at once; any read through b sees it once
// the check interval has passed.
func TestChangeThroughAnotherReplica(t *testing.T) {
	ctx := context.Background()
	tea := func(price int64) catalogue.ProductInput {
		return catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: price, Currency: "EUR"}
	}
	changes := map[string]struct {
		change func(a *service.Service, id string) error
		want   []int64 // the prices a read finds after the change
	}{
		"delete": {func(a *service.Service, id string) error { return a.Delete(ctx, id) }, nil},
		"reprice": {func(a *service.Service, id string) error {
			_, err := a.Update(ctx, id, tea(500))
			return err
		}, []int64{500}},
	}
	for _, engine := range testdb.Engines() {
		for name, tc := range changes {
			t.Run(engine.Name+"/"+name, func(t *testing.T) {
				t.Parallel()
				clock, a, b := replicas(t, engine)
				p, err := a.Create(ctx, tea(450))
				require.NoError(t, err)
				byID, page := catalogue.ListQuery{IDs: []string{p.ID}}, catalogue.ListQuery{Q: "tea"}
				require.Equal(t, []int64{450}, prices(t, b, byID))
				require.Equal(t, []int64{450}, prices(t, b, page))
				got, err := b.Get(ctx, p.ID)
				require.NoError(t, err)
				require.Equal(t, int64(450), got.Price)

				require.NoError(t, tc.change(a, p.ID))
				require.Equal(t, tc.want, prices(t, b, catalogue.ListQuery{IDs: []string{p.ID}, Fresh: true}),
					"a fresh read never answers from memory")
				require.Equal(t, []int64{450}, prices(t, b, page), "until the check, b's pages may lag")
				require.Equal(t, tc.want, prices(t, b, catalogue.ListQuery{Q: "tea", Fresh: true}),
					"a fresh page neither")

				clock.Advance(check)
				got, err = b.Get(ctx, p.ID)
				if tc.want == nil {
					require.ErrorIs(t, err, catalogue.ErrNotFound, "once the check interval has passed")
				} else {
					require.NoError(t, err)
					require.Equal(t, tc.want[0], got.Price, "once the check interval has passed")
				}
				require.Equal(t, tc.want, prices(t, b, byID))
				require.Equal(t, tc.want, prices(t, b, page))
			})
		}
	}
}

// prices lists the prices of the products q finds through svc.
func prices(t *testing.T, svc catalogue.Service, q catalogue.ListQuery) []int64 {
	t.Helper()
	page, err := svc.List(context.Background(), q)
	require.NoError(t, err)
	var out []int64
	for _, p := range page.Data {
		out = append(out, p.Price)
	}
	return out
}

// TestOneLookAtATime: the reads that find the check due together make one
// look at the count of changes between them; the others wait for its
// answer, rather than answer from what it is about to drop.
func TestOneLookAtATime(t *testing.T) {
	ctx := context.Background()
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			db := engine.Open(t, "catalogue").DB
			clock := testclock.New(now())
			a, svc := service.New(db, clock.Now).WithCache(ttl, check), service.New(db, clock.Now).WithCache(ttl, check)
			p, err := a.Create(ctx, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 450, Currency: "EUR"})
			require.NoError(t, err)
			_, err = svc.Get(ctx, p.ID)
			require.NoError(t, err)
			_, err = a.Update(ctx, p.ID, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 500, Currency: "EUR"})
			require.NoError(t, err)

			// The first look is held until every reader has started and a
			// second look has begun, or a while has passed without one.
			const readers = 20
			var looks atomic.Int64
			started := make(chan struct{}, readers)
			second := make(chan struct{})
			require.NoError(t, db.Callback().Query().Before("gorm:query").Register("test:looks", func(tx *gorm.DB) {
				if tx.Statement.Table != "changes" {
					return
				}
				switch looks.Add(1) {
				case 1:
					for range readers {
						<-started
					}
					select {
					case <-second:
					case <-time.After(200 * time.Millisecond):
					}
				case 2:
					close(second)
				}
			}))

			clock.Advance(check)
			var wg sync.WaitGroup
			for range readers {
				wg.Go(func() {
					started <- struct{}{}
					got, err := svc.Get(ctx, p.ID)
					if err != nil || got.Price != 500 {
						t.Errorf("Get: %d, %v; want the price the check found", got.Price, err)
					}
				})
			}
			wg.Wait()
			require.Equal(t, int64(1), looks.Load(), "one look for all the readers that were due")
		})
	}
}

// TestChangeBehindTheCount: a replica trusts what it remembers while the
// count of changes stays the same, up to the TTL; a count it cannot read
// vouches for nothing.
func TestChangeBehindTheCount(t *testing.T) {
	ctx := context.Background()
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			db := engine.Open(t, "catalogue").DB
			clock := testclock.New(now())
			svc := service.New(db, clock.Now).WithCache(ttl, check)
			p, err := svc.Create(ctx, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 450, Currency: "EUR"})
			require.NoError(t, err)
			price := func() int64 {
				t.Helper()
				got, err := svc.Get(ctx, p.ID)
				require.NoError(t, err)
				return got.Price
			}
			require.Equal(t, int64(450), price())

			// By hand, behind the count's back.
			require.NoError(t, db.Exec("UPDATE products SET price = 600 WHERE id = ?", p.ID).Error)
			clock.Advance(check)
			require.Equal(t, int64(450), price(), "the count has not moved: memory is trusted")
			clock.Advance(ttl)
			require.Equal(t, int64(600), price(), "the TTL is the backstop")

			require.NoError(t, db.Exec("UPDATE products SET price = 700 WHERE id = ?", p.ID).Error)
			require.NoError(t, db.Exec("ALTER TABLE changes RENAME TO changes_gone").Error)
			clock.Advance(check)
			require.Equal(t, int64(700), price(), "a count that cannot be read: memory is dropped")
		})
	}
}

// TestWaitForALookEndsWithTheRead: a read that waits for another read's
// look at the count gives up when its context ends, and does not answer
// from memory.
func TestWaitForALookEndsWithTheRead(t *testing.T) {
	ctx := context.Background()
	db := testdb.Engines()[0].Open(t, "catalogue").DB
	clock := testclock.New(now())
	svc := service.New(db, clock.Now).WithCache(ttl, check)
	p, err := svc.Create(ctx, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 450, Currency: "EUR"})
	require.NoError(t, err)
	_, err = svc.Get(ctx, p.ID)
	require.NoError(t, err)

	var once sync.Once
	held, hold := make(chan struct{}), make(chan struct{})
	release := sync.OnceFunc(func() { close(hold) })
	t.Cleanup(release)
	require.NoError(t, db.Callback().Query().Before("gorm:query").Register("test:hold", func(tx *gorm.DB) {
		if tx.Statement.Table == "changes" {
			once.Do(func() { close(held); <-hold })
		}
	}))
	clock.Advance(check)
	looked := make(chan error, 1)
	go func() {
		_, err := svc.Get(ctx, p.ID)
		looked <- err
	}()
	<-held

	ended, cancel := context.WithCancel(ctx)
	cancel()
	waited := make(chan error, 1)
	go func() {
		_, err := svc.Get(ended, p.ID)
		waited <- err
	}()
	select {
	case err := <-waited:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("the read still waits for the look")
	}
	release()
	require.NoError(t, <-looked)
}

// TestReadBeforeTheFirstLook: a fresh read does not look at the count of
// changes, so it may read before its replica's first look. When another
// replica's change commits in between, what the read saw must not be
// remembered past that look.
func TestReadBeforeTheFirstLook(t *testing.T) {
	ctx := context.Background()
	db := testdb.Engines()[0].Open(t, "catalogue").DB
	clock := testclock.New(now())
	a, b := service.New(db, clock.Now).WithCache(ttl, check), service.New(db, clock.Now).WithCache(ttl, check)
	p, err := a.Create(ctx, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 450, Currency: "EUR"})
	require.NoError(t, err)

	// Right after the fresh read's query: a's change, then b's first look
	// (made by a Get of another product).
	var armed atomic.Bool
	require.NoError(t, db.Callback().Query().After("gorm:query").Register("test:between", func(tx *gorm.DB) {
		if tx.Statement.Table == "products" && armed.CompareAndSwap(true, false) {
			_, err := a.Update(ctx, p.ID, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 500, Currency: "EUR"})
			require.NoError(t, err)
			_, err = b.Get(ctx, "prod_missing")
			require.ErrorIs(t, err, catalogue.ErrNotFound)
		}
	}))
	armed.Store(true)
	require.Equal(t, []int64{450}, prices(t, b, catalogue.ListQuery{IDs: []string{p.ID}, Fresh: true}))
	require.False(t, armed.Load(), "the change and the look ran")

	clock.Advance(check)
	got, err := b.Get(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, int64(500), got.Price, "what the fresh read saw was not remembered")
}

// TestFreshReadVouchedByTheCount: a fresh read, as a checkout's pricing,
// is answered from memory when the count of changes is what the last look
// saw — one small query instead of reading the products — and from the
// database as soon as another replica changed anything.
func TestFreshReadVouchedByTheCount(t *testing.T) {
	ctx := context.Background()
	db := testdb.Engines()[0].Open(t, "catalogue").DB
	clock := testclock.New(now())
	a, b := service.New(db, clock.Now).WithCache(ttl, check), service.New(db, clock.Now).WithCache(ttl, check)
	p, err := a.Create(ctx, catalogue.ProductInput{SKU: "MUG", Name: "Mug", Price: 1250, Currency: "EUR"})
	require.NoError(t, err)
	_, err = b.Get(ctx, p.ID) // b looks, and remembers the mug
	require.NoError(t, err)

	var productReads atomic.Int64
	require.NoError(t, db.Callback().Query().Before("gorm:query").Register("test:product-reads", func(tx *gorm.DB) {
		if tx.Statement.Table == "products" {
			productReads.Add(1)
		}
	}))
	fresh := catalogue.ListQuery{IDs: []string{p.ID}, Fresh: true}
	page, err := b.List(ctx, fresh)
	require.NoError(t, err)
	require.Equal(t, int64(1250), page.Data[0].Price)
	require.Zero(t, productReads.Load(), "nothing changed: the count vouches for what b remembers")

	_, err = a.Update(ctx, p.ID, catalogue.ProductInput{SKU: "MUG", Name: "Mug", Price: 1400, Currency: "EUR"})
	require.NoError(t, err)
	page, err = b.List(ctx, fresh)
	require.NoError(t, err)
	require.Equal(t, int64(1400), page.Data[0].Price, "a fresh read sees the change at once")
	require.Positive(t, productReads.Load(), "read from the database")
}

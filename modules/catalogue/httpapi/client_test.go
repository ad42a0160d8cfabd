package httpapi_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/internal/remote/remotetest"
	"github.com/bazaar-shop/bazaar/internal/testclock"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/catalogue/cataloguetest"
	"github.com/bazaar-shop/bazaar/modules/catalogue/httpapi"
	"github.com/bazaar-shop/bazaar/modules/catalogue/service"
)

// TestClientContract runs the catalogue contract suite against the HTTP
// client in front of a real server of the catalogue: a caller cannot tell
// it from the local service.
func TestClientContract(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			cataloguetest.Run(t, func(t *testing.T) catalogue.Service {
				local := service.New(engine.Open(t, "catalogue").DB, func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) })
				return httpapi.NewClient(remotetest.Serve(t, "catalogue", httpapi.Routes(local)))
			})
		})
	}
}

// TestClientFresh: a fresh query through the client is answered from the
// catalogue's database, never from the memory of the replica it reaches.
// Replica b serves the client and remembers a product; it is deleted and
// another repriced through replica a.
func TestClientFresh(t *testing.T) {
	ctx := context.Background()
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			a, b, _ := twoReplicas(t, engine)
			client := httpapi.NewClient(remotetest.Serve(t, "catalogue", httpapi.Routes(b)))

			tea, err := a.Create(ctx, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 450, Currency: "EUR"})
			require.NoError(t, err)
			cake, err := a.Create(ctx, catalogue.ProductInput{SKU: "CAKE", Name: "Cake", Price: 300, Currency: "EUR"})
			require.NoError(t, err)
			prices := func(fresh bool) []int64 {
				t.Helper()
				page, err := client.List(ctx, catalogue.ListQuery{IDs: []string{tea.ID, cake.ID}, Fresh: fresh})
				require.NoError(t, err)
				var out []int64
				for _, p := range page.Data {
					out = append(out, p.Price)
				}
				return out
			}
			require.Equal(t, []int64{450, 300}, prices(false))

			_, err = a.Update(ctx, tea.ID, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 500, Currency: "EUR"})
			require.NoError(t, err)
			require.NoError(t, a.Delete(ctx, cake.ID))
			require.Equal(t, []int64{450, 300}, prices(false), "b answers a plain query from memory until its check")
			require.Equal(t, []int64{500}, prices(true), "and a fresh one from the database")
		})
	}
}

// twoReplicas are two catalogue replicas on one database, each with its
// read cache, and the clock they share.
func twoReplicas(t *testing.T, engine testdb.Engine) (a, b *service.Service, clock *testclock.Clock) {
	db := engine.Open(t, "catalogue").DB
	clock = testclock.New(time.Now().UTC().Truncate(time.Microsecond))
	a = service.New(db, clock.Now).WithCache(5*time.Second, time.Second)
	b = service.New(db, clock.Now).WithCache(5*time.Second, time.Second)
	return a, b, clock
}

// cachingCatalogue is the catalogue on a database of its own, with its
// read cache, and the clock it reads.
func cachingCatalogue(t *testing.T, engine testdb.Engine) (*service.Service, func() time.Time) {
	now := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	return service.New(engine.Open(t, "catalogue").DB, now).WithCache(5*time.Second, time.Second), now
}

// served is a catalogue replica on db, with its read cache, served over
// HTTP as its own process serves it.
func served(t *testing.T, svc *service.Service) *httpapi.Client {
	return httpapi.NewClient(remotetest.Serve(t, "catalogue", httpapi.Routes(svc), httpapi.InternalRoutes(svc.Changes)))
}

// TestCachedClientContract: a client that keeps a cache of the catalogue's
// answers cannot be told from the service by a caller that writes through
// it.
func TestCachedClientContract(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			cataloguetest.Run(t, func(t *testing.T) catalogue.Service {
				local, now := cachingCatalogue(t, engine)
				return served(t, local).WithCache(5*time.Second, time.Second, now)
			})
		})
	}
}

// TestCachedClient: the client answers reads from memory; its own writes,
// and those it is told of, show in its next read; a write made around it
// shows once the check is due, when the catalogue's count of changes has
// moved. Replica a is another process writing to the same database.
func TestCachedClient(t *testing.T) {
	ctx := context.Background()
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			a, b, clock := twoReplicas(t, engine)
			client := served(t, b).WithCache(5*time.Second, time.Second, clock.Now)
			input := func(price int64) catalogue.ProductInput {
				return catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: price, Currency: "EUR"}
			}
			tea, err := client.Create(ctx, input(450))
			require.NoError(t, err)
			get := func() int64 {
				t.Helper()
				p, err := client.Get(ctx, tea.ID)
				require.NoError(t, err)
				return p.Price
			}
			list := func() []int64 {
				t.Helper()
				page, err := client.List(ctx, catalogue.ListQuery{Q: " tea "})
				require.NoError(t, err)
				var out []int64
				for _, p := range page.Data {
					out = append(out, p.Price)
				}
				return out
			}
			require.Equal(t, int64(450), get())
			require.Equal(t, []int64{450}, list())

			_, err = a.Update(ctx, tea.ID, input(500))
			require.NoError(t, err)
			require.Equal(t, int64(450), get(), "a write around the client shows only when the check is due")
			require.Equal(t, []int64{450}, list())
			clock.Advance(time.Second)
			require.Equal(t, int64(500), get(), "the count of changes moved: the client reads again")
			require.Equal(t, []int64{500}, list())

			_, err = client.Update(ctx, tea.ID, input(600))
			require.NoError(t, err)
			require.Equal(t, int64(600), get(), "the client's own write shows at once")
			require.Equal(t, []int64{600}, list())

			// A write that reaches the catalogue through another path of
			// this process (a forwarded request) shows once it is told.
			_, err = b.Update(ctx, tea.ID, input(700))
			require.NoError(t, err)
			require.Equal(t, int64(600), get())
			client.Written(ctx, tea.ID)
			require.Equal(t, int64(700), get())
			require.Equal(t, []int64{700}, list())
			_, err = b.Create(ctx, catalogue.ProductInput{SKU: "TEA-2", Name: "Tea", Price: 800, Currency: "EUR"})
			require.NoError(t, err)
			require.Equal(t, []int64{700}, list())
			client.Written(ctx, "")
			require.Equal(t, []int64{700, 800}, list(), "a create clears the pages")

			// A fresh query, or one by ids, always crosses to the catalogue.
			require.NoError(t, b.Delete(ctx, tea.ID)) // b forgets it at once; the client is not told
			require.Equal(t, int64(700), get())
			page, err := client.List(ctx, catalogue.ListQuery{IDs: []string{tea.ID}})
			require.NoError(t, err)
			require.Empty(t, page.Data)
			page, err = client.List(ctx, catalogue.ListQuery{Q: "tea", Fresh: true})
			require.NoError(t, err)
			require.Len(t, page.Data, 1)
			clock.Advance(time.Second)
			_, err = client.Get(ctx, tea.ID)
			require.ErrorIs(t, err, catalogue.ErrNotFound)
		})
	}
}

// TestSeenCacheContract: a module that reads the catalogue through a cache
// for the callers a gateway speaks for cannot be told from the service by
// a caller whose writes go through that gateway.
func TestSeenCacheContract(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			cataloguetest.Run(t, func(t *testing.T) catalogue.Service {
				local, now := cachingCatalogue(t, engine)
				return throughGateway{
					edge:   served(t, local).WithCache(5*time.Second, time.Millisecond, now),
					module: served(t, local).WithSeenCache(5*time.Second, time.Second, now),
				}
			})
		})
	}
}

// throughGateway is the catalogue as a caller of a split shop meets it:
// its writes go through the gateway's client (edge), its reads are made by
// a module (module) on its behalf, with what the gateway says it has seen.
type throughGateway struct{ edge, module *httpapi.Client }

func (g throughGateway) seen(ctx context.Context) context.Context {
	if n, ok := g.edge.Seen(); ok {
		return web.WithCatalogueSeen(ctx, n)
	}
	return ctx
}

func (g throughGateway) Create(ctx context.Context, in catalogue.ProductInput) (catalogue.Product, error) {
	return g.edge.Create(ctx, in)
}

func (g throughGateway) Update(ctx context.Context, id string, in catalogue.ProductInput) (catalogue.Product, error) {
	return g.edge.Update(ctx, id, in)
}

func (g throughGateway) Delete(ctx context.Context, id string) error { return g.edge.Delete(ctx, id) }

func (g throughGateway) Get(ctx context.Context, id string) (catalogue.Product, error) {
	return g.module.Get(g.seen(ctx), id)
}

func (g throughGateway) List(ctx context.Context, q catalogue.ListQuery) (catalogue.Page, error) {
	return g.module.List(g.seen(ctx), q)
}

// TestSeenCache: a module's cache answers a caller that says what it has
// seen from memory once it holds all of that, and looks at the count of
// changes at once when it may not; a caller that says nothing is answered
// by the catalogue. The gateway's client says what its callers may have
// seen, a count that holds the writes it forwarded, and nothing while it
// cannot be sure.
func TestSeenCache(t *testing.T) {
	ctx := context.Background()
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			clock := testclock.New(time.Now().UTC().Truncate(time.Microsecond))
			svc := service.New(engine.Open(t, "catalogue").DB, clock.Now).WithCache(5*time.Second, time.Second)
			var countDown atomic.Bool // the catalogue cannot say its count of changes
			changes := func(ctx context.Context) (int64, error) {
				if countDown.Load() {
					return 0, errors.New("the count of changes is out of reach")
				}
				return svc.Changes(ctx)
			}
			serve := func() *remote.Module {
				return remotetest.Serve(t, "catalogue", httpapi.Routes(svc), httpapi.InternalRoutes(changes))
			}
			edge := httpapi.NewClient(serve()).WithCache(5*time.Second, time.Second, clock.Now)
			module := httpapi.NewClient(serve()).WithSeenCache(5*time.Second, time.Second, clock.Now)
			input := func(price int64) catalogue.ProductInput {
				return catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: price, Currency: "EUR"}
			}
			seen := func() int64 {
				t.Helper()
				n, ok := edge.Seen()
				require.True(t, ok, "the gateway can say what its callers have seen")
				return n
			}
			price := func(ctx context.Context, id string) int64 {
				t.Helper()
				p, err := module.Get(ctx, id)
				require.NoError(t, err)
				return p.Price
			}

			_, ok := edge.Seen()
			require.False(t, ok, "a gateway that has just started cannot say what its callers saw before")
			clock.Advance(time.Second)
			tea, err := edge.Create(ctx, input(450))
			require.NoError(t, err)
			caller := web.WithCatalogueSeen(ctx, seen())
			require.Equal(t, int64(450), price(caller, tea.ID))

			_, err = svc.Update(ctx, tea.ID, input(500)) // around the gateway
			require.NoError(t, err)
			require.Equal(t, int64(450), price(caller, tea.ID), "a caller that has seen no more is answered from memory")
			require.Equal(t, int64(500), price(ctx, tea.ID), "a caller that says nothing is answered by the catalogue")

			_, err = edge.Update(ctx, tea.ID, input(600))
			require.NoError(t, err)
			caller = web.WithCatalogueSeen(ctx, seen())
			require.Equal(t, int64(600), price(caller, tea.ID), "the caller's own write shows in its next request")
			page, err := module.List(caller, catalogue.ListQuery{Q: "tea"})
			require.NoError(t, err)
			require.Equal(t, int64(600), page.Data[0].Price)

			require.NoError(t, edge.Delete(ctx, tea.ID))
			caller = web.WithCatalogueSeen(ctx, seen())
			_, err = module.Get(caller, tea.ID)
			require.ErrorIs(t, err, catalogue.ErrNotFound, "a product deleted through the gateway is gone at once")

			coffee, err := edge.Create(ctx, catalogue.ProductInput{SKU: "COFFEE", Name: "Coffee", Price: 300, Currency: "EUR"})
			require.NoError(t, err)
			require.Equal(t, int64(300), price(web.WithCatalogueSeen(ctx, seen()), coffee.ID))

			// The count that holds a write cannot be read: the gateway says
			// nothing until every cache has looked since.
			countDown.Store(true)
			_, err = edge.Update(ctx, coffee.ID, catalogue.ProductInput{SKU: "COFFEE", Name: "Coffee", Price: 350, Currency: "EUR"})
			require.NoError(t, err)
			_, ok = edge.Seen()
			require.False(t, ok, "a write whose count is unknown leaves the gateway unable to say")
			countDown.Store(false)
			clock.Advance(time.Second)
			require.Equal(t, int64(350), price(web.WithCatalogueSeen(ctx, seen()), coffee.ID),
				"by the time it says again, the module's cache has looked since the write")
		})
	}
}

package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/remote/remotetest"
	"github.com/bazaar-shop/bazaar/internal/testclock"
	"github.com/bazaar-shop/bazaar/internal/testdb"
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
			db := engine.Open(t, "catalogue").DB
			clock := testclock.New(time.Now().UTC().Truncate(time.Microsecond))
			a := service.New(db, clock.Now).WithCache(5*time.Second, time.Second)
			b := service.New(db, clock.Now).WithCache(5*time.Second, time.Second)
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

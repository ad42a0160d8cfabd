package httpapi_test

import (
	"testing"
	"time"

	"github.com/bazaar-shop/bazaar/internal/remote/remotetest"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	cataloguesvc "github.com/bazaar-shop/bazaar/modules/catalogue/service"
	"github.com/bazaar-shop/bazaar/modules/inventory/httpapi"
	"github.com/bazaar-shop/bazaar/modules/inventory/inventorytest"
	"github.com/bazaar-shop/bazaar/modules/inventory/service"
)

// TestClientContract runs the inventory contract suite against the HTTP
// client in front of a real server of the inventory (public and internal
// routes): a caller cannot tell it from the local service.
func TestClientContract(t *testing.T) {
	now := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			inventorytest.Run(t, func(t *testing.T) inventorytest.Harness {
				cat := cataloguesvc.New(engine.Open(t, "catalogue").DB, now)
				local := service.New(engine.Open(t, "inventory").DB, cat, time.Minute, 5, now)
				m := remotetest.Serve(t, "inventory", httpapi.Routes(local), httpapi.InternalRoutes(local))
				return inventorytest.Harness{Inventory: httpapi.NewClient(m), Catalogue: cat}
			})
		})
	}
}

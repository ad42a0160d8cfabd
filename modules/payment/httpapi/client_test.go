package httpapi_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/bazaar-shop/bazaar/internal/remote/remotetest"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	cataloguesvc "github.com/bazaar-shop/bazaar/modules/catalogue/service"
	inventorysvc "github.com/bazaar-shop/bazaar/modules/inventory/service"
	"github.com/bazaar-shop/bazaar/modules/payment/httpapi"
	"github.com/bazaar-shop/bazaar/modules/payment/paymenttest"
	"github.com/bazaar-shop/bazaar/modules/payment/sandbox"
	"github.com/bazaar-shop/bazaar/modules/payment/service"
)

// TestClientContract runs the payment contract suite against the HTTP
// client in front of a real server of the payment module: a caller cannot
// tell it from the local service. Catalogue and inventory stay local; the
// suite uses them to stock products and check levels.
func TestClientContract(t *testing.T) {
	now := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			paymenttest.Run(t, func(t *testing.T) paymenttest.Harness {
				cat := cataloguesvc.New(engine.Open(t, "catalogue").DB, now)
				inv := inventorysvc.New(engine.Open(t, "inventory").DB, cat, 10*time.Minute, 5, now)
				local := service.New(engine.Open(t, "payment").DB, cat, inv, sandbox.New(engine.Open(t, "sandbox").DB, now), now, slog.New(slog.DiscardHandler))
				m := remotetest.Serve(t, "payment", httpapi.Routes(local))
				return paymenttest.Harness{Payments: httpapi.NewClient(m), Catalogue: cat, Inventory: inv}
			})
		})
	}
}

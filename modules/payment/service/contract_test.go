package service_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/bazaar-shop/bazaar/internal/testdb"
	cataloguesvc "github.com/bazaar-shop/bazaar/modules/catalogue/service"
	inventorysvc "github.com/bazaar-shop/bazaar/modules/inventory/service"
	"github.com/bazaar-shop/bazaar/modules/payment/paymenttest"
	"github.com/bazaar-shop/bazaar/modules/payment/sandbox"
	"github.com/bazaar-shop/bazaar/modules/payment/service"
)

// TestContract runs the payment contract suite against the local service,
// with real catalogue and inventory services and the sandbox processor, on
// every database engine.
func TestContract(t *testing.T) {
	now := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			paymenttest.Run(t, func(t *testing.T) paymenttest.Harness {
				cat := cataloguesvc.New(engine.Open(t, "catalogue").DB, now)
				inv := inventorysvc.New(engine.Open(t, "inventory").DB, cat, ttl, 5, now)
				pay := service.New(engine.Open(t, "payment").DB, cat, inv, sandbox.New(engine.Open(t, "sandbox").DB, now), now, slog.New(slog.DiscardHandler))
				return paymenttest.Harness{Payments: pay, Catalogue: cat, Inventory: inv}
			})
		})
	}
}

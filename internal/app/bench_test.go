package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bazaar-shop/bazaar/internal/bench"
	"github.com/bazaar-shop/bazaar/internal/remote/remotetest"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	cataloguehttp "github.com/bazaar-shop/bazaar/modules/catalogue/httpapi"
	cataloguesvc "github.com/bazaar-shop/bazaar/modules/catalogue/service"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	inventoryhttp "github.com/bazaar-shop/bazaar/modules/inventory/httpapi"
	inventorysvc "github.com/bazaar-shop/bazaar/modules/inventory/service"
	"github.com/bazaar-shop/bazaar/modules/payment"
	"github.com/bazaar-shop/bazaar/modules/payment/sandbox"
	paymentsvc "github.com/bazaar-shop/bazaar/modules/payment/service"
)

// What does crossing the network cost? The same call, through the same
// interface, in-process and over loopback HTTP, on SQLite. Compare the two
// figures of one run (the machines are shared and noisy):
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/app

var benchNow = func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// benchShop is the catalogue and inventory of a benchmark, local and
// remote; catalogueSeen is a client with the cache a module of the split
// keeps for the callers a gateway speaks for.
type benchShop struct {
	catalogue, catalogueClient, catalogueSeen catalogue.Service
	inventory, inventoryClient                inventory.Service
	product                                   string
}

func newBenchShop(b *testing.B) benchShop {
	engine := testdb.Engines()[0]
	cat := cataloguesvc.New(engine.Open(b, "catalogue").DB, benchNow)
	inv := inventorysvc.New(engine.Open(b, "inventory").DB, cat, time.Minute, 0, benchNow)
	p, err := cat.Create(context.Background(), catalogue.ProductInput{SKU: "BENCH", Name: "Bench", Price: 100, Currency: "EUR"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := inv.Set(context.Background(), p.ID, 1_000_000_000); err != nil {
		b.Fatal(err)
	}
	return benchShop{
		catalogue:       cat,
		catalogueClient: cataloguehttp.NewClient(remotetest.Serve(b, "catalogue", cataloguehttp.Routes(cat))),
		catalogueSeen: cataloguehttp.NewClient(remotetest.Serve(b, "catalogue", cataloguehttp.Routes(cat), cataloguehttp.InternalRoutes(cat.Changes))).
			WithSeenCache(5*time.Second, time.Second, benchNow),
		inventory:       inv,
		inventoryClient: inventoryhttp.NewClient(remotetest.Serve(b, "inventory", inventoryhttp.Routes(inv), inventoryhttp.InternalRoutes(inv))),
		product:         p.ID,
	}
}

// BenchmarkModuleCall is one catalogue.Get, as inventory makes it: in
// process (from the database: this service keeps no cache), over
// loopback HTTP, and over HTTP through the cache a module of the split
// keeps for the callers a gateway speaks for (remote-seen), which answers
// from memory while nothing is written.
func BenchmarkModuleCall(b *testing.B) {
	shop := newBenchShop(b)
	for _, mode := range []struct {
		name string
		svc  catalogue.Service
		ctx  context.Context
	}{
		{"local", shop.catalogue, context.Background()},
		{"remote", shop.catalogueClient, context.Background()},
		{"remote-seen", shop.catalogueSeen, web.WithCatalogueSeen(context.Background(), 0)},
	} {
		b.Run(mode.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := mode.svc.Get(mode.ctx, shop.product); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheckout is a whole checkout, with catalogue and inventory
// in-process or behind HTTP.
func BenchmarkCheckout(b *testing.B) {
	shop := newBenchShop(b)
	req := payment.CheckoutRequest{
		Items: []payment.Item{{ProductID: shop.product, Quantity: 1}},
		Card:  payment.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2099, CVC: "123"},
		Email: "bench@example.com",
	}
	for _, mode := range []struct {
		name string
		cat  catalogue.Service
		inv  inventory.Service
	}{{"local", shop.catalogue, shop.inventory}, {"remote", shop.catalogueClient, shop.inventoryClient}} {
		b.Run(mode.name, func(b *testing.B) {
			pay := paymentsvc.New(testdb.Engines()[0].Open(b, "payment").DB, mode.cat, mode.inv, sandbox.New(testdb.Engines()[0].Open(b, "sandbox").DB, benchNow), benchNow,
				slog.New(slog.DiscardHandler))
			for b.Loop() {
				if _, err := pay.Checkout(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProductRead is GET /v1/products/{id} served in-process by the
// whole shop — its middleware, the catalogue's cache — and by the bare gin
// handler `bazaar bench --baseline` measures it against, without the
// network both pay in the bench. allocs/op counts what each request leaves
// for the garbage collector.
func BenchmarkProductRead(b *testing.B) {
	env := map[string]string{
		"BAZAAR_DATA_DIR":                 b.TempDir(),
		"BAZAAR_ADMIN_KEY":                "bzr_bench_admin",
		"BAZAAR_LOG_LEVEL":                "warn",
		"BAZAAR_RATE_LIMIT_RPS":           "0", // as the bench starts the shop
		"BAZAAR_RATE_LIMIT_ANONYMOUS_RPS": "0",
	}
	shop := startApp(b, env).Handler(nil)
	create := httptest.NewRequest(http.MethodPost, "/v1/products",
		strings.NewReader(`{"sku":"BENCH","name":"Bench","price":100,"currency":"EUR"}`))
	create.Header.Set("Authorization", "Bearer bzr_bench_admin")
	create.Header.Set("Content-Type", "application/json")
	created := httptest.NewRecorder()
	shop.ServeHTTP(created, create)
	var product struct{ ID string }
	if err := json.Unmarshal(created.Body.Bytes(), &product); err != nil || created.Code != http.StatusCreated {
		b.Fatalf("create a product: %d %s", created.Code, created.Body)
	}
	for _, h := range []struct {
		name    string
		handler http.Handler
	}{{"bazaar", shop}, {"bare-gin", bench.BaselineHandler()}} {
		b.Run(h.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/products/"+product.ID, nil))
				if w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}

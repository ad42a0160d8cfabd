package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bazaar-shop/bazaar/internal/metrics"
	"github.com/bazaar-shop/bazaar/internal/outbox"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

// The decorators below count and time every call one module makes to
// another, labelled local or remote: the same interface either way, so the
// callers do not know they are watched.

type call struct {
	m            *metrics.Metrics
	caller, mode string
}

func observe[T any](c call, callee, method string, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	c.m.Call(c.caller, callee, method, c.mode, start, err)
	return v, err
}

func observeErr(c call, callee, method string, f func() error) error {
	_, err := observe(c, callee, method, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

type catalogueCalls struct {
	call
	next catalogue.Service
}

func (c catalogueCalls) Create(ctx context.Context, in catalogue.ProductInput) (catalogue.Product, error) {
	return observe(c.call, "catalogue", "Create", func() (catalogue.Product, error) { return c.next.Create(ctx, in) })
}

func (c catalogueCalls) Get(ctx context.Context, id string) (catalogue.Product, error) {
	return observe(c.call, "catalogue", "Get", func() (catalogue.Product, error) { return c.next.Get(ctx, id) })
}

func (c catalogueCalls) List(ctx context.Context, q catalogue.ListQuery) (catalogue.Page, error) {
	return observe(c.call, "catalogue", "List", func() (catalogue.Page, error) { return c.next.List(ctx, q) })
}

func (c catalogueCalls) Update(ctx context.Context, id string, in catalogue.ProductInput) (catalogue.Product, error) {
	return observe(c.call, "catalogue", "Update", func() (catalogue.Product, error) { return c.next.Update(ctx, id, in) })
}

func (c catalogueCalls) Delete(ctx context.Context, id string) error {
	return observeErr(c.call, "catalogue", "Delete", func() error { return c.next.Delete(ctx, id) })
}

type inventoryCalls struct {
	call
	next inventory.Service
}

func (c inventoryCalls) Get(ctx context.Context, productID string) (inventory.Level, error) {
	return observe(c.call, "inventory", "Get", func() (inventory.Level, error) { return c.next.Get(ctx, productID) })
}

func (c inventoryCalls) Set(ctx context.Context, productID string, onHand int64) (inventory.Level, error) {
	return observe(c.call, "inventory", "Set", func() (inventory.Level, error) { return c.next.Set(ctx, productID, onHand) })
}

func (c inventoryCalls) Adjust(ctx context.Context, productID string, delta int64, reason string) (inventory.Level, error) {
	return observe(c.call, "inventory", "Adjust", func() (inventory.Level, error) {
		return c.next.Adjust(ctx, productID, delta, reason)
	})
}

func (c inventoryCalls) Reserve(ctx context.Context, id string, lines []inventory.Line) (inventory.Reservation, error) {
	return observe(c.call, "inventory", "Reserve", func() (inventory.Reservation, error) { return c.next.Reserve(ctx, id, lines) })
}

func (c inventoryCalls) Commit(ctx context.Context, id string) error {
	return observeErr(c.call, "inventory", "Commit", func() error { return c.next.Commit(ctx, id) })
}

func (c inventoryCalls) Release(ctx context.Context, id string) error {
	return observeErr(c.call, "inventory", "Release", func() error { return c.next.Release(ctx, id) })
}

func (c inventoryCalls) Restock(ctx context.Context, id string) error {
	return observeErr(c.call, "inventory", "Restock", func() error { return c.next.Restock(ctx, id) })
}

// countedCheckouts counts the checkouts this process serves, by outcome.
type countedCheckouts struct {
	payment.Service
	m *metrics.Metrics
}

func (c countedCheckouts) Checkout(ctx context.Context, req payment.CheckoutRequest) (payment.Payment, error) {
	p, err := c.Service.Checkout(ctx, req)
	c.m.Checkout(err)
	return p, err
}

var (
	_ catalogue.Service = catalogueCalls{}
	_ inventory.Service = inventoryCalls{}
	_ payment.Service   = countedCheckouts{}
)

// gauges exports what is read at scrape time: units reserved, events not
// yet relayed per hosted module, and webhook deliveries by status.
func (a *App) gauges() {
	if a.expiry != nil {
		a.metrics.Gauge("bazaar_units_reserved", "Units held by reservations right now.", nil,
			func(ctx context.Context) (float64, error) {
				n, err := a.expiry.ReservedUnits(ctx)
				return float64(n), err
			})
	}
	for name, db := range a.dbs {
		if name == "auth" || name == "webhooks" {
			continue
		}
		a.metrics.Gauge("bazaar_outbox_backlog", "Events in a module's outbox not yet relayed to webhooks.",
			prometheus.Labels{"module": name}, func(ctx context.Context) (float64, error) {
				n, err := outbox.Backlog(ctx, db.DB)
				return float64(n), err
			})
	}
	for _, status := range []string{"pending", "delivered", "failed"} {
		a.metrics.Gauge("bazaar_webhook_deliveries", "Webhook deliveries by status.", prometheus.Labels{"status": status},
			func(ctx context.Context) (float64, error) {
				counts, err := a.hooks.Counts(ctx)
				return float64(counts[status]), err
			})
	}
}

// catalogueFor and inventoryFor are the modules as a caller sees them:
// measured, and labelled with where they run.
func (a *App) catalogueFor(caller string) catalogue.Service {
	return catalogueCalls{call{a.metrics, caller, a.mode("catalogue")}, a.catalogue}
}

func (a *App) inventoryFor(caller string) inventory.Service {
	return inventoryCalls{call{a.metrics, caller, a.mode("inventory")}, a.inventory}
}

func (a *App) mode(module string) string {
	if a.cfg.Hosts(module) {
		return "local"
	}
	return "remote"
}

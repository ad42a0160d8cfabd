package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/bazaar-shop/bazaar/internal/errs"
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
	tracer       trace.Tracer
	caller, mode string
}

// observe runs one module call in a span of its own and records it.
func observe[T any](ctx context.Context, c call, callee, method string, f func(context.Context) (T, error)) (T, error) {
	ctx, span := c.tracer.Start(ctx, c.caller+" → "+callee+"."+method, trace.WithAttributes(
		attribute.String("bazaar.caller", c.caller), attribute.String("bazaar.callee", callee),
		attribute.String("bazaar.mode", c.mode)))
	defer span.End()
	start := time.Now()
	v, err := f(ctx)
	c.m.Call(c.caller, callee, method, c.mode, start, err)
	if err != nil {
		span.SetStatus(codes.Error, errs.Code(err))
	}
	return v, err
}

func observeErr(ctx context.Context, c call, callee, method string, f func(context.Context) error) error {
	_, err := observe(ctx, c, callee, method, func(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) })
	return err
}

type catalogueCalls struct {
	call
	next catalogue.Service
}

func (c catalogueCalls) Create(ctx context.Context, in catalogue.ProductInput) (catalogue.Product, error) {
	return observe(ctx, c.call, "catalogue", "Create", func(ctx context.Context) (catalogue.Product, error) { return c.next.Create(ctx, in) })
}

func (c catalogueCalls) Get(ctx context.Context, id string) (catalogue.Product, error) {
	return observe(ctx, c.call, "catalogue", "Get", func(ctx context.Context) (catalogue.Product, error) { return c.next.Get(ctx, id) })
}

func (c catalogueCalls) List(ctx context.Context, q catalogue.ListQuery) (catalogue.Page, error) {
	return observe(ctx, c.call, "catalogue", "List", func(ctx context.Context) (catalogue.Page, error) { return c.next.List(ctx, q) })
}

func (c catalogueCalls) Update(ctx context.Context, id string, in catalogue.ProductInput) (catalogue.Product, error) {
	return observe(ctx, c.call, "catalogue", "Update", func(ctx context.Context) (catalogue.Product, error) { return c.next.Update(ctx, id, in) })
}

func (c catalogueCalls) Delete(ctx context.Context, id string) error {
	return observeErr(ctx, c.call, "catalogue", "Delete", func(ctx context.Context) error { return c.next.Delete(ctx, id) })
}

type inventoryCalls struct {
	call
	next inventory.Service
}

func (c inventoryCalls) Get(ctx context.Context, productID string) (inventory.Level, error) {
	return observe(ctx, c.call, "inventory", "Get", func(ctx context.Context) (inventory.Level, error) { return c.next.Get(ctx, productID) })
}

func (c inventoryCalls) Set(ctx context.Context, productID string, onHand int64) (inventory.Level, error) {
	return observe(ctx, c.call, "inventory", "Set", func(ctx context.Context) (inventory.Level, error) { return c.next.Set(ctx, productID, onHand) })
}

func (c inventoryCalls) Adjust(ctx context.Context, productID string, delta int64, reason string) (inventory.Level, error) {
	return observe(ctx, c.call, "inventory", "Adjust", func(ctx context.Context) (inventory.Level, error) {
		return c.next.Adjust(ctx, productID, delta, reason)
	})
}

func (c inventoryCalls) Reserve(ctx context.Context, id string, lines []inventory.Line) (inventory.Reservation, error) {
	return observe(ctx, c.call, "inventory", "Reserve", func(ctx context.Context) (inventory.Reservation, error) { return c.next.Reserve(ctx, id, lines) })
}

func (c inventoryCalls) Commit(ctx context.Context, id string) error {
	return observeErr(ctx, c.call, "inventory", "Commit", func(ctx context.Context) error { return c.next.Commit(ctx, id) })
}

func (c inventoryCalls) Release(ctx context.Context, id string) error {
	return observeErr(ctx, c.call, "inventory", "Release", func(ctx context.Context) error { return c.next.Release(ctx, id) })
}

func (c inventoryCalls) Restock(ctx context.Context, id string) error {
	return observeErr(ctx, c.call, "inventory", "Restock", func(ctx context.Context) error { return c.next.Restock(ctx, id) })
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
	if a.hostedInventory != nil {
		a.metrics.Gauge("bazaar_units_reserved", "Units held by reservations right now.", nil,
			func(ctx context.Context) (float64, error) {
				n, err := a.hostedInventory.ReservedUnits(ctx)
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
	if a.hostedWebhooks == nil {
		return
	}
	for _, status := range []string{"pending", "delivered", "failed"} {
		a.metrics.Gauge("bazaar_webhook_deliveries", "Webhook deliveries by status.", prometheus.Labels{"status": status},
			func(ctx context.Context) (float64, error) {
				counts, err := a.hostedWebhooks.Counts(ctx)
				return float64(counts[status]), err
			})
	}
}

// catalogueFor and inventoryFor are the modules as a caller sees them:
// measured, and labelled with where they run.
func (a *App) catalogueFor(caller string) catalogue.Service {
	return catalogueCalls{call{a.metrics, a.tracer, caller, a.mode("catalogue")}, a.catalogue}
}

func (a *App) inventoryFor(caller string) inventory.Service {
	return inventoryCalls{call{a.metrics, a.tracer, caller, a.mode("inventory")}, a.inventory}
}

func (a *App) mode(module string) string {
	if a.cfg.Hosts(module) {
		return "local"
	}
	return "remote"
}

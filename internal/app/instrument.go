package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/faults"
	"github.com/bazaar-shop/bazaar/internal/metrics"
	"github.com/bazaar-shop/bazaar/internal/outbox"
	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/internal/topology"
	"github.com/bazaar-shop/bazaar/internal/tracing"
	"github.com/bazaar-shop/bazaar/modules"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

// The decorators below count and time every call one module makes to
// another, labelled local, wire, remote or cached, and make the faults set for an
// in-process callee: the same interface either way, so the callers do not
// know they are watched.

type call struct {
	m            *metrics.Metrics
	tracer       trace.Tracer
	caller, mode string
	// faults and attempt apply the faults set for the callee to an
	// in-process call; the HTTP client applies them to the others.
	faults  *faults.Injector
	attempt time.Duration
}

// calls is how caller's calls to callee are watched.
func (a *App) calls(caller, callee modules.Module) call {
	return call{m: a.metrics, tracer: a.tracer, caller: string(caller), mode: a.mode(callee),
		faults: a.faults, attempt: a.cfg.Remote.Timeout}
}

// observe runs one module call in a span of its own and records it.
func observe[T any](ctx context.Context, c call, callee modules.Module, method string, f func(context.Context) (T, error)) (T, error) {
	ctx, span := c.tracer.Start(ctx, c.caller+" → "+string(callee)+"."+method, trace.WithAttributes(
		attribute.String("bazaar.caller", c.caller), attribute.String("bazaar.callee", string(callee)),
		tracing.ModeKey.String(c.mode)))
	defer span.End()
	start := time.Now()
	var v T
	var err error
	mode := c.mode
	if mode == topology.Local {
		plan := c.faults.Plan(string(callee))
		err = plan.InProcess(ctx, c.attempt, errs.ErrUnavailable, func(ctx context.Context) (err error) {
			v, err = f(ctx)
			return err
		})
	} else {
		ctx, crossed := remote.TrackCalls(ctx)
		v, err = f(ctx)
		if !crossed() {
			mode = modeCached
			span.SetAttributes(tracing.ModeKey.String(mode))
		}
	}
	c.m.Call(c.caller, string(callee), method, mode, start, err)
	if err != nil {
		span.SetStatus(codes.Error, errs.Code(err))
	}
	return v, err
}

func observeErr(ctx context.Context, c call, callee modules.Module, method string, f func(context.Context) error) error {
	_, err := observe(ctx, c, callee, method, func(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) })
	return err
}

type catalogueCalls struct {
	call
	next catalogue.Service
}

func (c catalogueCalls) Create(ctx context.Context, in catalogue.ProductInput) (catalogue.Product, error) {
	return observe(ctx, c.call, modules.Catalogue, "Create", func(ctx context.Context) (catalogue.Product, error) { return c.next.Create(ctx, in) })
}

func (c catalogueCalls) Get(ctx context.Context, id string) (catalogue.Product, error) {
	return observe(ctx, c.call, modules.Catalogue, "Get", func(ctx context.Context) (catalogue.Product, error) { return c.next.Get(ctx, id) })
}

func (c catalogueCalls) List(ctx context.Context, q catalogue.ListQuery) (catalogue.Page, error) {
	return observe(ctx, c.call, modules.Catalogue, "List", func(ctx context.Context) (catalogue.Page, error) { return c.next.List(ctx, q) })
}

func (c catalogueCalls) Update(ctx context.Context, id string, in catalogue.ProductInput) (catalogue.Product, error) {
	return observe(ctx, c.call, modules.Catalogue, "Update", func(ctx context.Context) (catalogue.Product, error) { return c.next.Update(ctx, id, in) })
}

func (c catalogueCalls) Delete(ctx context.Context, id string) error {
	return observeErr(ctx, c.call, modules.Catalogue, "Delete", func(ctx context.Context) error { return c.next.Delete(ctx, id) })
}

type inventoryCalls struct {
	call
	next inventory.Service
}

func (c inventoryCalls) Get(ctx context.Context, productID string) (inventory.Level, error) {
	return observe(ctx, c.call, modules.Inventory, "Get", func(ctx context.Context) (inventory.Level, error) { return c.next.Get(ctx, productID) })
}

func (c inventoryCalls) Set(ctx context.Context, productID string, onHand int64) (inventory.Level, error) {
	return observe(ctx, c.call, modules.Inventory, "Set", func(ctx context.Context) (inventory.Level, error) { return c.next.Set(ctx, productID, onHand) })
}

func (c inventoryCalls) Adjust(ctx context.Context, productID string, delta int64, reason string) (inventory.Level, error) {
	return observe(ctx, c.call, modules.Inventory, "Adjust", func(ctx context.Context) (inventory.Level, error) {
		return c.next.Adjust(ctx, productID, delta, reason)
	})
}

func (c inventoryCalls) Reserve(ctx context.Context, id string, lines []inventory.Line) (inventory.Reservation, error) {
	return observe(ctx, c.call, modules.Inventory, "Reserve", func(ctx context.Context) (inventory.Reservation, error) { return c.next.Reserve(ctx, id, lines) })
}

func (c inventoryCalls) Commit(ctx context.Context, id string) error {
	return observeErr(ctx, c.call, modules.Inventory, "Commit", func(ctx context.Context) error { return c.next.Commit(ctx, id) })
}

func (c inventoryCalls) Release(ctx context.Context, id string) error {
	return observeErr(ctx, c.call, modules.Inventory, "Release", func(ctx context.Context) error { return c.next.Release(ctx, id) })
}

func (c inventoryCalls) Restock(ctx context.Context, id string) error {
	return observeErr(ctx, c.call, modules.Inventory, "Restock", func(ctx context.Context) error { return c.next.Restock(ctx, id) })
}

type paymentCalls struct {
	call
	next payment.Service
}

func (c paymentCalls) Checkout(ctx context.Context, req payment.CheckoutRequest) (payment.Payment, error) {
	return observe(ctx, c.call, modules.Payment, "Checkout", func(ctx context.Context) (payment.Payment, error) { return c.next.Checkout(ctx, req) })
}

func (c paymentCalls) Get(ctx context.Context, id string) (payment.Payment, error) {
	return observe(ctx, c.call, modules.Payment, "Get", func(ctx context.Context) (payment.Payment, error) { return c.next.Get(ctx, id) })
}

func (c paymentCalls) List(ctx context.Context, q payment.ListQuery) (payment.Page, error) {
	return observe(ctx, c.call, modules.Payment, "List", func(ctx context.Context) (payment.Page, error) { return c.next.List(ctx, q) })
}

func (c paymentCalls) Refund(ctx context.Context, id string) (payment.Payment, error) {
	return observe(ctx, c.call, modules.Payment, "Refund", func(ctx context.Context) (payment.Payment, error) { return c.next.Refund(ctx, id) })
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
	_ payment.Service   = paymentCalls{}
	_ payment.Service   = countedCheckouts{}
)

// gauges exports the events not yet relayed per hosted module, read at
// scrape time; the modules add their own as they are wired.
func (a *App) gauges() {
	for name, db := range a.dbs {
		if name == "auth" || name == sandboxDB || name == string(modules.Webhooks) {
			continue
		}
		a.metrics.Gauge("bazaar_outbox_backlog", "Events in a module's outbox not yet relayed to webhooks.",
			prometheus.Labels{"module": name}, func(ctx context.Context) (float64, error) {
				n, err := outbox.Backlog(ctx, db.DB)
				return float64(n), err
			})
	}
}

// catalogueFor and inventoryFor are the modules as a caller sees them:
// measured, and labelled with where they run.
func (a *App) catalogueFor(caller modules.Module) catalogue.Service {
	return catalogueCalls{a.calls(caller, modules.Catalogue), a.catalogue}
}

func (a *App) inventoryFor(caller modules.Module) inventory.Service {
	return inventoryCalls{a.calls(caller, modules.Inventory), a.inventory}
}

func (a *App) paymentFor(caller modules.Module) payment.Service {
	return paymentCalls{a.calls(caller, modules.Payment), a.payment}
}

// mode labels the calls to module: local, wire or remote.
func (a *App) mode(module modules.Module) string {
	switch {
	case a.cfg.Wire(module):
		return modeWire
	case a.cfg.Hosts(module):
		return topology.Local
	}
	return topology.Remote
}

// modeWire labels the calls to a module hosted here but called over an
// in-memory connection, as if split.
const modeWire = "wire"

// modeCached labels the calls to a module hosted elsewhere (or wired) that
// its client answered without crossing to it: from its cache, mostly (the
// catalogue's, for the callers a gateway speaks for), or by refusing what
// no module would accept.
const modeCached = "cached"

// faultsOf is what faults calls to module meet here, or nil.
func (a *App) faultsOf(module modules.Module) *faults.Spec {
	if s := a.faults.Get(string(module)); !s.Zero() {
		return &s
	}
	return nil
}

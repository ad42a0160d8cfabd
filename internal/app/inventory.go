package app

import (
	"context"

	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/modules"
	"github.com/bazaar-shop/bazaar/modules/inventory/httpapi"
	"github.com/bazaar-shop/bazaar/modules/inventory/service"
)

// wireInventory makes inventory: when hosted here its service, which
// prices from the catalogue, gives back expired reservations and reports
// the units reserved; its client when it runs elsewhere.
func (a *App) wireInventory() {
	switch r := a.remotes[modules.Inventory]; {
	case a.cfg.Hosts(modules.Inventory):
		svc := service.New(a.db(modules.Inventory), a.catalogueFor(modules.Inventory), a.cfg.Inventory.ReservationTTL,
			a.cfg.Inventory.LowStockThreshold, Now)
		a.inventory = svc
		a.work = append(a.work, func(ctx context.Context) {
			svc.RunExpiry(ctx, a.cfg.Inventory.ExpiryInterval, a.log.With("module", modules.Inventory))
		}, func(ctx context.Context) {
			svc.RunRetention(ctx, retentionInterval, service.Retention{Reservations: a.cfg.Inventory.ReservationRetention,
				Adjustments: a.cfg.Inventory.AdjustmentRetention}, a.log.With("module", modules.Inventory))
		})
		a.metrics.Gauge("bazaar_units_reserved", "Units held by reservations right now.", nil,
			func(ctx context.Context) (float64, error) {
				n, err := svc.ReservedUnits(ctx)
				return float64(n), err
			})
	case r != nil:
		a.inventory = httpapi.NewClient(r)
	}
	routes := moduleRoutes{public: httpapi.Routes(a.inventory)}
	if a.cfg.Hosts(modules.Inventory) {
		routes.internal = httpapi.InternalRoutes(a.inventory) // served only where it runs
	}
	a.routes[modules.Inventory] = routes
	a.wireUp(modules.Inventory, func(r *remote.Module) { a.inventory = httpapi.NewClient(r) })
}

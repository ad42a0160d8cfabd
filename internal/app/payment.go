package app

import (
	"context"

	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/modules"
	"github.com/bazaar-shop/bazaar/modules/payment/httpapi"
	"github.com/bazaar-shop/bazaar/modules/payment/sandbox"
	"github.com/bazaar-shop/bazaar/modules/payment/service"
)

// wirePayment makes payment: when hosted here its service, charging the
// sandbox card processor (whose ledger is a database of its own) and
// recovering payments a crash left pending; its client when it runs
// elsewhere.
func (a *App) wirePayment() {
	switch r := a.remotes[modules.Payment]; {
	case a.cfg.Hosts(modules.Payment):
		cards := sandbox.New(a.dbs[sandboxDB].DB, Now)
		svc := service.New(a.db(modules.Payment), a.catalogueFor(modules.Payment), a.inventoryFor(modules.Payment),
			cards, Now, a.log.With("module", modules.Payment))
		a.payment = countedCheckouts{svc, a.metrics}
		// Payments pending from before this start have no checkout running
		// in this process any more: resolve them now rather than after the
		// usual grace period.
		a.starts = append(a.starts, func(ctx context.Context) {
			if n, err := svc.ResolvePending(ctx, Now()); err != nil {
				a.log.Error("resolve payments left pending", "err", err)
			} else if n > 0 {
				a.log.Info("resolved payments left pending by an earlier run", "count", n)
			}
		})
		a.work = append(a.work, func(ctx context.Context) {
			svc.RunRecovery(ctx, a.cfg.Payment.RecoveryInterval, a.cfg.Payment.RecoverAfter)
		}, func(ctx context.Context) {
			cards.RunRetention(ctx, retentionInterval, a.cfg.Payment.SandboxRetention, a.log.With("module", modules.Payment))
		})
	case r != nil:
		a.payment = httpapi.NewClient(r)
	}
	a.routes[modules.Payment] = moduleRoutes{public: httpapi.Routes(a.payment)}
	a.wireUp(modules.Payment, func(r *remote.Module) { a.payment = httpapi.NewClient(r) })
}

// sandboxDB names the card sandbox's ledger among the process's databases.
const sandboxDB = "sandbox"

package app

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/modules"
	"github.com/bazaar-shop/bazaar/modules/webhooks/httpapi"
	"github.com/bazaar-shop/bazaar/modules/webhooks/service"
)

// wireWebhooks makes webhooks: when hosted here its service, which
// delivers the events every module publishes and reports its deliveries
// by status; its client when it runs elsewhere.
func (a *App) wireWebhooks() {
	switch r := a.remotes[modules.Webhooks]; {
	case a.cfg.Hosts(modules.Webhooks):
		svc := service.New(a.db(modules.Webhooks), service.Options{
			AllowPrivate: a.cfg.Webhooks.AllowPrivate, Schedule: a.cfg.Webhooks.RetrySchedule,
			Timeout: a.cfg.Webhooks.Timeout, PollInterval: a.cfg.Webhooks.PollInterval, Retention: a.cfg.Webhooks.Retention,
		}, Now)
		a.webhooks = svc
		a.work = append(a.work, func(ctx context.Context) { svc.Run(ctx, a.log.With("module", modules.Webhooks)) })
		for _, status := range []string{"pending", "delivered", "failed"} {
			a.metrics.Gauge("bazaar_webhook_deliveries", "Webhook deliveries by status.", prometheus.Labels{"status": status},
				func(ctx context.Context) (float64, error) {
					counts, err := svc.Counts(ctx)
					return float64(counts[status]), err
				})
		}
	case r != nil:
		a.webhooks = httpapi.NewClient(r)
	}
	routes := moduleRoutes{public: httpapi.Routes(a.webhooks)}
	if a.cfg.Hosts(modules.Webhooks) {
		routes.internal = httpapi.InternalRoutes(a.webhooks) // served only where it runs
	}
	a.routes[modules.Webhooks] = routes
	a.wireUp(modules.Webhooks, func(r *remote.Module) { a.webhooks = httpapi.NewClient(r) })
}

package service_test

import (
	"testing"
	"time"

	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules/webhooks"
	webhookssvc "github.com/bazaar-shop/bazaar/modules/webhooks/service"
	"github.com/bazaar-shop/bazaar/modules/webhooks/webhookstest"
)

// TestContract runs the webhooks contract suite against the local service.
func TestContract(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			webhookstest.Run(t, func(t *testing.T) webhooks.Service {
				return webhookssvc.New(engine.Open(t, "webhooks").DB, webhookssvc.Options{
					AllowPrivate: true, Schedule: []time.Duration{time.Second}, Timeout: time.Second, PollInterval: time.Second,
				}, now)
			})
		})
	}
}

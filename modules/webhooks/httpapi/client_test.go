package httpapi_test

import (
	"testing"
	"time"

	"github.com/bazaar-shop/bazaar/internal/remote/remotetest"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules/webhooks"
	"github.com/bazaar-shop/bazaar/modules/webhooks/httpapi"
	"github.com/bazaar-shop/bazaar/modules/webhooks/service"
	"github.com/bazaar-shop/bazaar/modules/webhooks/webhookstest"
)

// TestClientContract runs the webhooks contract suite against the HTTP
// client in front of a real server of the module (public and internal
// routes): a caller cannot tell it from the local service.
func TestClientContract(t *testing.T) {
	now := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			webhookstest.Run(t, func(t *testing.T) webhooks.Service {
				local := service.New(engine.Open(t, "webhooks").DB, service.Options{
					AllowPrivate: true, Schedule: []time.Duration{time.Second}, Timeout: time.Second, PollInterval: time.Second,
				}, now)
				m := remotetest.Serve(t, "webhooks", httpapi.Routes(local), httpapi.InternalRoutes(local))
				return httpapi.NewClient(m)
			})
		})
	}
}

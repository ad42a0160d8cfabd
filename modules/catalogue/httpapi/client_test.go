package httpapi_test

import (
	"testing"
	"time"

	"github.com/bazaar-shop/bazaar/internal/remote/remotetest"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/catalogue/cataloguetest"
	"github.com/bazaar-shop/bazaar/modules/catalogue/httpapi"
	"github.com/bazaar-shop/bazaar/modules/catalogue/service"
)

// TestClientContract runs the catalogue contract suite against the HTTP
// client in front of a real server of the catalogue: a caller cannot tell
// it from the local service.
func TestClientContract(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			cataloguetest.Run(t, func(t *testing.T) catalogue.Service {
				local := service.New(engine.Open(t, "catalogue").DB, func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) })
				return httpapi.NewClient(remotetest.Serve(t, "catalogue", httpapi.Routes(local)))
			})
		})
	}
}

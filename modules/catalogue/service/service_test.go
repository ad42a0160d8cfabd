package service_test

import (
	"testing"
	"time"

	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/catalogue/cataloguetest"
	"github.com/bazaar-shop/bazaar/modules/catalogue/service"
)

// TestContract runs the catalogue contract suite against the local service
// on every database engine.
func TestContract(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			cataloguetest.Run(t, func(t *testing.T) catalogue.Service {
				return service.New(engine.Open(t, "catalogue").DB, func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) })
			})
		})
	}
}

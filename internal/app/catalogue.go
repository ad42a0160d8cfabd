package app

import (
	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/modules"
	"github.com/bazaar-shop/bazaar/modules/catalogue/httpapi"
	"github.com/bazaar-shop/bazaar/modules/catalogue/service"
)

// wireCatalogue makes the catalogue: its service, with its read cache,
// when hosted here; its client when it runs elsewhere.
func (a *App) wireCatalogue() {
	switch r := a.remotes[modules.Catalogue]; {
	case a.cfg.Hosts(modules.Catalogue):
		a.catalogue = service.New(a.db(modules.Catalogue), Now).WithCache(a.cfg.Catalogue.CacheTTL, a.cfg.Catalogue.CacheCheck)
	case r != nil:
		a.catalogue = httpapi.NewClient(r)
	}
	a.routes[modules.Catalogue] = moduleRoutes{public: httpapi.Routes(a.catalogue)}
	a.wireUp(modules.Catalogue, func(r *remote.Module) { a.catalogue = httpapi.NewClient(r) })
}

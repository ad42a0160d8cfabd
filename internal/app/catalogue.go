package app

import (
	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules"
	"github.com/bazaar-shop/bazaar/modules/catalogue/httpapi"
	"github.com/bazaar-shop/bazaar/modules/catalogue/service"
)

// wireCatalogue makes the catalogue: its service, with its read cache,
// when hosted here; its client when it runs elsewhere, and — unless
// catalogue.edge_cache is off — a second client, with a read cache, that
// answers the public product reads this process would otherwise forward.
// The other modules call the catalogue through the first: their reads
// cross every time, as they would in one process.
func (a *App) wireCatalogue() {
	var routes moduleRoutes
	switch r := a.remotes[modules.Catalogue]; {
	case a.cfg.Hosts(modules.Catalogue):
		svc := service.New(a.db(modules.Catalogue), Now).WithCache(a.cfg.Catalogue.CacheTTL, a.cfg.Catalogue.CacheCheck)
		a.catalogue = svc
		routes.internal = httpapi.InternalRoutes(svc.Changes) // served only where it runs
	case r != nil:
		a.catalogue = httpapi.NewClient(r)
		routes.forwarded = a.catalogueReadsHere(r)
	}
	routes.public = httpapi.Routes(a.catalogue)
	a.routes[modules.Catalogue] = routes
	a.wireUp(modules.Catalogue, func(r *remote.Module) {
		a.catalogue = httpapi.NewClient(r)
		routes.forwarded = a.catalogueReadsHere(r)
		a.routes[modules.Catalogue] = routes
	})
}

// catalogueReadsHere is the catalogue's public API served through a client
// with its own read cache, or nil when catalogue.edge_cache is off.
func (a *App) catalogueReadsHere(r *remote.Module) []web.Route {
	cfg := a.cfg.Catalogue
	if !cfg.EdgeCache || cfg.CacheTTL == 0 {
		return nil
	}
	return httpapi.ForwardedRoutes(httpapi.NewClient(r).WithCache(cfg.CacheTTL, cfg.CacheCheck, Now))
}

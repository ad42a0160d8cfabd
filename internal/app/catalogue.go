package app

import (
	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
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
		a.catalogue = a.catalogueClient(r)
		routes.forwarded = a.catalogueReadsHere(r)
	}
	routes.public = httpapi.Routes(a.catalogue)
	a.routes[modules.Catalogue] = routes
	a.wireUp(modules.Catalogue, func(r *remote.Module) {
		a.catalogue = a.catalogueClient(r)
		routes.forwarded = a.catalogueReadsHere(r)
		a.routes[modules.Catalogue] = routes
	})
}

// catalogueClient is how the modules here reach the catalogue at r: with a
// read cache, unless catalogue.edge_cache is off, that answers only the
// callers a gateway speaks for (catalogueSeen), as they would be answered
// in one process.
func (a *App) catalogueClient(r *remote.Module) catalogue.Service {
	cfg := a.cfg.Catalogue
	if !cfg.EdgeCache {
		return httpapi.NewClient(r)
	}
	return httpapi.NewClient(r).WithSeenCache(cfg.CacheTTL, cfg.CacheCheck, Now)
}

// catalogueReadsHere is the catalogue's public API served through a client
// with its own read cache, or nil when catalogue.edge_cache is off.
func (a *App) catalogueReadsHere(r *remote.Module) []web.Route {
	cfg := a.cfg.Catalogue
	if !cfg.EdgeCache || cfg.CacheTTL == 0 {
		a.catalogueEdge = nil
		return nil
	}
	a.catalogueEdge = httpapi.NewClient(r).WithCache(cfg.CacheTTL, cfg.CacheCheck, Now)
	return httpapi.ForwardedRoutes(a.catalogueEdge)
}

// catalogueSeen speaks, at the edge, for the callers of the public API:
// what they may have seen of the catalogue is a count that holds every
// write they made through this edge (httpapi.Client.Seen), carried to
// every module their request reaches. A caller's own claim is not taken:
// only a process behind the edge believes the header. With no edge client
// (the catalogue is here, or edge_cache is off) it says nothing, and every
// module asks the catalogue itself.
func (a *App) catalogueSeen(c *gin.Context) {
	n, ok := a.catalogueEdge.Seen()
	web.SetCatalogueSeen(c, n, ok)
}

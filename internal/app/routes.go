package app

import (
	"net/http"
	"net/http/pprof"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/idempotency"
	"github.com/bazaar-shop/bazaar/internal/tracing"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules"
)

// Handler is the whole HTTP API of this process; every route is listed
// here. Every process serves the whole public API: the routes of the
// modules it hosts from their handlers, the others forwarded to where those
// modules run. Internal routes are served only where their module lives.
func (a *App) Handler(openapiJSON []byte) http.Handler {
	r := gin.New()
	// A caller's address is the connection's, unless a proxy the
	// configuration trusts says whose request it passes on.
	if err := r.SetTrustedProxies(a.cfg.RateLimit.TrustedProxies); err != nil {
		panic(err) // config validation checked every entry
	}
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.NoRoute(web.NoRoute)
	r.NoMethod(web.NoMethod)
	r.Use(tracing.Middleware(a.tracer), web.RequestLog(a.log, a.logPolicy()), a.metrics.HTTP(), web.Recover())
	if a.keys.Edge() {
		r.Use(a.catalogueSeen)
	}

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", a.readyz)
	r.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", openapiJSON) })
	if a.cfg.Metrics.Addr == "" {
		r.GET("/metrics", gin.WrapH(a.metrics.Handler()))
	}

	if a.keys.Edge() {
		web.Mount(r, a.keys.Routes(), a.keys, web.Own)
	}
	web.Mount(r, []web.Route{{Method: "GET", Path: "/v1/topology", Access: web.Admin, Handler: a.topology}}, a.keys, web.Own)

	web.Mount(r, a.internalRoutes(), a.keys, web.Own)
	web.Mount(r, a.faultRoutes(), a.keys, web.Own)
	if a.keys.Edge() {
		web.Mount(r, a.newConsole().Routes(), a.keys, web.Own)
	}
	for _, m := range modules.All() {
		a.mount(r, m, a.routes[m].public)
		if a.cfg.Hosts(m) {
			web.Mount(r, a.routes[m].internal, a.keys, web.Own)
		}
	}
	return r
}

// mount serves a module's public routes here, or forwards them to it (or
// what of them it does not answer from a cache, moduleRoutes.forwarded),
// or — when this process neither hosts the module nor knows where it runs
// — says so.
func (a *App) mount(r gin.IRouter, module modules.Module, routes []web.Route) {
	serve := web.Own
	if a.cfg.Hosts(module) {
		serve = a.hosted(module)
	}
	if m, remote := a.remotes[module]; remote {
		if own := a.routes[module].forwarded; own != nil {
			web.Mount(r, own, a.keys, web.Own)
			return
		}
		serve = func(rt web.Route) gin.HandlerFunc {
			if rt.Page {
				return m.ForwardPage
			}
			return m.Forward
		}
	} else if !a.cfg.Hosts(module) {
		unreachable := errs.Of(errs.Unavailable, "this process does not host "+string(module)+
			" and does not know where it runs (modules."+string(module)+".url)")
		serve = func(web.Route) gin.HandlerFunc { return func(c *gin.Context) { web.Error(c, unreachable) } }
	}
	web.Mount(r, routes, a.keys, serve)
}

// hosted serves the public routes of a module hosted here, the writes that
// take an Idempotency-Key through the key store in its database.
func (a *App) hosted(module modules.Module) func(web.Route) gin.HandlerFunc {
	if !module.Stores() {
		return web.Own
	}
	keys := idempotency.New(a.db(module), Now, a.cfg.Idempotency.TTL, a.cfg.Idempotency.Lease)
	return func(rt web.Route) gin.HandlerFunc {
		if rt.Idempotent {
			return keys.Wrap(rt.Handler)
		}
		return rt.Handler
	}
}

func (a *App) readyz(c *gin.Context) {
	checks := map[string]string{}
	status := http.StatusOK
	for name, err := range a.Ready(c.Request.Context(), c.Query("scope") == "local") {
		checks[name] = "ok"
		if err != nil {
			// The details go to the log, not to anonymous callers.
			web.Logger(c).Error("readiness check failed", "check", name, "err", err)
			checks[name] = "unavailable"
			status = http.StatusServiceUnavailable
		}
	}
	word := "ok"
	if status != http.StatusOK {
		word = "unavailable"
	}
	c.JSON(status, gin.H{"status": word, "checks": checks})
}

func (a *App) topology(c *gin.Context) {
	c.JSON(http.StatusOK, a.Topology(c.Request.Context()))
}

// AdminHandler serves /metrics and the pprof profiles, for the separate
// listener of metrics.addr: neither belongs on the public port.
func (a *App) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", a.metrics.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// logPolicy is which requests get an access-log line (log.*).
func (a *App) logPolicy() web.LogPolicy {
	return web.LogPolicy{PerSecond: a.cfg.Log.RequestsPerSecond, Slow: a.cfg.Log.SlowRequest,
		Quiet: []string{"/healthz", "/readyz"}}
}

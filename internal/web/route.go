package web

import (
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/identity"
)

// Access says who may call a route.
type Access int

// Access levels, from open to closed.
const (
	// Public routes need no key.
	Public Access = iota
	// Storefront routes need a storefront or an admin key.
	Storefront
	// Admin routes need an admin key.
	Admin
	// Internal routes are module-to-module calls: they need the shared
	// service token and are never forwarded by a gateway.
	Internal
)

// Route is one endpoint of a module's HTTP API. A module describes its API
// as a table of routes, so the same table serves the module locally and
// tells a gateway what to forward and whom to let through.
type Route struct {
	Method  string
	Path    string
	Access  Access
	Handler gin.HandlerFunc
	// Idempotent routes honour an Idempotency-Key header: a repeat gets
	// the first answer again (see internal/idempotency).
	Idempotent bool
	// Page routes are HTML for browsers: a forwarder passes their cookies
	// both ways (remote.Module.ForwardPage).
	Page bool
}

// Guard turns an access level into the middleware that enforces it.
type Guard interface {
	Require(Access) gin.HandlerFunc
}

// Mount registers routes on r, each behind guard, served by handler(route)
// — the route's own handler in the process that hosts the module, a
// forwarder in one that does not.
func Mount(r gin.IRouter, routes []Route, guard Guard, handler func(Route) gin.HandlerFunc) {
	for _, rt := range routes {
		r.Handle(rt.Method, rt.Path, guard.Require(rt.Access), handler(rt))
	}
}

const callerKey = "bazaar.caller"

// SetCaller records who is calling, once the guard knows: with what
// RequestLog keeps of the request, where it costs nothing (gin's keys cost
// every request a map, a lock and a boxed value), or else in gin's keys.
func SetCaller(c *gin.Context, who identity.Caller) {
	if info, ok := c.Request.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		info.caller, info.callerSet = who, true
		return
	}
	c.Set(callerKey, who)
}

// CallerOf says who is calling: the API key (by id) and role the edge
// found, the service, or an anonymous caller.
func CallerOf(c *gin.Context) identity.Caller {
	if info, ok := c.Request.Context().Value(requestInfoKey{}).(*requestInfo); ok && info.callerSet {
		return info.caller
	}
	who, _ := c.Get(callerKey)
	caller, _ := who.(identity.Caller)
	return caller
}

// Principal is a stable name for the caller, the same in every process
// of a layout: what idempotency keys and payments are scoped to.
func Principal(c *gin.Context) string { return CallerOf(c).Principal() }

// Own serves a route with its own handler.
func Own(rt Route) gin.HandlerFunc { return rt.Handler }

// Path fills the parameters of a route's path pattern (":id") in order,
// each escaped as one path segment, so that a module's HTTP client builds
// its paths from the very patterns its route table serves.
func Path(pattern string, params ...string) string {
	segments := strings.Split(pattern, "/")
	for i, s := range segments {
		if strings.HasPrefix(s, ":") && len(params) > 0 {
			segments[i], params = url.PathEscape(params[0]), params[1:]
		}
	}
	return strings.Join(segments, "/")
}

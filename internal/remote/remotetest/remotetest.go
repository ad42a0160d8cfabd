// Package remotetest serves a module's routes on a real loopback HTTP
// server and returns a remote.Module pointing at it, so a module's contract
// suite can run against its HTTP client exactly as against its local service.
package remotetest

import (
	"crypto/subtle"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/internal/web"
)

// Token is the service token the server expects and the client presents.
const Token = "remotetest-service-token"

// tokenGuard lets through exactly the requests that carry Token, as a
// module's service-token check does; it needs no key database.
type tokenGuard struct{}

func (tokenGuard) Require(access web.Access) gin.HandlerFunc {
	return func(c *gin.Context) {
		if access != web.Public && subtle.ConstantTimeCompare([]byte(c.GetHeader(remote.ServiceTokenHeader)), []byte(Token)) != 1 {
			web.Error(c, errs.ErrUnauthorized)
			return
		}
		c.Next()
	}
}

// Serve serves routes until the test ends and returns a client-side module
// for them, named name.
func Serve(t testing.TB, name string, routes ...[]web.Route) *remote.Module {
	t.Helper()
	r := gin.New()
	r.ContextWithFallback = true
	r.HandleMethodNotAllowed = true
	r.NoRoute(web.NoRoute)
	r.NoMethod(web.NoMethod)
	r.Use(web.RequestLog(slog.New(slog.DiscardHandler), web.LogPolicy{}), web.Recover())
	for _, rs := range routes {
		web.Mount(r, rs, tokenGuard{}, web.Own)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return remote.New(name, []string{srv.URL}, remote.NewClient(), remote.Options{
		Timeout: 10 * time.Second, Retries: 1, BreakerFailures: 5, BreakerCooldown: time.Second, ServiceToken: Token,
	})
}

package app

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/auth"
	"github.com/bazaar-shop/bazaar/internal/web"
	cataloguehttp "github.com/bazaar-shop/bazaar/modules/catalogue/httpapi"
	inventoryhttp "github.com/bazaar-shop/bazaar/modules/inventory/httpapi"
	paymenthttp "github.com/bazaar-shop/bazaar/modules/payment/httpapi"
)

// Handler is the whole HTTP API of this process; every route is listed here.
func (a *App) Handler(openapiJSON []byte) http.Handler {
	gin.SetMode(gin.ReleaseMode) // our access log replaces gin's debug output
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.NoRoute(web.NoRoute)
	r.NoMethod(web.NoMethod)
	r.Use(web.RequestLog(a.log), web.Recover())

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", a.readyz)
	r.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", openapiJSON) })

	a.keys.Routes(r)
	var guard auth.Guard = a.keys
	cataloguehttp.Routes(r, a.catalogue, guard)
	inventoryhttp.Routes(r, a.inventory, guard)
	paymenthttp.Routes(r, a.payment, guard)
	return r
}

func (a *App) readyz(c *gin.Context) {
	checks := map[string]string{}
	status := http.StatusOK
	for name, err := range a.Ready(c.Request.Context()) {
		checks[name] = "ok"
		if err != nil {
			// The details go to the log, not to anonymous callers.
			web.Logger(c).Error("readiness check failed", "database", name, "err", err)
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

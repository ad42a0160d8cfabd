package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/valyala/fasthttp"
)

// baselineProduct is what the baseline answers for every id: the shape of
// a catalogue product, fixed, so the handler does nothing but route and
// encode.
type baselineProduct struct {
	ID          string    `json:"id"`
	SKU         string    `json:"sku"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Price       int64     `json:"price"`
	Currency    string    `json:"currency"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// BaselineHandler is a bare gin router answering GET /v1/products/:id with
// a fixed product, and /readyz: the ceiling for Bazaar's catalogue read,
// which on top of routing and encoding logs, counts, traces and asks a
// database.
func BaselineHandler() http.Handler {
	r := gin.New()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	product := baselineProduct{
		ID: "prod_01j9x6m3k8q4t7v2w5y8z0a1b3", SKU: "MUG-BLUE-350", Name: "Blue mug, 350 ml",
		Description: "A fixed product", Price: 1299, Currency: "EUR", CreatedAt: at, UpdatedAt: at,
	}
	r.GET("/v1/products/:id", func(c *gin.Context) { c.JSON(http.StatusOK, product) })
	r.GET("/readyz", func(c *gin.Context) { c.Status(http.StatusOK) })
	return r
}

// BareHopHandler is a bare gin router passing GET /v1/products/:id on to
// the bare handler at target (host:port) with fasthttp's client, as the
// split's gateway passes requests to a module, and answering what it gets:
// the least one hop between processes can cost, with none of the
// gateway's keys, limits, logs, metrics, traces or signed caller.
func BareHopHandler(target string) http.Handler {
	client := &fasthttp.HostClient{Addr: target, MaxConns: 1024}
	r := gin.New()
	r.GET("/v1/products/:id", func(c *gin.Context) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + target + c.Request.URL.RequestURI())
		if err := client.DoTimeout(req, resp, 5*time.Second); err != nil {
			c.String(http.StatusBadGateway, err.Error())
			return
		}
		c.Data(resp.StatusCode(), string(resp.Header.ContentType()), resp.Body())
	})
	r.GET("/readyz", func(c *gin.Context) { c.Status(http.StatusOK) })
	return r
}

// ServeBaseline serves BaselineHandler on addr until ctx ends; with a
// forward address, BareHopHandler to it.
func ServeBaseline(ctx context.Context, addr, forward string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	h := BaselineHandler()
	if forward != "" {
		h = BareHopHandler(forward)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("baseline: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("baseline: %w", err)
	}
	return nil
}

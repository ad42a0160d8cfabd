package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/config"
	"github.com/bazaar-shop/bazaar/internal/apitest"
	"github.com/bazaar-shop/bazaar/internal/app"
	"github.com/bazaar-shop/bazaar/internal/pagetest"
	"github.com/bazaar-shop/bazaar/internal/shoptest"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules"
)

// TestMain quiets gin: the binary sets release mode in main, and so do
// these tests, which build its handler.
func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

// TestAPI runs the black-box API suite against the whole shop in one
// process, on SQLite and (when configured) on PostgreSQL; and in wire mode,
// every module called through its HTTP client as if split.
func TestAPI(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			base, adminKey := startShop(t, engine, nil)
			apitest.Run(t, base, adminKey)
		})
	}
	t.Run("wire", func(t *testing.T) {
		t.Parallel()
		base, adminKey := startShop(t, testdb.Engines()[0], allWired())
		apitest.Run(t, base, adminKey)
	})
}

// TestPages runs the storefront's page suite against the whole shop in
// one process, called in-process and over the wire.
func TestPages(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			base, adminKey := startShop(t, engine, nil)
			pagetest.Run(t, shoptest.Shop{Base: base, Admin: adminKey})
		})
	}
	t.Run("wire", func(t *testing.T) {
		t.Parallel()
		base, adminKey := startShop(t, testdb.Engines()[0], allWired())
		pagetest.Run(t, shoptest.Shop{Base: base, Admin: adminKey})
	})
}

// allWired is the settings that put every module behind the wire.
func allWired() map[string]string {
	env := map[string]string{}
	for _, m := range modules.All() {
		env[config.EnvName("modules."+string(m)+".mode")] = "wire"
	}
	return env
}

// startShop serves the whole shop on a loopback port until the test ends.
func startShop(t *testing.T, engine testdb.Engine, extra map[string]string) (baseURL, adminKey string) {
	t.Helper()
	adminKey = "bzr_test_admin_key"
	env := map[string]string{
		"BAZAAR_HTTP_ADDR":             "127.0.0.1:0",
		"BAZAAR_DATA_DIR":              t.TempDir(),
		"BAZAAR_ADMIN_KEY":             adminKey,
		"BAZAAR_AUTH_DSN":              engine.New(t, "auth"),
		"BAZAAR_MODULES_CATALOGUE_DSN": engine.New(t, "catalogue"),
		"BAZAAR_MODULES_INVENTORY_DSN": engine.New(t, "inventory"),
		"BAZAAR_MODULES_PAYMENT_DSN":   engine.New(t, "payment"),
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Serve(ctx, cfg, slog.New(slog.DiscardHandler), func(a string) { ready <- a })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case addr := <-ready:
		return "http://" + addr, adminKey
	case err := <-done:
		done <- err // for the cleanup, which waits for it
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the shop did not start within 30s")
	}
	return "", ""
}

// TestRateLimit: a key over its limit gets 429 with Retry-After; another
// key has a bucket of its own.
func TestRateLimit(t *testing.T) {
	base, admin := startShop(t, testdb.Engines()[0], map[string]string{
		"BAZAAR_RATE_LIMIT_RPS": "0.5", "BAZAAR_RATE_LIMIT_BURST": "3",
	})
	do := func(method, path, key, body string) (*http.Response, []byte) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, out
	}
	resp, out := do("POST", "/v1/api-keys", admin, `{"role":"admin"}`) // 1 of 3
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", out)
	var other struct{ Key string }
	require.NoError(t, json.Unmarshal(out, &other))

	for i := 0; i < 2; i++ { // 2 and 3 of 3
		resp, _ = do("GET", "/v1/topology", admin, "")
		require.Equal(t, http.StatusOK, resp.StatusCode, "request %d is within the burst", i+2)
	}
	resp, out = do("GET", "/v1/topology", admin, "")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "%s", out)
	require.Contains(t, string(out), `"code":"rate_limited"`)
	wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, wait, 1)

	require.Equal(t, `"key";q=3;w=6`, resp.Header.Get("RateLimit-Policy"))
	require.Equal(t, `"key";r=0;t=6`, resp.Header.Get("RateLimit"))

	resp, _ = do("GET", "/v1/topology", other.Key, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "another key is not slowed down")
	require.Equal(t, `"key";r=2;t=2`, resp.Header.Get("RateLimit"), "the headers come on every limited answer")
}

// TestAnonymousRateLimit: callers with no key are limited per address,
// the address a trusted proxy names in X-Forwarded-For and nobody else.
func TestAnonymousRateLimit(t *testing.T) {
	get := func(base, forwardedFor string) *http.Response {
		req, err := http.NewRequest("GET", base+"/v1/products", nil)
		require.NoError(t, err)
		if forwardedFor != "" {
			req.Header.Set("X-Forwarded-For", forwardedFor)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	limits := map[string]string{"BAZAAR_RATE_LIMIT_ANONYMOUS_RPS": "0.5", "BAZAAR_RATE_LIMIT_ANONYMOUS_BURST": "2"}
	base, _ := startShop(t, testdb.Engines()[0], limits)
	require.Equal(t, http.StatusOK, get(base, "203.0.113.1").StatusCode)
	resp := get(base, "203.0.113.2")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, `"address";q=2;w=4`, resp.Header.Get("RateLimit-Policy"))
	resp = get(base, "203.0.113.3")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "X-Forwarded-For from an untrusted peer changes nothing")
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.Equal(t, `"address";r=0;t=4`, resp.Header.Get("RateLimit"))

	limits["BAZAAR_RATE_LIMIT_TRUSTED_PROXIES"] = "127.0.0.1"
	base, _ = startShop(t, testdb.Engines()[0], limits)
	for range 2 {
		require.Equal(t, http.StatusOK, get(base, "203.0.113.1").StatusCode)
	}
	require.Equal(t, http.StatusTooManyRequests, get(base, "203.0.113.1").StatusCode)
	require.Equal(t, http.StatusOK, get(base, "203.0.113.2").StatusCode, "behind a trusted proxy, each client has its own bucket")
}

// TestMetrics: /metrics counts requests by route template and module calls
// by caller, callee, method, outcome and mode.
func TestMetrics(t *testing.T) {
	base, admin := startShop(t, testdb.Engines()[0], nil)
	do := func(method, path, body string) string {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(out)
	}
	var p struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(do("POST", "/v1/products", `{"sku":"M-1","name":"Mug","price":100,"currency":"EUR"}`)), &p))
	do("PUT", "/v1/inventory/"+p.ID, `{"on_hand":1}`)
	do("GET", "/v1/products/"+p.ID, "")
	order := `{"items":[{"product_id":"` + p.ID + `","quantity":1}],"card":{"number":"4242424242424242","exp_month":1,"exp_year":2099,"cvc":"123"},"email":"a@b.co"}`
	do("POST", "/v1/payments", order)
	do("POST", "/v1/payments", order) // out of stock

	metrics := do("GET", "/metrics", "")
	for _, series := range []string{
		`bazaar_http_requests_total{method="GET",route="/v1/products/:id",status="200"} 1`,
		`bazaar_http_requests_total{method="POST",route="/v1/payments",status="409"} 1`,
		`bazaar_module_calls_total{callee="inventory",caller="payment",method="Reserve",mode="local",outcome="ok"} 1`,
		`bazaar_module_calls_total{callee="inventory",caller="payment",method="Reserve",mode="local",outcome="out_of_stock"} 1`,
		`bazaar_module_calls_total{callee="catalogue",caller="inventory",method="Get",mode="local",outcome="ok"} 1`,
		`bazaar_module_call_duration_seconds_count{callee="inventory",caller="payment",method="Commit",mode="local"} 1`,
		`go_sql_open_connections{db_name="payment"}`,
		`bazaar_db_write_transactions_total{db_name="payment"}`,
		`bazaar_db_write_batches_total{db_name="inventory"}`,
		`bazaar_db_write_wait_seconds_total{db_name="payment"}`,
		`bazaar_db_wal_pages{db_name="payment"}`,
		`bazaar_db_wal_rewinds_total{db_name="inventory"}`,
		`bazaar_db_checkpoint_errors_total{db_name="catalogue"} 0`,
		`bazaar_checkouts_total{outcome="ok"} 1`,
		`bazaar_checkouts_total{outcome="out_of_stock"} 1`,
		`bazaar_units_reserved 0`,
		`bazaar_outbox_backlog{module="payment"}`,
		`bazaar_webhook_deliveries{status="pending"} 0`,
	} {
		require.Contains(t, metrics, series)
	}
}

// TestMetricsApart: with metrics.addr set, /metrics and the profiles leave
// the public port for a listener of their own.
func TestMetricsApart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	base, _ := startShop(t, testdb.Engines()[0], map[string]string{"BAZAAR_METRICS_ADDR": addr})

	status := func(url string) int {
		resp, err := http.Get(url)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusNotFound, status(base+"/metrics"), "not on the public port")
	require.Equal(t, http.StatusNotFound, status(base+"/debug/pprof/"))
	require.Equal(t, http.StatusOK, status("http://"+addr+"/metrics"))
	require.Equal(t, http.StatusOK, status("http://"+addr+"/debug/pprof/"))
}

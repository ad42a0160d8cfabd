package app_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/bazaar-shop/bazaar/config"
	"github.com/bazaar-shop/bazaar/internal/apitest"
	"github.com/bazaar-shop/bazaar/internal/app"
	"github.com/bazaar-shop/bazaar/internal/testdb"
)

// TestAPI runs the black-box API suite against the whole shop in one
// process, on SQLite and (when configured) on PostgreSQL.
func TestAPI(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			base, adminKey := startShop(t, engine)
			apitest.Run(t, base, adminKey)
		})
	}
}

// startShop serves the whole shop on a loopback port until the test ends.
func startShop(t *testing.T, engine testdb.Engine) (baseURL, adminKey string) {
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
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the shop did not start within 30s")
	}
	return "", ""
}

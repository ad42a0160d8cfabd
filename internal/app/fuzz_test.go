package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bazaar-shop/bazaar/config"
	"github.com/bazaar-shop/bazaar/internal/app"
	"github.com/bazaar-shop/bazaar/openapi"
)

// bodyRoutes are every route that decodes a JSON body.
var bodyRoutes = []struct{ method, path string }{
	{"POST", "/v1/api-keys"},
	{"POST", "/v1/products"},
	{"PUT", "/v1/products/prod_fuzz"},
	{"PUT", "/v1/inventory/prod_fuzz"},
	{"POST", "/v1/inventory/prod_fuzz/adjustments"},
	{"POST", "/v1/payments"},
	{"POST", "/internal/v1/reservations"},
	{"POST", "/v1/webhooks"},
}

// FuzzBodies sends arbitrary bodies to every route that decodes one. Bad
// input must get a clear 4xx: never a panic, never a 5xx.
//
//	go test -run '^$' -fuzz FuzzBodies -fuzztime 30s ./internal/app
func FuzzBodies(f *testing.F) {
	for i := range bodyRoutes {
		for _, seed := range []string{
			`{}`, `null`, `[]`, `{"role":"admin"}`, `{"sku":"a","name":"b","price":1,"currency":"EUR"}`,
			`{"on_hand":3}`, `{"delta":-1,"reason":"x"}`, `{"id":"r","lines":[{"product_id":"p","quantity":1}]}`,
			`{"items":[{"product_id":"p","quantity":1}],"card":{"number":"4242424242424242","exp_month":1,"exp_year":2099,"cvc":"123"},"email":"a@b.co"}`,
			`{"price":1e400}`, `{"items":[{"quantity":9223372036854775807}]}`, "\xff\xfe", `{"a":` + string(bytes.Repeat([]byte("["), 10000)),
		} {
			f.Add(uint8(i), []byte(seed))
		}
	}
	handler := fuzzShop(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := bodyRoutes[int(route)%len(bodyRoutes)]
		req := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer bzr_fuzz_admin")
		req.Header.Set("X-Service-Token", "fuzz-token")
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { handler.ServeHTTP(rec, req); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s %s with %q did not answer within 10s", r.method, r.path, body)
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q answered %d: %s", r.method, r.path, body, rec.Code, rec.Body)
		}
	})
}

func fuzzShop(f *testing.F) http.Handler {
	env := map[string]string{
		"BAZAAR_DATA_DIR":       f.TempDir(),
		"BAZAAR_ADMIN_KEY":      "bzr_fuzz_admin",
		"BAZAAR_SERVICE_TOKEN":  "fuzz-token",
		"BAZAAR_RATE_LIMIT_RPS": "0",
	}
	a := startApp(f, env)
	doc, err := openapi.JSON()
	if err != nil {
		f.Fatal(err)
	}
	return a.Handler(doc)
}

// startApp builds the shop from the BAZAAR_* settings in env, in-process,
// and closes it when the test ends.
func startApp(tb testing.TB, env map[string]string) *app.App {
	tb.Helper()
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		tb.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = a.Close() })
	return a
}

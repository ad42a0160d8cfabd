package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/apitest"
	"github.com/bazaar-shop/bazaar/internal/identity"
	"github.com/bazaar-shop/bazaar/internal/launch"
	"github.com/bazaar-shop/bazaar/internal/pagetest"
	"github.com/bazaar-shop/bazaar/internal/shoptest"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/payment"
	"github.com/bazaar-shop/bazaar/webhook"
)

// TestLayouts is the one entry point that proves the layouts equivalent:
// the whole black-box API suite and the storefront's page suite run,
// unchanged, against the monolith, the split (a process per module behind a
// gateway) and a mixed layout (catalogue, inventory and the storefront
// together, payment and webhooks apart), each started as real processes of
// the built binary on loopback ports.
//
//	go test -run TestLayouts -v .
func TestLayouts(t *testing.T) {
	for _, engine := range testdb.Engines() {
		for _, name := range []string{"monolith", "split", "mixed"} {
			t.Run(engine.Name+"/"+name, func(t *testing.T) {
				l := startLayout(t, engine, name, nil)
				apitest.Run(t, l.Base, l.Admin)
				pagetest.Run(t, l.Shop)
			})
		}
	}
}

const (
	layoutAdminKey = "bzr_layout_admin"
	serviceToken   = "layout-service-token"
)

// cluster is a layout of running processes.
type cluster struct {
	shoptest.Shop // where the public API is asked, and its admin key
	*launch.Cluster
}

// freeAddr is a loopback address nobody listens on (for now).
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := launch.FreeAddr()
	require.NoError(t, err)
	return addr
}

// startLayout starts the processes of a named layout (launch.Named) and
// waits until each is ready. Each process has a data directory of its own
// and is given only the databases it owns, shared only by replicas of one
// module. extra is added to every process's environment.
func startLayout(t *testing.T, engine testdb.Engine, name string, extra []string) *cluster {
	t.Helper()
	bin, err := binary()
	require.NoError(t, err)
	layout, err := launch.Named(name)
	require.NoError(t, err)
	dsns := map[string]string{}
	dsn := func(owner string) string {
		if dsns[owner] == "" {
			dsns[owner] = engine.New(t, owner)
		}
		return dsns[owner]
	}
	env := append([]string{
		"BAZAAR_LOG_FORMAT=text", // read by problems() and the trace test
		"BAZAAR_REMOTE_HEALTH_INTERVAL=200ms",
		"BAZAAR_REMOTE_TIMEOUT=3s",
		"BAZAAR_REMOTE_BREAKER_COOLDOWN=500ms",
	}, extra...)
	lc, err := launch.Start(context.Background(), layout, launch.Options{Binary: bin, Dir: t.TempDir(),
		AdminKey: layoutAdminKey, ServiceToken: serviceToken, DSN: dsn, Env: env})
	require.NoError(t, err)
	c := &cluster{Shop: shoptest.Shop{Base: lc.URL(), Admin: layoutAdminKey}, Cluster: lc}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range c.Procs {
				t.Logf("%s errors and warnings:\n%s", p.Name, problems(p.Output()))
			}
		}
		c.Close()
	})
	return c
}

// start starts a process of the layout again after it was killed.
func (c *cluster) start(t *testing.T, name string) {
	t.Helper()
	require.NoError(t, c.Proc(name).Restart(context.Background()))
}

// kill stops a process the hard way, as a crash would.
func (c *cluster) kill(t *testing.T, name string) {
	t.Helper()
	c.Proc(name).Kill()
}

// waitReady waits until a process's /readyz says every module it needs answers.
func (c *cluster) waitReady(t *testing.T, name string) {
	t.Helper()
	require.NoError(t, c.Proc(name).WaitReady(context.Background()))
}

func (c *cluster) url(name string) string { return c.Proc(name).URL() }

// log is what a process wrote.
func (c *cluster) log(name string) string { return c.Proc(name).Output() }

// TestModuleProcessesHoldNoKeys starts each module process alone, with a
// data directory of its own and no key or webhooks database named: it
// starts, creates neither, and refuses a raw API key — even the admin key — with
// a problem that says to call through the gateway.
func TestModuleProcessesHoldNoKeys(t *testing.T) {
	elsewhere := "http://" + freeAddr(t) // nobody listens: a module need not be up to start
	for _, m := range []string{"catalogue", "inventory", "payment"} {
		t.Run(m, func(t *testing.T) {
			dir := t.TempDir()
			p := start(t, dir, "BAZAAR_SERVE="+m, "BAZAAR_DATA_DIR="+dir, "BAZAAR_SERVICE_TOKEN="+serviceToken,
				"BAZAAR_ADMIN_KEY="+layoutAdminKey, "BAZAAR_MODULES_CATALOGUE_URL="+elsewhere,
				"BAZAAR_MODULES_INVENTORY_URL="+elsewhere, "BAZAAR_MODULES_WEBHOOKS_URL="+elsewhere, "BAZAAR_LOG_FORMAT=text")
			for _, key := range []string{layoutAdminKey, ""} {
				status, out := p.request(t, "GET", "/v1/products", key, "")
				require.Equal(t, http.StatusUnauthorized, status, "%s", out)
				require.Contains(t, string(out), "call through the gateway")
			}
			status, out := p.request(t, "POST", "/v1/api-keys", layoutAdminKey, `{"role":"admin"}`)
			require.Equal(t, http.StatusNotFound, status, "keys are managed at the edge: %s", out)
			p.stop(t)
			require.NoFileExists(t, filepath.Join(dir, "auth.db"))
			require.NoFileExists(t, filepath.Join(dir, "webhooks.db"))
			require.FileExists(t, filepath.Join(dir, m+".db"))
		})
	}
}

// TestInternalRoutesAreInternal: the gateway never forwards module-to-module
// routes, and a module refuses them without the service token.
func TestInternalRoutesAreInternal(t *testing.T) {
	l := startLayout(t, testdb.Engines()[0], "split", nil)
	body := `{"id":"res_x","lines":[{"product_id":"prod_x","quantity":1}]}`

	status, out := shoptest.Call(t, "POST", l.Base+"/internal/v1/reservations", l.Admin, body, "X-Service-Token", serviceToken)
	require.Equal(t, http.StatusNotFound, status, "the gateway must not forward internal routes: %s", out)
	require.Contains(t, string(out), "route_not_found")

	inv := l.url("inventory")
	status, _ = shoptest.Call(t, "POST", inv+"/internal/v1/reservations", "", body)
	require.Equal(t, http.StatusUnauthorized, status, "no token")
	status, _ = shoptest.Call(t, "POST", inv+"/internal/v1/reservations", l.Admin, body)
	require.Equal(t, http.StatusUnauthorized, status, "an admin API key is not the service token")
	status, _ = shoptest.Call(t, "POST", inv+"/internal/v1/reservations", "", body, "X-Service-Token", "guess")
	require.Equal(t, http.StatusUnauthorized, status, "a wrong token")
	status, out = shoptest.Call(t, "POST", inv+"/internal/v1/reservations/res_x/release", "", "", "X-Service-Token", serviceToken)
	require.Equal(t, http.StatusNoContent, status, "with the token the route is open: %s", out)
}

// TestTopology: each process tells where every module runs, as it sees it.
func TestTopology(t *testing.T) {
	l := startLayout(t, testdb.Engines()[0], "split", nil)
	var topo struct {
		Hosts   []string `json:"hosts"`
		APIKeys string   `json:"api_keys"`
		Modules map[string]struct {
			Mode        string `json:"mode"`
			Ready       bool   `json:"ready"`
			CachedReads bool   `json:"cached_reads"`
			Replicas    []struct {
				URL     string `json:"url"`
				Healthy bool   `json:"healthy"`
			} `json:"replicas"`
		} `json:"modules"`
	}
	status, out := shoptest.Call(t, "GET", l.Base+"/v1/topology", l.Admin, "")
	require.Equal(t, http.StatusOK, status, "%s", out)
	require.NoError(t, json.Unmarshal(out, &topo))
	require.Empty(t, topo.Hosts, "the gateway hosts nothing")
	require.Equal(t, "local", topo.APIKeys, "the gateway checks the keys")
	for _, m := range []string{"catalogue", "inventory", "payment", "webhooks"} {
		require.Equal(t, "remote", topo.Modules[m].Mode, m)
		require.True(t, topo.Modules[m].Ready, m)
		require.Len(t, topo.Modules[m].Replicas, 1)
		require.Equal(t, l.url(m), topo.Modules[m].Replicas[0].URL)
		require.Equal(t, m == "catalogue", topo.Modules[m].CachedReads, "the gateway answers the catalogue's reads: %s", m)
	}

	status, out = shoptest.Call(t, "GET", l.url("payment")+"/v1/topology", l.Admin, "")
	require.Equal(t, http.StatusUnauthorized, status, "a module process holds no keys: %s", out)
	require.Contains(t, string(out), "call through the gateway")
	status, out = shoptest.Call(t, "GET", l.url("payment")+"/v1/topology", "", "", "X-Service-Token", serviceToken)
	require.Equal(t, http.StatusOK, status, "%s", out)
	require.NoError(t, json.Unmarshal(out, &topo))
	require.Equal(t, []string{"payment"}, topo.Hosts)
	require.Equal(t, "edge", topo.APIKeys, "payment trusts the callers the gateway asserts")
	require.Equal(t, "local", topo.Modules["payment"].Mode)
	require.Equal(t, "remote", topo.Modules["inventory"].Mode)
	require.False(t, topo.Modules["payment"].CachedReads)

	status, _ = shoptest.Call(t, "GET", l.Base+"/v1/topology", "", "")
	require.Equal(t, http.StatusUnauthorized, status)
}

// TestMetricsSayRemote: in the split, payment's calls to inventory and the
// hand-over of its events to webhooks are counted as remote, with the same
// names as in the monolith.
func TestMetricsSayRemote(t *testing.T) {
	l := startLayout(t, testdb.Engines()[0], "split", nil)
	prod := l.Product(t, 5)
	status, out := shoptest.Call(t, "POST", l.Base+"/v1/payments", l.Admin, shoptest.Order(prod, 1))
	require.Equal(t, http.StatusCreated, status, "%s", out)

	_, metrics := shoptest.Call(t, "GET", l.url("payment")+"/metrics", "", "")
	require.Contains(t, string(metrics), `bazaar_module_calls_total{callee="inventory",caller="payment",method="Reserve",mode="remote",outcome="ok"} 1`)
	require.Contains(t, string(metrics), `bazaar_circuit_breaker_open{module="inventory"} 0`)
	shoptest.Eventually(t, 10*time.Second, func() bool {
		_, metrics := shoptest.Call(t, "GET", l.url("payment")+"/metrics", "", "")
		return strings.Contains(string(metrics), `bazaar_module_calls_total{callee="webhooks",caller="payment",method="Publish",mode="remote",outcome="ok"}`)
	}, "payment's events are handed to webhooks over the network, and counted so")
	_, metrics = shoptest.Call(t, "GET", l.Base+"/metrics", "", "")
	require.Contains(t, string(metrics), `bazaar_http_requests_total{method="POST",route="/v1/payments",status="201"} 1`,
		"the gateway counts the requests it forwards")
}

// TestCatalogueReplicaFailover: with two catalogue replicas, killing one
// does not fail a single read, through the gateway or from payment.
func TestCatalogueReplicaFailover(t *testing.T) {
	l := startLayout(t, testdb.Engines()[0], "split-replicas", nil)
	prod := l.Product(t, 100)

	for i := 0; i < 200; i++ {
		if i == 50 {
			l.kill(t, "catalogue2")
		}
		status, out := shoptest.Call(t, "GET", l.Base+"/v1/products/"+prod, "", "")
		require.Equal(t, http.StatusOK, status, "read %d: %s", i, out)
	}
	status, out := shoptest.Call(t, "POST", l.Base+"/v1/payments", l.Admin, shoptest.Order(prod, 1))
	require.Equal(t, http.StatusCreated, status, "payment still reads prices from the surviving replica: %s", out)
}

// TestSplitSurvivesInventoryCrash kills the inventory process in the middle
// of a stream of checkouts and starts it again. Every checkout must end
// clearly (201, or 409/503/504 — never a 500 or a hang); no payment may
// succeed without its stock committed; no stock may stay reserved past the
// TTL; and checkouts succeed again once inventory is back.
func TestSplitSurvivesInventoryCrash(t *testing.T) {
	const stock = 1000
	l := startLayout(t, testdb.Engines()[0], "split", []string{
		"BAZAAR_INVENTORY_RESERVATION_TTL=3s",
		"BAZAAR_INVENTORY_EXPIRY_INTERVAL=200ms",
		"BAZAAR_PAYMENT_RECOVERY_INTERVAL=300ms",
		"BAZAAR_PAYMENT_RECOVER_AFTER=2s",
		"BAZAAR_REMOTE_TIMEOUT=1s",
		"BAZAAR_REMOTE_RETRIES=1",
		// The stream is as fast as the shop answers, and with inventory
		// down it answers fast: no rate limit, or it would see 429s.
		"BAZAAR_RATE_LIMIT_RPS=0",
	})
	prod := l.Product(t, stock)

	stream := l.Checkouts(prod)
	stream.Await(t, 10) // checkouts flow before the crash
	l.kill(t, "inventory")
	stream.Await(t, 8) // checkouts meet a dead inventory
	l.start(t, "inventory")
	l.waitReady(t, "inventory")
	back := time.Now()
	shoptest.Eventually(t, 20*time.Second, func() bool {
		for _, r := range stream.Results() {
			if r.Status == http.StatusCreated && r.At.After(back) {
				return true
			}
		}
		return false
	}, "no checkout succeeded after inventory came back")
	results := stream.Stop()

	counts := shoptest.RequireClearEnds(t, results, 30*time.Second)
	require.Positive(t, counts[http.StatusServiceUnavailable]+counts[http.StatusGatewayTimeout],
		"the crash must have been noticed by some checkouts")

	// Recovery and expiry settle everything left in flight.
	payments, _ := l.Settled(t, prod, stock, func(payment.Payment) bool { return true })
	shoptest.RequireKept(t, results, payments)
}

// problems keeps the warning and error lines of a process log.
func problems(log string) string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestIdempotencyAcrossPaymentRestart: the answer to a keyed checkout lives
// in the payment module's database, so a payment process killed and started
// again between two attempts still replays it, and still charges once.
func TestIdempotencyAcrossPaymentRestart(t *testing.T) {
	l := startLayout(t, testdb.Engines()[0], "split", nil)
	prod := l.Product(t, 10)
	key := "restart-" + strconv.FormatInt(time.Now().UnixNano(), 36)

	status, first := shoptest.Call(t, "POST", l.Base+"/v1/payments", l.Admin, shoptest.Order(prod, 2), "Idempotency-Key", key)
	require.Equal(t, http.StatusCreated, status, "%s", first)
	var paid payment.Payment
	require.NoError(t, json.Unmarshal(first, &paid))

	l.kill(t, "payment")
	l.start(t, "payment")
	l.waitReady(t, "gateway")

	var wg sync.WaitGroup
	results := make([]string, 20)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequest("POST", l.Base+"/v1/payments", strings.NewReader(shoptest.Order(prod, 2)))
			req.Header.Set("Authorization", "Bearer "+l.Admin)
			req.Header.Set("Idempotency-Key", key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results[i] = err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results[i] = strconv.Itoa(resp.StatusCode) + " " + resp.Header.Get("Idempotent-Replayed") + " " + string(body)
		}(i)
	}
	wg.Wait()
	for _, r := range results {
		require.Equal(t, "201 true "+string(first), r, "every repeat replays the first answer")
	}
	_, out := shoptest.Call(t, "GET", l.Base+"/v1/inventory/"+prod, l.Admin, "")
	var lvl inventory.Level
	require.NoError(t, json.Unmarshal(out, &lvl))
	require.Equal(t, int64(8), lvl.OnHand, "one charge, one reservation")
	all, err := l.Payments()
	require.NoError(t, err)
	require.Len(t, all, 1)
}

// TestWebhooksSurviveRestart: a receiver that is down while the shop stops
// and starts again still gets every event, exactly once by webhook-id, in
// the split layout (events relayed by each module's process, delivered by
// any process).
func TestWebhooksSurviveRestart(t *testing.T) {
	l := startLayout(t, testdb.Engines()[0], "split", []string{
		"BAZAAR_WEBHOOKS_ALLOW_PRIVATE=true",
		"BAZAAR_WEBHOOKS_RETRY_SCHEDULE=100ms,100ms,200ms,200ms,500ms,500ms,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s",
		"BAZAAR_WEBHOOKS_POLL_INTERVAL=50ms",
	})
	addr := freeAddr(t) // nothing listens here yet: the receiver is down
	status, out := shoptest.Call(t, "POST", l.Base+"/v1/webhooks", l.Admin, `{"url":"http://`+addr+`/hook","events":["*"]}`)
	require.Equal(t, http.StatusCreated, status, "%s", out)
	var ep struct{ ID, Secret string }
	require.NoError(t, json.Unmarshal(out, &ep))

	prod := l.Product(t, 10) // product.created, inventory.adjusted
	status, out = shoptest.Call(t, "POST", l.Base+"/v1/payments", l.Admin, shoptest.Order(prod, 1))
	require.Equal(t, http.StatusCreated, status, "%s", out) // payment.succeeded

	for _, p := range []string{"gateway", "payment", "inventory", "catalogue", "webhooks"} {
		l.kill(t, p)
	}
	for _, p := range []string{"webhooks", "catalogue", "inventory", "payment", "gateway"} {
		l.start(t, p)
	}

	var mu sync.Mutex
	seen := map[string]int{}
	types := map[string]bool{}
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if webhook.Verify(ep.Secret, r.Header, body, time.Minute, time.Now()) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var msg struct{ Type string }
		_ = json.Unmarshal(body, &msg)
		mu.Lock()
		seen[r.Header.Get(webhook.HeaderID)]++
		types[msg.Type] = true
		mu.Unlock()
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	shoptest.Eventually(t, 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return types["product.created"] && types["inventory.adjusted"] && types["payment.succeeded"]
	}, "not every event arrived after the restart")
	deliveriesDone(t, l) // any duplicate has been sent
	mu.Lock()
	defer mu.Unlock()
	for id, n := range seen {
		require.Equal(t, 1, n, "event %s was delivered %d times", id, n)
	}
}

// deliveriesDone waits until the webhooks process has no delivery pending,
// by its own gauge: none will be sent again.
func deliveriesDone(t *testing.T, l *cluster) {
	t.Helper()
	shoptest.Eventually(t, 30*time.Second, func() bool {
		_, metrics := shoptest.Call(t, "GET", l.url("webhooks")+"/metrics", "", "")
		return strings.Contains(string(metrics), `bazaar_webhook_deliveries{status="pending"} 0`+"\n")
	}, "deliveries still pending")
}

// TestWebhooksModuleDown: the webhooks module is its own process in the
// split. An endpoint registered through the gateway gets every event of a
// checkout, a decline, a refund and a stock adjustment, signed, once each;
// and with the webhooks process killed while forty checkouts of a stream
// go through, the events wait in their modules' outboxes and every one
// arrives when it is back — once, but for the one delivery the kill cut off
// between the receiver's answer and its record.
func TestWebhooksModuleDown(t *testing.T) {
	l := startLayout(t, testdb.Engines()[0], "split", []string{
		"BAZAAR_WEBHOOKS_ALLOW_PRIVATE=true",
		"BAZAAR_WEBHOOKS_RETRY_SCHEDULE=100ms,200ms,500ms,1s,1s,1s,1s,1s,1s,1s",
		"BAZAAR_WEBHOOKS_POLL_INTERVAL=50ms",
		"BAZAAR_RATE_LIMIT_RPS=0", // the stream sends as fast as the split answers, with one key
	})
	var mu sync.Mutex
	seen := map[string]int{}        // event id → deliveries
	byType := map[string][]string{} // type → resource ids
	var secret string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if webhook.Verify(secret, r.Header, body, time.Minute, time.Now()) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var msg struct {
			Type string
			Data struct {
				ID        string
				ProductID string `json:"product_id"`
			}
		}
		_ = json.Unmarshal(body, &msg)
		if seen[r.Header.Get(webhook.HeaderID)]++; seen[r.Header.Get(webhook.HeaderID)] == 1 {
			byType[msg.Type] = append(byType[msg.Type], msg.Data.ID+msg.Data.ProductID)
		}
	}))
	t.Cleanup(rcv.Close)
	status, out := shoptest.Call(t, "POST", l.Base+"/v1/webhooks", l.Admin, `{"url":"`+rcv.URL+`","events":["*"]}`)
	require.Equal(t, http.StatusCreated, status, "%s", out)
	var ep struct{ Secret string }
	require.NoError(t, json.Unmarshal(out, &ep))
	mu.Lock()
	secret = ep.Secret
	mu.Unlock()
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			t.Logf("received: %v", byType)
			mu.Unlock()
		}
	})
	count := func(typ, id string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, got := range byType[typ] {
			if got == id {
				n++
			}
		}
		return n
	}

	prod := l.Product(t, 1_000_000) // product.created, inventory.adjusted
	status, out = shoptest.Call(t, "POST", l.Base+"/v1/payments", l.Admin, shoptest.Order(prod, 1))
	require.Equal(t, http.StatusCreated, status, "%s", out)
	var paid payment.Payment
	require.NoError(t, json.Unmarshal(out, &paid))
	declined := strings.Replace(shoptest.Order(prod, 1), "4242424242424242", "4000000000000002", 1)
	status, out = shoptest.Call(t, "POST", l.Base+"/v1/payments", l.Admin, declined)
	require.Equal(t, http.StatusPaymentRequired, status, "%s", out)
	var decline struct {
		PaymentID string `json:"payment_id"`
	}
	require.NoError(t, json.Unmarshal(out, &decline))
	status, out = shoptest.Call(t, "POST", l.Base+"/v1/payments/"+paid.ID+"/refund", l.Admin, "")
	require.Equal(t, http.StatusOK, status, "%s", out)
	status, out = shoptest.Call(t, "POST", l.Base+"/v1/inventory/"+prod+"/adjustments", l.Admin, `{"delta":5,"reason":"found a box"}`)
	require.Equal(t, http.StatusOK, status, "%s", out)
	shoptest.Eventually(t, 20*time.Second, func() bool {
		// inventory.adjusted: the stock set, the refund's restock, the adjustment.
		return count("product.created", prod) == 1 && count("inventory.adjusted", prod) == 3 &&
			count("payment.succeeded", paid.ID) == 1 && count("payment.failed", decline.PaymentID) == 1 &&
			count("payment.refunded", paid.ID) == 1
	}, "not every event of a checkout, a decline, a refund and an adjustment arrived")

	stream := l.Checkouts(prod)
	stream.Await(t, 5) // checkouts before, during and after the outage
	l.kill(t, "webhooks")
	stream.Await(t, 40)
	l.start(t, "webhooks")
	stream.Await(t, 5)
	results := stream.Stop()

	var succeeded []string
	for _, r := range results {
		require.Equal(t, http.StatusCreated, r.Status, "a checkout does not need webhooks to be up: %s", r.Body)
		var p payment.Payment
		require.NoError(t, json.Unmarshal([]byte(r.Body), &p))
		succeeded = append(succeeded, p.ID)
	}
	require.NotEmpty(t, succeeded)
	shoptest.Eventually(t, 60*time.Second, func() bool {
		for _, id := range succeeded {
			if count("payment.succeeded", id) != 1 {
				return false
			}
		}
		return true
	}, "not every checkout's event arrived after webhooks came back")
	deliveriesDone(t, l) // any duplicate has been sent
	mu.Lock()
	defer mu.Unlock()
	// A delivery the receiver took while the webhooks process was killed,
	// before it could record the answer, is sent again: at least once, as
	// the Standard Webhooks receivers expect (they drop repeats by
	// webhook-id). An endpoint's deliveries go one at a time, so at most
	// one can have been in flight.
	repeats := 0
	for id, n := range seen {
		require.LessOrEqual(t, n, 2, "event %s was delivered %d times", id, n)
		repeats += n - 1
	}
	require.LessOrEqual(t, repeats, 1, "only the delivery in flight at the kill may come twice")
	t.Logf("%d checkouts through a stream that lost webhooks for forty of them; every event arrived, %d twice", len(succeeded), repeats)
}

// TestPaymentCrashLoop kills -9 the payment process in the middle of a
// stream of checkouts, three times. Afterwards every payment is either
// succeeded, with its stock committed and its payment.succeeded event
// delivered, or failed, with its stock released and its payment.failed
// event delivered.
func TestPaymentCrashLoop(t *testing.T) {
	const stock = 1000
	l := startLayout(t, testdb.Engines()[0], "split", []string{
		"BAZAAR_WEBHOOKS_ALLOW_PRIVATE=true",
		"BAZAAR_WEBHOOKS_RETRY_SCHEDULE=100ms,100ms,200ms,500ms,1s,1s,1s,1s,1s,1s",
		"BAZAAR_WEBHOOKS_POLL_INTERVAL=50ms",
		"BAZAAR_INVENTORY_RESERVATION_TTL=3s",
		"BAZAAR_INVENTORY_EXPIRY_INTERVAL=200ms",
	})
	var mu sync.Mutex
	events := map[string]string{} // payment id → last event type
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Type string
			Data struct{ ID string }
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &msg)
		if strings.HasPrefix(msg.Type, "payment.") {
			mu.Lock()
			events[msg.Data.ID] = msg.Type
			mu.Unlock()
		}
	}))
	t.Cleanup(rcv.Close)
	status, out := shoptest.Call(t, "POST", l.Base+"/v1/webhooks", l.Admin, `{"url":"`+rcv.URL+`","events":["payment.succeeded","payment.failed"]}`)
	require.Equal(t, http.StatusCreated, status, "%s", out)
	prod := l.Product(t, stock)

	stream := l.Checkouts(prod)
	for round := 0; round < 3; round++ {
		stream.Await(t, 3) // checkouts in flight when the process dies
		l.kill(t, "payment")
		l.start(t, "payment")
	}
	stream.Stop()

	payments, sold := l.Settled(t, prod, stock, func(p payment.Payment) bool {
		mu.Lock()
		defer mu.Unlock()
		return events[p.ID] == "payment."+string(p.Status) // its event was delivered
	})
	require.Positive(t, sold)
	t.Logf("%d payments, %d succeeded", len(payments), sold)
}

// TestOneTraceAcrossProcesses: one checkout in the split is one trace: the
// gateway, payment, inventory and catalogue all record spans with the trace
// id the client sent, and log it with their request lines.
func TestOneTraceAcrossProcesses(t *testing.T) {
	l := startLayout(t, testdb.Engines()[0], "split", []string{"BAZAAR_TRACING_EXPORTER=stdout"})
	prod := l.Product(t, 5)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	status, out := shoptest.Call(t, "POST", l.Base+"/v1/payments", l.Admin, shoptest.Order(prod, 1),
		"traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	require.Equal(t, http.StatusCreated, status, "%s", out)

	for _, name := range []string{"gateway", "payment", "inventory", "catalogue"} {
		shoptest.Eventually(t, 10*time.Second, func() bool {
			log := l.log(name)
			return strings.Contains(log, `"TraceID":"`+traceID+`"`) && strings.Contains(log, "trace_id="+traceID)
		}, "%s has no span or log line of trace %s:\n%s", name, traceID, problems(l.log(name)))
	}
	require.Contains(t, l.log("payment"), `"Name":"payment → inventory.Reserve"`, "module calls are spans too")
	require.Contains(t, l.log("inventory"), `"Name":"inventory.reserve"`, "so are database transactions")
	require.Contains(t, l.log("payment"), `"Name":"payment.finish"`)
}

// TestEventOrderUnderLoad: under concurrent product updates, stock
// adjustments and checkouts, an endpoint gets every resource's events in
// the order they happened — sequence 1, 2, 3 … with no gap — in the
// monolith and in the split. (Events of different resources come in no
// promised order.)
func TestEventOrderUnderLoad(t *testing.T) {
	for _, name := range []string{"monolith", "split"} {
		t.Run(name, func(t *testing.T) {
			l := startLayout(t, testdb.Engines()[0], name, []string{
				"BAZAAR_WEBHOOKS_ALLOW_PRIVATE=true", "BAZAAR_WEBHOOKS_POLL_INTERVAL=50ms", "BAZAAR_RATE_LIMIT_RPS=0",
				"BAZAAR_WEBHOOKS_RETRY_SCHEDULE=50ms,100ms,200ms,500ms,1s,1s,1s,1s",
			})
			var mu sync.Mutex
			seen := map[string]bool{}       // webhook-id
			arrived := map[string][]int64{} // resource → sequences, in arrival order
			calls := 0
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var msg struct {
					Resource string `json:"resource"`
					Sequence int64  `json:"sequence"`
				}
				body, _ := io.ReadAll(r.Body)
				_ = json.Unmarshal(body, &msg)
				mu.Lock()
				defer mu.Unlock()
				calls++
				if calls%7 == 0 {
					http.Error(w, "busy", http.StatusServiceUnavailable) // some retries, to shake the order
					return
				}
				if id := r.Header.Get(webhook.HeaderID); !seen[id] {
					seen[id] = true
					arrived[msg.Resource] = append(arrived[msg.Resource], msg.Sequence)
				}
			}))
			t.Cleanup(rcv.Close)
			status, out := shoptest.Call(t, "POST", l.Base+"/v1/webhooks", l.Admin, `{"url":"`+rcv.URL+`","events":["*"]}`)
			require.Equal(t, http.StatusCreated, status, "%s", out)

			const products = 3
			var prods []string
			for range products {
				prods = append(prods, l.Product(t, 1_000_000))
			}
			want := map[string]int64{} // resource → events made
			var wmu sync.Mutex
			made := func(resource string) {
				wmu.Lock()
				want[resource]++
				wmu.Unlock()
			}
			for _, p := range prods {
				made("product:" + p) // created
				made("stock:" + p)   // its stock set
			}
			var wg sync.WaitGroup
			stop := time.Now().Add(2 * time.Second)
			for w := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; time.Now().Before(stop); i++ {
						p := prods[(w+i)%products]
						switch w % 3 {
						case 0:
							body := fmt.Sprintf(`{"sku":"%s-%d-%d","name":"Lamp %d","price":%d,"currency":"EUR"}`, p, w, i, i, 2500+i)
							if s, _ := shoptest.Call(t, "PUT", l.Base+"/v1/products/"+p, l.Admin, body); s == http.StatusOK {
								made("product:" + p)
							}
						case 1:
							if s, _ := shoptest.Call(t, "POST", l.Base+"/v1/inventory/"+p+"/adjustments", l.Admin, `{"delta":1,"reason":"count"}`); s == http.StatusOK {
								made("stock:" + p)
							}
						default:
							if s, out := shoptest.Call(t, "POST", l.Base+"/v1/payments", l.Admin, shoptest.Order(p, 1)); s == http.StatusCreated {
								var pay struct{ ID string }
								_ = json.Unmarshal(out, &pay)
								made("payment:" + pay.ID)
							}
						}
					}
				}()
			}
			wg.Wait()

			shoptest.Eventually(t, 30*time.Second, func() bool {
				mu.Lock()
				defer mu.Unlock()
				for r, n := range want {
					if int64(len(arrived[r])) < n {
						return false
					}
				}
				return true
			}, "not every event arrived")
			mu.Lock()
			defer mu.Unlock()
			total := 0
			for r, n := range want {
				got := arrived[r]
				require.Len(t, got, int(n), r)
				for i, seq := range got {
					require.Equal(t, int64(i+1), seq, "%s: its events in their order, none missing: %v", r, got)
				}
				total += len(got)
			}
			t.Logf("%d events of %d resources, each resource's in order", total, len(want))
		})
	}
}

// TestReplicasNeverSellThePast: with two catalogue replicas, a product
// deleted through one is sold by no checkout afterwards, wherever the
// gateway sends it, and one repriced through one is charged at its new
// price at once; the other replica's product page catches up within
// catalogue.cache_check.
func TestReplicasNeverSellThePast(t *testing.T) {
	l := startLayout(t, testdb.Engines()[0], "split-replicas", nil)
	asPeer := []string{"X-Service-Token", serviceToken} // straight to one replica
	one, two := l.url("catalogue"), l.url("catalogue2")
	page := func(base, id string) (int, int64) {
		status, out := shoptest.Call(t, "GET", base+"/v1/products/"+id, "", "", asPeer...)
		var p struct{ Price int64 }
		_ = json.Unmarshal(out, &p)
		return status, p.Price
	}

	gone := l.Product(t, 1000)
	for _, base := range []string{one, two} { // both replicas remember it
		status, _ := page(base, gone)
		require.Equal(t, http.StatusOK, status)
	}
	status, out := shoptest.Call(t, "DELETE", one+"/v1/products/"+gone, "", "", asPeer...)
	require.Equal(t, http.StatusNoContent, status, "%s", out)
	for i := range 50 {
		status, out := shoptest.Call(t, "POST", l.Base+"/v1/payments", l.Admin, shoptest.Order(gone, 1))
		require.NotEqual(t, http.StatusCreated, status, "checkout %d sold a deleted product: %s", i, out)
		require.Equal(t, http.StatusUnprocessableEntity, status, "checkout %d: %s", i, out)
		require.Contains(t, string(out), "unknown_product")
	}

	repriced := l.Product(t, 1000) // 2500
	for _, base := range []string{one, two} {
		_, price := page(base, repriced)
		require.Equal(t, int64(2500), price)
	}
	status, out = shoptest.Call(t, "PUT", one+"/v1/products/"+repriced, "", `{"sku":"re-`+repriced+`","name":"Lamp","price":3100,"currency":"EUR"}`, asPeer...)
	require.Equal(t, http.StatusOK, status, "%s", out)
	for i := range 20 {
		status, out := shoptest.Call(t, "POST", l.Base+"/v1/payments", l.Admin, shoptest.Order(repriced, 1))
		require.Equal(t, http.StatusCreated, status, "%s", out)
		var p payment.Payment
		require.NoError(t, json.Unmarshal(out, &p))
		require.Equal(t, int64(3100), p.Amount, "checkout %d charged the old price", i)
	}
	start := time.Now()
	shoptest.Eventually(t, 5*time.Second, func() bool { _, price := page(two, repriced); return price == 3100 },
		"the other replica's page never caught up")
	shoptest.Eventually(t, 5*time.Second, func() bool { status, _ := page(two, gone); return status == http.StatusNotFound },
		"the other replica still shows the deleted product")
	t.Logf("the other replica's page caught up %s after the checkouts", time.Since(start).Round(time.Millisecond))
}

// TestGatewayKeepsCatalogueReads: in the split, the gateway answers product
// reads from a cache of its own, so that after the first a read of a
// product never reaches the catalogue's process. A write through the
// gateway shows in its very next read; one made around it, straight at the
// catalogue, once catalogue.cache_check has passed. With
// catalogue.edge_cache off, every read crosses.
func TestGatewayKeepsCatalogueReads(t *testing.T) {
	for _, cached := range []bool{true, false} {
		t.Run("edge_cache="+strconv.FormatBool(cached), func(t *testing.T) {
			l := startLayout(t, testdb.Engines()[0], "split", []string{
				"BAZAAR_CATALOGUE_EDGE_CACHE=" + strconv.FormatBool(cached), "BAZAAR_CATALOGUE_CACHE_CHECK=300ms"})
			catalogue := l.url("catalogue")
			prod := l.Product(t, 100)
			asPeer := []string{"X-Service-Token", serviceToken} // straight to the module
			price := func(base string, who ...string) int64 {
				t.Helper()
				status, out := shoptest.Call(t, "GET", base+"/v1/products/"+prod, "", "", who...)
				require.Equal(t, http.StatusOK, status, "%s", out)
				var p struct{ Price int64 }
				require.NoError(t, json.Unmarshal(out, &p))
				return p.Price
			}
			listed := func() int64 {
				t.Helper()
				status, out := shoptest.Call(t, "GET", l.Base+"/v1/products?limit=100", "", "")
				require.Equal(t, http.StatusOK, status, "%s", out)
				var page struct {
					Data []struct {
						ID    string
						Price int64
					}
				}
				require.NoError(t, json.Unmarshal(out, &page))
				for _, p := range page.Data {
					if p.ID == prod {
						return p.Price
					}
				}
				return 0
			}
			reprice := func(base, key string, price int, who ...string) {
				t.Helper()
				status, out := shoptest.Call(t, "PUT", base+"/v1/products/"+prod, key,
					`{"sku":"edge-`+prod+`","name":"Lamp","price":`+strconv.Itoa(price)+`,"currency":"EUR"}`, who...)
				require.Equal(t, http.StatusOK, status, "%s", out)
			}

			require.Equal(t, int64(2500), price(l.Base))
			before := productReads(t, catalogue)
			for range 20 {
				require.Equal(t, int64(2500), price(l.Base))
			}
			if crossed := productReads(t, catalogue) - before; cached {
				require.Zero(t, crossed, "reads answered by the gateway's cache")
			} else {
				require.Equal(t, 20, crossed, "every read forwarded")
			}

			require.Equal(t, int64(2500), listed())
			reprice(l.Base, l.Admin, 3100)
			require.Equal(t, int64(3100), price(l.Base), "a write through the gateway shows in its next read")
			require.Equal(t, int64(3100), listed())

			reprice(catalogue, "", 3200, asPeer...)
			require.Equal(t, int64(3200), price(catalogue, asPeer...))
			shoptest.Eventually(t, 5*time.Second, func() bool { return price(l.Base) == 3200 && listed() == 3200 },
				"a write around the gateway never showed there")
		})
	}
}

// TestModulesKeepCatalogueReads: in the split, inventory answers a stock
// read without asking the catalogue whether the product is sold, and the
// storefront shows a product's page without reading it there, for the
// callers the gateway speaks for; yet a product deleted through the
// gateway has neither stock nor page from the moment the delete is
// answered. A caller straight at inventory, which nobody speaks for, and
// every caller when edge_cache is off, costs a read of the catalogue each
// time.
func TestModulesKeepCatalogueReads(t *testing.T) {
	for _, cached := range []bool{true, false} {
		t.Run("edge_cache="+strconv.FormatBool(cached), func(t *testing.T) {
			const check = 300 * time.Millisecond
			l := startLayout(t, testdb.Engines()[0], "split", []string{
				"BAZAAR_CATALOGUE_EDGE_CACHE=" + strconv.FormatBool(cached), "BAZAAR_CATALOGUE_CACHE_CHECK=" + check.String()})
			catalogue, inventory := l.url("catalogue"), l.url("inventory")
			asPeer := []string{"X-Service-Token", serviceToken} // straight to the module
			// The gateway speaks for its callers once every cache has
			// looked at the catalogue since it started.
			time.Sleep(check)
			prod := l.Product(t, 7)
			stock := func(base string, who ...string) int {
				t.Helper()
				status, out := shoptest.Call(t, "GET", base+"/v1/inventory/"+prod, l.Admin, "", who...)
				require.Contains(t, []int{http.StatusOK, http.StatusNotFound}, status, "%s", out)
				return status
			}

			require.Equal(t, http.StatusOK, stock(l.Base))
			before := productReads(t, catalogue)
			for range 20 {
				require.Equal(t, http.StatusOK, stock(l.Base))
			}
			if crossed := productReads(t, catalogue) - before; cached {
				require.Zero(t, crossed, "stock reads answered by inventory alone")
				// and its metrics say so, for the console
				require.GreaterOrEqual(t, moduleCalls(t, inventory, "inventory", "catalogue", "cached"), 20)
			} else {
				require.Equal(t, 20, crossed, "every stock read asks the catalogue")
				require.Zero(t, moduleCalls(t, inventory, "inventory", "catalogue", "cached"))
			}
			page := func() int {
				t.Helper()
				status, out := shoptest.Call(t, "GET", l.Base+"/products/"+prod, "", "")
				require.Contains(t, []int{http.StatusOK, http.StatusNotFound}, status, "%s", out)
				return status
			}
			require.Equal(t, http.StatusOK, page())
			before = productReads(t, catalogue)
			for range 5 {
				require.Equal(t, http.StatusOK, page())
			}
			if crossed := productReads(t, catalogue) - before; cached {
				require.Zero(t, crossed, "pages answered by the storefront and inventory alone")
			} else {
				require.Equal(t, 10, crossed, "each page reads the product, and its stock asks again")
			}

			before = productReads(t, catalogue)
			for range 3 {
				require.Equal(t, http.StatusOK, stock(inventory, asPeer...))
			}
			require.Equal(t, 3, productReads(t, catalogue)-before, "a caller nobody speaks for is answered by the catalogue")

			status, out := shoptest.Call(t, "DELETE", l.Base+"/v1/products/"+prod, l.Admin, "")
			require.Equal(t, http.StatusNoContent, status, "%s", out)
			require.Equal(t, http.StatusNotFound, stock(l.Base), "a product deleted through the gateway has no stock at once")
			require.Equal(t, http.StatusNotFound, stock(inventory, asPeer...))
			require.Equal(t, http.StatusNotFound, page(), "nor a page")
		})
	}
}

// productReads is how many reads of one product a process has answered.
func productReads(t *testing.T, base string) int {
	t.Helper()
	return metric(t, base, productReadsLine)
}

// moduleCalls is how many Get calls a process's caller module made to
// callee in a mode, answered without error.
func moduleCalls(t *testing.T, base, caller, callee, mode string) int {
	t.Helper()
	return metric(t, base, regexp.MustCompile(`(?m)^bazaar_module_calls_total\{callee="`+callee+`",caller="`+caller+
		`",method="Get",mode="`+mode+`",outcome="ok"\} (\d+)`))
}

// metric is the value of the one series of a process's metrics that line
// matches, its value the first group; 0 while there is none.
func metric(t *testing.T, base string, line *regexp.Regexp) int {
	t.Helper()
	_, out := shoptest.Call(t, "GET", base+"/internal/v1/metrics", "", "", "X-Service-Token", serviceToken)
	m := line.FindSubmatch(out)
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err)
	return n
}

var productReadsLine = regexp.MustCompile(`(?m)^bazaar_http_requests_total\{method="GET",route="/v1/products/:id",status="200"\} (\d+)`)

// TestAssertionsStraightToAModule: a caller assertion sent straight to a
// module process of the split is refused when it is forged, altered,
// expired or replayed; a good one is served once.
func TestAssertionsStraightToAModule(t *testing.T) {
	l := startLayout(t, testdb.Engines()[0], "split", nil)
	prod := l.Product(t, 5)
	path := "/v1/inventory/" + prod
	inv := l.url("inventory")
	shopper := identity.Caller{Key: "key_shopper", Role: "storefront"}
	signed := func(token string, at time.Time, method, uri string, who identity.Caller) string {
		return identity.NewSigner(token, func() time.Time { return at }).Sign(method, uri, nil, who)
	}
	ask := func(assertion string) (int, string) {
		status, out := shoptest.Call(t, "GET", inv+path, "", "", identity.Header, assertion)
		return status, string(out)
	}

	good := signed(serviceToken, time.Now(), "GET", path, shopper)
	status, out := ask(good)
	require.Equal(t, http.StatusOK, status, "a good assertion is served: %s", out)
	status, out = ask(good)
	require.Equal(t, http.StatusUnauthorized, status, "replayed: %s", out)
	require.Contains(t, out, "used before")

	for name, assertion := range map[string]string{
		"forged":       signed("not-the-deployment's-token", time.Now(), "GET", path, shopper),
		"altered":      strings.Replace(signed(serviceToken, time.Now(), "GET", path, shopper), "storefront", "admin", 1),
		"another path": signed(serviceToken, time.Now(), "GET", "/v1/inventory/prod_other", shopper),
		"expired":      signed(serviceToken, time.Now().Add(-time.Minute), "GET", path, shopper),
		"malformed":    "v1.key_shopper.storefront",
	} {
		status, out := ask(assertion)
		require.Equal(t, http.StatusUnauthorized, status, "%s: %s", name, out)
		require.Contains(t, out, "caller assertion", name)
	}
	status, raw := shoptest.Call(t, "GET", inv+path, l.Admin, "")
	require.Equal(t, http.StatusUnauthorized, status, "a raw key, even the admin's: %s", raw)
	require.Contains(t, string(raw), "call through the gateway")
}

// TestStorefrontWhenModulesAreDown: with inventory down the pages still
// show the products, without stock, and a checkout says the shop is busy;
// with the catalogue down too, a page says so — never a 500.
func TestStorefrontWhenModulesAreDown(t *testing.T) {
	l := startLayout(t, testdb.Engines()[0], "split", []string{"BAZAAR_REMOTE_TIMEOUT=1s", "BAZAAR_REMOTE_RETRIES=0"})
	ids := pagetest.Products(t, l.Shop, "Candle", 1, 5)
	s := pagetest.NewShopper(t, l.Base)
	require.Contains(t, s.Get("/?q=Candle").HTML, "5 in stock")
	product := s.Get("/products/" + ids[0])
	s.Follow("/cart", product.Form("product_id", ids[0], "quantity", "1"))

	l.kill(t, "inventory")
	shelf := s.Get("/?q=Candle")
	require.Equal(t, http.StatusOK, shelf.Status, "%s", shelf.HTML)
	require.Contains(t, shelf.HTML, "Stock levels are not available right now")
	require.Contains(t, shelf.HTML, "Candle 0")
	require.NotContains(t, shelf.HTML, "in stock")
	require.Equal(t, http.StatusOK, s.Get("/products/"+ids[0]).Status)

	checkout := s.Get("/checkout")
	require.Equal(t, http.StatusOK, checkout.Status)
	page := s.Post("/checkout", pagetest.CheckoutForm(checkout, pagetest.CardSucceeds))
	require.Equal(t, http.StatusServiceUnavailable, page.Status, "%s", page.HTML)
	require.Contains(t, page.HTML, "The shop is busy")

	l.kill(t, "catalogue")
	page = s.Get("/?q=Candle")
	require.Equal(t, http.StatusServiceUnavailable, page.Status, "%s", page.HTML)
	require.Contains(t, page.Header.Get("Content-Type"), "text/html")
	require.Contains(t, page.HTML, "The shop is busy")
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/shoptest"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

// TestInjectedFaults sets each kind of fault on calls to inventory, at run
// time through the admin route, in the monolith (in-process calls), the
// monolith in wire mode and the split, each started as processes. With
// every call failing: checkouts answer 503 or 504, never 201 or 500; the
// calls are counted as injected; over the wire the client retries what it
// may and the breaker opens for failures to get an answer (timeouts and
// resets), not for answers (errors); in-process there is neither. With
// some calls failing, under a stream of checkouts, every checkout ends
// clearly; and once the faults are off and recovery has run, the books
// balance: stock went down by exactly what succeeded, nothing stays
// reserved, no payment stays pending.
func TestInjectedFaults(t *testing.T) {
	wired := []string{"BAZAAR_MODULES_CATALOGUE_MODE=wire", "BAZAAR_MODULES_INVENTORY_MODE=wire",
		"BAZAAR_MODULES_PAYMENT_MODE=wire", "BAZAAR_MODULES_WEBHOOKS_MODE=wire", "BAZAAR_MODULES_STOREFRONT_MODE=wire"}
	for _, tc := range []struct {
		name, layout, caller string // caller: the process whose calls to inventory meet the faults
		env                  []string
		overTheWire          bool
	}{
		{"monolith", "monolith", "monolith", nil, false},
		{"monolith wired", "monolith", "monolith", wired, true},
		{"split", "split", "payment", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := startLayout(t, testdb.Engines()[0], tc.layout, append([]string{
				"BAZAAR_REMOTE_TIMEOUT=300ms",
				"BAZAAR_REMOTE_BREAKER_FAILURES=3",
				"BAZAAR_REMOTE_BREAKER_COOLDOWN=1s",
				"BAZAAR_INVENTORY_RESERVATION_TTL=2s",
				"BAZAAR_INVENTORY_EXPIRY_INTERVAL=200ms",
				"BAZAAR_PAYMENT_RECOVERY_INTERVAL=300ms",
				"BAZAAR_PAYMENT_RECOVER_AFTER=1s",
				"BAZAAR_RATE_LIMIT_RPS=0",
			}, tc.env...))
			caller := l.url(tc.caller)
			for _, kind := range []string{"error", "timeout", "reset"} {
				t.Run(kind, func(t *testing.T) {
					const stock = 500
					prod := l.Product(t, stock)
					injected, retries := faultCounts(t, caller)

					setFaults(t, l, kind, 1)
					for i := 0; i < 6; i++ {
						status, out := shoptest.Call(t, "POST", l.Base+"/v1/payments", l.Admin, shoptest.Order(prod, 1))
						require.Contains(t, []int{http.StatusServiceUnavailable, http.StatusGatewayTimeout}, status, "checkout %d: %s", i, out)
					}
					nowInjected, nowRetries := faultCounts(t, caller)
					require.Greater(t, nowInjected, injected, "calls that met a fault are counted as injected")
					breaker := breakerOf(t, caller)
					switch {
					case !tc.overTheWire:
						require.Equal(t, retries, nowRetries, "an in-process call is never retried")
						require.Empty(t, breaker, "an in-process call has no breaker")
					case kind == "error":
						require.Greater(t, nowRetries, retries, "a reservation, safe to repeat, is retried after a 503")
						require.Equal(t, "closed", breaker, "a module that answers, even 503, is up")
					default:
						require.Greater(t, nowRetries, retries, "a reservation, safe to repeat, is retried")
						require.Equal(t, "open", breaker, "calls that get no answer open the breaker")
					}

					// Some calls failing, beside a stream of checkouts: the
					// reservations and commits that fail, or whose answers
					// are lost, must be made good.
					setFaults(t, l, kind, 0.3)
					stream := l.Checkouts(prod)
					shoptest.Eventually(t, 60*time.Second, func() bool {
						ok, failed := 0, 0
						for _, r := range stream.Results() {
							if r.Status == http.StatusCreated {
								ok++
							} else {
								failed++
							}
						}
						return ok >= 5 && failed >= 10
					}, "checkouts did not both succeed and fail")
					setFaults(t, l, kind, 0)
					results := stream.Stop()
					shoptest.RequireClearEnds(t, results, 20*time.Second)
					payments, sold := l.Settled(t, prod, stock, func(payment.Payment) bool { return true })
					shoptest.RequireKept(t, results, payments)
					t.Logf("%s: %d payments, %d succeeded", kind, len(payments), sold)

					// The breaker closes again and checkouts go through.
					shoptest.Eventually(t, 10*time.Second, func() bool {
						status, _ := shoptest.Call(t, "POST", l.Base+"/v1/payments", l.Admin, shoptest.Order(prod, 1))
						return status == http.StatusCreated
					}, "checkouts did not succeed again once the faults were off")
				})
			}
		})
	}
}

// setFaults makes a share of calls to inventory fail with one kind of
// fault, through the shop's admin route, and checks every process took it.
func setFaults(t *testing.T, l *cluster, kind string, share float64) {
	t.Helper()
	status, out := shoptest.Call(t, "PUT", l.Base+"/v1/faults/inventory", l.Admin, fmt.Sprintf(`{"%s_rate": %g}`, kind, share))
	require.Equal(t, http.StatusOK, status, "%s", out)
	var applied struct {
		Processes []struct {
			URL     string
			Applied bool
			Detail  string
		}
	}
	require.NoError(t, json.Unmarshal(out, &applied))
	for _, p := range applied.Processes {
		require.True(t, p.Applied, "%s did not take the faults: %s", p.URL, p.Detail)
	}
}

var (
	injectedCalls = regexp.MustCompile(`(?m)^bazaar_module_calls_total\{callee="inventory",[^}]*outcome="injected"[^}]*\} (\d+)`)
	retriedCalls  = regexp.MustCompile(`(?m)^bazaar_module_call_retries_total\{callee="inventory"\} (\d+)`)
)

// faultCounts reads, from a process's metrics, its calls to inventory that
// met a fault and its retries of calls to inventory.
func faultCounts(t *testing.T, base string) (injected, retries int) {
	t.Helper()
	_, out := shoptest.Call(t, "GET", base+"/internal/v1/metrics", "", "", "X-Service-Token", serviceToken)
	for _, m := range injectedCalls.FindAllSubmatch(out, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		injected += n
	}
	if m := retriedCalls.FindSubmatch(out); m != nil {
		retries, _ = strconv.Atoi(string(m[1]))
	}
	return injected, retries
}

// breakerOf is the state of a process's breaker for inventory, "" where it
// has none.
func breakerOf(t *testing.T, base string) string {
	t.Helper()
	status, out := shoptest.Call(t, "GET", base+"/v1/topology", "", "", "X-Service-Token", serviceToken)
	require.Equal(t, http.StatusOK, status, "%s", out)
	var topo struct {
		Modules map[string]struct{ Breaker string }
	}
	require.NoError(t, json.Unmarshal(out, &topo))
	return topo.Modules["inventory"].Breaker
}

// TestRecoveryAcrossARestart: checkouts whose card was charged but whose
// stock was not committed (half the calls to inventory fail on purpose)
// are left pending; the process is killed and started again, and recovery
// finishes each of them — the payment succeeds and takes its stock, none
// is abandoned with the money taken — and the books balance. A payment
// records its charge only with its outcome, so what tells recovery of each
// charge is the card sandbox's ledger, kept across the restart.
func TestRecoveryAcrossARestart(t *testing.T) {
	const stock = 100
	l := startLayout(t, testdb.Engines()[0], "monolith", []string{
		"BAZAAR_PAYMENT_RECOVER_AFTER=1h", // only the restart resolves them
		"BAZAAR_RATE_LIMIT_RPS=0",
	})
	prod := l.Product(t, stock)
	setFaults(t, l, "error", 0.5)
	var charged []string // the card charged, the commit of the stock refused
	for i := 0; i < 40; i++ {
		status, out := shoptest.Call(t, "POST", l.Base+"/v1/payments", l.Admin, shoptest.Order(prod, 1))
		require.Contains(t, []int{http.StatusCreated, http.StatusServiceUnavailable}, status, "%s", out)
		var problem struct {
			Detail    string `json:"detail"`
			PaymentID string `json:"payment_id"`
		}
		if status == http.StatusServiceUnavailable {
			require.NoError(t, json.Unmarshal(out, &problem))
			if strings.Contains(problem.Detail, "commit stock") {
				charged = append(charged, problem.PaymentID)
			}
		}
	}
	require.NotEmpty(t, charged, "some checkouts were charged and their stock not committed")
	for _, id := range charged {
		status, out := shoptest.Call(t, "GET", l.Base+"/v1/payments/"+id, l.Admin, "")
		require.Equal(t, http.StatusOK, status, "%s", out)
		require.Contains(t, string(out), `"status":"pending"`, "left for recovery")
	}

	l.kill(t, "monolith")
	l.start(t, "monolith")
	l.waitReady(t, "monolith")
	for _, id := range charged {
		status, out := shoptest.Call(t, "GET", l.Base+"/v1/payments/"+id, l.Admin, "")
		require.Equal(t, http.StatusOK, status, "%s", out)
		var p payment.Payment
		require.NoError(t, json.Unmarshal(out, &p))
		require.Equal(t, payment.Succeeded, p.Status, "payment %s was charged before the restart", id)
	}
	payments, sold := l.Settled(t, prod, stock, func(payment.Payment) bool { return true })
	t.Logf("%d payments, %d succeeded, %d of them recovered after the restart", len(payments), sold, len(charged))

	// The sandbox's ledger outlived the process: it holds every charge,
	// by the payment it was made for.
	ledger, err := database.Open(context.Background(), filepath.Join(l.DataDir("monolith"), "sandbox.db"))
	require.NoError(t, err)
	defer ledger.Close()
	var kept int64
	require.NoError(t, ledger.DB.Table("sandbox_charges").Where("idempotency_key IN ?", charged).Count(&kept).Error)
	require.Equal(t, int64(len(charged)), kept)
}

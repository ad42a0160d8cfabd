package remote_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/identity"
	"github.com/bazaar-shop/bazaar/internal/launch"
	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/internal/tracing"
	"github.com/bazaar-shop/bazaar/internal/web"
)

// TestMain quiets gin: no route listing for every server a test starts.
func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

const token = "remote-test-service-token"

var discard = slog.New(slog.DiscardHandler)

// withReadyz answers the health probe (/readyz?scope=local) with 200 and
// passes every other request to h. A probe without scope=local is refused,
// so a replica only looks healthy when it was probed the documented way.
func withReadyz(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			if r.URL.Query().Get("scope") != "local" {
				http.Error(w, "probe without scope=local", http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusOK)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// serve runs h on a loopback server until the test ends.
func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(withReadyz(h))
	t.Cleanup(srv.Close)
	return srv
}

// freeAddr is a loopback address nobody listens on (for now).
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := launch.FreeAddr()
	require.NoError(t, err)
	return addr
}

// serveAt runs h on addr, to bring a dead replica (back) up.
func serveAt(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(withReadyz(h))
	require.NoError(t, srv.Listener.Close())
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// newModule is a remote module "things" at urls. Zero options get sane
// test values: a zero Timeout would expire every attempt at once, and zero
// BreakerFailures would open the breaker on the first failure.
// tracer records spans without exporting them: enough for ids to cross the wire.
var tracer = sdktrace.NewTracerProvider().Tracer("remote_test")

func newModule(t *testing.T, urls []string, opts remote.Options) *remote.Module {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.BreakerFailures == 0 {
		opts.BreakerFailures = 1000
	}
	if opts.BreakerCooldown == 0 {
		opts.BreakerCooldown = time.Minute
	}
	if opts.ServiceToken == "" {
		opts.ServiceToken = token
	}
	if opts.Tracer == nil {
		opts.Tracer = tracer
	}
	client := remote.NewClient()
	t.Cleanup(client.CloseIdleConnections)
	return remote.New("things", urls, client, opts)
}

// watch runs m.Watch until the test ends, and waits for it to stop before
// the servers registered earlier are closed.
func watch(t *testing.T, m *remote.Module, interval time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Watch(ctx, interval)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func writeJSON(w http.ResponseWriter, status int, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func ok(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, "application/json", `{"ok":true}`)
}

const busyProblem = `{"type":"urn:bazaar:problem:dependency_unavailable","title":"Service Unavailable","status":503,"code":"dependency_unavailable","detail":"busy"}`

var traceParentRE = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

// 1. Every call carries the request id, the trace, the deadline, and the
// service token only when it is made as the service.
func TestStampedHeaders(t *testing.T) {
	t.Parallel()
	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		spanID  = "00f067aa0ba902b7"
	)
	cases := []struct {
		name      string
		target    string
		wantToken bool
	}{
		{"Call presents the service token", "/call", true},
		{"Forward does not", "/v1/things/1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan http.Header, 1)
			down := serve(t, func(w http.ResponseWriter, r *http.Request) {
				got <- r.Header.Clone()
				ok(w, r)
			})
			m := newModule(t, []string{down.URL}, remote.Options{})
			edge := gin.New()
			edge.Use(tracing.Middleware(tracer), web.RequestLog(discard, web.LogPolicy{}))
			edge.GET("/call", func(c *gin.Context) {
				var out struct {
					OK bool `json:"ok"`
				}
				if err := m.Call(c.Request.Context(), http.MethodGet, "/internal/things", nil, &out, true, nil); err != nil {
					web.Error(c, err)
					return
				}
				c.JSON(http.StatusOK, out)
			})
			edge.GET("/v1/things/:id", m.Forward)

			req := httptest.NewRequest(http.MethodGet, tc.target, nil)
			req.Header.Set(web.RequestIDHeader, "req-stamp-test")
			req.Header.Set(web.TraceParentHeader, "00-"+traceID+"-"+spanID+"-01")
			req.Header.Set(web.TimeoutHeader, "2000")
			req.Header.Set(remote.ServiceTokenHeader, "forged-by-the-client")
			rec := httptest.NewRecorder()
			edge.ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

			var h http.Header
			select {
			case h = <-got:
			default:
				t.Fatal("the module never saw the call")
			}
			assert.Equal(t, "req-stamp-test", h.Get(web.RequestIDHeader))

			tp := traceParentRE.FindStringSubmatch(h.Get(web.TraceParentHeader))
			require.NotNil(t, tp, "traceparent %q", h.Get(web.TraceParentHeader))
			assert.Equal(t, traceID, tp[1], "same trace")
			assert.NotEqual(t, spanID, tp[2], "new span")

			ms, err := strconv.Atoi(h.Get(web.TimeoutHeader))
			require.NoError(t, err, "X-Request-Timeout %q", h.Get(web.TimeoutHeader))
			assert.Greater(t, ms, 0)
			assert.LessOrEqual(t, ms, 2000)

			if tc.wantToken {
				assert.Equal(t, token, h.Get(remote.ServiceTokenHeader))
			} else {
				assert.Empty(t, h.Values(remote.ServiceTokenHeader), "neither ours nor the client's token")
			}
		})
	}
}

// A call made outside any request still carries a well-formed trace, no
// request id, and the deadline of the attempt itself.
func TestStampedHeadersWithoutRequest(t *testing.T) {
	t.Parallel()
	got := make(chan http.Header, 1)
	down := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		ok(w, r)
	})
	m := newModule(t, []string{down.URL}, remote.Options{})
	require.NoError(t, m.Call(context.Background(), http.MethodGet, "/internal/things", nil, nil, true, nil))
	h := <-got
	assert.Empty(t, h.Values(web.RequestIDHeader))
	ms, err := strconv.Atoi(h.Get(web.TimeoutHeader))
	require.NoError(t, err, "the attempt's own timeout is sent")
	assert.True(t, ms > 0 && ms <= 10_000, "X-Request-Timeout %d within the attempt timeout", ms)
	assert.Regexp(t, traceParentRE, h.Get(web.TraceParentHeader))
	assert.Equal(t, token, h.Get(remote.ServiceTokenHeader))
}

// 2. Problem documents come back as the module's contract errors.
func TestCallDecodesAnswers(t *testing.T) {
	t.Parallel()
	errOutOfStock := errs.New(errs.Conflict, "out_of_stock", "the product is out of stock")
	known := map[string]error{"out_of_stock": errOutOfStock}

	type answer struct {
		status      int
		contentType string
		body        string
	}
	answers := map[string]answer{
		"out-of-stock": {409, "application/problem+json", `{"status":409,"code":"out_of_stock","detail":"sku-1 is sold out"}`},
		"invalid": {422, "application/problem+json", `{"status":422,"code":"validation_failed","detail":"invalid input",
			"errors":[{"field":"items[0].quantity","reason":"must be positive"},{"field":"currency","reason":"unknown"}]}`},
		"teapot":      {418, "application/problem+json", `{"status":418,"code":"teapot","detail":"short and stout"}`},
		"declined":    {402, "application/problem+json", `{"status":402,"code":"card_declined","detail":"declined","payment_id":"pay_1","decline_code":"insufficient_funds"}`},
		"unavailable": {503, "application/problem+json", busyProblem},
		"html":        {502, "text/html", `<html><body>Bad Gateway</body></html>`},
		"no-code":     {500, "application/json", `{"status":500,"detail":"no code here"}`},
		"empty":       {500, "text/plain", ``},
		"plain-404":   {404, "text/plain", `404 page not found`},
	}
	down := serve(t, func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/p/")
		if name == "ok" {
			var in struct {
				SKU string `json:"sku"`
			}
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil || r.Header.Get("Content-Type") != "application/json" ||
				r.Header.Get(remote.ServiceTokenHeader) != token {
				writeJSON(w, 400, "text/plain", "bad request")
				return
			}
			writeJSON(w, 200, "application/json", `{"sku":"`+in.SKU+`","quantity":3}`)
			return
		}
		a, found := answers[name]
		if !found {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, a.status, a.contentType, a.body)
	})
	m := newModule(t, []string{down.URL}, remote.Options{})

	problemOf := func(t *testing.T, err error) *remote.ProblemError {
		t.Helper()
		var pe *remote.ProblemError
		require.ErrorAs(t, err, &pe)
		return pe
	}
	cases := []struct {
		name  string
		check func(t *testing.T, err error)
	}{
		{"out-of-stock", func(t *testing.T, err error) {
			require.ErrorIs(t, err, errOutOfStock)
			assert.Equal(t, "out_of_stock", errs.Code(err))
			assert.Equal(t, 409, problemOf(t, err).Status)
			assert.Equal(t, "sku-1 is sold out", err.Error())
			assert.Equal(t, http.StatusConflict, web.ProblemOf(err).Status)
		}},
		{"invalid", func(t *testing.T, err error) {
			require.ErrorIs(t, err, errs.ErrInvalid)
			var ve *errs.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, []errs.FieldError{
				{Field: "items[0].quantity", Reason: "must be positive"},
				{Field: "currency", Reason: "unknown"},
			}, ve.Fields)
			p := web.ProblemOf(err)
			assert.Equal(t, http.StatusUnprocessableEntity, p.Status)
			assert.Equal(t, ve.Fields, p.Extensions["errors"], "passed on with the fields")
		}},
		{"teapot", func(t *testing.T, err error) {
			assert.Equal(t, "teapot", errs.Code(err))
			assert.Equal(t, 418, problemOf(t, err).Status)
			assert.NotErrorIs(t, err, remote.ErrUnavailable)
		}},
		{"declined", func(t *testing.T, err error) {
			// A code the caller did not list keeps its code, and with it
			// its status, when passed on, with its extension members.
			assert.Equal(t, "card_declined", errs.Code(err))
			p := web.ProblemOf(err)
			assert.Equal(t, http.StatusPaymentRequired, p.Status)
			assert.Equal(t, "pay_1", p.Extensions["payment_id"])
			assert.Equal(t, "insufficient_funds", p.Extensions["decline_code"])
		}},
		{"unavailable", func(t *testing.T, err error) {
			require.ErrorIs(t, err, remote.ErrUnavailable)
			assert.Equal(t, http.StatusServiceUnavailable, web.ProblemOf(err).Status)
		}},
		{"html", func(t *testing.T, err error) { require.ErrorIs(t, err, remote.ErrUnavailable) }},
		{"no-code", func(t *testing.T, err error) { require.ErrorIs(t, err, remote.ErrUnavailable) }},
		{"empty", func(t *testing.T, err error) { require.ErrorIs(t, err, remote.ErrUnavailable) }},
		{"plain-404", func(t *testing.T, err error) { require.ErrorIs(t, err, remote.ErrUnavailable) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out map[string]any
			err := m.Call(context.Background(), http.MethodPost, "/p/"+tc.name, map[string]string{"sku": "sku-1"}, &out, false, known)
			require.Error(t, err)
			assert.Nil(t, out, "nothing decoded from an error")
			tc.check(t, err)
		})
	}

	t.Run("2xx decodes into out", func(t *testing.T) {
		t.Parallel()
		var out struct {
			SKU      string `json:"sku"`
			Quantity int    `json:"quantity"`
		}
		require.NoError(t, m.Call(context.Background(), http.MethodPost, "/p/ok", map[string]string{"sku": "sku-9"}, &out, false, known))
		assert.Equal(t, "sku-9", out.SKU)
		assert.Equal(t, 3, out.Quantity)
	})
	t.Run("2xx with nil out", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, m.Call(context.Background(), http.MethodPost, "/p/ok", map[string]string{"sku": "x"}, nil, false, known))
	})
}

// 3. Repeatable calls are retried after a 503; others get the 503 back.
func TestRetries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		repeatable bool
		retries    int
		failFirst  int64
		wantHits   int64
		wantOK     bool
	}{
		{"repeatable call recovers", true, 2, 2, 3, true},
		{"non-repeatable call gets the 503", false, 2, 2, 1, false},
		{"repeatable call gives up after its retries", true, 1, 5, 2, false},
		{"repeatable call without retries", true, 0, 1, 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int64
			down := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if hits.Add(1) <= tc.failFirst {
					writeJSON(w, http.StatusServiceUnavailable, "application/problem+json", busyProblem)
					return
				}
				ok(w, r)
			})
			m := newModule(t, []string{down.URL}, remote.Options{Retries: tc.retries})
			var out struct {
				OK bool `json:"ok"`
			}
			err := m.Call(context.Background(), http.MethodPost, "/internal/reserve", map[string]int{"n": 1}, &out, tc.repeatable, nil)
			assert.Equal(t, tc.wantHits, hits.Load(), "requests the module saw")
			if tc.wantOK {
				require.NoError(t, err)
				assert.True(t, out.OK)
				return
			}
			require.ErrorIs(t, err, remote.ErrUnavailable)
			var pe *remote.ProblemError
			require.ErrorAs(t, err, &pe, "the module's own 503 problem, not an unreachable module")
			assert.Equal(t, 503, pe.Status)
			assert.Equal(t, "busy", pe.Detail)
		})
	}
}

// A request that reached the module but got no answer is sent again only
// when it is repeatable.
func TestRetriesAfterDroppedConnection(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		repeatable bool
		wantHits   int64
	}{
		{"repeatable", true, 3},
		{"non-repeatable", false, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int64
			down := serve(t, func(w http.ResponseWriter, _ *http.Request) {
				hits.Add(1)
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.Close()
				}
			})
			m := newModule(t, []string{down.URL}, remote.Options{Retries: 2})
			err := m.Call(context.Background(), http.MethodPost, "/internal/charge", map[string]int{"n": 1}, nil, tc.repeatable, nil)
			require.ErrorIs(t, err, remote.ErrUnavailable)
			assert.Equal(t, tc.wantHits, hits.Load())
		})
	}
}

// 4. A replica that cannot be dialled is skipped, for every kind of call.
func TestFailover(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	live := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		ok(w, r)
	})
	dead := "http://" + freeAddr(t)
	m := newModule(t, []string{dead, live.URL}, remote.Options{})

	ctx := context.Background()
	for i := range 6 {
		method, repeatable := http.MethodGet, true
		if i%2 == 1 {
			method, repeatable = http.MethodPost, false
		}
		require.NoError(t, m.Call(ctx, method, "/internal/things", nil, nil, repeatable, nil), "call %d (%s)", i, method)
	}
	assert.Equal(t, int64(6), hits.Load())
	require.NoError(t, m.Ready(), "one replica is still healthy")
	assert.Equal(t, []remote.Replica{{URL: dead, Healthy: false}, {URL: live.URL, Healthy: true}}, m.Replicas(ctx))
}

// A replica that cannot be dialled is taken out of rotation by the call
// itself, before any health check.
func TestDialErrorMarksReplicaUnhealthy(t *testing.T) {
	t.Parallel()
	m := newModule(t, []string{"http://" + freeAddr(t), "http://" + freeAddr(t)}, remote.Options{})
	require.NoError(t, m.Ready(), "innocent until proven otherwise")
	err := m.Call(context.Background(), http.MethodPost, "/internal/things", nil, nil, false, nil)
	require.ErrorIs(t, err, remote.ErrUnavailable)
	assert.Equal(t, http.StatusServiceUnavailable, web.ProblemOf(err).Status)
	require.Error(t, m.Ready())
}

func TestRoundRobin(t *testing.T) {
	t.Parallel()
	var a, b atomic.Int64
	ra := serve(t, func(w http.ResponseWriter, r *http.Request) { a.Add(1); ok(w, r) })
	rb := serve(t, func(w http.ResponseWriter, r *http.Request) { b.Add(1); ok(w, r) })
	m := newModule(t, []string{ra.URL, rb.URL}, remote.Options{})
	for range 10 {
		require.NoError(t, m.Call(context.Background(), http.MethodGet, "/internal/things", nil, nil, true, nil))
	}
	assert.Equal(t, int64(5), a.Load())
	assert.Equal(t, int64(5), b.Load())
}

// Watch probes /readyz?scope=local, takes replicas out and puts them back.
func TestWatch(t *testing.T) {
	t.Parallel()
	const wait, tick = 5 * time.Second, 5 * time.Millisecond

	t.Run("both replicas die, one comes back", func(t *testing.T) {
		t.Parallel()
		first := serve(t, ok)
		second := serve(t, ok)
		secondAddr := second.Listener.Addr().String()
		m := newModule(t, []string{first.URL, second.URL}, remote.Options{})
		watch(t, m, 10*time.Millisecond)

		require.NoError(t, m.Ready())
		first.Close()
		// One replica left: the module is still ready.
		require.Eventually(t, func() bool {
			reps := m.Replicas(context.Background())
			return !reps[0].Healthy && reps[1].Healthy
		}, wait, tick)
		require.NoError(t, m.Ready())

		second.Close()
		require.Eventually(t, func() bool { return m.Ready() != nil }, wait, tick, "no replica left")

		serveAt(t, secondAddr, http.HandlerFunc(ok))
		require.Eventually(t, func() bool { return m.Ready() == nil }, wait, tick, "a recovered replica is put back")
	})

	t.Run("a replica that answers but is not ready", func(t *testing.T) {
		t.Parallel()
		var ready atomic.Bool
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/readyz" && ready.Load() {
				withReadyz(http.HandlerFunc(ok)).ServeHTTP(w, r)
				return
			}
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		t.Cleanup(srv.Close)
		m := newModule(t, []string{srv.URL}, remote.Options{})
		watch(t, m, 10*time.Millisecond)
		require.Eventually(t, func() bool { return m.Ready() != nil }, wait, tick)
		ready.Store(true)
		require.Eventually(t, func() bool { return m.Ready() == nil }, wait, tick)
	})
}

// 5. Consecutive failures open the breaker; after the cooldown one call
// closes it again.
func TestCircuitBreaker(t *testing.T) {
	t.Parallel()
	const cooldown = 300 * time.Millisecond
	addr := freeAddr(t)
	m := newModule(t, []string{"http://" + addr}, remote.Options{BreakerFailures: 3, BreakerCooldown: cooldown})
	ctx := context.Background()
	call := func() error { return m.Call(ctx, http.MethodPost, "/internal/things", nil, nil, false, nil) }

	for i := range 3 {
		assert.Equal(t, "closed", m.BreakerState(), "before failure %d", i+1)
		require.ErrorIs(t, call(), remote.ErrUnavailable)
	}
	require.Equal(t, "open", m.BreakerState())

	// The module comes back, but the open breaker does not even try it.
	var hits atomic.Int64
	serveAt(t, addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		ok(w, r)
	}))
	require.Equal(t, "open", m.BreakerState(), "cooldown too short for this machine")
	start := time.Now()
	err := call()
	require.ErrorIs(t, err, remote.ErrUnavailable)
	assert.Less(t, time.Since(start), cooldown, "fails fast")
	assert.Equal(t, int64(0), hits.Load(), "an open breaker sends nothing")
	assert.Equal(t, http.StatusServiceUnavailable, web.ProblemOf(err).Status)

	require.Eventually(t, func() bool { return m.BreakerState() == "half-open" }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, call())
	assert.Equal(t, "closed", m.BreakerState())
	require.NoError(t, call())
	assert.Equal(t, int64(2), hits.Load())
}

// An answer, even an error, is not a failure: a module that answers 5xx
// never opens the breaker.
func TestBreakerIgnoresErrorAnswers(t *testing.T) {
	t.Parallel()
	down := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusServiceUnavailable, "application/problem+json", busyProblem)
	})
	m := newModule(t, []string{down.URL}, remote.Options{BreakerFailures: 2})
	for range 5 {
		var pe *remote.ProblemError
		require.ErrorAs(t, m.Call(context.Background(), http.MethodPost, "/internal/things", nil, nil, false, nil), &pe)
	}
	assert.Equal(t, "closed", m.BreakerState())
}

// slow answers after a long time, or when the caller gives up.
func slow(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
		ok(w, r)
	}
}

// 6. A deadline that runs out is the context's error, a 504, and the call
// does not outlive it.
func TestDeadline(t *testing.T) {
	t.Parallel()
	const deadline = 150 * time.Millisecond
	cases := []struct {
		name       string
		repeatable bool
	}{
		{"repeatable", true},
		{"non-repeatable", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			down := serve(t, slow)
			m := newModule(t, []string{down.URL}, remote.Options{Retries: 2})
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			err := m.Call(ctx, http.MethodGet, "/internal/slow", nil, nil, tc.repeatable, nil)
			elapsed := time.Since(start)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, http.StatusGatewayTimeout, web.ProblemOf(err).Status)
			assert.Less(t, elapsed, deadline+2*time.Second, "returns promptly")
		})
	}

	t.Run("Forward answers 504", func(t *testing.T) {
		t.Parallel()
		down := serve(t, slow)
		m := newModule(t, []string{down.URL}, remote.Options{})
		edge := gin.New()
		edge.Use(tracing.Middleware(tracer), web.RequestLog(discard, web.LogPolicy{}))
		edge.GET("/v1/things/:id", m.Forward)
		req := httptest.NewRequest(http.MethodGet, "/v1/things/1", nil)
		req.Header.Set(web.TimeoutHeader, strconv.Itoa(int(deadline.Milliseconds())))
		rec := httptest.NewRecorder()
		start := time.Now()
		edge.ServeHTTP(rec, req)
		assert.Less(t, time.Since(start), deadline+2*time.Second, "returns promptly")
		assert.Equal(t, http.StatusGatewayTimeout, rec.Code)
		assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		assert.Contains(t, rec.Body.String(), `"code":"timeout"`)
	})

	// One attempt running out of time, with the caller's deadline still
	// ahead, is an unavailable module, not the caller's timeout.
	t.Run("attempt timeout", func(t *testing.T) {
		t.Parallel()
		down := serve(t, slow)
		m := newModule(t, []string{down.URL}, remote.Options{Timeout: 100 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		err := m.Call(ctx, http.MethodPost, "/internal/slow", nil, nil, false, nil)
		require.ErrorIs(t, err, remote.ErrUnavailable)
		assert.Equal(t, http.StatusServiceUnavailable, web.ProblemOf(err).Status)
		assert.Less(t, time.Since(start), 2*time.Second)
	})
}

// 7. Forward passes a public request to a replica and its answer back.
func TestForward(t *testing.T) {
	t.Parallel()
	type seen struct {
		method, uri, body                          string
		auth, contentType, idemKey, token, traceID string
		caller                                     identity.Caller
		callerErr                                  error
	}
	cases := []struct {
		name       string
		method     string
		target     string
		body       string
		header     map[string]string
		wantURI    string
		wantStatus int
		wantCT     string
		wantLoc    string
		wantBody   string
	}{
		{
			name: "GET with query", method: http.MethodGet, target: "/v1/things/42?expand=stock&lang=de",
			header:  map[string]string{"Authorization": "Bearer key-1"},
			wantURI: "/v1/things/42?expand=stock&lang=de", wantStatus: 200,
			wantCT: "application/json", wantBody: `{"id":"42"}`,
		},
		{
			name: "POST creates", method: http.MethodPost, target: "/v1/things", body: `{"name":"lamp"}`,
			header: map[string]string{
				"Authorization": "Bearer key-2", "Content-Type": "application/json", "Idempotency-Key": "idem-1",
			},
			wantURI: "/v1/things", wantStatus: 201,
			wantCT: "application/json", wantLoc: "/v1/things/7", wantBody: `{"id":"7","name":"lamp"}`,
		},
		{
			name: "DELETE answers 204", method: http.MethodDelete, target: "/v1/things/42",
			header:  map[string]string{"Authorization": "Bearer key-4"},
			wantURI: "/v1/things/42", wantStatus: 204,
		},
		{
			name: "problem passes through", method: http.MethodGet, target: "/v1/things/missing",
			header:  map[string]string{"Authorization": "Bearer key-3"},
			wantURI: "/v1/things/missing", wantStatus: 404,
			wantCT: "application/problem+json", wantBody: `{"status":404,"code":"not_found","detail":"no such thing"}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan seen, 1)
			down := serve(t, func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				tp := traceParentRE.FindStringSubmatch(r.Header.Get(web.TraceParentHeader))
				s := seen{
					method: r.Method, uri: r.URL.RequestURI(), body: string(body),
					auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type"),
					idemKey: r.Header.Get("Idempotency-Key"), token: r.Header.Get(remote.ServiceTokenHeader),
				}
				if tp != nil {
					s.traceID = tp[1]
				}
				s.caller, s.callerErr = identity.NewVerifier(token, time.Now).
					Verify(r.Method, r.RequestURI, body, r.Header.Get(identity.Header))
				got <- s
				w.Header().Set("X-Internal-Only", "secret")
				switch {
				case r.Method == http.MethodDelete:
					w.WriteHeader(http.StatusNoContent)
				case r.Method == http.MethodPost:
					w.Header().Set("Location", "/v1/things/7")
					writeJSON(w, http.StatusCreated, "application/json", `{"id":"7","name":"lamp"}`)
				case strings.HasSuffix(r.URL.Path, "/missing"):
					writeJSON(w, http.StatusNotFound, "application/problem+json", `{"status":404,"code":"not_found","detail":"no such thing"}`)
				default:
					writeJSON(w, http.StatusOK, "application/json", `{"id":"42"}`)
				}
			})
			m := newModule(t, []string{down.URL}, remote.Options{Retries: 1, Signer: identity.NewSigner(token, time.Now)})
			edge := gin.New()
			caller := identity.Caller{Key: "key_" + tc.name, Role: "storefront"}
			edge.Use(tracing.Middleware(tracer), web.RequestLog(discard, web.LogPolicy{}), func(c *gin.Context) { web.SetCaller(c, caller) })
			edge.GET("/v1/things/:id", m.Forward)
			edge.POST("/v1/things", m.Forward)
			edge.DELETE("/v1/things/:id", m.Forward)

			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req := httptest.NewRequest(tc.method, tc.target, body)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			req.Header.Set(web.TraceParentHeader, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
			rec := httptest.NewRecorder()
			edge.ServeHTTP(rec, req)

			assert.Equal(t, tc.wantStatus, rec.Code)
			assert.Equal(t, tc.wantCT, rec.Header().Get("Content-Type"))
			assert.Equal(t, tc.wantLoc, rec.Header().Get("Location"))
			assert.Equal(t, tc.wantBody, rec.Body.String())
			if tc.wantBody != "" {
				assert.Equal(t, strconv.Itoa(len(tc.wantBody)), rec.Header().Get("Content-Length"), "sent with its length")
			} else {
				assert.Empty(t, rec.Header().Values("Content-Length"), "a 204 has no length")
			}
			assert.Empty(t, rec.Header().Get("X-Internal-Only"), "only the listed answer headers come back")

			var s seen
			select {
			case s = <-got:
			default:
				t.Fatal("the replica never saw the request")
			}
			assert.Equal(t, tc.method, s.method)
			assert.Equal(t, tc.wantURI, s.uri)
			assert.Equal(t, tc.body, s.body)
			assert.Empty(t, s.auth, "the caller's key stays at the edge")
			require.NoError(t, s.callerErr, "the module can check the caller the edge asserts")
			assert.Equal(t, caller, s.caller)
			assert.Equal(t, tc.header["Content-Type"], s.contentType)
			assert.Equal(t, tc.header["Idempotency-Key"], s.idemKey)
			assert.Empty(t, s.token, "a forwarded request is not made as the service")
			assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", s.traceID)
		})
	}
}

func TestForwardFailures(t *testing.T) {
	t.Parallel()

	t.Run("no replica reachable", func(t *testing.T) {
		t.Parallel()
		m := newModule(t, []string{"http://" + freeAddr(t)}, remote.Options{})
		edge := gin.New()
		edge.Use(tracing.Middleware(tracer), web.RequestLog(discard, web.LogPolicy{}))
		edge.POST("/v1/things", m.Forward)
		rec := httptest.NewRecorder()
		edge.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/things", strings.NewReader(`{}`)))
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		var p struct {
			Code string `json:"code"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p), rec.Body.String())
		assert.Equal(t, errs.CodeUnavailable, p.Code)
	})

	t.Run("body too large", func(t *testing.T) {
		t.Parallel()
		var hits atomic.Int64
		down := serve(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1); ok(w, r) })
		m := newModule(t, []string{down.URL}, remote.Options{})
		edge := gin.New()
		edge.Use(tracing.Middleware(tracer), web.RequestLog(discard, web.LogPolicy{}))
		edge.POST("/v1/things", m.Forward)
		rec := httptest.NewRecorder()
		big := bytes.Repeat([]byte("x"), web.MaxBodyBytes+1)
		edge.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/things", bytes.NewReader(big)))
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		assert.Equal(t, int64(0), hits.Load())
	})
}

// A caller that gives up (hangs up, or sent a tiny X-Request-Timeout) says
// nothing about the module: it must not open the breaker for every other
// caller of a healthy module.
func TestBreakerIgnoresCallersThatGiveUp(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		giveUp func(t *testing.T, m *remote.Module)
	}{
		{"caller cancels", func(t *testing.T, m *remote.Module) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			err := m.Call(ctx, http.MethodGet, "/slow", nil, nil, true, nil)
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}},
		{"public client sends X-Request-Timeout: 1 through Forward", func(t *testing.T, m *remote.Module) {
			edge := gin.New()
			edge.Use(tracing.Middleware(tracer), web.RequestLog(discard, web.LogPolicy{}))
			edge.GET("/slow", m.Forward)
			req := httptest.NewRequest(http.MethodGet, "/slow", nil)
			req.Header.Set(web.TimeoutHeader, "1")
			rec := httptest.NewRecorder()
			edge.ServeHTTP(rec, req)
			require.Equal(t, http.StatusGatewayTimeout, rec.Code)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			down := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/slow" {
					slow(w, r)
					return
				}
				ok(w, r)
			})
			m := newModule(t, []string{down.URL}, remote.Options{BreakerFailures: 3})
			for range 3 {
				tc.giveUp(t, m)
			}
			assert.Equal(t, "closed", m.BreakerState())
			require.NoError(t, m.Call(context.Background(), http.MethodGet, "/fast", nil, nil, true, nil),
				"a healthy module stays reachable")
		})
	}
}

// A module that restarts closes the connections kept open to it. A write
// that cannot be repeated must not be lost on one of them: it goes out on a
// new connection, once.
func TestRestartedModuleKeepsWrites(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("the check of a kept connection peeks without waiting, which conn_unix.go does on unix only")
	}
	var hits atomic.Int64
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1); ok(w, r) })
	first := serve(t, count)
	addr := first.Listener.Addr().String()
	m := newModule(t, []string{first.URL}, remote.Options{})
	ctx := context.Background()
	for range 3 {
		require.NoError(t, m.Call(ctx, http.MethodPost, "/v1/things", nil, nil, false, nil))
	}
	first.Close() // closes the connections the module keeps
	serveAt(t, addr, count)
	for i := range 3 {
		require.NoError(t, m.Call(ctx, http.MethodPost, "/v1/things", nil, nil, false, nil), "write %d after the restart", i)
	}
	assert.Equal(t, int64(6), hits.Load(), "every write arrived once")
}

package remote

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/faults"
	"github.com/bazaar-shop/bazaar/internal/identity"
	"github.com/bazaar-shop/bazaar/internal/tracing"
	"github.com/bazaar-shop/bazaar/internal/web"
)

// Options tune every call to a remote module.
type Options struct {
	Timeout         time.Duration    // one attempt
	ForwardTimeout  time.Duration    // one attempt of a forwarded public write; 0: Timeout
	Retries         int              // extra attempts of a call that may be repeated
	BreakerFailures int              // consecutive failures that open the breaker
	BreakerCooldown time.Duration    // how long an open breaker fails fast
	ServiceToken    string           // presented to the module's internal routes
	Signer          *identity.Signer // asserts a forwarded request's caller; nil: none is forwarded
	Tracer          trace.Tracer     // nil: no spans
	// Faults are applied to each attempt of a module call (not to a
	// forwarded request), under the breaker and retries; nil: none.
	Faults *faults.Injector
	// Retried, if set, is told of every attempt after a call's first.
	Retried func(module string)
}

// ServiceTokenHeader carries the service token; it matches auth's.
const ServiceTokenHeader = "X-Service-Token"

// Module is a module that runs in other processes, at one or more URLs.
type Module struct {
	name     string
	replicas *replicas
	http     *fasthttp.Client
	breaker  *gobreaker.CircuitBreaker[struct{}]
	opts     Options
}

// New returns the remote module name at urls. client is shared by every
// module of a process, so connections are pooled and reused.
func New(name string, urls []string, client *fasthttp.Client, opts Options) *Module {
	if opts.Tracer == nil {
		opts.Tracer = tracing.Noop()
	}
	m := &Module{name: name, replicas: newReplicas(urls), http: client, opts: opts}
	m.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Timeout:     opts.BreakerCooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(opts.BreakerFailures) },
		// A caller that gave up says nothing about the module: without
		// this, a few requests with a tiny deadline would open the breaker
		// for everyone.
		IsExcluded: func(err error) bool {
			var gaveUp *callerGaveUp
			return errors.As(err, &gaveUp)
		},
	})
	return m
}

// NewClient is the HTTP client every remote module of a process shares: it
// keeps connections to each module open, so a call costs one round trip.
//
// It is fasthttp's, not net/http's: a module call is the price of the split,
// paid on both sides of every hop on the same cores, and net/http's client
// hands each call to two goroutines of its own (one writes, one reads),
// fasthttp's makes it in the caller's. A gateway forwarding with it took
// about 30 % less CPU per request (docs/performance.md). What it lacks is
// cancellation: an attempt ends at its deadline, not when the caller gives
// up earlier.
func NewClient() *fasthttp.Client {
	return &fasthttp.Client{
		MaxConnsPerHost:     1024,
		MaxConnWaitTimeout:  5 * time.Second,  // more calls than connections wait, within their deadline
		MaxIdleConnDuration: 60 * time.Second, // below the servers' idle timeout (120s), so a pooled connection is rarely stale
		MaxResponseBodySize: MaxAnswerBytes,
		// A request found a closed connection: sent again at once if it
		// never went out, or if it may be replayed (retryStale); Send
		// retries the calls that are repeatable by design, after a pause.
		RetryIfErr:                retryStale,
		MaxIdemponentCallAttempts: staleAttempts,
		DialTimeout:               dialModule,
		NoDefaultUserAgentHeader:  true,
		DisablePathNormalizing:    true, // paths are built escaped by the clients, or forwarded as they came
	}
}

// staleAttempts bounds how many closed connections one call may find in
// the pool after its module restarted, before it gives up.
const staleAttempts = 16

// MaxAnswerBytes bounds an answer a module may send.
const MaxAnswerBytes = 16 << 20

// retryStale sends a request again at once on a new connection when the
// one it took turned out to be closed: always, if the request was never
// written (errClosedIdle); if it was, only when it may be replayed, as
// net/http's client does: a read, or a write with an Idempotency-Key.
func retryStale(req *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	if errors.Is(err, errClosedIdle) {
		return false, true // the next pooled connection, or a new one; at most staleAttempts
	}
	closed := errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed)
	replayable := req.Header.IsGet() || req.Header.IsHead() || len(req.Header.Peek("Idempotency-Key")) > 0
	return false, attempts == 1 && closed && replayable
}

// Name is the module's name.
func (m *Module) Name() string { return m.name }

// Watch checks the replicas' health every interval until ctx ends.
func (m *Module) Watch(ctx context.Context, interval time.Duration) {
	m.replicas.watch(ctx, m.http, interval)
}

// Replica is the state of one replica, for the topology view.
type Replica struct {
	URL     string `json:"url"`
	Healthy bool   `json:"healthy"`
}

// URLs lists the replicas' base URLs.
func (m *Module) URLs() []string {
	out := make([]string, len(m.replicas.list))
	for i, rep := range m.replicas.list {
		out[i] = rep.url
	}
	return out
}

// Replicas probes every replica now and reports what it found.
func (m *Module) Replicas(ctx context.Context) []Replica {
	out := make([]Replica, len(m.replicas.list))
	for i, rep := range m.replicas.list {
		out[i] = Replica{URL: rep.url, Healthy: probe(ctx, m.http, rep)}
	}
	return out
}

// Ready reports whether any replica passed its last health check.
func (m *Module) Ready() error {
	for _, rep := range m.replicas.list {
		if rep.healthy.Load() {
			return nil
		}
	}
	return fmt.Errorf("no replica of %s is ready", m.name)
}

// BreakerState is the state of the module's circuit breaker.
func (m *Module) BreakerState() string { return m.breaker.State().String() }

// Request is one HTTP call to a module.
type Request struct {
	Method string
	Path   string   // with the query, if any
	Header []Header // sent as they are, besides what Send stamps on every call
	Body   []byte
	// Repeatable calls may be retried after any failure: reads, and writes
	// that are idempotent by design (reserving under the same id). Others
	// are retried only when the request never left this process.
	Repeatable bool
	// Timeout, if set, is allowed for an attempt instead of the module's
	// Options.Timeout.
	Timeout time.Duration
	// AsService presents the service token. A forwarded public request
	// does not: it carries Caller instead.
	AsService bool
	// Caller, when set, is asserted to the module, signed anew for every
	// attempt (an assertion is good for one request).
	Caller *identity.Caller
	// moduleCall marks a call of the module's contract (Call, Do), which
	// faults apply to; a forwarded public request is not one.
	moduleCall bool
}

// Header is one request header.
type Header struct{ Name, Value string }

// ErrUnavailable is a module that could not be reached.
var ErrUnavailable = errs.ErrUnavailable

// Send makes the call, trying replicas and retrying with backoff as the
// request allows, and leaves the answer in resp (the caller's, from
// fasthttp.AcquireResponse). A module that cannot be reached is
// ErrUnavailable; a deadline that runs out is the context's error (a 504 at
// the edge).
func (m *Module) Send(ctx context.Context, r Request, resp *fasthttp.Response) error {
	resp.Header.SetNoDefaultContentType(true) // an answer without a type has none, not text/plain
	var lastErr error
	attempts := 1 + m.opts.Retries
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return err
			}
			if m.opts.Retried != nil {
				m.opts.Retried(m.name)
			}
		}
		for _, rep := range m.replicas.order() {
			err := m.try(ctx, rep, r, resp)
			if err == nil && retryable(resp.StatusCode()) && r.Repeatable && attempt < attempts-1 {
				// The module answered that it cannot serve right now;
				// a repeatable call tries again after a pause.
				lastErr = fmt.Errorf("answered %d", resp.StatusCode())
				break
			}
			if err == nil {
				rep.healthy.Store(true) // it answered: whatever the last check said, it is up
				return nil
			}
			lastErr = err
			var gaveUp *callerGaveUp
			if errors.As(err, &gaveUp) {
				return fmt.Errorf("%s: %w", m.name, gaveUp.err)
			}
			if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
				return fmt.Errorf("%s (circuit open): %w", m.name, ErrUnavailable)
			}
			if isDial(err) {
				rep.healthy.Store(false) // never reached it: take it out, try the next one
				continue
			}
			if !r.Repeatable {
				return fmt.Errorf("%s: %w: %w", m.name, ErrUnavailable, err)
			}
			break // a repeatable call waits, then tries again
		}
	}
	return fmt.Errorf("%s: %w: %w", m.name, ErrUnavailable, lastErr)
}

func retryable(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// try makes one attempt against one replica, through the breaker. Only a
// failure to get an answer counts against the breaker: a module that
// answers, even with an error, is up.
func (m *Module) try(ctx context.Context, rep *replica, r Request, resp *fasthttp.Response) error {
	_, err := m.breaker.Execute(func() (struct{}, error) {
		ctx, span := m.opts.Tracer.Start(ctx, m.name+" "+r.Method, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("bazaar.module", m.name), attribute.String("url.full", rep.url+r.Path)))
		defer span.End()
		if err := ctx.Err(); err != nil {
			return struct{}{}, &callerGaveUp{err}
		}
		// The attempt ends at its own timeout or the caller's deadline,
		// whichever comes first.
		timeout := m.opts.Timeout
		if r.Timeout > 0 {
			timeout = r.Timeout
		}
		deadline := time.Now().Add(timeout)
		callers := false
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline, callers = d, true
		}
		var plan faults.Plan
		if r.moduleCall {
			plan = m.opts.Faults.Plan(m.name)
			if err := m.before(ctx, plan, deadline, callers, resp); err != nil || plan.Kind == faults.KindError {
				return struct{}{}, err
			}
		}
		req := fasthttp.AcquireRequest()
		defer fasthttp.ReleaseRequest(req)
		req.SetRequestURI(rep.url + r.Path)
		req.Header.SetMethod(r.Method)
		for _, h := range r.Header {
			req.Header.Set(h.Name, h.Value)
		}
		if len(r.Body) > 0 {
			req.SetBodyRaw(r.Body)
		}
		m.stamp(ctx, &req.Header, deadline, r)
		err := m.http.DoDeadline(req, resp, deadline)
		if err == nil && plan.Kind == faults.KindTimeout {
			return struct{}{}, m.lose(ctx, deadline, callers, resp) // already said whose time ran out
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return struct{}{}, &callerGaveUp{ctx.Err()}
		case callers && isTimeout(err):
			// The caller's deadline, reached a hair before its context
			// noticed.
			return struct{}{}, &callerGaveUp{context.DeadlineExceeded}
		}
		return struct{}{}, err
	})
	return err
}

// before applies a fault's latency and, for an error or a reset, the fault
// itself, before the request would go out. An error is the module's
// answer, a 503 problem left in resp: the breaker counts it as the module
// up, as it would a real one.
func (m *Module) before(ctx context.Context, plan faults.Plan, deadline time.Time, callers bool, resp *fasthttp.Response) error {
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if err := plan.Wait(wctx); err != nil {
		return m.outOfTime(ctx, callers)
	}
	switch plan.Kind {
	case faults.KindReset:
		return &faults.Fault{Kind: faults.KindReset, Module: m.name, Err: faults.ErrReset}
	case faults.KindError:
		resp.Reset()
		resp.SetStatusCode(http.StatusServiceUnavailable)
		resp.Header.SetContentType("application/problem+json")
		resp.Header.Set(faultHeader, faults.KindError)
		resp.SetBodyString(`{"type":"about:blank","title":"Service Unavailable","status":503,"code":"` +
			errs.CodeUnavailable + `","detail":"` + m.name + ` answered 503 (an injected fault)"}`)
	}
	return nil
}

// lose throws away an answer that came, as a timeout fault does: the
// module did the work, the caller waits out the attempt and never learns.
func (m *Module) lose(ctx context.Context, deadline time.Time, callers bool, resp *fasthttp.Response) error {
	resp.Reset()
	faults.Hang(ctx, deadline)
	return m.outOfTime(ctx, callers)
}

// outOfTime is the error of an attempt that a fault made run out of time:
// the caller's, if its deadline came first (not the module's fault, so
// not the breaker's business), else the attempt's own, a failure.
func (m *Module) outOfTime(ctx context.Context, callers bool) error {
	if err := ctx.Err(); err != nil || callers {
		return &callerGaveUp{&faults.Fault{Kind: faults.KindTimeout, Module: m.name, Err: cmp.Or(ctx.Err(), context.DeadlineExceeded)}}
	}
	return &faults.Fault{Kind: faults.KindTimeout, Module: m.name, Err: fasthttp.ErrTimeout}
}

// faultHeader marks an answer an injected fault made up, so that the call
// reports it as injected; it never goes over the wire.
const faultHeader = "Bazaar-Injected-Fault"

// stamp adds what every call carries: who asks, on behalf of which request
// and trace, what its caller has seen of the catalogue, and how long the
// answer may take (this attempt's deadline).
func (m *Module) stamp(ctx context.Context, h *fasthttp.RequestHeader, deadline time.Time, r Request) {
	if r.AsService && m.opts.ServiceToken != "" {
		h.Set(ServiceTokenHeader, m.opts.ServiceToken)
	}
	if r.Caller != nil && m.opts.Signer != nil {
		h.Set(identity.Header, m.opts.Signer.Sign(r.Method, r.Path, r.Body, *r.Caller))
	}
	if id := web.RequestID(ctx); id != "" {
		h.Set(web.RequestIDHeader, id)
	}
	if n, ok := web.CatalogueSeen(ctx); ok {
		h.Set(web.CatalogueSeenHeader, strconv.FormatInt(n, 10))
	}
	tracing.Propagator.Inject(ctx, headerCarrier{h})
	ms := time.Until(deadline).Milliseconds()
	h.Set(web.TimeoutHeader, strconv.FormatInt(max(ms, 1), 10))
}

// headerCarrier lets the trace propagator write fasthttp's request headers.
type headerCarrier struct{ h *fasthttp.RequestHeader }

func (c headerCarrier) Get(key string) string { return string(c.h.Peek(key)) }
func (c headerCarrier) Set(key, value string) { c.h.Set(key, value) }
func (c headerCarrier) Keys() []string {
	var keys []string
	for k := range c.h.All() {
		keys = append(keys, string(k))
	}
	return keys
}

// callerGaveUp is a failed attempt whose caller's context had ended; err
// is the context's error.
type callerGaveUp struct{ err error }

func (e *callerGaveUp) Error() string { return e.err.Error() }
func (e *callerGaveUp) Unwrap() error { return e.err }

// isDial reports whether err is a failure to connect: the request never
// left this process.
func isDial(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" || errors.Is(err, fasthttp.ErrDialTimeout)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// backoff is exponential with full jitter: 50ms, 100ms, 200ms … at most 1s.
func backoff(attempt int) time.Duration {
	ceiling := min(50*time.Millisecond<<(attempt-1), time.Second)
	return time.Duration(rand.Int64N(int64(ceiling)) + 1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/tracing"
	"github.com/bazaar-shop/bazaar/internal/web"
)

// Options tune every call to a remote module.
type Options struct {
	Timeout         time.Duration // one attempt
	Retries         int           // extra attempts of a call that may be repeated
	BreakerFailures int           // consecutive failures that open the breaker
	BreakerCooldown time.Duration // how long an open breaker fails fast
	ServiceToken    string        // presented to the module's internal routes
	Tracer          trace.Tracer  // nil: no spans
}

// ServiceTokenHeader carries the service token; it matches auth's.
const ServiceTokenHeader = "X-Service-Token"

// Module is a module that runs in other processes, at one or more URLs.
type Module struct {
	name     string
	replicas *replicas
	http     *http.Client
	breaker  *gobreaker.CircuitBreaker[*http.Response]
	opts     Options
	// buffers copy forwarded answers: io.Copy would allocate 32 KiB for
	// each, most of the gateway's garbage.
	buffers sync.Pool
}

// New returns the remote module name at urls. client is shared by every
// module of a process, so connections are pooled and reused.
func New(name string, urls []string, client *http.Client, opts Options) *Module {
	if opts.Tracer == nil {
		opts.Tracer = tracing.Noop()
	}
	m := &Module{name: name, replicas: newReplicas(urls), http: client, opts: opts}
	m.buffers.New = func() any { return new([32 << 10]byte) }
	m.breaker = gobreaker.NewCircuitBreaker[*http.Response](gobreaker.Settings{
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

// NewHTTPClient is the client every remote module of a process shares: keep
// connections to each module open, so a call costs one round trip.
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 128
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t}
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
	Path   string // with the query, if any
	Header http.Header
	Body   []byte
	// Repeatable calls may be retried after any failure: reads, and writes
	// that are idempotent by design (reserving under the same id). Others
	// are retried only when the request never left this process.
	Repeatable bool
	// AsService presents the service token; a forwarded public request
	// does not, so the module checks the caller's own key again.
	AsService bool
}

// ErrUnavailable is a module that could not be reached.
var ErrUnavailable = errs.New(errs.CodeUnavailable, "a module this request needs is unavailable")

// Send makes the call, trying replicas and retrying with backoff as the
// request allows. The caller closes the response body. A module that cannot
// be reached is ErrUnavailable; a deadline that runs out is the context's
// error (a 504 at the edge).
func (m *Module) Send(ctx context.Context, r Request) (*http.Response, error) {
	var lastErr error
	attempts := 1 + m.opts.Retries
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return nil, err
			}
		}
		for _, rep := range m.replicas.order() {
			resp, err := m.try(ctx, rep, r)
			if err == nil && retryable(resp.StatusCode) && r.Repeatable && attempt < attempts-1 {
				// The module answered that it cannot serve right now;
				// a repeatable call tries again after a pause.
				lastErr = fmt.Errorf("answered %d", resp.StatusCode)
				resp.Body.Close()
				break
			}
			if err == nil {
				rep.healthy.Store(true) // it answered: whatever the last check said, it is up
				return resp, nil
			}
			lastErr = err
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: %w", m.name, ctx.Err())
			}
			if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
				return nil, fmt.Errorf("%s (circuit open): %w", m.name, ErrUnavailable)
			}
			if isDial(err) {
				rep.healthy.Store(false) // never reached it: take it out, try the next one
				continue
			}
			if !r.Repeatable {
				return nil, fmt.Errorf("%s: %w: %v", m.name, ErrUnavailable, err)
			}
			break // a repeatable call waits, then tries again
		}
	}
	return nil, fmt.Errorf("%s: %w: %v", m.name, ErrUnavailable, lastErr)
}

func retryable(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// try makes one attempt against one replica, through the breaker. Only a
// failure to get an answer counts against the breaker: a module that
// answers, even with an error, is up.
func (m *Module) try(ctx context.Context, rep *replica, r Request) (*http.Response, error) {
	return m.breaker.Execute(func() (*http.Response, error) {
		ctx, span := m.opts.Tracer.Start(ctx, m.name+" "+r.Method, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("bazaar.module", m.name), attribute.String("url.full", rep.url+r.Path)))
		defer span.End()
		actx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
		req, err := http.NewRequestWithContext(actx, r.Method, rep.url+r.Path, bytes.NewReader(r.Body))
		if err != nil {
			cancel()
			return nil, err
		}
		for k, v := range r.Header {
			req.Header[k] = v
		}
		m.stamp(actx, req, r.AsService)
		resp, err := m.http.Do(req)
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return nil, &callerGaveUp{err}
			}
			return nil, err
		}
		resp.Body = cancelOnClose{resp.Body, cancel}
		return resp, nil
	})
}

// stamp adds what every call carries: who asks, on behalf of which request
// and trace, and how long the answer may take (this attempt's deadline).
func (m *Module) stamp(ctx context.Context, req *http.Request, asService bool) {
	if asService && m.opts.ServiceToken != "" {
		req.Header.Set(ServiceTokenHeader, m.opts.ServiceToken)
	}
	if id := web.RequestID(ctx); id != "" {
		req.Header.Set(web.RequestIDHeader, id)
	}
	tracing.Inject(ctx, req.Header)
	if deadline, ok := ctx.Deadline(); ok {
		ms := time.Until(deadline).Milliseconds()
		req.Header.Set(web.TimeoutHeader, strconv.FormatInt(max(ms, 1), 10))
	}
}

// callerGaveUp is a failed attempt whose caller's context had ended.
type callerGaveUp struct{ err error }

func (e *callerGaveUp) Error() string { return e.err.Error() }
func (e *callerGaveUp) Unwrap() error { return e.err }

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func isDial(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
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

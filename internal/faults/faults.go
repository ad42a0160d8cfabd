// Package faults makes calls to a module misbehave on purpose, the way a
// network and a struggling module do: added latency with jitter, errors,
// timeouts and connection resets. A teacher turns them on to show what a
// slow or flaky dependency does to a checkout; tests turn them on to prove
// that breakers, retries and compensations do what they promise.
//
// Faults are set per callee module and applied by the caller's process, to
// every module call it makes to that module: in-process calls by the
// wiring, remote ones under the client's breaker and retries (so that
// each attempt may fail). The same faults are drawn for each call, or
// attempt, in every layout; what follows differs on purpose — over the
// wire a call may be retried and a breaker may open, in-process neither —
// and that difference is what they show. Forwarded public requests are not
// touched: a monolith forwards nothing.
package faults

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bazaar-shop/bazaar/internal/errs"
)

// Spec is the faults of calls to one module. The zero Spec is none.
type Spec struct {
	// Latency is added to every call, plus up to Jitter more, uniformly.
	Latency time.Duration
	Jitter  time.Duration
	// The shares of calls, each 0 to 1, that fail in each way. They are
	// drawn in this order from one number, so together they are at most 1.
	ErrorRate   float64 // answered 503: the module is up but cannot serve
	TimeoutRate float64 // the module does the work, the answer never comes: the attempt runs out
	ResetRate   float64 // the connection is reset before the request arrives
}

// wireSpec is a Spec in JSON: durations in milliseconds, which may have a
// fraction (0.25 is a quarter of a millisecond).
type wireSpec struct {
	LatencyMS   float64 `json:"latency_ms"`
	JitterMS    float64 `json:"jitter_ms"`
	ErrorRate   float64 `json:"error_rate"`
	TimeoutRate float64 `json:"timeout_rate"`
	ResetRate   float64 `json:"reset_rate"`
}

// MarshalJSON writes the durations in milliseconds.
func (s Spec) MarshalJSON() ([]byte, error) {
	return json.Marshal(wireSpec{LatencyMS: ms(s.Latency), JitterMS: ms(s.Jitter),
		ErrorRate: s.ErrorRate, TimeoutRate: s.TimeoutRate, ResetRate: s.ResetRate})
}

// UnmarshalJSON reads what MarshalJSON writes; a member left out is zero,
// one it does not know is an error.
func (s *Spec) UnmarshalJSON(b []byte) error {
	var w wireSpec
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	*s = Spec{Latency: fromMS(w.LatencyMS), Jitter: fromMS(w.JitterMS),
		ErrorRate: w.ErrorRate, TimeoutRate: w.TimeoutRate, ResetRate: w.ResetRate}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fromMS reads milliseconds. A value out of range becomes one just past
// it, which Validate refuses, rather than overflowing into a valid one.
func fromMS(v float64) time.Duration {
	limit := ms(MaxLatency)
	switch {
	case v > limit:
		return MaxLatency + time.Millisecond
	case v < -limit:
		return -time.Millisecond
	}
	return time.Duration(v * float64(time.Millisecond))
}

// Kinds of fault, as an injected error and the metrics name them.
const (
	KindError   = "error"
	KindTimeout = "timeout"
	KindReset   = "reset"
)

// Validate reports what is wrong with s, each field named as in JSON.
func (s Spec) Validate() error {
	var v errs.Validator
	limit := fmt.Sprintf("must be between 0 and %d", MaxLatency.Milliseconds())
	v.Check(s.Latency >= 0 && s.Latency <= MaxLatency, "latency_ms", limit)
	v.Check(s.Jitter >= 0 && s.Jitter <= MaxLatency, "jitter_ms", limit)
	for _, r := range []struct {
		field string
		rate  float64
	}{{"error_rate", s.ErrorRate}, {"timeout_rate", s.TimeoutRate}, {"reset_rate", s.ResetRate}} {
		v.Check(r.rate >= 0 && r.rate <= 1, r.field, "must be between 0 and 1")
	}
	v.Check(s.ErrorRate+s.TimeoutRate+s.ResetRate <= 1+1e-9, "reset_rate",
		"error_rate, timeout_rate and reset_rate must add up to at most 1")
	return v.Err()
}

// MaxLatency bounds the latency and jitter one may add: beyond it a call
// would outlive any request's deadline anyway.
const MaxLatency = time.Minute

// Zero reports whether s injects nothing.
func (s Spec) Zero() bool { return s == Spec{} }

// draw picks what happens to one call: a fault kind, or "" for none.
func (s Spec) draw(r float64) string {
	switch {
	case r < s.ErrorRate:
		return KindError
	case r < s.ErrorRate+s.TimeoutRate:
		return KindTimeout
	case r < s.ErrorRate+s.TimeoutRate+s.ResetRate:
		return KindReset
	}
	return ""
}

// delay is the latency of one call.
func (s Spec) delay() time.Duration {
	d := s.Latency
	if s.Jitter > 0 {
		d += rand.N(s.Jitter + 1)
	}
	return d
}

// ErrInjected matches every error a fault made.
var ErrInjected = errors.New("injected fault")

// Fault is the error of one injected fault. It matches ErrInjected, and
// wraps what the caller would have seen from a real one (the contract's
// "unavailable", or the context's deadline).
type Fault struct {
	Kind   string
	Module string
	Err    error
}

func (f *Fault) Error() string {
	return fmt.Sprintf("%s: injected %s: %v", f.Module, f.Kind, f.Err)
}

// Unwrap gives ErrInjected and the error a real fault would be.
func (f *Fault) Unwrap() []error { return []error{ErrInjected, f.Err} }

// ErrReset is what an injected reset looks like below the contract: a
// connection reset by the peer.
var ErrReset = syscall.ECONNRESET

// Injector holds the faults of every callee for one process; it is safe
// for concurrent use, and changed at run time by the admin route. Every
// module call reads it and almost none changes it, so a change writes a
// new map and a read takes no lock.
type Injector struct {
	mu    sync.Mutex // serialises changes
	specs atomic.Pointer[map[string]Spec]
}

// New returns an injector with the faults of the configuration.
func New(initial map[string]Spec) *Injector {
	specs := map[string]Spec{}
	for m, s := range initial {
		if !s.Zero() {
			specs[m] = s
		}
	}
	in := &Injector{}
	in.specs.Store(&specs)
	return in
}

// Set replaces the faults of calls to module; the zero Spec clears them.
func (in *Injector) Set(module string, s Spec) error {
	if err := s.Validate(); err != nil {
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	specs := maps.Clone(*in.specs.Load())
	if s.Zero() {
		delete(specs, module)
	} else {
		specs[module] = s
	}
	in.specs.Store(&specs)
	return nil
}

// Get returns the faults of calls to module.
func (in *Injector) Get(module string) Spec {
	if in == nil {
		return Spec{}
	}
	return (*in.specs.Load())[module]
}

// Plan is what happens to one call: how long it is held, and which fault
// it meets, if any.
type Plan struct {
	Module string
	Delay  time.Duration
	Kind   string // "", KindError, KindTimeout or KindReset
}

// Plan decides the fate of one call to module.
func (in *Injector) Plan(module string) Plan {
	s := in.Get(module)
	if s.Zero() {
		return Plan{}
	}
	return Plan{Module: module, Delay: s.delay(), Kind: s.draw(rand.Float64())}
}

// Wait holds the call for its latency. It fails, as a fault, if ctx ends
// first.
func (p Plan) Wait(ctx context.Context) error {
	if p.Delay <= 0 {
		return nil
	}
	t := time.NewTimer(p.Delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return &Fault{Kind: "latency", Module: p.Module, Err: ctx.Err()}
	case <-t.C:
		return nil
	}
}

// Hang waits, as a call whose answer never comes does, until the attempt's
// deadline or ctx's end, whichever is first.
func Hang(ctx context.Context, deadline time.Time) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// InProcess applies the plan to a call made in-process, as the HTTP client
// applies it to one attempt: the latency first, then an error or a reset
// instead of the call, or the call made and its answer lost. An attempt
// is allowed attempt, or what is left of ctx if less. unavailable is the
// contract's error for a module that cannot serve.
func (p Plan) InProcess(ctx context.Context, attempt time.Duration, unavailable error, call func(context.Context) error) error {
	if p == (Plan{}) {
		return call(ctx)
	}
	deadline, callers := time.Now().Add(attempt), false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, callers = d, true
	}
	outOfTime := func() error {
		if err := ctx.Err(); err != nil || callers {
			return &Fault{Kind: KindTimeout, Module: p.Module, Err: cmp.Or(err, context.DeadlineExceeded)}
		}
		return &Fault{Kind: KindTimeout, Module: p.Module, Err: unavailable}
	}
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if err := p.Wait(wctx); err != nil {
		return outOfTime()
	}
	switch p.Kind {
	case KindError, KindReset:
		return &Fault{Kind: p.Kind, Module: p.Module, Err: unavailable}
	case KindTimeout:
		_ = call(ctx) // done, but the caller never learns how it went
		Hang(ctx, deadline)
		return outOfTime()
	}
	return call(ctx)
}

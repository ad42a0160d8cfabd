package tracing

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"
)

// Span is one timed step of a trace as a process recorded it: what the
// console draws the recent checkouts from.
type Span struct {
	TraceID  string    `json:"trace_id"`
	SpanID   string    `json:"span_id"`
	ParentID string    `json:"parent_id,omitempty"`
	Name     string    `json:"name"`
	Process  string    `json:"process"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// Mode is local or remote for a call from one module to another.
	Mode string `json:"mode,omitempty"`
	// Failed says the step ended in an error.
	Failed bool `json:"failed,omitempty"`
}

// Checkouts are the requests whose traces the console shows: the API's
// checkout and the storefront's.
var checkouts = []string{"POST /v1/payments", "POST /checkout"}

// isCheckout reports whether a server span's name is a checkout's.
func isCheckout(name string) bool { return slices.Contains(checkouts, name) }

// recentSpans is how many spans a process keeps: a few dozen checkouts'.
const recentSpans = 2000

// Recent keeps the latest spans a process recorded, in memory: an
// sdktrace.SpanProcessor.
type Recent struct {
	mu    sync.Mutex
	spans []Span // a ring of recentSpans
	next  int
}

// NewRecent returns an empty memory of spans.
func NewRecent() *Recent { return &Recent{} }

// Spans returns what is kept, oldest first.
func (r *Recent) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.spans) < recentSpans {
		return slices.Clone(r.spans)
	}
	return append(slices.Clone(r.spans[r.next:]), r.spans[:r.next]...)
}

// OnEnd keeps a span that ended.
func (r *Recent) OnEnd(s sdktrace.ReadOnlySpan) {
	span := Span{TraceID: s.SpanContext().TraceID().String(), SpanID: s.SpanContext().SpanID().String(),
		Name: s.Name(), Start: s.StartTime(), End: s.EndTime(), Failed: s.Status().Code == codes.Error}
	if p := s.Parent(); p.IsValid() {
		span.ParentID = p.SpanID().String()
	}
	if v, ok := s.Resource().Set().Value(semconv.ServiceNameKey); ok {
		span.Process = v.AsString()
	}
	for _, kv := range s.Attributes() {
		if kv.Key == ModeKey {
			span.Mode = kv.Value.AsString()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.spans) < recentSpans {
		r.spans = append(r.spans, span)
		return
	}
	r.spans[r.next] = span
	r.next = (r.next + 1) % recentSpans
}

// ModeKey is the attribute of a module call's span that says where the
// callee runs: local or remote.
const ModeKey = attribute.Key("bazaar.mode")

// OnStart, Shutdown and ForceFlush: nothing to do.
func (r *Recent) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (r *Recent) Shutdown(context.Context) error                  { return nil }
func (r *Recent) ForceFlush(context.Context) error                { return nil }

// checkoutSampler records a trace that begins with a checkout, at most a
// few a second: enough for the console to show recent ones at a cost the
// busiest shop does not notice; everything else goes unrecorded (its ids
// still cross the wire and reach the logs).
type checkoutSampler struct{ limit *rate.Limiter }

func (s checkoutSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	decision := sdktrace.Drop
	if isCheckout(p.Name) && s.limit.Allow() {
		decision = sdktrace.RecordAndSample
	}
	return sdktrace.SamplingResult{Decision: decision, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
}

func (s checkoutSampler) Description() string { return "checkouts, at most 5 a second" }

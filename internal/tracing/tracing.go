// Package tracing sets up OpenTelemetry for a Bazaar process: a span per
// HTTP request, per remote call and per module call, with the W3C trace
// context carried over the wire, so one checkout is one trace across every
// process of a layout.
package tracing

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace/noop"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"
)

// Propagator reads and writes the W3C traceparent header.
var Propagator = propagation.TraceContext{}

// traceparent is the header a caller's trace comes in, as net/http keys it.
const traceparent = "Traceparent"

// Exporters Bazaar can send spans to.
const (
	None   = "none"   // spans get ids and cross the wire, and are dropped
	Stdout = "stdout" // one JSON document per span, for development and tests
	OTLP   = "otlp"   // OTLP over HTTP to a collector
)

// New returns the tracer provider of a process. Every span it records is
// kept in recent too, for the console. With exporter none, only the traces
// of some checkouts are recorded; the others' spans still carry trace ids
// from process to process (logs show them), and nothing is exported. Shut
// the provider down to flush what is buffered.
func New(ctx context.Context, exporter, endpoint, service string, stdout io.Writer, recent *Recent) (*sdktrace.TracerProvider, error) {
	res := resource.NewSchemaless(semconv.ServiceName(service))
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSpanProcessor(recent)}
	switch exporter {
	case None, "":
		// A trace begun elsewhere is recorded here if it was there.
		opts = append(opts, sdktrace.WithSampler(sdktrace.ParentBased(checkoutSampler{rate.NewLimiter(5, 5)})))
	case Stdout:
		exp, err := stdouttrace.New(stdouttrace.WithWriter(stdout))
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdktrace.WithSyncer(exp))
	case OTLP:
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
		if err != nil {
			return nil, fmt.Errorf("otlp exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	default:
		return nil, fmt.Errorf("unknown trace exporter %q", exporter)
	}
	return sdktrace.NewTracerProvider(opts...), nil
}

// Tracer is what the rest of Bazaar starts spans with.
type Tracer = trace.Tracer

// Middleware starts the server span of each HTTP request, as a child of the
// caller's span when the request carries a traceparent.
func Middleware(tracer trace.Tracer) gin.HandlerFunc {
	server := trace.WithSpanKind(trace.SpanKindServer) // made once: an option is an allocation
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		// Most requests come from outside, with no trace to join; looking
		// for one by its lower-case name would cost every request a copy.
		if _, ok := c.Request.Header[traceparent]; ok {
			ctx = Propagator.Extract(ctx, propagation.HeaderCarrier(c.Request.Header))
		}
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		ctx, span := tracer.Start(ctx, c.Request.Method+" "+route, server)
		defer span.End()
		c.Request = c.Request.WithContext(ctx)
		// Most requests are not sampled (by default only checkouts are):
		// their attributes would be made for nothing, on every request.
		if !span.IsRecording() {
			c.Next()
			return
		}
		span.SetAttributes(semconv.HTTPRequestMethodKey.String(c.Request.Method), semconv.HTTPRoute(route))
		c.Next()
		status := c.Writer.Status()
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
}

// Noop is a tracer that records nothing, for code built without one.
func Noop() trace.Tracer { return noop.NewTracerProvider().Tracer("") }

package tracing

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// With no exporter, a process records the traces that begin with a
// checkout, at most five at once, and keeps their spans for the console;
// every other request goes unrecorded.
func TestRecentCheckouts(t *testing.T) {
	recent := NewRecent()
	tp, err := New(context.Background(), None, "", "bazaar test", io.Discard, recent)
	require.NoError(t, err)
	tracer := tp.Tracer("test")

	_, span := tracer.Start(context.Background(), "GET /v1/products")
	span.End()
	require.Empty(t, recent.Spans(), "a read is not recorded")

	for range 8 {
		ctx, root := tracer.Start(context.Background(), "POST /v1/payments")
		_, child := tracer.Start(ctx, "payment → inventory.Reserve")
		child.End()
		root.End()
	}
	spans := recent.Spans()
	require.Len(t, spans, 10, "five checkouts at once, each with its child")
	require.Equal(t, "payment → inventory.Reserve", spans[0].Name)
	require.Equal(t, spans[1].SpanID, spans[0].ParentID)
	require.Equal(t, "bazaar test", spans[1].Process)
}

// The memory keeps the latest spans, oldest first.
func TestRecentIsBounded(t *testing.T) {
	recent := NewRecent()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recent))
	tracer := tp.Tracer("test")
	for range recentSpans + 3 {
		_, s := tracer.Start(context.Background(), "step")
		s.End()
	}
	spans := recent.Spans()
	require.Len(t, spans, recentSpans)
	for i := 1; i < len(spans); i++ {
		require.False(t, spans[i].End.Before(spans[i-1].End), "oldest first")
	}
}

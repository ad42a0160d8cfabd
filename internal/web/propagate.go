package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"
)

// Headers that carry a request's identity and deadline from one process to
// the next.
const (
	// TraceParentHeader is the W3C Trace Context header.
	TraceParentHeader = "traceparent"
	// TimeoutHeader is the caller's remaining time in milliseconds.
	TimeoutHeader = "X-Request-Timeout"
)

type requestIDCtxKey struct{}
type traceCtxKey struct{}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDCtxKey{}).(string)
	return id
}

// WithRequestID returns ctx carrying a request id, for work that starts
// outside an HTTP request.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDCtxKey{}, id)
}

var traceParent = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$`)

// traceOf keeps the trace id of an incoming traceparent, or starts a trace.
func traceOf(header string) string {
	if m := traceParent.FindStringSubmatch(header); m != nil && m[1] != "00000000000000000000000000000000" {
		return m[1]
	}
	return randomHex(16)
}

// TraceParent returns the traceparent header for a call made on behalf of
// ctx: the same trace id, a new span id.
func TraceParent(ctx context.Context) string {
	trace, _ := ctx.Value(traceCtxKey{}).(string)
	if trace == "" {
		trace = randomHex(16)
	}
	return "00-" + trace + "-" + randomHex(8) + "-01"
}

// TraceID returns the trace id of the request ctx belongs to, or "".
func TraceID(ctx context.Context) string {
	trace, _ := ctx.Value(traceCtxKey{}).(string)
	return trace
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

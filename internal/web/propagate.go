package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// Headers that carry a request's identity and deadline from one process to
// the next.
const (
	// TraceParentHeader is the W3C Trace Context header (see internal/tracing).
	TraceParentHeader = "traceparent"
	// TimeoutHeader is the caller's remaining time in milliseconds.
	TimeoutHeader = "X-Request-Timeout"
)

type requestIDCtxKey struct{}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDCtxKey{}).(string)
	return id
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

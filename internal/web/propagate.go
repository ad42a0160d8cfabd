package web

import (
	"context"
	"log/slog"
)

// Headers that carry a request's identity and deadline from one process to
// the next.
const (
	// TraceParentHeader is the W3C Trace Context header (see internal/tracing).
	TraceParentHeader = "traceparent"
	// TimeoutHeader is the caller's remaining time in milliseconds.
	TimeoutHeader = "X-Request-Timeout"
)

// requestInfo is what RequestLog keeps of a request for the code that
// serves it: its id and the logger.
type requestInfo struct {
	id  string
	log *slog.Logger
}

type requestInfoKey struct{}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// Package web is the HTTP plumbing every module shares: RFC 9457 problem
// documents, strict JSON decoding, request ids and access logs.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"

	"github.com/bazaar-shop/bazaar/internal/errs"
)

// statusByKind is the one place where contract errors meet HTTP: each
// module says what kind each of its errors is, and this table nothing else.
var statusByKind = [...]int{
	errs.Internal:     http.StatusInternalServerError,
	errs.Invalid:      http.StatusUnprocessableEntity,
	errs.Malformed:    http.StatusBadRequest,
	errs.TooLarge:     http.StatusRequestEntityTooLarge,
	errs.NotFound:     http.StatusNotFound,
	errs.NotAllowed:   http.StatusMethodNotAllowed,
	errs.Conflict:     http.StatusConflict,
	errs.Unauthorized: http.StatusUnauthorized,
	errs.Forbidden:    http.StatusForbidden,
	errs.Declined:     http.StatusPaymentRequired,
	errs.RateLimited:  http.StatusTooManyRequests,
	errs.Unavailable:  http.StatusServiceUnavailable,
	errs.Timeout:      http.StatusGatewayTimeout,
}

// StatusOf returns the HTTP status of a kind of error.
func StatusOf(kind errs.Kind) int {
	if int(kind) < len(statusByKind) {
		return statusByKind[kind]
	}
	return http.StatusInternalServerError
}

// KindOfStatus is the kind of error an HTTP status stands for, for a
// problem whose code a client does not know: passed on, it keeps its status.
func KindOfStatus(status int) errs.Kind {
	for kind, s := range statusByKind {
		if s == status {
			return errs.Kind(kind)
		}
	}
	return errs.Internal
}

// ProblemType is the RFC 9457 type URI of a code; docs/errors.md explains each.
func ProblemType(code string) string { return "urn:bazaar:problem:" + code }

// Problem is an RFC 9457 problem document with Bazaar's machine-readable code.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
	// Extensions carries error-specific members, such as the bad fields of a
	// validation error or the payment_id of a declined card.
	Extensions map[string]any `json:"-"`
}

// MarshalJSON flattens Extensions into the top-level object, as RFC 9457 asks.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	base, err := json.Marshal(plain(p))
	if err != nil || len(p.Extensions) == 0 {
		return base, err
	}
	merged := map[string]any{}
	for k, v := range p.Extensions {
		merged[k] = v
	}
	if err := json.Unmarshal(base, &merged); err != nil {
		return nil, err
	}
	return json.Marshal(merged)
}

// extender is implemented by errors that add members to their problem document.
type extender interface{ Extensions() map[string]any }

// ProblemOf turns any error into the problem document a client sees.
// Errors without a contract code become a 500 that reveals nothing inside.
func ProblemOf(err error) Problem {
	kind, code, detail := errs.KindOf(err), errs.Code(err), err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		kind, code, detail = errs.Timeout, errs.CodeTimeout, "the request took too long"
	case kind == errs.Internal:
		code, detail = errs.CodeInternal, "an unexpected error occurred; the request id identifies it in the logs"
	}
	status := StatusOf(kind)
	p := Problem{Type: ProblemType(code), Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
	var ext extender
	if errors.As(err, &ext) {
		p.Extensions = ext.Extensions()
	}
	return p
}

// Error writes err as a problem document and stops the handler chain.
// Server-side failures are logged with the request id so they can be found.
func Error(c *gin.Context, err error) {
	p := ProblemOf(err)
	p.RequestID = RequestIDOf(c)
	if p.Status >= 500 {
		Logger(c).Error("request failed", "status", p.Status, "code", p.Code, "err", err)
	}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}

// Logger returns the logger of a request: the one RequestLog was given,
// with the request id and trace id on every line. It is built when asked
// for, so requests that log nothing pay nothing for it.
func Logger(c *gin.Context) *slog.Logger {
	info, ok := c.Request.Context().Value(requestInfoKey{}).(*requestInfo)
	if !ok {
		return slog.Default()
	}
	attrs := []any{"request_id", info.id}
	if sc := trace.SpanContextFromContext(c.Request.Context()); sc.HasTraceID() {
		attrs = append(attrs, "trace_id", sc.TraceID().String())
	}
	return info.log.With(attrs...)
}

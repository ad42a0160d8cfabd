package web

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/identity"
)

// Headers that carry a request's identity, deadline and what its caller
// has seen from one process to the next.
const (
	// TraceParentHeader is the W3C Trace Context header (see internal/tracing).
	TraceParentHeader = "traceparent"
	// TimeoutHeader is the caller's remaining time in milliseconds.
	TimeoutHeader = "X-Request-Timeout"
	// CatalogueSeenHeader is the catalogue's count of changes that the
	// request's caller may have seen (see CatalogueSeen).
	CatalogueSeenHeader = "Bazaar-Catalogue-Seen"
)

// requestInfo is what RequestLog keeps of a request for the code that
// serves it: its id, the logger, the catalogue changes its caller has
// seen, and the caller once the guard knows it.
type requestInfo struct {
	id  string
	log *slog.Logger

	catalogueSeen   int64
	catalogueSeenOK bool

	caller    identity.Caller
	callerSet bool
}

type requestInfoKey struct{}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// CatalogueSeen is how many changes of the catalogue the caller of the
// request ctx belongs to may have seen, if it says: every change its
// earlier requests made through the gateway has a number no higher (the
// catalogue counts its changes in its database). A process that
// reads the catalogue through a cache answers such a caller from memory
// only once the cache holds every change up to that number, so a product
// deleted through the gateway is gone from the caller's next request,
// whichever process serves it. A caller that says nothing is answered by
// the catalogue itself.
func CatalogueSeen(ctx context.Context) (int64, bool) {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info.catalogueSeen, info.catalogueSeenOK
	}
	return 0, false
}

// SetCatalogueSeen replaces what the request's caller says it has seen of
// the catalogue, before the handlers run: a gateway speaks for its callers,
// which never send the header themselves.
func SetCatalogueSeen(c *gin.Context, n int64, ok bool) {
	if info, found := c.Request.Context().Value(requestInfoKey{}).(*requestInfo); found {
		info.catalogueSeen, info.catalogueSeenOK = n, ok
	}
}

// WithCatalogueSeen is ctx for a caller that has seen n changes of the
// catalogue: for code that calls modules on someone's behalf outside a
// request RequestLog began.
func WithCatalogueSeen(ctx context.Context, n int64) context.Context {
	info := &requestInfo{}
	if old, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		copied := *old
		info = &copied
	}
	info.catalogueSeen, info.catalogueSeenOK = n, true
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// parseCatalogueSeen reads CatalogueSeenHeader; a value that is no count
// is as if none was sent.
func parseCatalogueSeen(header string) (int64, bool) {
	if header == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(header, 10, 64)
	return n, err == nil && n >= 0
}

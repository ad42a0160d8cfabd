package web

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/bazaar-shop/bazaar/internal/errs"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// RequestIDOf returns the id of the request being served.
func RequestIDOf(c *gin.Context) string { return RequestID(c.Request.Context()) }

// LogPolicy says which requests get an access-log line. The zero policy
// logs every one.
type LogPolicy struct {
	// PerSecond, when positive, bounds the lines of requests answered
	// below 500 and faster than Slow — successes, and refusals such as a
	// declined card or a rate limit, which a client can make as fast as it
	// likes — to about this many a second; the next line written says how
	// many were left out. Server errors and slow requests are always
	// written.
	PerSecond float64
	// Slow is the time from which a request is always written; 0: none is.
	Slow time.Duration
	// Quiet routes are written only when they fail or are slow: health
	// probes, which peers and orchestrators send every few seconds.
	Quiet []string
}

// timeoutMillis reads a TimeoutHeader: the caller's deadline in
// milliseconds, 0 when there is none or it is not a number.
func timeoutMillis(h string) int {
	if h == "" {
		return 0 // most requests: Atoi's error would cost each an allocation
	}
	ms, err := strconv.Atoi(h)
	if err != nil {
		return 0
	}
	return ms
}

// RequestLog gives every request an id (kept from X-Request-Id when the
// caller sent a sane one), a logger that carries it, what its caller has
// seen of the catalogue (CatalogueSeen), and an access-log line as policy
// says.
func RequestLog(log *slog.Logger, policy LogPolicy) gin.HandlerFunc {
	var lines *rate.Limiter
	if policy.PerSecond > 0 {
		lines = rate.NewLimiter(rate.Limit(policy.PerSecond), max(1, int(policy.PerSecond)))
	}
	var skipped atomic.Int64
	return func(c *gin.Context) {
		id := c.GetHeader(RequestIDHeader)
		if !saneRequestID(id) {
			id = newRequestID()
		}
		c.Header(RequestIDHeader, id)
		// One value in the context, not two in the gin context: this runs
		// for every request, and each of those costs a map and a lock.
		// Logger adds the request's ids when a line is written.
		info := &requestInfo{id: id, log: log}
		info.catalogueSeen, info.catalogueSeenOK = parseCatalogueSeen(c.GetHeader(CatalogueSeenHeader))
		ctx := context.WithValue(c.Request.Context(), requestInfoKey{}, info)
		if ms := timeoutMillis(c.GetHeader(TimeoutHeader)); ms > 0 {
			// The caller's deadline, carried over the wire: work it can no
			// longer use is not started.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
			defer cancel()
		}
		c.Request = c.Request.WithContext(ctx)

		start := time.Now()
		c.Next()
		if !log.Enabled(ctx, slog.LevelInfo) {
			return
		}
		took, status := time.Since(start), c.Writer.Status()
		switch {
		case status >= 500, policy.Slow > 0 && took >= policy.Slow:
		case slices.Contains(policy.Quiet, c.FullPath()):
			return
		case lines == nil, log.Enabled(ctx, slog.LevelDebug):
		case !lines.Allow():
			skipped.Add(1)
			return
		}
		// Built only for a line that is written: most are not.
		attrs := []any{"method", c.Request.Method, "route", c.FullPath(), "path", c.Request.URL.Path,
			"status", status, "duration_ms", float64(took.Microseconds()) / 1000}
		if n := skipped.Swap(0); n > 0 {
			attrs = append(attrs, "not_logged_since", n) // requests left out since the last line
		}
		Logger(c).Info("http request", attrs...)
	}
}

// saneRequestID accepts ids a caller may propagate: short and printable, so a
// header can never be used to inject log lines.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

// newRequestID makes an id unique enough to find a request by; it need not
// be secret, so the runtime's fast random source serves.
func newRequestID() string {
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(b[8:], rand.Uint32())
	return "req_" + hex.EncodeToString(b[:])
}

// Recover turns a panic into a logged 500 problem instead of a dropped connection.
func Recover() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				Error(c, fmt.Errorf("panic: %v", r))
			}
		}()
		c.Next()
	}
}

// NoRoute and NoMethod answer unknown paths and methods with problem documents.
func NoRoute(c *gin.Context) {
	Error(c, errs.New(errs.NotFound, errs.CodeRouteNotFound, "no such route: "+c.Request.Method+" "+c.Request.URL.Path))
}

// NoMethod answers a known path called with the wrong method.
func NoMethod(c *gin.Context) {
	Error(c, errs.Of(errs.NotAllowed, "method "+c.Request.Method+" is not allowed here"))
}

// isTooLarge reports whether err came from http.MaxBytesReader.
func isTooLarge(err error) bool {
	var tooLarge *http.MaxBytesError
	return errors.As(err, &tooLarge)
}

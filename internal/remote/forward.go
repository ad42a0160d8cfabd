package remote

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/valyala/fasthttp"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/web"
)

// forwardedHeaders are the request headers a module needs from the caller.
// Request id, trace and deadline are stamped by Send from the context. The
// caller's API key is not among them: the module gets who the caller is,
// asserted (Request.Caller), never the secret.
var forwardedHeaders = []string{"Content-Type", "Accept", "Idempotency-Key", "Cache-Control"}

// answerHeaders are the response headers passed back to the caller.
var answerHeaders = []string{"Content-Type", "Location", "Retry-After", "WWW-Authenticate", "Idempotent-Replayed"}

// pageHeaders are what a page adds to each way: the browser's cookies and
// the scheme it came over (for Secure cookies) in; the cookies set and the
// headers that keep a page safe and out of caches back.
var (
	pageRequestHeaders = []string{"Cookie", "X-Forwarded-Proto"}
	pageAnswerHeaders  = []string{"Cache-Control", "Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"}
)

// Forward serves a public route of this module by passing the request to a
// replica and its answer back. Reads may be retried on another replica; a
// write is sent again only if it never reached one.
func (m *Module) Forward(c *gin.Context) { m.forward(c, false, nil) }

// ForwardPage forwards a page (web.Route.Page) as Forward does an API
// route, with its cookies both ways.
func (m *Module) ForwardPage(c *gin.Context) { m.forward(c, true, nil) }

// ForwardWrite forwards as Forward does, and calls answered once the
// module has answered, or the request could not be passed on, before the
// caller is answered: a process that keeps a cache of the module's answers
// clears there what the write changed, so that the caller's next read,
// however soon, never finds it.
func (m *Module) ForwardWrite(answered func(*gin.Context)) gin.HandlerFunc {
	return func(c *gin.Context) { m.forward(c, false, answered) }
}

func (m *Module) forward(c *gin.Context, page bool, answered func(*gin.Context)) {
	var body []byte
	var err error
	if c.Request.Body != http.NoBody {
		body, err = io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, web.MaxBodyBytes))
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		web.Error(c, errs.Of(errs.TooLarge, "the request body is too large"))
		return
	case err != nil:
		web.Error(c, errs.Of(errs.Malformed, "the request body could not be read"))
		return
	}
	r := Request{
		Method:     c.Request.Method,
		Path:       c.Request.URL.RequestURI(),
		Body:       body,
		Repeatable: c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead,
	}
	if !r.Repeatable {
		// A write is sent once, and the module may call others, with
		// retries, to serve it (a checkout): it is given longer than one
		// attempt, and told the deadline. A read keeps the attempt's
		// timeout, so that a hung replica is left for another soon.
		r.Timeout = m.opts.ForwardTimeout
	}
	caller := web.CallerOf(c)
	r.Caller = &caller
	in, out := forwardedHeaders, answerHeaders
	if page {
		in, out = append(slices.Clip(in), pageRequestHeaders...), append(slices.Clip(out), pageAnswerHeaders...)
		if c.Request.TLS != nil && c.GetHeader("X-Forwarded-Proto") == "" {
			r.Header = append(r.Header, Header{"X-Forwarded-Proto", "https"})
		}
	}
	for _, h := range in {
		if v := c.GetHeader(h); v != "" {
			r.Header = append(r.Header, Header{h, v})
		}
	}
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	err = m.Send(c.Request.Context(), r, resp)
	if answered != nil {
		answered(c)
	}
	if err != nil {
		web.Error(c, err)
		return
	}
	for _, h := range out {
		if v := resp.Header.Peek(h); len(v) > 0 {
			c.Header(h, string(v))
		}
	}
	if page {
		for _, header := range resp.Header.Cookies() { // the name, then the whole header
			c.Writer.Header().Add("Set-Cookie", string(header))
		}
	}
	// The whole answer is in hand: its length spares both sides chunked
	// encoding. (An empty answer goes without: a 204 must not have one.)
	answer := resp.Body()
	if len(answer) > 0 {
		c.Header("Content-Length", strconv.Itoa(len(answer)))
	}
	c.Status(resp.StatusCode())
	if _, err := c.Writer.Write(answer); err != nil {
		web.Logger(c).Warn("forward: write the answer", "module", m.name, "err", err)
	}
}

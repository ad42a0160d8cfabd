package remote

import (
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/web"
)

// forwardedHeaders are the request headers a module needs from the caller.
// Request id, trace and deadline are stamped by Send from the context.
var forwardedHeaders = []string{"Authorization", "Content-Type", "Accept", "Idempotency-Key"}

// answerHeaders are the response headers passed back to the caller.
var answerHeaders = []string{"Content-Type", "Location", "Retry-After", "WWW-Authenticate", "Idempotent-Replayed"}

// Forward serves a public route of this module by passing the request to a
// replica and its answer back. Reads may be retried on another replica; a
// write is sent again only if it never reached one.
func (m *Module) Forward(c *gin.Context) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, web.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		web.Error(c, errs.New(web.CodeTooLarge, "the request body is too large"))
		return
	case err != nil:
		web.Error(c, errs.New(errs.CodeMalformed, "the request body could not be read"))
		return
	}
	r := Request{
		Method:     c.Request.Method,
		Path:       c.Request.URL.RequestURI(),
		Header:     http.Header{},
		Body:       body,
		Repeatable: c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead,
	}
	for _, h := range forwardedHeaders {
		if v := c.GetHeader(h); v != "" {
			r.Header.Set(h, v)
		}
	}
	resp, err := m.Send(c.Request.Context(), r)
	if err != nil {
		web.Error(c, err)
		return
	}
	defer resp.Body.Close()
	for _, h := range answerHeaders {
		if v := resp.Header.Get(h); v != "" {
			c.Header(h, v)
		}
	}
	c.Status(resp.StatusCode)
	buf := m.buffers.Get().(*[32 << 10]byte)
	defer m.buffers.Put(buf)
	if _, err := io.CopyBuffer(c.Writer, resp.Body, buf[:]); err != nil && !errors.Is(err, io.EOF) {
		web.Logger(c).Warn("forward: copy the answer", "module", m.name, "err", err)
	}
}

package web_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/identity"
	"github.com/bazaar-shop/bazaar/internal/web"
)

// TestRequestLogPolicy: requests answered below 500 are logged up to the
// rate, and the next line says how many were left out; server errors and
// slow requests are always logged; at debug level, every request but the
// health probes that answered.
func TestRequestLogPolicy(t *testing.T) {
	serve := func(level slog.Level) (*bytes.Buffer, func(path string) int) {
		var out bytes.Buffer
		log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: level}))
		r := gin.New()
		r.Use(web.RequestLog(log, web.LogPolicy{PerSecond: 0.01, Slow: 50 * time.Millisecond, Quiet: []string{"/readyz"}}))
		r.GET("/ok", func(c *gin.Context) { c.Status(http.StatusOK) })
		r.GET("/readyz", func(c *gin.Context) { c.Status(http.StatusOK) })
		r.GET("/slow", func(c *gin.Context) { time.Sleep(60 * time.Millisecond); c.Status(http.StatusOK) })
		r.GET("/missing", func(c *gin.Context) { c.Status(http.StatusNotFound) })
		r.GET("/broken", func(c *gin.Context) { c.Status(http.StatusInternalServerError) })
		return &out, func(path string) int {
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
			return strings.Count(out.String(), "\n")
		}
	}
	out, get := serve(slog.LevelInfo)
	require.Equal(t, 1, get("/ok"), "the first line is within the rate")
	for range 5 {
		require.Equal(t, 1, get("/ok"), "the rest of a burst is left out")
	}
	require.Equal(t, 1, get("/missing"), "a refusal is within the rate too: a client can send them as fast as it likes")
	require.Equal(t, 2, get("/broken"), "a server error is always logged")
	require.Contains(t, out.String(), "status=500")
	require.Contains(t, out.String(), "not_logged_since=6")
	require.Equal(t, 3, get("/slow"), "a slow request is always logged")
	require.Equal(t, 3, get("/ok"))

	_, get = serve(slog.LevelDebug)
	for i := range 4 {
		require.Equal(t, i+1, get("/ok"), "at debug level every request is logged")
	}
	require.Equal(t, 4, get("/readyz"), "but a health probe that answered is not")
}

// TestRequestLogKeepsTheCallersDeadline: a request that says how long its
// caller waits (X-Request-Timeout, in milliseconds) is handled under that
// deadline; one that says nothing, or nothing sane, under none.
func TestRequestLogKeepsTheCallersDeadline(t *testing.T) {
	r := gin.New()
	r.Use(web.RequestLog(slog.New(slog.DiscardHandler), web.LogPolicy{}))
	r.GET("/", func(c *gin.Context) {
		if deadline, ok := c.Request.Context().Deadline(); ok {
			c.String(http.StatusOK, "%d", time.Until(deadline).Milliseconds())
			return
		}
		c.String(http.StatusOK, "none")
	})
	left := func(timeout string) string {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if timeout != "" {
			req.Header.Set(web.TimeoutHeader, timeout)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Body.String()
	}
	require.Equal(t, "none", left(""))
	require.Equal(t, "none", left("soon"))
	require.Equal(t, "none", left("-5"))
	require.Equal(t, "none", left("0"))
	ms, err := strconv.Atoi(left("2000"))
	require.NoError(t, err)
	require.InDelta(t, 2000, ms, 1000, "the caller's 2 s, less the little spent before the handler")
}

// TestCallerOf: the caller the guard sets is the caller the handler reads,
// behind RequestLog (where it is kept with the request) and without it.
func TestCallerOf(t *testing.T) {
	who := identity.Caller{Key: "key_1", Role: "customer"}
	for name, logged := range map[string]bool{"behind RequestLog": true, "alone": false} {
		t.Run(name, func(t *testing.T) {
			r := gin.New()
			if logged {
				r.Use(web.RequestLog(slog.New(slog.DiscardHandler), web.LogPolicy{}))
			}
			r.GET("/", func(c *gin.Context) {
				require.Equal(t, identity.Caller{}, web.CallerOf(c), "no caller before the guard")
				web.SetCaller(c, who)
				c.Next()
			}, func(c *gin.Context) { c.String(http.StatusOK, web.Principal(c)) })
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
			require.Equal(t, who.Principal(), w.Body.String())
		})
	}
}

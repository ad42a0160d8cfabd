package app

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/auth"
	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/internal/tracing"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules"
)

// wireUp puts module m, hosted here, behind the wire when its mode is wire:
// its routes are served as its own process would serve them, on an
// in-memory listener, and every caller — the other modules through client,
// the public routes through the forwarder — reaches it with the same HTTP
// client, encoding and error mapping as a split. Only the network is left
// out, so wire bugs show at in-process speed.
func (a *App) wireUp(m modules.Module, client func(*remote.Module)) {
	if !a.cfg.Wire(m) {
		return
	}
	ln := newPipeListener()
	srv := &http.Server{Handler: a.wireHandler(m), ReadHeaderTimeout: a.cfg.HTTP.ReadHeaderTimeout,
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(ln) }() // ends when Close closes it
	a.wired[m] = wiredModule{ln, srv}

	conns := remote.NewClient()
	conns.DialTimeout = func(string, time.Duration) (net.Conn, error) { return ln.Dial() }
	r := remote.New(string(m), []string{"http://" + string(m) + ".wire"}, conns, a.remoteOptions)
	a.remotes[m] = r
	a.metrics.Breaker(string(m), func() bool { return r.BreakerState() == "open" })
	if client != nil {
		client(r)
	}
}

// wiredModule is a module served in memory.
type wiredModule struct {
	ln  *pipeListener
	srv *http.Server
}

// wireHandler is what m's own process would serve of m: its public routes
// (with their idempotency keys) and its internal ones, for callers its edge
// asserts and for peers with the service token.
func (a *App) wireHandler(m modules.Module) http.Handler {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.NoRoute(web.NoRoute)
	r.NoMethod(web.NoMethod)
	r.Use(tracing.Middleware(a.tracer), web.RequestLog(a.log.With("module", m, "mode", modeWire), a.logPolicy()), web.Recover())
	r.GET("/readyz", a.readyz)
	keys := auth.New(nil, "", a.remoteOptions.ServiceToken, Now)
	web.Mount(r, a.routes[m].public, keys, a.hosted(m))
	web.Mount(r, a.routes[m].internal, keys, web.Own)
	return r
}

// wireToken is the service token of a process whose wired modules need
// one and whose configuration has none: made once per start, since the
// only peer is the process itself.
func wireToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails
	return "wire_" + hex.EncodeToString(b)
}

// pipeListener is a listener whose connections are in-memory pipes
// (net.Pipe): what a wired module is served on.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// Dial connects to the listener, as a client's dial would.
func (l *pipeListener) Dial() (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

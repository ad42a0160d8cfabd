package remote

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// errClosedIdle is a kept-alive connection that the module closed while it
// lay idle (it restarted, or timed the connection out): the request was
// not written, so it can go out again on a new connection, whatever it is.
var errClosedIdle = errors.New("the module closed the idle connection")

// dialModule connects to a module for the shared client. fasthttp takes a
// pooled connection without looking at it, so a request could be written
// to a connection the module has already closed, and a write that cannot be
// repeated would then be lost in doubt; net/http's client watches each idle
// connection with a goroutine of its own. Here the connection itself looks,
// at the moment a request is about to be written on it (keptConn).
//
// It asks the resolver on every new connection: a module restarted as a
// container, or rescheduled as a pod, may come back at a new address, and
// fasthttp's own dialer would keep dialling the old one for a minute.
// Connections are pooled, so a lookup per new connection costs little.
func dialModule(addr string, timeout time.Duration) (net.Conn, error) {
	conn, err := (&net.Dialer{Timeout: timeout}).Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		return conn, nil
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return conn, nil
	}
	return &keptConn{Conn: conn, raw: raw}, nil
}

// keptConn is a connection to a module that checks, before the first write
// of every request but its first, that the module has not closed it.
type keptConn struct {
	net.Conn
	raw  syscall.RawConn
	used bool // a request was answered on it: the next write starts another
}

func (c *keptConn) Read(p []byte) (int, error) {
	c.used = true
	return c.Conn.Read(p)
}

func (c *keptConn) Write(p []byte) (int, error) {
	if c.used {
		c.used = false
		if closedByPeer(c.raw) {
			return 0, errClosedIdle
		}
	}
	return c.Conn.Write(p)
}

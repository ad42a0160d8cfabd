//go:build unix

package remote

import "syscall"

// closedByPeer peeks at the connection without waiting: a module that
// closed it has sent an end of stream (or a reset); a live one has sent
// nothing, since it answers only what it is asked.
func closedByPeer(raw syscall.RawConn) bool {
	closed := false
	_ = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = (n == 0 && err == nil) || (err != nil && err != syscall.EAGAIN && err != syscall.EINTR)
		return true // never wait for the connection to become readable
	})
	return closed
}

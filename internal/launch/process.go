package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// How long a started process may take to listen and then to answer
// /readyz, and to exit after SIGTERM (its own shutdown timeout is 20s)
// before it is killed.
const (
	readyTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// outputLimit is how much of a process's output is kept: its last
// megabytes, enough for every span of a test's traces.
const outputLimit = 8 << 20

// errPortTaken says another program bound a process's address first.
var errPortTaken = errors.New("address already in use")

// Proc is one running (or exited) bazaar process.
type Proc struct {
	Spec
	Addr string // its listen address, host:port

	binary, dir string
	args, env   []string
	output      *tail

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd exited; err is then set
	err  error
}

// URL is the process's base URL.
func (p *Proc) URL() string { return "http://" + p.Addr }

// Output is what the process wrote to stdout and stderr (its last
// megabytes), across restarts.
func (p *Proc) Output() string { return p.output.String() }

// OutputBytes is how much the process has written to stdout and stderr,
// over every start.
func (p *Proc) OutputBytes() int64 { return p.output.total() }

// PID is the operating system's id of the process's current run.
func (p *Proc) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// ProcessState is the operating system's account of the current run, once
// it exited; nil before.
func (p *Proc) ProcessState() *os.ProcessState {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		return p.cmd.ProcessState
	default:
		return nil
	}
}

// Exited returns the current run's exit error, and whether it exited.
func (p *Proc) Exited() (bool, error) {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return true, p.err
	default:
		return false, nil
	}
}

// start runs the process and waits until it listens on its address. A
// process that exits first is an error with its output; one whose address
// another program took is errPortTaken.
func (p *Proc) start(ctx context.Context) error {
	cmd := exec.Command(p.binary, p.args...)
	cmd.Dir = p.dir // no ./bazaar.yaml of the user's is read
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = p.output, p.output
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.err = cmd, done, nil
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return p.wait(ctx, "listen", func() bool {
		conn, err := net.DialTimeout("tcp", p.Addr, time.Second)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
}

// WaitReady waits until the process answers GET /readyz with 200: every
// module it needs answers.
func (p *Proc) WaitReady(ctx context.Context) error {
	client := &http.Client{Timeout: time.Second}
	return p.wait(ctx, "answer /readyz with 200", func() bool {
		req, err := http.NewRequestWithContext(ctx, "GET", p.URL()+"/readyz", nil)
		if err != nil {
			return false
		}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// wait polls ok until it holds, the process exits, ctx ends or
// readyTimeout passes.
func (p *Proc) wait(ctx context.Context, what string, ok func() bool) error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-done:
			if strings.Contains(p.Output(), errPortTaken.Error()) {
				return fmt.Errorf("%s: %s: %w", p.Name, p.Addr, errPortTaken)
			}
			_, err := p.Exited()
			return fmt.Errorf("%s exited before it could %s: %v\n%s", p.Name, what, err, Indent(p.Output()))
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("%s did not %s within %v\n%s", p.Name, what, readyTimeout, Indent(p.Output()))
		case <-tick.C:
		}
	}
	return nil
}

// Restart starts a process that exited (or was killed) again, at the same
// address with the same settings, and waits until it listens.
func (p *Proc) Restart(ctx context.Context) error {
	if exited, _ := p.Exited(); !exited {
		return fmt.Errorf("%s is still running", p.Name)
	}
	return p.start(ctx)
}

// Kill stops the process the hard way, as a crash would, and waits for it.
func (p *Proc) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	_ = cmd.Process.Kill()
	<-done
}

// Stop sends SIGTERM and waits for the process to exit, killing it after
// stopTimeout. It returns the exit error of a process that was running
// and did not exit cleanly.
func (p *Proc) Stop() error {
	if exited, _ := p.Exited(); exited {
		return nil
	}
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = cmd.Process.Kill() // no SIGTERM on this system
	}
	select {
	case <-done:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not stop within %v of SIGTERM and was killed", p.Name, stopTimeout)
	}
	_, err := p.Exited()
	if err != nil {
		return fmt.Errorf("%s exited with %v after SIGTERM:\n%s", p.Name, err, Indent(p.Output()))
	}
	return nil
}

// tail keeps the last bytes written to it, and counts them all.
type tail struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	written int64
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.written += int64(len(b))
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tail) total() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.written
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// Indent sets a process's output off from the words around it.
func Indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (no output)\n"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ") + "\n"
}

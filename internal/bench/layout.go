package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// How long a started process may take to answer /readyz, and to exit
// after SIGTERM (its own shutdown timeout is 20s) before it is killed.
const (
	readyTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// layoutEnv is the environment every bazaar process of a started layout
// gets, before the --env extras (which may override it). The short
// reservation TTL lets the "nothing reserved" invariant be checked soon
// after the load; the rate limit is off because the bench sends every
// request with one key.
var layoutEnv = []string{
	"BAZAAR_LOG_LEVEL=warn",
	"BAZAAR_RATE_LIMIT_RPS=0",
	"BAZAAR_INVENTORY_RESERVATION_TTL=10s",
	"BAZAAR_INVENTORY_EXPIRY_INTERVAL=1s",
}

// procSpec is how to start one process of a layout.
type procSpec struct {
	name string
	addr string
	args []string
	env  []string
}

// layoutSpecs says which processes make up a layout, on which loopback
// addresses, in the order they start: a module after those it calls, the
// front process (the one clients talk to) last.
func layoutSpecs(name string, freeAddr func() (string, error)) ([]procSpec, error) {
	var names []string
	switch name {
	case Monolith:
		names = []string{"bazaar"}
	case Split:
		names = []string{"webhooks", "catalogue", "inventory", "payment", "gateway"}
	case Baseline:
		names = []string{"baseline"}
	default:
		return nil, fmt.Errorf("no layout %q", name)
	}
	addr := map[string]string{}
	for _, n := range names {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		addr[n] = a
	}
	url := func(n string) string { return "http://" + addr[n] }
	switch name {
	case Monolith:
		return []procSpec{{name: "bazaar", addr: addr["bazaar"], args: []string{"serve"}}}, nil
	case Baseline:
		return []procSpec{{name: "baseline", addr: addr["baseline"], args: []string{"bench", "baseline", "--addr", addr["baseline"]}}}, nil
	}
	cat := "BAZAAR_MODULES_CATALOGUE_URL=" + url("catalogue")
	inv := "BAZAAR_MODULES_INVENTORY_URL=" + url("inventory")
	pay := "BAZAAR_MODULES_PAYMENT_URL=" + url("payment")
	hooks := "BAZAAR_MODULES_WEBHOOKS_URL=" + url("webhooks")
	return []procSpec{
		{name: "webhooks", addr: addr["webhooks"], args: []string{"serve"}, env: []string{"BAZAAR_SERVE=webhooks"}},
		{name: "catalogue", addr: addr["catalogue"], args: []string{"serve"}, env: []string{"BAZAAR_SERVE=catalogue", hooks}},
		{name: "inventory", addr: addr["inventory"], args: []string{"serve"}, env: []string{"BAZAAR_SERVE=inventory", cat, hooks}},
		{name: "payment", addr: addr["payment"], args: []string{"serve"}, env: []string{"BAZAAR_SERVE=payment", cat, inv, hooks}},
		{name: "gateway", addr: addr["gateway"], args: []string{"serve"}, env: []string{"BAZAAR_SERVE=none", cat, inv, pay, hooks}},
	}, nil
}

// freeLoopbackAddr finds a loopback port nobody listens on. Another
// program could take it before the process binds it; then that process
// fails to start and says so.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// starter starts layouts from the bazaar binary.
type starter struct {
	binary string
	extra  []string  // --env
	log    io.Writer // what is happening, for the user
}

// cluster is a started layout: its processes and their data directory.
type cluster struct {
	name  string
	url   string // the front process, where clients send requests
	admin string
	procs []*process
	dir   string
}

// process is one child process of a cluster.
type process struct {
	name   string
	addr   string
	cmd    *exec.Cmd
	output *tail
	done   chan struct{} // closed once it exited; err is then set
	err    error
}

// start starts every process of a layout in a fresh data directory and
// waits until each answers /readyz. On failure it stops what it started.
func (s starter) start(ctx context.Context, name string) (*cluster, error) {
	specs, err := layoutSpecs(name, freeLoopbackAddr)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bazaar-bench-"+name+"-")
	if err != nil {
		return nil, fmt.Errorf("%s: data directory: %w", name, err)
	}
	c := &cluster{name: name, admin: "bzr_bench_" + randomHex(16), dir: dir}
	common := append([]string{
		"BAZAAR_ADMIN_KEY=" + c.admin,
		"BAZAAR_SERVICE_TOKEN=" + randomHex(16),
		"GOMAXPROCS=" + strconv.Itoa(coresEach(runtime.NumCPU(), len(specs))),
	}, layoutEnv...)
	for _, spec := range specs {
		// Each process has a data directory of its own, as on machines of
		// its own: nothing is shared but what the layout says.
		env := append(append(append(inheritedEnv(), common...), spec.env...), "BAZAAR_HTTP_ADDR="+spec.addr,
			"BAZAAR_DATA_DIR="+filepath.Join(dir, "data-"+spec.name))
		env = append(env, s.extra...) // last: the user's word wins
		p, err := s.spawn(spec, dir, env)
		if err != nil {
			c.stop(s.log)
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		c.procs = append(c.procs, p)
		if err := p.waitReady(ctx); err != nil {
			c.stop(s.log)
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		c.url = "http://" + spec.addr
	}
	return c, nil
}

// coresEach is the GOMAXPROCS of each of n processes sharing cpus cores:
// its share of them, as a container with a CPU limit gets (Go reads the
// limit). Without it every process of the split would run as many threads
// of Go code as the machine has cores, and their schedulers, spinning in
// search of work, would take turns from each other (the split answered
// 6-10 % more with it, docs/performance.md). --env GOMAXPROCS=N overrides.
func coresEach(cpus, n int) int { return max(1, cpus/n) }

// inheritedEnv is this process's environment without BAZAAR_* variables,
// so a shell's settings cannot change what the bench measures; --env is
// the way to change it.
func inheritedEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BAZAAR_") {
			env = append(env, kv)
		}
	}
	return env
}

func (s starter) spawn(spec procSpec, dir string, env []string) (*process, error) {
	cmd := exec.Command(s.binary, spec.args...)
	cmd.Dir = dir // no ./bazaar.yaml of the user's is read
	cmd.Env = env
	p := &process{name: spec.name, addr: spec.addr, cmd: cmd, output: newTail(64 << 10), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.output, p.output
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitReady waits until the process answers GET /readyz with 200.
func (p *process) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, "GET", "http://"+p.addr+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready: %v\n%s", p.name, p.err, indent(p.output.String()))
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer /readyz with 200 within %v\n%s", p.name, readyTimeout, indent(p.output.String()))
		}
	}
}

// exited returns an error naming any process that is no longer running.
func (c *cluster) exited() error {
	var errs []error
	for _, p := range c.procs {
		select {
		case <-p.done:
			errs = append(errs, fmt.Errorf("%s/%s exited during the run: %v\n%s", c.name, p.name, p.err, indent(p.output.String())))
		default:
		}
	}
	return errors.Join(errs...)
}

// stop sends SIGTERM to every process, front first, kills those that do
// not exit within stopTimeout, and removes the data directory. A process
// that does not exit cleanly is reported on log with its output (one that
// had exited already was reported by whoever noticed).
func (c *cluster) stop(log io.Writer) {
	running := map[*process]bool{}
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		select {
		case <-p.done:
			continue
		default:
			running[p] = true
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			_ = p.cmd.Process.Kill() // no SIGTERM on this system
		}
	}
	timeout := time.After(stopTimeout)
	for _, p := range c.procs {
		select {
		case <-p.done:
		case <-timeout:
			_ = p.cmd.Process.Kill()
			<-p.done
			fmt.Fprintf(log, "%s/%s did not stop within %v of SIGTERM and was killed\n", c.name, p.name, stopTimeout)
		}
		if running[p] && p.err != nil && !killed(p.err) {
			fmt.Fprintf(log, "%s/%s exited with %v after SIGTERM:\n%s", c.name, p.name, p.err, indent(p.output.String()))
		}
	}
	_ = os.RemoveAll(c.dir)
}

// killed reports whether a process ended by SIGKILL, which only stop sends.
func killed(err error) bool {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return false
	}
	ws, ok := exit.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// tail keeps the last bytes written to it: a process's output, shown when
// it fails.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// indent sets a process's output off from the bench's own words.
func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (no output)\n"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ") + "\n"
}

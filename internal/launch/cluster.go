package launch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Options says how a layout's processes are started.
type Options struct {
	// Binary is the bazaar binary.
	Binary string
	// Dir holds the processes' data directories (data-<name>) and is
	// their working directory. Empty: a temporary one, removed by Stop
	// and Close.
	Dir string
	// AdminKey and ServiceToken every process shares; random when empty.
	AdminKey, ServiceToken string
	// DSN names the database of an owner ("auth" or a module); each
	// process is given only those it owns. Nil: each process keeps
	// SQLite files in its own data directory.
	DSN func(owner string) string
	// Env is added to every process's environment last: its word wins.
	Env []string
	// Via, when set, is told each process's listen address before any
	// starts, and returns the address its peers are to call it at — a
	// proxy that plays the network between them, say. Clients still call
	// the front at its own address.
	Via func(name, addr string) (string, error)
}

// Cluster is a started layout.
type Cluster struct {
	Layout   Layout
	AdminKey string
	Procs    []*Proc // in the order they started
	dir      string
	ownDir   bool
}

// Start starts every process of a layout, each once the one before it
// listens, then waits until each answers /readyz. On failure it stops
// what it started. Should another program take a chosen port first, it
// starts the layout again on fresh ones.
func Start(ctx context.Context, l Layout, o Options) (*Cluster, error) {
	for tries := 1; ; tries++ {
		c, err := start(ctx, l, o)
		if !errors.Is(err, errPortTaken) || tries == 3 {
			return c, err
		}
	}
}

func start(ctx context.Context, l Layout, o Options) (*Cluster, error) {
	c := &Cluster{Layout: l, AdminKey: o.AdminKey, dir: o.Dir}
	if c.AdminKey == "" {
		c.AdminKey = "bzr_launch_" + randomHex(16)
	}
	if o.ServiceToken == "" {
		o.ServiceToken = randomHex(16)
	}
	if c.dir == "" {
		dir, err := os.MkdirTemp("", "bazaar-"+l.Name+"-")
		if err != nil {
			return nil, fmt.Errorf("%s: data directory: %w", l.Name, err)
		}
		c.dir, c.ownDir = dir, true
	}
	addrs := map[string]string{}
	for _, s := range l.Procs {
		a, err := FreeAddr()
		if err != nil {
			c.Close()
			return nil, err
		}
		addrs[s.Name] = a
	}
	peers := addrs
	if o.Via != nil {
		peers = map[string]string{}
		for name, a := range addrs {
			via, err := o.Via(name, a)
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("%s: %s: %w", l.Name, name, err)
			}
			peers[name] = via
		}
	}
	common := append(inheritedEnv(), "BAZAAR_ADMIN_KEY="+c.AdminKey, "BAZAAR_SERVICE_TOKEN="+o.ServiceToken)
	for _, s := range l.Procs {
		s.Args = withPeerAddrs(s.Args, peers)
		implied, err := l.env(s, peers, o.DSN)
		if err != nil {
			c.Close()
			return nil, err
		}
		env := slices.Concat(common, implied, s.Env, []string{
			"BAZAAR_HTTP_ADDR=" + addrs[s.Name],
			"BAZAAR_DATA_DIR=" + c.DataDir(s.Name),
		}, o.Env)
		p := newProc(s, addrs[s.Name], o.Binary, c.dir, env)
		c.Procs = append(c.Procs, p)
		if err := p.start(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("%s: %w", l.Name, err)
		}
	}
	for _, p := range c.Procs {
		if err := p.WaitReady(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("%s: %w", l.Name, err)
		}
	}
	return c, nil
}

// StartProc starts one process in dir with exactly env (but for
// BAZAAR_HTTP_ADDR, chosen here) and args, and waits until it listens.
// It is how a user runs bazaar: no data directory or key is implied.
func StartProc(ctx context.Context, binary, dir string, env []string, args ...string) (*Proc, error) {
	for tries := 1; ; tries++ {
		addr, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		p := newProc(Spec{Name: "bazaar", Args: args}, addr, binary, dir, append(slices.Clone(env), "BAZAAR_HTTP_ADDR="+addr))
		err = p.start(ctx)
		if err == nil || !errors.Is(err, errPortTaken) || tries == 3 {
			return p, err
		}
	}
}

// withPeerAddrs replaces "{addr:NAME}" in args by peers[NAME].
func withPeerAddrs(args []string, peers map[string]string) []string {
	out := slices.Clone(args)
	for i := range out {
		for name, addr := range peers {
			out[i] = strings.ReplaceAll(out[i], "{addr:"+name+"}", addr)
		}
	}
	return out
}

func newProc(s Spec, addr, binary, dir string, env []string) *Proc {
	args := slices.Clone(s.Args)
	if len(args) == 0 {
		args = []string{"serve"}
	}
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "{addr}", addr)
	}
	return &Proc{Spec: s, Addr: addr, binary: binary, dir: dir, args: args, env: env, output: &tail{max: outputLimit}}
}

// DataDir is the data directory of the named process.
func (c *Cluster) DataDir(name string) string { return filepath.Join(c.dir, "data-"+name) }

// URL is where clients call: the front process.
func (c *Cluster) URL() string { return c.Proc(c.Layout.Front).URL() }

// Proc returns the process of that name, or nil.
func (c *Cluster) Proc(name string) *Proc {
	for _, p := range c.Procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Exited returns an error naming each process that is no longer running,
// with its output.
func (c *Cluster) Exited() error {
	var errs []error
	for _, p := range c.Procs {
		if exited, err := p.Exited(); exited {
			errs = append(errs, fmt.Errorf("%s/%s exited: %v\n%s", c.Layout.Name, p.Name, err, Indent(p.Output())))
		}
	}
	return errors.Join(errs...)
}

// Stop sends SIGTERM to every process, the front first so that no request
// reaches a module already gone, and waits for each to exit. It returns
// an error for each running process that did not exit cleanly.
func (c *Cluster) Stop() error {
	var errs []error
	for _, p := range slices.Backward(c.Procs) {
		if err := p.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("%s/%w", c.Layout.Name, err))
		}
	}
	c.removeDir()
	return errors.Join(errs...)
}

// Close kills every process still running, as a crash would: for tests,
// which have checked what they meant to.
func (c *Cluster) Close() {
	for _, p := range c.Procs {
		if exited, _ := p.Exited(); !exited {
			p.Kill()
		}
	}
	c.removeDir()
}

func (c *Cluster) removeDir() {
	if c.ownDir {
		_ = os.RemoveAll(c.dir)
	}
}

// inheritedEnv is this process's environment without BAZAAR_* variables,
// so a shell's settings cannot change what a layout does; Options.Env is
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

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

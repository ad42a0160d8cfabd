package main

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/apitest"
	"github.com/bazaar-shop/bazaar/internal/testdb"
)

// TestLayouts is the one entry point that proves the layouts equivalent:
// the whole black-box API suite runs, unchanged, against the monolith, the
// four-process split (gateway + catalogue + inventory + payment) and a mixed
// layout (catalogue and inventory together, payment apart), each started as
// real processes of the built binary on loopback ports.
//
//	go test -run TestLayouts -v .
func TestLayouts(t *testing.T) {
	for _, engine := range testdb.Engines() {
		for _, name := range []string{"monolith", "split", "mixed"} {
			t.Run(engine.Name+"/"+name, func(t *testing.T) {
				l := startLayout(t, engine, name, nil)
				apitest.Run(t, l.base, l.admin)
			})
		}
	}
}

const (
	layoutAdminKey = "bzr_layout_admin"
	serviceToken   = "layout-service-token"
)

// cluster is a layout of running processes.
type cluster struct {
	base  string // where the public API is asked
	admin string
	procs map[string]*process
	specs map[string]procSpec
	dir   string
}

// procSpec is how to start one process of a layout.
type procSpec struct {
	addr string
	env  []string
}

// freeAddr finds a loopback port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// startLayout starts the processes of a named layout, all sharing one data
// directory (and so one key database, and one catalogue for catalogue
// replicas), and waits until the public API is ready. extra is added to
// every process's environment.
func startLayout(t *testing.T, engine testdb.Engine, name string, extra []string) *cluster {
	t.Helper()
	c := &cluster{admin: layoutAdminKey, procs: map[string]*process{}, specs: map[string]procSpec{}, dir: t.TempDir()}
	common := []string{
		"BAZAAR_DATA_DIR=" + c.dir + "/data",
		"BAZAAR_ADMIN_KEY=" + layoutAdminKey,
		"BAZAAR_SERVICE_TOKEN=" + serviceToken,
		"BAZAAR_REMOTE_HEALTH_INTERVAL=200ms",
		"BAZAAR_REMOTE_TIMEOUT=3s",
		"BAZAAR_REMOTE_BREAKER_COOLDOWN=500ms",
		"BAZAAR_AUTH_DSN=" + engine.New(t, "auth"),
		"BAZAAR_MODULES_CATALOGUE_DSN=" + engine.New(t, "catalogue"),
		"BAZAAR_MODULES_INVENTORY_DSN=" + engine.New(t, "inventory"),
		"BAZAAR_MODULES_PAYMENT_DSN=" + engine.New(t, "payment"),
	}
	common = append(common, extra...)
	addr := map[string]string{}
	for _, p := range []string{"catalogue", "catalogue2", "inventory", "payment", "gateway", "shop", "monolith"} {
		addr[p] = freeAddr(t)
	}
	url := func(names ...string) string {
		var urls []string
		for _, n := range names {
			urls = append(urls, "http://"+addr[n])
		}
		return strings.Join(urls, ",")
	}

	var order []string
	switch name {
	case "monolith":
		c.specs["monolith"] = procSpec{addr["monolith"], nil}
		order = []string{"monolith"}
	case "split", "split-replicas":
		catalogues := []string{"catalogue"}
		if name == "split-replicas" {
			catalogues = append(catalogues, "catalogue2")
			c.specs["catalogue2"] = procSpec{addr["catalogue2"], []string{"BAZAAR_SERVE=catalogue"}}
		}
		c.specs["catalogue"] = procSpec{addr["catalogue"], []string{"BAZAAR_SERVE=catalogue"}}
		c.specs["inventory"] = procSpec{addr["inventory"], []string{"BAZAAR_SERVE=inventory",
			"BAZAAR_MODULES_CATALOGUE_URL=" + url(catalogues...)}}
		c.specs["payment"] = procSpec{addr["payment"], []string{"BAZAAR_SERVE=payment",
			"BAZAAR_MODULES_CATALOGUE_URL=" + url(catalogues...), "BAZAAR_MODULES_INVENTORY_URL=" + url("inventory")}}
		c.specs["gateway"] = procSpec{addr["gateway"], []string{"BAZAAR_SERVE=none",
			"BAZAAR_MODULES_CATALOGUE_URL=" + url(catalogues...), "BAZAAR_MODULES_INVENTORY_URL=" + url("inventory"),
			"BAZAAR_MODULES_PAYMENT_URL=" + url("payment")}}
		order = append(catalogues, "inventory", "payment", "gateway")
	case "mixed":
		c.specs["shop"] = procSpec{addr["shop"], []string{"BAZAAR_SERVE=catalogue,inventory",
			"BAZAAR_MODULES_PAYMENT_URL=" + url("payment")}}
		c.specs["payment"] = procSpec{addr["payment"], []string{"BAZAAR_SERVE=payment",
			"BAZAAR_MODULES_CATALOGUE_URL=" + url("shop"), "BAZAAR_MODULES_INVENTORY_URL=" + url("shop")}}
		order = []string{"shop", "payment"}
	default:
		t.Fatalf("no layout %q", name)
	}
	for n, s := range c.specs {
		s.env = append(append(append([]string{}, common...), s.env...), "BAZAAR_HTTP_ADDR="+s.addr)
		c.specs[n] = s
	}
	for _, n := range order {
		c.start(t, n)
	}
	front := order[len(order)-1]
	if name == "mixed" {
		front = "shop"
	}
	c.base = "http://" + c.specs[front].addr
	c.waitReady(t, front)
	return c
}

// start starts (or restarts) one process of the layout.
func (c *cluster) start(t *testing.T, name string) {
	t.Helper()
	c.procs[name] = start(t, c.dir, c.specs[name].env...)
}

// kill stops a process the hard way, as a crash would.
func (c *cluster) kill(t *testing.T, name string) {
	t.Helper()
	p := c.procs[name]
	require.NoError(t, p.cmd.Process.Kill())
	<-p.done
}

// waitReady waits until a process's /readyz says every module it needs answers.
func (c *cluster) waitReady(t *testing.T, name string) {
	t.Helper()
	eventually(t, 30*time.Second, func() bool {
		resp, err := http.Get("http://" + c.specs[name].addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "%s did not become ready:\n%s", name, c.procs[name].Log())
}

// eventually waits for cond, checking every 50ms, for at most d.
func eventually(t *testing.T, d time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(msg, args...)
		}
		time.Sleep(50 * time.Millisecond)
	}
}


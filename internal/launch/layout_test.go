package launch

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// envOf is the settings a layout implies for each of its processes, with
// process i on port 9000+i.
func envOf(t *testing.T, name string, dsn func(string) string) (Layout, map[string][]string) {
	t.Helper()
	l, err := Named(name)
	require.NoError(t, err)
	addrs := map[string]string{}
	for i, s := range l.Procs {
		addrs[s.Name] = "127.0.0.1:" + strconv.Itoa(9000+i)
	}
	out := map[string][]string{}
	for _, s := range l.Procs {
		out[s.Name], err = l.env(s, addrs, dsn)
		require.NoError(t, err)
	}
	return l, out
}

func names(l Layout) []string {
	var out []string
	for _, s := range l.Procs {
		out = append(out, s.Name)
	}
	return out
}

func TestMonolith(t *testing.T) {
	l, env := envOf(t, Monolith, nil)
	require.Equal(t, []string{"monolith"}, names(l))
	require.Equal(t, "monolith", l.Front)
	require.Equal(t, []string{"BAZAAR_SERVE=catalogue,inventory,payment,webhooks,storefront", "BAZAAR_AUTH_EDGE=true"}, env["monolith"],
		"the monolith hosts every module: no URLs")
}

func TestSplit(t *testing.T) {
	l, env := envOf(t, Split, nil)
	require.Equal(t, []string{"webhooks", "catalogue", "inventory", "payment", "storefront", "gateway"}, names(l),
		"a module starts after those it calls, the gateway last")
	require.Equal(t, "gateway", l.Front)
	hooks := "BAZAAR_MODULES_WEBHOOKS_URL=http://127.0.0.1:9000"
	cat := "BAZAAR_MODULES_CATALOGUE_URL=http://127.0.0.1:9001"
	inv := "BAZAAR_MODULES_INVENTORY_URL=http://127.0.0.1:9002"
	require.Equal(t, []string{"BAZAAR_SERVE=webhooks"}, env["webhooks"])
	require.Equal(t, []string{"BAZAAR_SERVE=catalogue", hooks}, env["catalogue"])
	require.Equal(t, []string{"BAZAAR_SERVE=inventory", cat, hooks}, env["inventory"])
	require.Equal(t, []string{"BAZAAR_SERVE=payment", cat, inv, hooks}, env["payment"])
	pay := "BAZAAR_MODULES_PAYMENT_URL=http://127.0.0.1:9003"
	require.Equal(t, []string{"BAZAAR_SERVE=storefront", cat, inv, pay}, env["storefront"], "the storefront has no database and no events")
	require.Equal(t, []string{"BAZAAR_SERVE=none", "BAZAAR_AUTH_EDGE=true", cat, inv, pay, hooks,
		"BAZAAR_MODULES_STOREFRONT_URL=http://127.0.0.1:9004"}, env["gateway"])
}

// Replicas of a module are one comma-separated URL to their callers, and
// each process is given the databases it owns and no other.
func TestReplicasAndDatabases(t *testing.T) {
	dsn := func(owner string) string { return "db-" + owner }
	l, env := envOf(t, SplitReplicas, dsn)
	require.Equal(t, []string{"webhooks", "catalogue", "catalogue2", "inventory", "payment", "storefront", "gateway"}, names(l))
	require.Contains(t, env["payment"], "BAZAAR_MODULES_CATALOGUE_URL=http://127.0.0.1:9001,http://127.0.0.1:9002")
	require.Contains(t, env["catalogue2"], "BAZAAR_MODULES_CATALOGUE_DSN=db-catalogue", "replicas share their module's database")
	require.Contains(t, env["gateway"], "BAZAAR_AUTH_DSN=db-auth")
	for name, e := range env {
		for _, kv := range e {
			if name != "gateway" {
				require.NotContains(t, kv, "AUTH_DSN", "%s holds no keys", name)
			}
		}
	}
	require.Len(t, env["payment"], 5, "serve, its own database, three URLs: %v", env["payment"])
}

// In the mixed layout each process calls the other.
func TestMixed(t *testing.T) {
	l, env := envOf(t, Mixed, nil)
	require.Equal(t, "shop", l.Front)
	require.Equal(t, []string{"BAZAAR_SERVE=catalogue,inventory,storefront", "BAZAAR_AUTH_EDGE=true",
		"BAZAAR_MODULES_PAYMENT_URL=http://127.0.0.1:9001", "BAZAAR_MODULES_WEBHOOKS_URL=http://127.0.0.1:9001"}, env["shop"])
	require.Equal(t, []string{"BAZAAR_SERVE=payment,webhooks",
		"BAZAAR_MODULES_CATALOGUE_URL=http://127.0.0.1:9000", "BAZAAR_MODULES_INVENTORY_URL=http://127.0.0.1:9000"}, env["payment"])
}

func TestUnknownLayout(t *testing.T) {
	_, err := Named("mesh")
	require.ErrorContains(t, err, `no layout "mesh"`)
}

// A process whose callee no process hosts cannot start.
func TestLayoutWithoutACallee(t *testing.T) {
	l, err := Named(Split)
	require.NoError(t, err)
	l.Procs = l.Procs[1:] // no webhooks
	_, err = l.env(l.Procs[0], map[string]string{}, nil)
	require.ErrorContains(t, err, "catalogue calls webhooks, which no process hosts")

	// A gateway needs no module: one that no process hosts is left out.
	l, err = Named(Split)
	require.NoError(t, err)
	l.Procs = slices.DeleteFunc(l.Procs, func(s Spec) bool { return s.Name == "storefront" })
	env, err := l.env(l.Procs[len(l.Procs)-1], map[string]string{}, nil)
	require.NoError(t, err)
	require.NotContains(t, strings.Join(env, " "), "STOREFRONT")
}

// FreeAddr's ports lie below the ephemeral range, where no outgoing
// connection can take them.
func TestFreeAddr(t *testing.T) {
	for range 20 {
		a, err := FreeAddr()
		require.NoError(t, err)
		_, port, _ := strings.Cut(a, ":")
		n, err := strconv.Atoi(port)
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, lowestPort)
		require.Less(t, n, ephemeralLow())
	}
}

func TestPeerAddrs(t *testing.T) {
	peers := map[string]string{"catalogue": "127.0.0.1:1001", "catalogue2": "127.0.0.1:1002"}
	args := []string{"bench", "--addr", "{addr}", "--forward", "{addr:catalogue}", "x={addr:catalogue2}", "{addr:nobody}"}
	require.Equal(t, []string{"bench", "--addr", "{addr}", "--forward", "127.0.0.1:1001", "x=127.0.0.1:1002", "{addr:nobody}"},
		withPeerAddrs(args, peers), "a peer's address, not a longer name's prefix; the own address is the process's to fill in")
	require.Equal(t, "{addr:catalogue}", args[4], "the layout's own args are left as they were")
}

package app

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/config"
	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/modules"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/catalogue/cataloguetest"
	cataloguehttp "github.com/bazaar-shop/bazaar/modules/catalogue/httpapi"
	cataloguesvc "github.com/bazaar-shop/bazaar/modules/catalogue/service"
	"github.com/bazaar-shop/bazaar/modules/inventory/inventorytest"
	"github.com/bazaar-shop/bazaar/modules/payment/paymenttest"
	"github.com/bazaar-shop/bazaar/modules/webhooks"
	"github.com/bazaar-shop/bazaar/modules/webhooks/webhookstest"
)

// breakWire, when set, makes TestContractsInWireMode reach the catalogue
// through a client whose encoding is wrong: TestWireModeCatchesABrokenEncoding
// runs it so, and expects it to fail.
const breakWire = "BAZAAR_TEST_BREAK_WIRE"

// TestContractsInWireMode runs every module's contract suite against the
// module as the others see it in wire mode: its HTTP client, its routes and
// the guard of a module process, over an in-memory connection.
func TestContractsInWireMode(t *testing.T) {
	t.Run("catalogue", func(t *testing.T) {
		cataloguetest.Run(t, func(t *testing.T) catalogue.Service {
			a := startWired(t)
			if os.Getenv(breakWire) != "" {
				return brokenCatalogue(a)
			}
			return a.catalogue
		})
	})
	t.Run("inventory", func(t *testing.T) {
		inventorytest.Run(t, func(t *testing.T) inventorytest.Harness {
			a := startWired(t)
			return inventorytest.Harness{Inventory: a.inventory, Catalogue: a.catalogue}
		})
	})
	t.Run("payment", func(t *testing.T) {
		paymenttest.Run(t, func(t *testing.T) paymenttest.Harness {
			a := startWired(t)
			return paymenttest.Harness{Payments: a.payment, Catalogue: a.catalogue, Inventory: a.inventory}
		})
	})
	t.Run("webhooks", func(t *testing.T) {
		webhookstest.Run(t, func(t *testing.T) webhooks.Service { return startWired(t).webhooks })
	})
}

// TestWireModeCatchesABrokenEncoding: a client that sends one field under
// another name — a mistake the in-process layout can never show — fails
// the catalogue's contract suite in wire mode.
func TestWireModeCatchesABrokenEncoding(t *testing.T) {
	if os.Getenv(breakWire) != "" {
		t.Skip("the run this test starts")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestContractsInWireMode$/^catalogue$", "-test.count=1")
	cmd.Env = append(os.Environ(), breakWire+"=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the suite passed over a broken encoding:\n%s", out)
	require.Contains(t, string(out), `unknown field \"prize\"`, "it fails for the renamed field:\n%s", out)
}

// startWired starts a monolith with every module in wire mode, on fresh
// SQLite files, until the test ends.
func startWired(t *testing.T) *App {
	t.Helper()
	// The webhooks suite registers endpoints on this machine.
	env := map[string]string{"BAZAAR_DATA_DIR": t.TempDir(), "BAZAAR_ADMIN_KEY": "bzr_test_wire_admin", "BAZAAR_WEBHOOKS_ALLOW_PRIVATE": "true"}
	for _, m := range modules.All() {
		env[config.EnvName("modules."+string(m)+".mode")] = "wire"
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NoError(t, a.Start(ctx))
	t.Cleanup(func() {
		cancel()
		require.NoError(t, a.Close())
	})
	// Every caller reaches each module through its client, or the suites
	// would prove nothing about the wire.
	for m, loc := range a.Topology(ctx).Modules {
		require.True(t, loc.Wire, "%s is not behind the wire", m)
	}
	_, local := a.catalogue.(*cataloguesvc.Service)
	require.False(t, local, "the catalogue is its client, not its service")
	return a
}

// brokenCatalogue is the catalogue's client with its request encoding
// broken: every "price" member goes out as "prize", as if the client's
// field were renamed and the server's not.
func brokenCatalogue(a *App) catalogue.Service {
	ln := a.wired[modules.Catalogue].ln
	conns := remote.NewClient()
	conns.DialTimeout = func(string, time.Duration) (net.Conn, error) {
		c, err := ln.Dial()
		return renaming{c}, err
	}
	return cataloguehttp.NewClient(remote.New("catalogue", []string{"http://catalogue.wire"}, conns, a.remoteOptions))
}

// renaming rewrites what it writes; the names have one length, so the
// Content-Length stays true.
type renaming struct{ net.Conn }

func (r renaming) Write(b []byte) (int, error) {
	return r.Conn.Write(bytes.ReplaceAll(b, []byte(`"price":`), []byte(`"prize":`)))
}

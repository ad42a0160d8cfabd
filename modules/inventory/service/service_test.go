package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/testclock"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	cataloguesvc "github.com/bazaar-shop/bazaar/modules/catalogue/service"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/inventory/inventorytest"
	"github.com/bazaar-shop/bazaar/modules/inventory/service"
)

// TestContract runs the inventory contract suite against the local service
// on every database engine.
func TestContract(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			inventorytest.Run(t, func(t *testing.T) inventorytest.Harness {
				w := newWorld(t, engine)
				return inventorytest.Harness{Inventory: w.inventory, Catalogue: w.catalogue}
			})
		})
	}
}

type world struct {
	clock     *testclock.Clock
	catalogue *cataloguesvc.Service
	inventory *service.Service
}

const ttl = 10 * time.Minute

func newWorld(t *testing.T, engine testdb.Engine) world {
	t.Helper()
	clk := testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	cat := cataloguesvc.New(engine.Open(t, "catalogue").DB, clk.Now)
	inv := service.New(engine.Open(t, "inventory").DB, cat, ttl, 5, clk.Now)
	return world{clock: clk, catalogue: cat, inventory: inv}
}

// TestExpiry: a reservation nobody commits gives its stock back after the
// TTL, and can then no longer be committed.
func TestExpiry(t *testing.T) {
	ctx := context.Background()
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine)
			p := inventorytest.Product(t, inventorytest.Harness{Inventory: w.inventory, Catalogue: w.catalogue}, 5)
			lines := []inventory.Line{{ProductID: p, Quantity: 2}}
			_, err := w.inventory.Reserve(ctx, "old", lines)
			require.NoError(t, err)
			w.clock.Advance(ttl / 2)
			_, err = w.inventory.Reserve(ctx, "young", lines)
			require.NoError(t, err)

			n, err := w.inventory.ExpireHolds(ctx)
			require.NoError(t, err)
			require.Zero(t, n, "nothing has expired yet")

			w.clock.Advance(ttl/2 + time.Second)
			n, err = w.inventory.ExpireHolds(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n, "only the old reservation has expired")
			lvl, err := w.inventory.Get(ctx, p)
			require.NoError(t, err)
			require.Equal(t, inventory.Level{ProductID: p, OnHand: 5, Reserved: 2, Available: 3}, lvl)

			require.ErrorIs(t, w.inventory.Commit(ctx, "old"), inventory.ErrReservationClosed)
			require.NoError(t, w.inventory.Commit(ctx, "young"), "a reservation within its TTL still commits")
			lvl, err = w.inventory.Get(ctx, p)
			require.NoError(t, err)
			require.Equal(t, inventory.Level{ProductID: p, OnHand: 3, Reserved: 0, Available: 3}, lvl)
		})
	}
}

// TestReplicasShareReservations: two replicas of the inventory on one
// database (as in the split with several replicas) move each other's
// reservations, and neither moves one the other has moved.
func TestReplicasShareReservations(t *testing.T) {
	ctx := context.Background()
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			clk := testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			cat := cataloguesvc.New(engine.Open(t, "catalogue").DB, clk.Now)
			db := engine.Open(t, "inventory").DB
			a := service.New(db, cat, ttl, 5, clk.Now)
			b := service.New(db, cat, ttl, 5, clk.Now)
			p := inventorytest.Product(t, inventorytest.Harness{Inventory: a, Catalogue: cat}, 10)
			level := func() inventory.Level {
				lvl, err := a.Get(ctx, p)
				require.NoError(t, err)
				return lvl
			}

			_, err := a.Reserve(ctx, "sold", []inventory.Line{{ProductID: p, Quantity: 2}})
			require.NoError(t, err)
			require.NoError(t, b.Commit(ctx, "sold"), "b commits what a reserved")
			require.NoError(t, a.Commit(ctx, "sold"), "a's repeat of the commit is a no-op")
			require.Equal(t, inventory.Level{ProductID: p, OnHand: 8, Available: 8}, level())

			_, err = a.Reserve(ctx, "dropped", []inventory.Line{{ProductID: p, Quantity: 3}})
			require.NoError(t, err)
			require.NoError(t, b.Release(ctx, "dropped"))
			require.ErrorIs(t, a.Commit(ctx, "dropped"), inventory.ErrReservationClosed,
				"a does not sell what b released")
			require.Equal(t, inventory.Level{ProductID: p, OnHand: 8, Available: 8}, level())
		})
	}
}

// TestRetention: reservations that ended longer ago than the retention go
// with their lines, and adjustments likewise; committed reservations stay
// (a refund restocks them), and so does what is recent.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine)
			p := inventorytest.Product(t, inventorytest.Harness{Inventory: w.inventory, Catalogue: w.catalogue}, 50)
			lines := []inventory.Line{{ProductID: p, Quantity: 1}}
			reserve := func(id string) {
				_, err := w.inventory.Reserve(ctx, id, lines)
				require.NoError(t, err)
			}
			reserve("released-old")
			require.NoError(t, w.inventory.Release(ctx, "released-old"))
			reserve("restocked-old")
			require.NoError(t, w.inventory.Commit(ctx, "restocked-old"))
			require.NoError(t, w.inventory.Restock(ctx, "restocked-old"))
			reserve("committed-old")
			require.NoError(t, w.inventory.Commit(ctx, "committed-old"))
			reserve("expired-old")
			w.clock.Advance(ttl + time.Second)
			_, err := w.inventory.ExpireHolds(ctx)
			require.NoError(t, err)
			_, err = w.inventory.Adjust(ctx, p, 1, "count")
			require.NoError(t, err)

			w.clock.Advance(10 * 24 * time.Hour)
			reserve("released-new")
			require.NoError(t, w.inventory.Release(ctx, "released-new"))
			_, err = w.inventory.Adjust(ctx, p, 1, "count")
			require.NoError(t, err)

			res, adj, err := w.inventory.Prune(ctx, service.Retention{Reservations: 5 * 24 * time.Hour, Adjustments: 5 * 24 * time.Hour})
			require.NoError(t, err)
			require.Equal(t, int64(3), res, "released, restocked and expired, each older than the retention")
			require.Equal(t, int64(2), adj, "the product's first stock count, and the first adjustment")

			for _, gone := range []string{"released-old", "restocked-old", "expired-old"} {
				require.ErrorIs(t, w.inventory.Commit(ctx, gone), inventory.ErrReservationNotFound, gone)
			}
			require.NoError(t, w.inventory.Restock(ctx, "committed-old"), "a refund long after still restocks")
			require.ErrorIs(t, w.inventory.Commit(ctx, "released-new"), inventory.ErrReservationClosed, "a recent one stays")
			lvl, err := w.inventory.Get(ctx, p)
			require.NoError(t, err)
			require.Equal(t, inventory.Level{ProductID: p, OnHand: 52, Available: 52}, lvl, "pruning moves no stock")
		})
	}
}

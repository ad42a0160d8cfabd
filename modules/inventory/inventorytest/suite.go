// Package inventorytest is the contract suite of inventory.Service: written
// once against the interface, run against every implementation of it.
package inventorytest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/ids"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/inventory"
)

// Harness is an inventory under test and the catalogue it checks products in.
type Harness struct {
	Inventory inventory.Service
	Catalogue catalogue.Service
}

// Run runs the contract suite; newHarness gives each test a fresh, empty world.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	tests := map[string]func(*testing.T, Harness){
		"levels":                                 levels,
		"unknown products":                       unknownProducts,
		"reserve holds all lines or none":        allOrNone,
		"reserve is idempotent":                  reserveIdempotent,
		"commit sells held stock":                commit,
		"release gives held stock back":          release,
		"a reservation after its release":        reserveAfterRelease,
		"restock returns sold stock":             restock,
		"stock changes respect reserved":         respectReserved,
		"invalid reservations":                   invalidReservations,
		"concurrent reservations never oversell": concurrentReservations,
		"concurrent moves change stock once":     concurrentMoves,
	}
	for name, test := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, newHarness(t))
		})
	}
}

var ctx = context.Background()

// Product creates a product in the catalogue with onHand units in stock.
func Product(t *testing.T, h Harness, onHand int64) string {
	t.Helper()
	p, err := h.Catalogue.Create(ctx, catalogue.ProductInput{
		SKU: ids.New("sku"), Name: "Stocked", Price: 100, Currency: "EUR",
	})
	require.NoError(t, err)
	if onHand > 0 {
		_, err = h.Inventory.Set(ctx, p.ID, onHand)
		require.NoError(t, err)
	}
	return p.ID
}

func level(t *testing.T, h Harness, id string) inventory.Level {
	t.Helper()
	lvl, err := h.Inventory.Get(ctx, id)
	require.NoError(t, err)
	return lvl
}

func want(id string, onHand, reserved int64) inventory.Level {
	return inventory.Level{ProductID: id, OnHand: onHand, Reserved: reserved, Available: onHand - reserved}
}

func levels(t *testing.T, h Harness) {
	id := Product(t, h, 0)
	require.Equal(t, want(id, 0, 0), level(t, h, id))
	lvl, err := h.Inventory.Set(ctx, id, 7)
	require.NoError(t, err)
	require.Equal(t, want(id, 7, 0), lvl)
	lvl, err = h.Inventory.Adjust(ctx, id, 3, "delivery")
	require.NoError(t, err)
	require.Equal(t, want(id, 10, 0), lvl)
	lvl, err = h.Inventory.Adjust(ctx, id, -10, "stocktake")
	require.NoError(t, err)
	require.Equal(t, want(id, 0, 0), lvl)
	_, err = h.Inventory.Adjust(ctx, id, -1, "below zero")
	require.ErrorIs(t, err, inventory.ErrInsufficientStock)
	require.Equal(t, want(id, 0, 0), level(t, h, id))
}

func unknownProducts(t *testing.T, h Harness) {
	for _, id := range []string{"prod_missing", "", "a/b"} {
		_, err := h.Inventory.Get(ctx, id)
		require.ErrorIs(t, err, inventory.ErrProductNotFound, "Get(%q)", id)
	}
	_, err := h.Inventory.Set(ctx, "prod_missing", 1)
	require.ErrorIs(t, err, inventory.ErrProductNotFound)
	_, err = h.Inventory.Adjust(ctx, "prod_missing", 1, "x")
	require.ErrorIs(t, err, inventory.ErrProductNotFound)
	require.ErrorIs(t, h.Inventory.Commit(ctx, "res_missing"), inventory.ErrReservationNotFound)
	require.ErrorIs(t, h.Inventory.Restock(ctx, "res_missing"), inventory.ErrReservationNotFound)
	require.NoError(t, h.Inventory.Release(ctx, "res_missing"), "releasing what was never reserved is a no-op")
}

func allOrNone(t *testing.T, h Harness) {
	a, b := Product(t, h, 5), Product(t, h, 1)
	_, err := h.Inventory.Reserve(ctx, "r1", []inventory.Line{{ProductID: a, Quantity: 2}, {ProductID: b, Quantity: 2}})
	require.ErrorIs(t, err, inventory.ErrOutOfStock)
	require.Equal(t, want(a, 5, 0), level(t, h, a), "a refused reservation holds nothing")
	require.Equal(t, want(b, 1, 0), level(t, h, b))

	r, err := h.Inventory.Reserve(ctx, "r2", []inventory.Line{{ProductID: b, Quantity: 1}, {ProductID: a, Quantity: 2}})
	require.NoError(t, err)
	require.Equal(t, inventory.Held, r.Status)
	require.Equal(t, "r2", r.ID)
	require.ElementsMatch(t, []inventory.Line{{ProductID: a, Quantity: 2}, {ProductID: b, Quantity: 1}}, r.Lines)
	require.False(t, r.ExpiresAt.IsZero())
	require.Equal(t, want(a, 5, 2), level(t, h, a))
	require.Equal(t, want(b, 1, 1), level(t, h, b))

	_, err = h.Inventory.Reserve(ctx, "r3", []inventory.Line{{ProductID: b, Quantity: 1}})
	require.ErrorIs(t, err, inventory.ErrOutOfStock, "reserved units are not available")
}

func reserveIdempotent(t *testing.T, h Harness) {
	a := Product(t, h, 5)
	lines := []inventory.Line{{ProductID: a, Quantity: 2}}
	first, err := h.Inventory.Reserve(ctx, "same", lines)
	require.NoError(t, err)
	again, err := h.Inventory.Reserve(ctx, "same", lines)
	require.NoError(t, err)
	require.Equal(t, first.ID, again.ID)
	require.True(t, first.ExpiresAt.Equal(again.ExpiresAt))
	require.Equal(t, want(a, 5, 2), level(t, h, a), "a repeated reservation holds stock once")

	_, err = h.Inventory.Reserve(ctx, "same", []inventory.Line{{ProductID: a, Quantity: 3}})
	require.ErrorIs(t, err, inventory.ErrReservationMismatch)
	require.Equal(t, want(a, 5, 2), level(t, h, a))
}

func commit(t *testing.T, h Harness) {
	a := Product(t, h, 5)
	_, err := h.Inventory.Reserve(ctx, "c1", []inventory.Line{{ProductID: a, Quantity: 2}})
	require.NoError(t, err)
	require.NoError(t, h.Inventory.Commit(ctx, "c1"))
	require.Equal(t, want(a, 3, 0), level(t, h, a))
	require.NoError(t, h.Inventory.Commit(ctx, "c1"), "committing twice is a no-op")
	require.NoError(t, h.Inventory.Release(ctx, "c1"), "releasing a committed reservation is a no-op")
	require.Equal(t, want(a, 3, 0), level(t, h, a))
}

// reserveAfterRelease: a release that comes before its reservation — the
// checkout was given up while its call to reserve was on the way — closes
// the id, and the reservation, when it comes, holds nothing.
func reserveAfterRelease(t *testing.T, h Harness) {
	a := Product(t, h, 5)
	id := ids.New("late")
	require.NoError(t, h.Inventory.Release(ctx, id))
	_, err := h.Inventory.Reserve(ctx, id, []inventory.Line{{ProductID: a, Quantity: 2}})
	require.ErrorIs(t, err, inventory.ErrReservationClosed)
	require.Equal(t, want(a, 5, 0), level(t, h, a))
	require.ErrorIs(t, h.Inventory.Commit(ctx, id), inventory.ErrReservationClosed)
	require.NoError(t, h.Inventory.Release(ctx, id), "releasing again is still a no-op")
	require.Equal(t, want(a, 5, 0), level(t, h, a))
}

func release(t *testing.T, h Harness) {
	a := Product(t, h, 5)
	_, err := h.Inventory.Reserve(ctx, "l1", []inventory.Line{{ProductID: a, Quantity: 4}})
	require.NoError(t, err)
	require.NoError(t, h.Inventory.Release(ctx, "l1"))
	require.Equal(t, want(a, 5, 0), level(t, h, a))
	require.NoError(t, h.Inventory.Release(ctx, "l1"), "releasing twice is a no-op")
	require.Equal(t, want(a, 5, 0), level(t, h, a))
	require.ErrorIs(t, h.Inventory.Commit(ctx, "l1"), inventory.ErrReservationClosed)
	require.Equal(t, want(a, 5, 0), level(t, h, a))
}

func restock(t *testing.T, h Harness) {
	a := Product(t, h, 5)
	_, err := h.Inventory.Reserve(ctx, "s1", []inventory.Line{{ProductID: a, Quantity: 2}})
	require.NoError(t, err)
	require.ErrorIs(t, h.Inventory.Restock(ctx, "s1"), inventory.ErrReservationClosed, "held stock was never sold")
	require.NoError(t, h.Inventory.Commit(ctx, "s1"))
	require.NoError(t, h.Inventory.Restock(ctx, "s1"))
	require.Equal(t, want(a, 5, 0), level(t, h, a))
	require.NoError(t, h.Inventory.Restock(ctx, "s1"), "restocking twice is a no-op")
	require.Equal(t, want(a, 5, 0), level(t, h, a))
	require.NoError(t, h.Inventory.Commit(ctx, "s1"), "commit after restock changes nothing")
	require.Equal(t, want(a, 5, 0), level(t, h, a))
}

func respectReserved(t *testing.T, h Harness) {
	a := Product(t, h, 5)
	_, err := h.Inventory.Reserve(ctx, "h1", []inventory.Line{{ProductID: a, Quantity: 3}})
	require.NoError(t, err)
	_, err = h.Inventory.Set(ctx, a, 2)
	require.ErrorIs(t, err, inventory.ErrInsufficientStock)
	_, err = h.Inventory.Adjust(ctx, a, -3, "too much")
	require.ErrorIs(t, err, inventory.ErrInsufficientStock)
	require.Equal(t, want(a, 5, 3), level(t, h, a))
	lvl, err := h.Inventory.Set(ctx, a, 3)
	require.NoError(t, err, "on hand may fall to exactly what is reserved")
	require.Equal(t, want(a, 3, 3), lvl)
}

func invalidReservations(t *testing.T, h Harness) {
	a := Product(t, h, 5)
	for name, lines := range map[string][]inventory.Line{
		"no lines":      nil,
		"zero quantity": {{ProductID: a, Quantity: 0}},
		"negative":      {{ProductID: a, Quantity: -1}},
		"no product":    {{Quantity: 1}},
		"duplicate":     {{ProductID: a, Quantity: 1}, {ProductID: a, Quantity: 1}},
	} {
		_, err := h.Inventory.Reserve(ctx, "bad-"+name, lines)
		require.ErrorIs(t, err, errs.ErrInvalid, name)
	}
	_, err := h.Inventory.Set(ctx, a, -1)
	require.ErrorIs(t, err, errs.ErrInvalid)
	_, err = h.Inventory.Adjust(ctx, a, 0, "nothing")
	require.ErrorIs(t, err, errs.ErrInvalid)
	require.Equal(t, want(a, 5, 0), level(t, h, a))
}

func concurrentReservations(t *testing.T, h Harness) {
	const stock, buyers = 5, 20
	a := Product(t, h, stock)
	var mu sync.Mutex
	won, lost := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < buyers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := h.Inventory.Reserve(ctx, fmt.Sprintf("race-%d", i), []inventory.Line{{ProductID: a, Quantity: 1}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, inventory.ErrOutOfStock):
				lost++
			default:
				t.Errorf("reservation %d: unexpected error %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	require.Equal(t, stock, won)
	require.Equal(t, buyers-stock, lost)
	require.Equal(t, want(a, stock, stock), level(t, h, a))
}

// Commits and releases racing on the same reservations (as recovery may
// race a checkout) move each reservation once and its stock once. Each
// reservation holds all the stock of its products, so a move applied twice
// would take reserved below zero and fail, not just miscount.
func concurrentMoves(t *testing.T, h Harness) {
	const reservations, racers = 8, 6
	type held struct{ a, b string }
	res := make([]held, reservations)
	for i := range res {
		res[i] = held{a: Product(t, h, 1), b: Product(t, h, 2)}
		_, err := h.Inventory.Reserve(ctx, fmt.Sprintf("move-%d", i),
			[]inventory.Line{{ProductID: res[i].a, Quantity: 1}, {ProductID: res[i].b, Quantity: 2}})
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	for i := range reservations {
		for r := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("move-%d", i)
				move := h.Inventory.Commit
				if r%2 == 1 {
					move = h.Inventory.Release
				}
				if err := move(ctx, id); err != nil && !errors.Is(err, inventory.ErrReservationClosed) {
					t.Errorf("%s: unexpected error %v", id, err)
				}
			}()
		}
	}
	wg.Wait()
	for i, r := range res {
		// Commit is a no-op on a committed reservation, refused on a released one.
		switch err := h.Inventory.Commit(ctx, fmt.Sprintf("move-%d", i)); {
		case err == nil: // sold
			require.Equal(t, want(r.a, 0, 0), level(t, h, r.a))
			require.Equal(t, want(r.b, 0, 0), level(t, h, r.b))
		case errors.Is(err, inventory.ErrReservationClosed): // released
			require.Equal(t, want(r.a, 1, 0), level(t, h, r.a))
			require.Equal(t, want(r.b, 2, 0), level(t, h, r.b))
		default:
			t.Fatalf("move-%d: %v", i, err)
		}
	}
}

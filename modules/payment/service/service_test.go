package service_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/ids"
	"github.com/bazaar-shop/bazaar/internal/testclock"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	cataloguesvc "github.com/bazaar-shop/bazaar/modules/catalogue/service"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	inventorysvc "github.com/bazaar-shop/bazaar/modules/inventory/service"
	"github.com/bazaar-shop/bazaar/modules/payment"
	"github.com/bazaar-shop/bazaar/modules/payment/sandbox"
	"github.com/bazaar-shop/bazaar/modules/payment/service"
)

// These tests break the checkout at each step — the way a crash, a lost
// answer or a slow card network would — and check that money and stock
// always end consistent: paid and committed, or failed and released.

const ttl = 10 * time.Minute

var (
	ctx     = context.Background()
	errLost = errors.New("connection reset by peer")
)

// processor is the sandbox with faults injected around Charge.
type processor struct {
	*sandbox.Processor
	beforeCharge   func()
	chargeThenLose bool // charge, then lose the answer
	failCharge     bool // fail before charging
	afterLookup    func()
}

func (p *processor) Lookup(ctx context.Context, key string) (payment.Charge, error) {
	ch, err := p.Processor.Lookup(ctx, key)
	if p.afterLookup != nil {
		p.afterLookup()
	}
	return ch, err
}

func (p *processor) Charge(ctx context.Context, req payment.ChargeRequest) (payment.Charge, error) {
	if p.beforeCharge != nil {
		p.beforeCharge()
	}
	if p.failCharge {
		return payment.Charge{}, errLost
	}
	ch, err := p.Processor.Charge(ctx, req)
	if p.chargeThenLose {
		return payment.Charge{}, errLost
	}
	return ch, err
}

// flakyInventory fails the next Commit or Restock calls once each.
type flakyInventory struct {
	inventory.Service
	failCommit, failRestock   bool
	afterCommit, afterRelease func()
	beforeReserve             func()
}

func (f *flakyInventory) Reserve(ctx context.Context, id string, lines []inventory.Line) (inventory.Reservation, error) {
	if f.beforeReserve != nil {
		f.beforeReserve()
	}
	return f.Service.Reserve(ctx, id, lines)
}

func (f *flakyInventory) Release(ctx context.Context, id string) error {
	err := f.Service.Release(ctx, id)
	if f.afterRelease != nil {
		f.afterRelease()
	}
	return err
}

func (f *flakyInventory) Commit(ctx context.Context, id string) error {
	if f.failCommit {
		f.failCommit = false
		return errLost
	}
	err := f.Service.Commit(ctx, id)
	if f.afterCommit != nil {
		f.afterCommit()
	}
	return err
}

func (f *flakyInventory) Restock(ctx context.Context, id string) error {
	if f.failRestock {
		f.failRestock = false
		return errLost
	}
	return f.Service.Restock(ctx, id)
}

// freshness records whether every catalogue List asked for a fresh read.
type freshness struct {
	catalogue.Service
	mu    sync.Mutex
	lists int
	stale int
}

func (f *freshness) List(ctx context.Context, q catalogue.ListQuery) (catalogue.Page, error) {
	f.mu.Lock()
	f.lists++
	if !q.Fresh {
		f.stale++
	}
	f.mu.Unlock()
	return f.Service.List(ctx, q)
}

type world struct {
	clock     *testclock.Clock
	catalogue catalogue.Service
	stock     *inventorysvc.Service
	inventory *flakyInventory
	processor *processor
	payments  *service.Service
	paymentDB *database.DB
	sandboxDB *database.DB
}

func newWorld(t *testing.T, engine testdb.Engine) *world {
	t.Helper()
	w := &world{clock: testclock.New(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))}
	w.catalogue = cataloguesvc.New(engine.Open(t, "catalogue").DB, w.clock.Now)
	w.stock = inventorysvc.New(engine.Open(t, "inventory").DB, w.catalogue, ttl, 5, w.clock.Now)
	w.inventory = &flakyInventory{Service: w.stock}
	w.sandboxDB = engine.Open(t, "sandbox")
	w.processor = &processor{Processor: sandbox.New(w.sandboxDB.DB, w.clock.Now)}
	w.paymentDB = engine.Open(t, "payment")
	w.payments = service.New(w.paymentDB.DB, w.catalogue, w.inventory, w.processor, w.clock.Now, slog.New(slog.DiscardHandler))
	return w
}

func (w *world) product(t *testing.T, price, onHand int64) string {
	t.Helper()
	p, err := w.catalogue.Create(ctx, catalogue.ProductInput{SKU: ids.New("sku"), Name: "Kettle", Price: price, Currency: "EUR"})
	require.NoError(t, err)
	_, err = w.stock.Set(ctx, p.ID, onHand)
	require.NoError(t, err)
	return p.ID
}

func (w *world) level(t *testing.T, id string) inventory.Level {
	t.Helper()
	lvl, err := w.stock.Get(ctx, id)
	require.NoError(t, err)
	return lvl
}

func (w *world) get(t *testing.T, id string) payment.Payment {
	t.Helper()
	p, err := w.payments.Get(ctx, id)
	require.NoError(t, err)
	return p
}

func cart(productID string, qty int64) payment.CheckoutRequest {
	return payment.CheckoutRequest{
		Items: []payment.Item{{ProductID: productID, Quantity: qty}},
		Card:  payment.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2099, CVC: "987"},
		Email: "buyer@example.com",
	}
}

// failedCheckout runs a checkout that must fail after recording its payment
// and returns the payment id.
func failedCheckout(t *testing.T, w *world, req payment.CheckoutRequest) string {
	t.Helper()
	_, err := w.payments.Checkout(ctx, req)
	var failed *payment.CheckoutError
	require.ErrorAs(t, err, &failed)
	return failed.PaymentID
}

// recoverNow resolves every pending payment, as a restarted service does.
func (w *world) recoverNow(t *testing.T) {
	t.Helper()
	_, err := w.payments.ResolvePending(ctx, w.clock.Now().Add(time.Second))
	require.NoError(t, err)
}

func TestRecovery(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("crash before the charge: failed, stock released", func(t *testing.T) {
				w := newWorld(t, engine)
				p := w.product(t, 700, 3)
				w.processor.failCharge = true
				id := failedCheckout(t, w, cart(p, 2))
				require.Equal(t, payment.Pending, w.get(t, id).Status, "unknown outcome: left for recovery")
				require.Equal(t, int64(2), w.level(t, p).Reserved)

				w.recoverNow(t)
				got := w.get(t, id)
				require.Equal(t, payment.Failed, got.Status)
				require.Equal(t, "abandoned", got.FailureCode)
				require.Equal(t, inventory.Level{ProductID: p, OnHand: 3, Available: 3}, w.level(t, p))
			})
			t.Run("charged but the answer was lost: succeeded, stock committed", func(t *testing.T) {
				w := newWorld(t, engine)
				p := w.product(t, 700, 3)
				w.processor.chargeThenLose = true
				id := failedCheckout(t, w, cart(p, 2))
				require.Equal(t, payment.Pending, w.get(t, id).Status)

				w.recoverNow(t)
				require.Equal(t, payment.Succeeded, w.get(t, id).Status)
				require.Equal(t, inventory.Level{ProductID: p, OnHand: 1, Available: 1}, w.level(t, p))
			})
			t.Run("charged, then a restart before recovery: the sandbox's ledger has the charge", func(t *testing.T) {
				w := newWorld(t, engine)
				p := w.product(t, 700, 3)
				w.processor.chargeThenLose = true
				id := failedCheckout(t, w, cart(p, 2))
				require.Equal(t, payment.Pending, w.get(t, id).Status)

				// A new process: a new sandbox and a new payment service on
				// the same databases; nothing of the first is in memory.
				cards := sandbox.New(w.sandboxDB.DB, w.clock.Now)
				w.payments = service.New(w.paymentDB.DB, w.catalogue, w.inventory, cards, w.clock.Now, slog.New(slog.DiscardHandler))
				w.recoverNow(t)
				got := w.get(t, id)
				require.Equal(t, payment.Succeeded, got.Status, "the card was charged: the payment stands")
				ch, err := cards.Lookup(ctx, id)
				require.NoError(t, err)
				require.False(t, cards.Refunded(ch.ID))
				require.Equal(t, inventory.Level{ProductID: p, OnHand: 1, Available: 1}, w.level(t, p))
			})
			t.Run("charged, commit failed: recovery commits", func(t *testing.T) {
				w := newWorld(t, engine)
				p := w.product(t, 700, 3)
				w.inventory.failCommit = true
				id := failedCheckout(t, w, cart(p, 1))
				require.Equal(t, payment.Pending, w.get(t, id).Status)
				require.Equal(t, int64(1), w.level(t, p).Reserved)

				w.recoverNow(t)
				require.Equal(t, payment.Succeeded, w.get(t, id).Status)
				require.Equal(t, inventory.Level{ProductID: p, OnHand: 2, Available: 2}, w.level(t, p))
				w.recoverNow(t)
				require.Equal(t, int64(2), w.level(t, p).OnHand, "recovering twice commits once")
			})
			t.Run("the hold expired while the card was charged: refunded, failed", func(t *testing.T) {
				w := newWorld(t, engine)
				p := w.product(t, 700, 3)
				w.processor.beforeCharge = func() {
					w.clock.Advance(ttl + time.Second)
					_, err := w.stock.ExpireHolds(ctx)
					require.NoError(t, err)
				}
				id := failedCheckout(t, w, cart(p, 1))
				got := w.get(t, id)
				require.Equal(t, payment.Failed, got.Status)
				require.Equal(t, "reservation_expired", got.FailureCode)
				ch, err := w.processor.Lookup(ctx, id)
				require.NoError(t, err)
				require.True(t, w.processor.Refunded(ch.ID), "the customer got the money back")
				require.Equal(t, inventory.Level{ProductID: p, OnHand: 3, Available: 3}, w.level(t, p))
			})
			t.Run("a payment recovered as abandoned that is then charged is refunded", func(t *testing.T) {
				w := newWorld(t, engine)
				p := w.product(t, 700, 3)
				// Recovery (another replica, or a restart) runs while this
				// checkout is talking to the card network.
				w.processor.beforeCharge = func() { w.recoverNow(t) }
				id := failedCheckout(t, w, cart(p, 1))
				require.Equal(t, payment.Failed, w.get(t, id).Status)
				ch, err := w.processor.Lookup(ctx, id)
				require.NoError(t, err)
				require.True(t, w.processor.Refunded(ch.ID))
				require.Equal(t, inventory.Level{ProductID: p, OnHand: 3, Available: 3}, w.level(t, p))
			})
			t.Run("a payment whose charge the processor forgot is not refunded", func(t *testing.T) {
				w := newWorld(t, engine)
				p := w.product(t, 700, 3)
				paid, err := w.payments.Checkout(ctx, cart(p, 2))
				require.NoError(t, err)
				w.clock.Advance(100 * 24 * time.Hour)
				_, err = w.processor.Prune(ctx, w.clock.Now().Add(-90*24*time.Hour))
				require.NoError(t, err)

				_, err = w.payments.Refund(ctx, paid.ID)
				require.ErrorIs(t, err, payment.ErrNotRefundable)
				require.Equal(t, payment.Succeeded, w.get(t, paid.ID).Status, "nothing given back, nothing changed")
				require.Equal(t, inventory.Level{ProductID: p, OnHand: 1, Available: 1}, w.level(t, p), "the stock stays sold")
			})
			t.Run("a refund that fails half-way is finished by retrying it", func(t *testing.T) {
				w := newWorld(t, engine)
				p := w.product(t, 700, 3)
				paid, err := w.payments.Checkout(ctx, cart(p, 2))
				require.NoError(t, err)
				w.inventory.failRestock = true
				_, err = w.payments.Refund(ctx, paid.ID)
				require.ErrorIs(t, err, errLost)
				require.Equal(t, payment.Succeeded, w.get(t, paid.ID).Status)

				got, err := w.payments.Refund(ctx, paid.ID)
				require.NoError(t, err)
				require.Equal(t, payment.Refunded, got.Status)
				require.Equal(t, inventory.Level{ProductID: p, OnHand: 3, Available: 3}, w.level(t, p), "stock returned once")
			})
		})
	}
}

// TestCardDataIsNotStored looks in the payment tables themselves.
func TestCardDataIsNotStored(t *testing.T) {
	w := newWorld(t, testdb.Engines()[0])
	p := w.product(t, 100, 1)
	paid, err := w.payments.Checkout(ctx, cart(p, 1))
	require.NoError(t, err)
	require.Equal(t, payment.CardSummary{Brand: "visa", Last4: "4242"}, paid.Card)

	rows, err := w.paymentDB.Raw("SELECT * FROM payments").Rows()
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	for rows.Next() {
		values := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range values {
			ptrs[i] = &values[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for i, v := range values {
			s, _ := v.(string)
			if b, ok := v.([]byte); ok {
				s = string(b)
			}
			require.NotContains(t, s, "4242424242424242", "column %s", cols[i])
			require.NotEqual(t, "987", s, "column %s holds the cvc", cols[i])
		}
	}
	require.NoError(t, rows.Err())
}

// A repeat of a checkout's idempotency key while that checkout may still be
// running is told to wait, not allowed to finish it under its feet; once
// the checkout has been cut off for longer than any live one runs, the
// repeat finishes it and answers with its outcome.
func TestRepeatOfACheckoutCutOff(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			w := newWorld(t, engine)
			p := w.product(t, 250, 5)
			req := cart(p, 2)
			req.IdempotencyKey = "storefront " + ids.New("key")

			w.processor.chargeThenLose = true // charged, but the answer is lost
			_, err := w.payments.Checkout(ctx, req)
			var cut *payment.CheckoutError
			require.ErrorAs(t, err, &cut)
			w.processor.chargeThenLose = false
			require.Equal(t, payment.Pending, w.get(t, cut.PaymentID).Status)

			_, err = w.payments.Checkout(ctx, req)
			require.ErrorIs(t, err, payment.ErrIdempotencyKeyInUse)
			require.Equal(t, payment.Pending, w.get(t, cut.PaymentID).Status, "the repeat left it alone")

			w.clock.Advance(time.Minute)
			again, err := w.payments.Checkout(ctx, req)
			require.NoError(t, err)
			require.True(t, again.Replayed)
			require.Equal(t, cut.PaymentID, again.ID)
			require.Equal(t, payment.Succeeded, again.Status, "the charge was found and the stock committed")
			require.Equal(t, inventory.Level{ProductID: p, OnHand: 3, Available: 3}, w.level(t, p))
		})
	}
}

// Recovery that gives up a payment it finds no charge for, while the
// checkout is in fact still running, must not fail it once that checkout
// has charged the card and committed the stock: the steps interleave here
// in the one order that would otherwise leave a paid, sold, failed payment.
func TestRecoveryRacingALiveCheckout(t *testing.T) {
	w := newWorld(t, testdb.Engines()[0])
	p := w.product(t, 400, 5)
	charging, lookedUp, committed, recovered := make(chan string), make(chan struct{}), make(chan struct{}), make(chan struct{})
	w.processor.beforeCharge = once(func() {
		charging <- w.pendingID(t)
		<-lookedUp // recovery found no charge: now charge
	})
	w.processor.afterLookup = once(func() {
		close(lookedUp)
		<-committed // the checkout charged the card and committed the stock
	})
	w.inventory.afterCommit = once(func() {
		close(committed)
		<-recovered // recovery has done what it does
	})

	done := w.checkoutAside(cart(p, 2))
	id := <-charging
	require.NoError(t, w.payments.Resolve(ctx, id))
	close(recovered)
	got := <-done

	require.NoError(t, got.err)
	require.Equal(t, payment.Succeeded, w.get(t, id).Status, "charged and sold: it succeeded")
	require.Equal(t, inventory.Level{ProductID: p, OnHand: 3, Available: 3}, w.level(t, p))
	ch, err := w.processor.Processor.Lookup(ctx, id)
	require.NoError(t, err)
	require.False(t, w.processor.Refunded(ch.ID), "the charge stands")
}

// The other order: recovery finds no charge and releases the stock; only
// then does the checkout charge the card. Its commit finds the reservation
// released: the payment fails, the charge is given back, nothing is sold.
func TestRecoveryReleasingBeforeALiveCheckoutCharges(t *testing.T) {
	w := newWorld(t, testdb.Engines()[0])
	p := w.product(t, 400, 5)
	charging, released, committed := make(chan string), make(chan struct{}), make(chan struct{})
	w.processor.beforeCharge = once(func() {
		charging <- w.pendingID(t)
		<-released // recovery found no charge and released the stock: now charge
	})
	w.inventory.afterRelease = once(func() {
		close(released)
		<-committed // the checkout charged the card and failed to commit
	})
	w.inventory.afterCommit = once(func() { close(committed) })

	done := w.checkoutAside(cart(p, 2))
	id := <-charging
	require.NoError(t, w.payments.Resolve(ctx, id))
	got := <-done

	require.ErrorIs(t, got.err, inventory.ErrReservationClosed)
	stored := w.get(t, id)
	require.Equal(t, payment.Failed, stored.Status)
	require.Equal(t, inventory.Level{ProductID: p, OnHand: 5, Available: 5}, w.level(t, p), "nothing sold")
	ch, err := w.processor.Processor.Lookup(ctx, id)
	require.NoError(t, err)
	require.True(t, w.processor.Refunded(ch.ID), "the charge was given back")
}

// TestRecoveryBeforeTheReservationArrives: recovery gives up a checkout
// whose call to reserve is still on the way (a network cut delays it past
// payment.recover_after). When the call arrives it holds nothing, so the
// checkout fails before it charges: no stock is sold for a failed payment.
func TestRecoveryBeforeTheReservationArrives(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			w := newWorld(t, engine)
			p := w.product(t, 400, 5)
			reserving, resolved := make(chan string), make(chan struct{})
			w.inventory.beforeReserve = once(func() {
				reserving <- w.pendingID(t)
				<-resolved
			})

			done := w.checkoutAside(cart(p, 2))
			id := <-reserving
			require.NoError(t, w.payments.Resolve(ctx, id))
			require.Equal(t, payment.Failed, w.get(t, id).Status, "recovery gave it up")
			close(resolved)
			got := <-done

			require.ErrorIs(t, got.err, inventory.ErrReservationClosed)
			require.Equal(t, payment.Failed, w.get(t, id).Status)
			require.Equal(t, inventory.Level{ProductID: p, OnHand: 5, Available: 5}, w.level(t, p), "nothing held or sold")
			_, err := w.processor.Processor.Lookup(ctx, id)
			require.ErrorIs(t, err, payment.ErrChargeNotFound, "the card was never charged")
		})
	}
}

// outcome is what a checkout run aside answered.
type outcome struct {
	p   payment.Payment
	err error
}

// checkoutAside runs a checkout in a goroutine of its own.
func (w *world) checkoutAside(req payment.CheckoutRequest) <-chan outcome {
	done := make(chan outcome, 1)
	go func() {
		paid, err := w.payments.Checkout(ctx, req)
		done <- outcome{paid, err}
	}()
	return done
}

// once runs f the first time it is called; later calls return at once,
// even while f still runs (sync.Once would make them wait for it).
func once(f func()) func() {
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			f()
		}
	}
}

// pendingID is the id of the one pending payment.
func (w *world) pendingID(t *testing.T) string {
	list, err := w.payments.List(ctx, payment.ListQuery{Status: payment.Pending})
	require.NoError(t, err)
	require.Len(t, list.Data, 1)
	return list.Data[0].ID
}

// A payment recorded before request hashes were kept (migration 00005) has
// none: a repeat of its key is answered from it, as it was before.
func TestRepeatOfAPaymentWithoutRequestHash(t *testing.T) {
	w := newWorld(t, testdb.Engines()[0])
	p := w.product(t, 300, 5)
	req := cart(p, 1)
	req.IdempotencyKey = "storefront " + ids.New("key")
	first, err := w.payments.Checkout(ctx, req)
	require.NoError(t, err)
	require.NoError(t, w.paymentDB.Exec(`UPDATE payments SET request_hash = NULL WHERE id = ?`, first.ID).Error)

	other := cart(p, 2)
	other.IdempotencyKey = req.IdempotencyKey
	again, err := w.payments.Checkout(ctx, other)
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, first.ID, again.ID)
	require.Equal(t, int64(4), w.level(t, p).OnHand, "one unit sold, once")
}

// A checkout prices its cart from the catalogue's database, never from a
// cache: a replica's cache may not yet know of a price change or a delete
// made through another replica.
func TestCheckoutPricesFresh(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testdb.Engines()[0])
	f := &freshness{Service: w.catalogue}
	payments := service.New(w.paymentDB.DB, f, w.inventory, w.processor, w.clock.Now, slog.New(slog.DiscardHandler))
	_, err := payments.Checkout(ctx, cart(w.product(t, 100, 5), 1))
	require.NoError(t, err)
	require.Positive(t, f.lists)
	require.Zero(t, f.stale, "every price was read fresh")
}
